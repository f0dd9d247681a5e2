// The main Redis and both buses on one real Redis Cluster (3 masters, on loopback), as a user
// runs the platform against it: the registry and `nautilus status`, the state snapshots,
// `nautilus replay` over every shard and `--republish` back to each message's shard.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "nautilus/bus_redis/sharding.hpp"
#include "nautilus/bus_redis/state_store.hpp"
#include "nautilus/bus_redis/transport.hpp"
#include "nautilus/model/market_data.hpp"
#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/redis_cluster.hpp"

namespace nautilus {
namespace {

using test::Child;
using test::spawn;
using testing::RedisCluster;

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// One cluster for the suite: each test uses keys and groups of its own.
class ClusterCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new RedisCluster(3, 1000, /*replicas=*/0); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  static std::string seeds() {
    std::string s;
    for (const auto& n : cluster_->seeds())
      s += (s.empty() ? "" : ",") + n.host + ":" + std::to_string(n.port);
    return s;
  }
  // Every Redis of the platform on the cluster.
  static std::vector<std::string> env() {
    return {"REDIS_CLUSTER=" + seeds(), "MARKETDATA_REDIS_CLUSTER=" + seeds(),
            "ENGINE_LOGIC_REDIS_CLUSTER=" + seeds()};
  }
  static config::BusConfig bus_config() {
    config::BusConfig c;
    for (auto* ep : {&c.main, &c.marketdata, &c.logic}) {
      for (const auto& s : cluster_->seeds())
        ep->cluster.push_back({.host = s.host, .port = s.port});
    }
    return c;
  }
  // How many keys matching `pattern` each master holds.
  static std::vector<std::size_t> keys_per_master(const std::string& pattern) {
    std::vector<std::size_t> out;
    for (const auto& m : cluster_->masters()) {
      auto c = cluster_->node_at(m.port).client();
      auto r = c.command({"KEYS", pattern});
      out.push_back(r ? r->elements.size() : 0);
    }
    return out;
  }
  static RedisCluster* cluster_;
};
RedisCluster* ClusterCli::cluster_ = nullptr;

std::size_t sum(const std::vector<std::size_t>& v) {
  std::size_t n = 0;
  for (auto x : v) n += x;
  return n;
}
std::size_t nonzero(const std::vector<std::size_t>& v) {
  std::size_t n = 0;
  for (auto x : v) n += x > 0 ? 1 : 0;
  return n;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("{")) out.push_back(line);
  }
  return out;
}

