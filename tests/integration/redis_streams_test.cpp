// The Redis client and stream primitives against a real redis-server on a loopback port.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "nautilus/bus/codec.hpp"
#include "nautilus/bus_redis/streams.hpp"
#include "nautilus/model/market_data.hpp"
#include "support/redis_server.hpp"

namespace nautilus::bus_redis {
namespace {

using testing::RedisServer;

std::string encoded_quote(std::uint64_t seq, const char* symbol = "AAPL") {
  bus::Envelope e;
  e.topic = bus::Topic::from_trusted(std::string("market_data.") + symbol + ".quote");
  e.source = core::EngineId::from_trusted("marketdata");
  e.sequence = seq;
  e.ts_event = e.ts_publish = 1'700'000'000'000'000'000 + static_cast<std::int64_t>(seq);
  e.payload = bus::Payload::make(
      model::QuoteTick{core::Symbol::from_trusted(symbol), *core::Price::from_string("189.10"),
                       *core::Price::from_string("189.12"), *core::Quantity::from_string("300"),
                       *core::Quantity::from_string("200"), e.ts_event});
  std::string out;
  if (!bus::codec::encode(e, out)) std::abort();
  return out;
}

TEST(RedisClient, ConnectsAndPipelines) {
  RedisServer server;
  auto c = server.client();
  auto pong = c.command({"PING"});
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->str, "PONG");
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < 1000; ++i)
    cmds.push_back({"SET", "k" + std::to_string(i), std::to_string(i)});
  cmds.push_back({"GET", "k999"});
  auto replies = c.pipeline(cmds);
  ASSERT_TRUE(replies) << replies.error().message;
  ASSERT_EQ(replies->size(), 1001u);
  EXPECT_EQ(replies->back().str, "999");
  auto err = c.command({"NOSUCHCOMMAND"});
  ASSERT_TRUE(err);  // a server error reply is a reply, not a broken connection
  EXPECT_TRUE(err->is_error("ERR"));
  EXPECT_TRUE(c.healthy());
}

TEST(RedisClient, AuthIsCheckedAtConnect) {
  RedisServer server({.password = "s3cret"});
  auto ok = RedisClient::connect(server.endpoint(), std::chrono::seconds(2));
  EXPECT_TRUE(ok) << ok.error().message;
  config::RedisEndpoint no_pass{.host = "127.0.0.1", .port = server.port()};
  auto missing = RedisClient::connect(no_pass, std::chrono::seconds(2));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("REDIS_PASSWORD"), std::string::npos)
      << missing.error().message;
  auto wrong = server.endpoint();
  wrong.password = "guess";
  auto refused = RedisClient::connect(wrong, std::chrono::seconds(2));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("AUTH refused"), std::string::npos);
}

TEST(RedisClient, AclUsersAuthenticateWithTheirName) {
  RedisServer server;
  auto admin = server.client();
  ASSERT_TRUE(admin.command({"ACL", "SETUSER", "engine", "on", ">pw", "~nautilus:*", "+@all"}));
  config::RedisEndpoint ep{
      .host = "127.0.0.1", .port = server.port(), .username = "engine", .password = "pw"};
  auto c = RedisClient::connect(ep, std::chrono::seconds(2));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->command({"ACL", "WHOAMI"})->str, "engine");
  EXPECT_TRUE(c->command({"SET", "elsewhere", "x"})->is_error("NOPERM"));  // its ACL applies
  ep.password = "wrong";
  EXPECT_FALSE(RedisClient::connect(ep, std::chrono::seconds(2)));
}

