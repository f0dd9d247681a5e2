// RedisStateStore against a real redis-server on a loopback port: saves and loads, and the
// backoff while the main Redis is away, stepped on a simulated clock (no sleeps; nothing here
// asserts how long a call took).
#include "nautilus/bus_redis/state_store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "support/redis_server.hpp"

namespace nautilus::bus_redis {
namespace {

using std::chrono::milliseconds;
using testing::RedisServer;

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

class StateStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<RedisStateStore> connect() {
    auto s = RedisStateStore::connect(
        server_.endpoint(),
        {.initial_backoff = milliseconds(100), .max_backoff = milliseconds(400), .clock = &clock_});
    if (!s) ADD_FAILURE() << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  // Kills the server and makes the store notice: the first save after fails on the open
  // connection, which starts the backoff.
  void lose_the_server(RedisStateStore& store) {
    server_.kill9();
    auto ok = store.save("portfolio", "lost");
    ASSERT_FALSE(ok);
    EXPECT_TRUE(contains(ok.error().message, "main Redis")) << ok.error().message;
    EXPECT_TRUE(contains(ok.error().message, "next attempt in 100 ms")) << ok.error().message;
  }

  RedisServer server_;
  core::SimulatedClock clock_{1'700'000'000'000'000'000};
};

TEST_F(StateStoreTest, SavesAndLoadsRoundTripUnderTheStatePrefix) {
  auto store = connect();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->save("portfolio", "first"));
  ASSERT_TRUE(store->save("portfolio", "second"));
  const std::string binary("a\0b\xff", 4);
  ASSERT_TRUE(store->save("other", binary));

  auto latest = store->load("portfolio");
  ASSERT_TRUE(latest) << latest.error().message;
  EXPECT_EQ(*latest, std::optional<std::string>("second"));
  EXPECT_EQ(*store->load("other"), std::optional<std::string>(binary));
  auto missing = store->load("never-saved");
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_FALSE(missing->has_value());

  auto raw = server_.client().command({"GET", "nautilus:state:portfolio"});
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->str, "second");
  EXPECT_EQ(store->connect_attempts(), 1u);
}

TEST_F(StateStoreTest, ConnectFailsAtStartUpNamingTheMainRedisWhenNothingListens) {
  server_.kill9();
  auto store = RedisStateStore::connect(server_.endpoint());
  ASSERT_FALSE(store);
  EXPECT_TRUE(contains(store.error().message, "main Redis")) << store.error().message;
}

TEST_F(StateStoreTest, CallsDuringTheBackoffFailAtOnceWithoutTryingToConnect) {
  auto store = connect();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->save("portfolio", "kept"));
  lose_the_server(*store);
  EXPECT_EQ(store->connect_attempts(), 1u);  // the break was found on the open connection

  auto save = store->save("portfolio", "refused");
  ASSERT_FALSE(save);
  EXPECT_EQ(save.error().code, core::ErrorCode::kIo);
  EXPECT_TRUE(contains(save.error().message, "main Redis")) << save.error().message;
  EXPECT_TRUE(contains(save.error().message, "next attempt in 100 ms")) << save.error().message;
  // The last error: the broken connection, with the server's address.
  EXPECT_TRUE(contains(save.error().message, "127.0.0.1:" + std::to_string(server_.port())))
      << save.error().message;

  clock_.advance(milliseconds(99));
  auto load = store->load("portfolio");
  ASSERT_FALSE(load);
  EXPECT_EQ(load.error().code, core::ErrorCode::kIo);
  EXPECT_TRUE(contains(load.error().message, "main Redis")) << load.error().message;
  EXPECT_TRUE(contains(load.error().message, "next attempt in 1 ms")) << load.error().message;
  EXPECT_EQ(store->connect_attempts(), 1u);

  clock_.advance(milliseconds(1));
  auto attempt = store->save("portfolio", "still down");
  ASSERT_FALSE(attempt);
  EXPECT_TRUE(contains(attempt.error().message, "main Redis")) << attempt.error().message;
  EXPECT_TRUE(contains(attempt.error().message, "next attempt in 200 ms"))
      << attempt.error().message;
  EXPECT_EQ(store->connect_attempts(), 2u);
  // The last error is now the refused connect, and the wait has doubled.
  auto refused = store->save("portfolio", "refused");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, core::ErrorCode::kIo);
  EXPECT_TRUE(contains(refused.error().message, "connect")) << refused.error().message;
  EXPECT_TRUE(contains(refused.error().message, "next attempt in 200 ms"))
      << refused.error().message;
  EXPECT_EQ(store->connect_attempts(), 2u);
}

TEST_F(StateStoreTest, ASaveSucceedsOnceTheServerIsBackAndTheBackoffHasPassed) {
  auto store = connect();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->save("portfolio", "before"));
  lose_the_server(*store);
  server_.restart();  // same port, empty (no persistence)

  // Back, but the wait is not over: still no attempt.
  ASSERT_FALSE(store->save("portfolio", "too early"));
  EXPECT_EQ(store->connect_attempts(), 1u);

  clock_.advance(milliseconds(100));
  auto ok = store->save("portfolio", "after");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(store->connect_attempts(), 2u);
  auto latest = store->load("portfolio");
  ASSERT_TRUE(latest) << latest.error().message;
  EXPECT_EQ(*latest, std::optional<std::string>("after"));
  EXPECT_EQ(store->connect_attempts(), 2u);  // the new connection serves the load
}

TEST_F(StateStoreTest, TheBackoffDoublesToItsMaximumAndStartsOverAfterASuccess) {
  auto store = connect();
  ASSERT_TRUE(store);
  lose_the_server(*store);  // next attempt in 100 ms
  for (const auto& [wait, next] : {std::pair{100, "200 ms"}, std::pair{200, "400 ms"},
                                   std::pair{400, "400 ms"}, std::pair{400, "400 ms"}}) {
    clock_.advance(milliseconds(wait - 1));
    ASSERT_FALSE(store->save("portfolio", "x"));
    const auto attempts = store->connect_attempts();
    clock_.advance(milliseconds(1));
    auto r = store->save("portfolio", "x");
    ASSERT_FALSE(r);
    EXPECT_EQ(store->connect_attempts(), attempts + 1);
    EXPECT_TRUE(contains(r.error().message, std::string("next attempt in ") + next))
        << r.error().message;
  }

  server_.restart();
  clock_.advance(milliseconds(400));
  ASSERT_TRUE(store->save("portfolio", "back"));
  lose_the_server(*store);  // checks "next attempt in 100 ms" again
}

}  // namespace
}  // namespace nautilus::bus_redis