TEST_F(ClusterCli, RunRegistersEveryEngineOnTheClusterAndStatusListsThemUntilTheyStop) {
  Child engines = spawn({"engines"});
  ASSERT_EQ(engines.wait_exit(std::chrono::seconds(10)), 0);
  const auto count = std::count(engines.text.begin(), engines.text.end(), '\n');
  std::vector<int> ports;
  {
    std::istringstream lines(engines.text);
    std::string name, rest;
    int port = 0;
    while (lines >> name >> port && std::getline(lines, rest)) ports.push_back(port);
  }
  Child run = spawn({"run", "--bus", "redis", "--group", "risk", "--status-interval", "0.3",
                     "--port-offset", std::to_string(test::free_port_offset(ports))},
                    env());
  // Every shard link up (12 market-data and 4 logic links print a status line each).
  ASSERT_TRUE(run.read_until(
      [](const std::string& t) {
        return contains(t, "redis logic.3 ") && contains(t, "writer up, reader up");
      },
      std::chrono::seconds(30)))
      << run.text;
  Child status;
  for (int i = 0; i < 50; ++i) {  // the registrations run on their own threads
    status = spawn({"status"}, env());
    ASSERT_EQ(status.wait_exit(std::chrono::seconds(10)), 0) << status.text;
    if (contains(status.text, std::to_string(count) + " engine(s) registered")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(
      contains(status.text, std::to_string(count) + " engine(s) registered in the cluster at"))
      << status.text;
  EXPECT_TRUE(contains(status.text, "marketdata ")) << status.text;
  // The records are keys of their own: spread over the masters, each found by status.
  const auto records = keys_per_master("nautilus:engines:*");
  EXPECT_EQ(sum(records), static_cast<std::size_t>(count));
  EXPECT_GE(nonzero(records), 2U) << "all " << count << " records on one master";
  ::kill(run.pid, SIGINT);
  EXPECT_EQ(run.wait_exit(std::chrono::seconds(30)), 0) << run.text;
  Child after = spawn({"status"}, env());
  EXPECT_EQ(after.wait_exit(std::chrono::seconds(10)), 0);
  EXPECT_TRUE(contains(after.text, "0 engine(s) registered")) << after.text;  // deregistered
}

TEST_F(ClusterCli, StateSnapshotsAreSavedAndLoadedThroughEachKeysMaster) {
  auto store = bus_redis::RedisStateStore::connect(bus_config().main);
  ASSERT_TRUE(store) << store.error().message;
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(
        (*store)->save("cli-test.engine" + std::to_string(i), "state " + std::to_string(i)));
  }
  for (int i = 0; i < 30; ++i) {
    auto got = (*store)->load("cli-test.engine" + std::to_string(i));
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ(**got, "state " + std::to_string(i));
  }
  auto missing = (*store)->load("cli-test.never-saved");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
  const auto per_master = keys_per_master("nautilus:state:cli-test.*");
  EXPECT_EQ(sum(per_master), 30U);
  EXPECT_EQ(nonzero(per_master), 3U);  // 30 keys over 3 masters
}

TEST_F(ClusterCli, ReplayReadsEveryShardAndRepublishesEachMessageToItsShard) {
  const config::BusConfig cfg = bus_config();
  // A listener of its own group, to see the republished messages arrive.
  bus::MessageBus listener_bus;
  std::atomic<int> risk_heard{0};
  (void)listener_bus.subscribe("risk.*", [&](const bus::Envelope&) { risk_heard.fetch_add(1); });
  auto listener =
      bus_redis::RedisTransport::start(listener_bus, {.config = cfg, .group = "listener"});
  ASSERT_TRUE(listener) << listener.error().message;
  const auto up = [](const bus_redis::RedisTransport& t) {
    for (const auto& l : t.status().links) {
      if (!l.reader_connected || !l.writer_connected) return false;
    }
    return true;
  };
  for (int i = 0; i < 500 && !up(**listener); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(up(**listener));
  // Replay from now on: the suite's cluster also holds what the other tests' runs published.
  const std::string from = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
  const std::vector<std::string> symbols = {"AAPL", "MSFT", "NVDA", "AMZN",
                                            "GOOG", "META", "TSLA", "JPM"};
  {
    bus::MessageBus b;
    auto t = bus_redis::RedisTransport::start(b, {.config = cfg, .group = "writer"});
    ASSERT_TRUE(t) << t.error().message;
    auto pub = *b.publisher("risk");
    const auto tick = [](const std::string& s) {
      return model::TradeTick{core::Symbol::from_trusted(s),
                              *core::Price::from_string("1.25"),
                              *core::Quantity::from_string("1"),
                              model::AggressorSide::kNone,
                              1,
                              1};
    };
    (void)pub.publish("risk.alert.AAPL", tick("AAPL"));
    (void)pub.publish("strategy.signal.AAPL", tick("AAPL"));
    (void)pub.publish("portfolio.position.AAPL", tick("AAPL"));
    (void)pub.publish("risk.alert.MSFT", tick("MSFT"), {.priority = bus::Priority::kFlashCrash});
    for (const auto& s : symbols) (void)pub.publish("market_data." + s + ".trade", tick(s));
    ASSERT_TRUE((*t)->flush(std::chrono::seconds(10)));
  }
  // The families and symbols above do sit on more than one shard and master.
  const bus_redis::ShardLayout logic(cfg.logic_stream, bus_redis::kDefaultLogicShards,
                                     bus_redis::ShardKey::kFamily);
  const bus_redis::ShardLayout md(cfg.marketdata_stream, bus_redis::kDefaultMarketDataShards,
                                  bus_redis::ShardKey::kSymbol);
  std::set<std::size_t> logic_shards = {logic.shard_of("risk.alert.AAPL"),
                                        logic.shard_of("strategy.signal.AAPL"),
                                        logic.shard_of("portfolio.position.AAPL")};
  std::set<std::size_t> md_shards;
  for (const auto& s : symbols) md_shards.insert(md.shard_of("market_data." + s + ".trade"));
  ASSERT_GE(logic_shards.size(), 2U);
  ASSERT_GE(md_shards.size(), 3U);
  for (int i = 0; i < 500 && risk_heard.load() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(risk_heard.load(), 2);

  Child all = spawn({"replay", "--bus", "logic", "--from", from}, env());
  ASSERT_EQ(all.wait_exit(std::chrono::seconds(10)), 0) << all.text;
  EXPECT_EQ(lines_of(all.text).size(), 4U) << all.text;  // every family's shard, urgent too
  Child risk = spawn({"replay", "--bus", "logic", "--from", from, "--topic", "risk.*"}, env());
  ASSERT_EQ(risk.wait_exit(std::chrono::seconds(10)), 0) << risk.text;
  const auto risk_lines = lines_of(risk.text);
  ASSERT_EQ(risk_lines.size(), 2U) << risk.text;
  EXPECT_TRUE(contains(risk_lines[0] + risk_lines[1], "risk.alert.MSFT"));
  Child quotes = spawn({"replay", "--bus", "marketdata", "--from", from}, env());
  ASSERT_EQ(quotes.wait_exit(std::chrono::seconds(10)), 0) << quotes.text;
  const auto quote_lines = lines_of(quotes.text);
  EXPECT_EQ(quote_lines.size(), symbols.size()) << quotes.text;
  for (const auto& s : symbols) {
    EXPECT_TRUE(contains(quotes.text, "market_data." + s + ".trade")) << s;
  }

  Child again = spawn(
      {"replay", "--bus", "logic", "--from", from, "--topic", "risk.*", "--republish"}, env());
  ASSERT_EQ(again.wait_exit(std::chrono::seconds(10)), 0) << again.text;
  EXPECT_TRUE(contains(again.text, "republished 2 message(s)")) << again.text;
  for (int i = 0; i < 500 && risk_heard.load() < 4; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(risk_heard.load(), 4);  // both once more, from the shards they belong to
  // Each went to its family's shard: replayed again, risk.* is the two originals (the
  // FLASH_CRASH one on shard 0's urgent stream) and the two copies, on the risk shard's stream.
  Child after = spawn({"replay", "--bus", "logic", "--from", from, "--topic", "risk.*"}, env());
  ASSERT_EQ(after.wait_exit(std::chrono::seconds(10)), 0) << after.text;
  const auto after_lines = lines_of(after.text);
  ASSERT_EQ(after_lines.size(), 4U) << after.text;
  const std::string risk_stream =
      "\"stream\":\"" + logic.stream(logic.shard_of("risk.alert.AAPL")) + "\"";
  const std::string urgent_stream = "\"stream\":\"" + logic.stream(0) + ":urgent\"";
  int on_risk = 0, on_urgent = 0;
  for (const auto& l : after_lines) {
    on_risk += contains(l, risk_stream) ? 1 : 0;
    on_urgent += contains(l, urgent_stream) ? 1 : 0;
  }
  EXPECT_EQ(on_risk, 3) << after.text;
  EXPECT_EQ(on_urgent, 1) << after.text;
}

TEST_F(ClusterCli, TheSweepQueueRefusesAClusterMainRedisNamingWhy) {
  Child worker = spawn({"worker", "--max-jobs", "1"}, env());
  EXPECT_EQ(worker.wait_exit(std::chrono::seconds(10)), 2);
  EXPECT_TRUE(contains(worker.text, "the sweep queue needs the main Redis to be one server"))
      << worker.text;
}

}  // namespace
}  // namespace nautilus