TEST(RedisClient, UnreachableServerIsAClearError) {
  std::uint16_t port;
  {
    RedisServer gone;
    port = gone.port();
  }
  config::RedisEndpoint ep{.host = "127.0.0.1", .port = port};
  const auto t0 = std::chrono::steady_clock::now();
  auto c = RedisClient::connect(ep, std::chrono::milliseconds(500));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, core::ErrorCode::kClosed);
  EXPECT_NE(c.error().message.find(std::to_string(port)), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(Streams, EnvelopesRoundTripThroughAConsumerGroup) {
  RedisServer server;
  auto wc = server.client();
  auto rc = server.client();
  StreamWriter writer(wc, "nautilus:market_data", {.maxlen = 100'000});
  GroupReader reader(rc, "nautilus:market_data", "strategy", "strategy-1");
  ASSERT_TRUE(reader.ensure_group());
  ASSERT_TRUE(reader.ensure_group());  // BUSYGROUP is success
  std::vector<std::string> payloads;
  for (std::uint64_t i = 1; i <= 300; ++i) payloads.push_back(encoded_quote(i));
  auto ids = writer.append(payloads);
  ASSERT_TRUE(ids) << ids.error().message;
  ASSERT_EQ(ids->size(), 300u);
  std::vector<StreamEntry> got;
  while (got.size() < 300) {
    auto batch = reader.read(128, std::chrono::milliseconds(500));
    ASSERT_TRUE(batch) << batch.error().message;
    ASSERT_FALSE(batch->empty()) << "timed out after " << got.size();
    got.insert(got.end(), batch->begin(), batch->end());
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_FALSE(got[i].malformed);
    EXPECT_EQ(got[i].id, (*ids)[i]);
    auto env = bus::codec::decode(got[i].data);
    ASSERT_TRUE(env) << env.error().message;
    EXPECT_EQ(env->sequence, i + 1);
    EXPECT_EQ(env->get<model::QuoteTick>()->bid.to_string(), "189.10");
  }
  std::vector<std::string> acked;
  for (const auto& e : got) acked.push_back(e.id);
  auto n = reader.ack(acked);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 300u);
  auto pending = rc.command({"XPENDING", "nautilus:market_data", "strategy"});
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->elements.at(0).integer, 0);
  EXPECT_EQ(reader.failed_reads(), 0u);  // steady state: no failed XREADGROUP
}

TEST(Streams, AcknowledgementsRideWithTheNextRead) {
  RedisServer server;
  auto wc = server.client();
  auto rc = server.client();
  StreamWriter writer(wc, "s", {});
  GroupReader reader(rc, "s", "g", "c");
  ASSERT_TRUE(reader.ensure_group());
  ASSERT_TRUE(writer.append({encoded_quote(1), encoded_quote(2)}));
  auto first = reader.read(10, std::chrono::milliseconds(500));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 2u);
  ASSERT_TRUE(writer.append({encoded_quote(3)}));
  auto second = reader.read(10, std::chrono::milliseconds(500), {(*first)[0].id, (*first)[1].id});
  ASSERT_TRUE(second) << second.error().message;
  ASSERT_EQ(second->size(), 1u);
  // The first two are acknowledged; the third is delivered and pending.
  auto pending = rc.command({"XPENDING", "s", "g"});
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->elements.at(0).integer, 1);
  EXPECT_EQ(reader.failed_acks(), 0u);
  EXPECT_EQ(reader.failed_reads(), 0u);
  // An XACK the server refuses (the key is not a stream) is counted; the read still happens.
  ASSERT_TRUE(wc.command({"SET", "s", "not a stream"}));
  auto third = reader.read(10, std::chrono::milliseconds(10), {(*second)[0].id});
  EXPECT_FALSE(third);  // XREADGROUP fails too (WRONGTYPE)
  EXPECT_EQ(reader.failed_acks(), 1u);
}

TEST(Streams, ConsumersOfOneGroupShareTheWork) {
  RedisServer server;
  auto wc = server.client();
  auto c1 = server.client();
  auto c2 = server.client();
  StreamWriter writer(wc, "s", {});
  GroupReader r1(c1, "s", "risk", "risk-1");
  GroupReader r2(c2, "s", "risk", "risk-2");
  ASSERT_TRUE(r1.ensure_group());
  std::vector<std::string> payloads(100, encoded_quote(1));
  ASSERT_TRUE(writer.append(payloads));
  auto a = r1.read(60, std::chrono::milliseconds(100));
  auto b = r2.read(100, std::chrono::milliseconds(100));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 60u);
  EXPECT_EQ(b->size(), 40u);  // each entry goes to one consumer of the group
}

TEST(Streams, LostGroupsAreRecreatedWithoutAnErrorStorm) {
  RedisServer server;
  auto wc = server.client();
  auto rc = server.client();
  StreamWriter writer(wc, "s", {});
  GroupReader reader(rc, "s", "ml", "ml-1");
  ASSERT_TRUE(reader.ensure_group());
  ASSERT_TRUE(wc.command({"FLUSHALL"}));  // what a restart without persistence looks like
  for (int i = 0; i < 20; ++i) {
    auto batch = reader.read(10, std::chrono::milliseconds(10));
    ASSERT_TRUE(batch) << batch.error().message;
  }
  EXPECT_EQ(reader.group_recreations(), 1u);
  EXPECT_EQ(reader.failed_reads(), 1u);  // one per loss, not one per poll
  ASSERT_TRUE(writer.append({encoded_quote(7)}));
  auto batch = reader.read(10, std::chrono::milliseconds(500));
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->size(), 1u);
  EXPECT_EQ(bus::codec::decode(batch->at(0).data)->sequence, 7u);
}

TEST(Streams, MaxLenTrimsApproximately) {
  RedisServer server;
  auto c = server.client();
  StreamWriter writer(c, "s", {.maxlen = 1000});
  std::vector<std::string> payloads(5000, encoded_quote(1));
  ASSERT_TRUE(writer.append(payloads));
  auto len = c.command({"XLEN", "s"});
  ASSERT_TRUE(len);
  EXPECT_GE(len->integer, 1000);
  EXPECT_LT(len->integer, 1300);  // "~" trims whole radix-tree nodes (100 entries by default)
}

TEST(Streams, EntriesWithoutTheDataFieldAreFlaggedNotFatal) {
  RedisServer server;
  auto c = server.client();
  GroupReader reader(c, "s", "g", "c");
  ASSERT_TRUE(reader.ensure_group());
  ASSERT_TRUE(c.command({"XADD", "s", "*", "other", "x"}));
  ASSERT_TRUE(c.command({"XADD", "s", "*", "d", "\xc1garbage"}));
  auto batch = reader.read(10, std::chrono::milliseconds(100));
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_TRUE(batch->at(0).malformed);
  EXPECT_FALSE(batch->at(1).malformed);
  EXPECT_FALSE(bus::codec::decode(batch->at(1).data));  // the codec refuses it, no crash
}

TEST(Streams, AServerKilledMidSessionIsAClosedConnection) {
  RedisServer server;
  auto c = server.client();
  GroupReader reader(c, "s", "g", "c");
  ASSERT_TRUE(reader.ensure_group());
  server.kill9();
  auto batch = reader.read(10, std::chrono::milliseconds(100));
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().code, core::ErrorCode::kClosed);
  EXPECT_FALSE(c.healthy());
  EXPECT_EQ(reader.failed_reads(), 1u);
}

// Interop (docs/WIRE_FORMAT.md): Debian's python3-redis and python3-msgpack read what C++ wrote and
// write an envelope that the C++ side decodes.
TEST(Streams, PythonReadsAndWritesTheWireFormat) {
  RedisServer server;
  auto c = server.client();
  StreamWriter writer(c, "nautilus:engine_communication", {});
  ASSERT_TRUE(writer.append({encoded_quote(41, "MSFT")}));
  GroupReader reader(c, "nautilus:engine_communication", "cpp", "cpp-1");
  ASSERT_TRUE(c.command({"XGROUP", "CREATE", "nautilus:engine_communication", "cpp", "$"}));
  const std::string cmd = "/usr/bin/python3 " NAUTILUS_SOURCE_DIR
                          "/tests/integration/python/interop.py " +
                          std::to_string(server.port()) + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  ASSERT_EQ(::pclose(p), 0) << out;
  EXPECT_NE(out.find("read market_data.MSFT.quote quote_tick seq=41 bid=189.10"), std::string::npos)
      << out;
  auto batch = reader.read(10, std::chrono::milliseconds(1000));
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->size(), 1u) << out;
  auto env = bus::codec::decode(batch->at(0).data);
  ASSERT_TRUE(env) << env.error().message;
  EXPECT_EQ(env->source.value(), "pyclient");
  EXPECT_EQ(env->priority, bus::Priority::kUrgent);
  ASSERT_NE(env->get<model::TradeTick>(), nullptr);
  EXPECT_EQ(env->get<model::TradeTick>()->price.to_string(), "99.25");
}

}  // namespace
}  // namespace nautilus::bus_redis
