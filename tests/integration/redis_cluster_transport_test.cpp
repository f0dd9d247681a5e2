// The transport with both buses on a real Redis Cluster (three masters, one replica each, on
// loopback ports: support/redis_cluster.hpp): streams sharded by hash tag and spread over the
// masters, each symbol's messages in order, and the transport following the cluster by itself
// when a master is killed (its replica promoted), when slots are resharded under it, and when
// the whole cluster restarts. Two transports in one test process stand for two engine hosts.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "nautilus/bus_redis/cluster.hpp"
#include "nautilus/bus_redis/sharding.hpp"
#include "nautilus/bus_redis/transport.hpp"
#include "nautilus/model/market_data.hpp"
#include "support/redis_cluster.hpp"

namespace nautilus::bus_redis {
namespace {

using testing::RedisCluster;

model::QuoteTick quote(const std::string& symbol, std::int64_t n) {
  return {core::Symbol::from_trusted(symbol),  *core::Price::from_string("189.10"),
          *core::Price::from_string("189.12"), *core::Quantity::from_string("300"),
          *core::Quantity::from_string("200"), n};
}

config::BusConfig on_cluster(const RedisCluster& cluster, std::size_t md_shards = 12) {
  config::BusConfig c;
  c.main = cluster.seeds().front();  // not used by the transport (the registry's)
  for (auto* bus : {&c.marketdata, &c.logic}) {
    for (const auto& s : cluster.seeds()) bus->cluster.push_back({.host = s.host, .port = s.port});
  }
  c.marketdata.shards = md_shards;
  c.logic.shards = 4;
  return c;
}

// What one host received: per message (source, sequence), and the order per symbol.
struct Sink {
  std::mutex mu;
  std::size_t deliveries = 0;
  std::set<std::uint64_t> sequences;
  std::map<std::string, std::vector<std::uint64_t>> by_symbol;
  void operator()(const bus::Envelope& e) {
    std::lock_guard l(mu);
    ++deliveries;
    sequences.insert(e.sequence);
    by_symbol[std::string(topic_symbol(e.topic.value()))].push_back(e.sequence);
  }
  std::size_t unique() {
    std::lock_guard l(mu);
    return sequences.size();
  }
  bool wait_for(std::size_t n, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline && unique() < n) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return unique() >= n;
  }
};

struct Host {
  bus::MessageBus bus;
  Sink sink;
  std::unique_ptr<RedisTransport> transport;
  bus::Publisher feed = *bus.publisher("feed");  // one sequence for all of a test's quotes
  Host(const config::BusConfig& cfg, std::string group) {
    (void)bus.subscribe("*", [this](const bus::Envelope& e) { sink(e); });
    auto t = RedisTransport::start(bus, {.config = cfg,
                                         .group = group,
                                         .consumer = group + "-1",
                                         .reconnect_max = std::chrono::milliseconds(500)});
    if (!t) throw std::runtime_error(t.error().message);
    transport = std::move(*t);
  }
  bool connected() {
    for (const auto& l : transport->status().links) {
      if (!l.reader_connected || !l.writer_connected) return false;
    }
    return true;
  }
  void wait_connected() {
    for (int i = 0; i < 1000 && !connected(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(connected());
  }
  std::uint64_t sum(std::uint64_t LinkStatus::* field) {
    std::uint64_t n = 0;
    for (const auto& l : transport->status().links) n += l.*field;
    return n;
  }
};

// Publishes `count` quotes round-robin over `symbols` symbols from `from` on, a little at a
// time (about `per_ms` a millisecond) so that a test can act while they flow.
void publish(Host& h, int from, int count, int symbols, int per_ms = 20) {
  auto& pub = h.feed;
  std::vector<bus::TopicHandle> topics;
  std::vector<std::string> names;
  for (int s = 0; s < symbols; ++s) {
    names.push_back("SYM" + std::to_string(s));
    topics.push_back(*h.bus.topic("market_data." + names.back() + ".quote"));
  }
  for (int i = from; i < from + count; ++i) {
    const auto s = static_cast<std::size_t>(i % symbols);
    pub.publish(topics[s], quote(names[s], i));
    if (i % per_ms == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void expect_in_order(Sink& sink) {
  std::lock_guard l(sink.mu);
  for (const auto& [symbol, seqs] : sink.by_symbol) {
    EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end())) << symbol << " out of order";
  }
}

TEST(ShardLayout, ShardSlotsStepEvenlyOverTheSlotsAndTheNamesCarryTheirHashTag) {
  const ShardLayout md("nautilus:market_data", 12, ShardKey::kSymbol);
  ASSERT_EQ(md.shards(), 12U);
  for (std::size_t k = 0; k < md.shards(); ++k) {
    EXPECT_GE(md.slot(k), k * kClusterSlots / 12) << k;
    EXPECT_LT(md.slot(k), (k + 1) * kClusterSlots / 12) << k;
    EXPECT_EQ(key_slot(md.stream(k)), md.slot(k)) << md.stream(k);
    EXPECT_EQ(key_slot(md.stream(k) + ":urgent"), md.slot(k));
    EXPECT_TRUE(md.stream(k).starts_with("nautilus:market_data:{")) << md.stream(k);
  }
  // A symbol's topics share a shard; the logic bus shards by family.
  EXPECT_EQ(md.shard_of("market_data.AAPL.quote"), md.shard_of("price.update.AAPL"));
  EXPECT_EQ(md.shard_of("market_data.BRK.B.bar"), md.shard_of("volume.update.BRK.B"));
  EXPECT_EQ(topic_symbol("market_data.BRK.B.bar"), "BRK.B");
  const ShardLayout logic("nautilus:engine_communication", 4, ShardKey::kFamily);
  EXPECT_EQ(logic.shard_of("risk.alert.AAPL"), logic.shard_of("risk.limits"));
  // 1,000 symbols over 12 shards in three equal slot ranges: the masters' shares within 25 %.
  std::array<int, 3> per_master{};
  for (int s = 0; s < 1000; ++s) {
    ++per_master[md.shard_of("market_data.S" + std::to_string(s) + ".bar") / 4];
  }
  const auto [lo, hi] = std::minmax_element(per_master.begin(), per_master.end());
  EXPECT_LE(*hi, *lo * 5 / 4) << per_master[0] << " " << per_master[1] << " " << per_master[2];
}

// How many of a master's clients last ran `command` (CLIENT LIST's cmd=).
int clients_running(RedisCluster& cluster, std::uint16_t port, const std::string& command) {
  auto list = cluster.node_at(port).client().command({"CLIENT", "LIST"});
  if (!list) return -1;
  int n = 0;
  for (std::size_t at = list->str.find(" cmd=" + command + " "); at != std::string::npos;
       at = list->str.find(" cmd=" + command + " ", at + 1)) {
    ++n;
  }
  return n;
}

TEST(RedisClusterTransport, ShardsSpreadOverEveryMasterAndEachSymbolKeepsItsOrder) {
  RedisCluster cluster(3);
  const auto cfg = on_cluster(cluster);
  Host a(cfg, "a"), b(cfg, "b");
  a.wait_connected();
  b.wait_connected();
  publish(a, 0, 6000, 60, 200);
  ASSERT_TRUE(a.transport->flush(std::chrono::seconds(20)));
  ASSERT_TRUE(b.sink.wait_for(6000, std::chrono::seconds(20))) << b.sink.unique();
  EXPECT_EQ(b.sink.deliveries, 6000U);
  expect_in_order(b.sink);
  // Every master holds market-data shards, and each shard's stream is where status says.
  std::set<std::string> masters;
  auto client = ClusterClient::connect(cluster.seeds(), {});
  ASSERT_TRUE(client) << client.error().message;
  long long entries = 0;
  for (const auto& l : a.transport->status().links) {
    ASSERT_GE(l.shard, 0) << l.name;
    if (!l.name.starts_with("marketdata.")) continue;
    masters.insert(l.endpoint);
    EXPECT_EQ(client->master_of(l.slot).name(), l.endpoint) << l.name;
    auto len = client->command({"XLEN", l.stream});
    ASSERT_TRUE(len && len->type == RedisReply::Type::kInteger) << l.stream;
    EXPECT_GT(len->integer, 0) << l.stream << " got nothing";
    entries += len->integer;
  }
  EXPECT_EQ(masters.size(), 3U);
  EXPECT_GT(entries, 0);
  // The four shards on each master were written through one connection, not four.
  for (const auto& m : cluster.masters()) {
    EXPECT_EQ(clients_running(cluster, m.port, "xadd"), 1) << "master on port " << m.port;
  }
}

// Kills the master that holds market-data shard `shard` while `count` quotes flow from `a`,
// and waits until its replica has taken over the shard's slot. Returns the victim's port.
std::uint16_t kill_master_mid_stream(RedisCluster& cluster, Host& a, int from, int count,
                                     std::size_t shard) {
  const auto before = a.transport->status().links.at(shard);
  const auto port =
      static_cast<std::uint16_t>(std::stoi(before.endpoint.substr(before.endpoint.find(':') + 1)));
  const auto t0 = std::chrono::steady_clock::now();
  std::thread feed([&] { publish(a, from, count, 40, 2); });  // about two seconds
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto exported = a.sum(&LinkStatus::exported);
  cluster.node_at(port).kill9();
  feed.join();
  std::printf(
      "killed the master on port %u at %lld ms, after %lu of %d quotes; the feed ended at "
      "%lld ms\n",
      port, static_cast<long long>(300), exported, count,
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - t0)
                                 .count()));
  EXPECT_LT(exported, static_cast<std::uint64_t>(count)) << "the feed was over before the kill";
  auto c = ClusterClient::connect(cluster.seeds(), {});
  EXPECT_TRUE(c);
  for (int i = 0; i < 300 && c && (!c->refresh() || c->master_of(before.slot).port == port); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  cluster.wait_ok(std::chrono::seconds(30));
  return port;
}

TEST(RedisClusterTransport, AKilledMasterIsFollowedToItsReplicaAndReplicatedLosesNoneAcknowledged) {
  RedisCluster cluster(3);
  auto cfg = on_cluster(cluster, 6);
  // First with durability local: acknowledged once the master has it, so a master killed
  // before its replica caught up takes some with it. Counted, not asserted.
  std::uint16_t killed = 0;
  {
    Host a(cfg, "a"), b(cfg, "b");
    a.wait_connected();
    b.wait_connected();
    killed = kill_master_mid_stream(cluster, a, 0, 4000, 0);
    ASSERT_TRUE(a.transport->flush(std::chrono::seconds(30)));
    const std::string dead = "127.0.0.1:" + std::to_string(killed);
    for (int i = 0; i < 200 && b.transport->status().links.at(0).endpoint == dead; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_NE(a.transport->status().links.at(0).endpoint, dead) << "still on the dead master";
    EXPECT_NE(b.transport->status().links.at(0).endpoint, dead) << "still on the dead master";
    b.sink.wait_for(4000, std::chrono::seconds(10));
    const std::size_t got = b.sink.unique();
    EXPECT_EQ(b.sink.deliveries, got) << "delivered twice";
    std::printf(
        "durability local, master killed mid-stream: %zu of 4000 acknowledged messages "
        "reached the other host, %zu lost\n",
        got, 4000 - got);
    ::testing::Test::RecordProperty("local_lost", static_cast<int>(4000 - got));
  }
  // The killed node comes back as its old replica's replica: every master has one again.
  cluster.node_at(killed).start_again();
  cluster.wait_replicated(std::chrono::seconds(30));
  // Then replicated: a round is acknowledged only once the shard master's replica has it, so
  // every acknowledged message survives the next master's death, delivered once.
  cfg.marketdata.durability = config::Durability::kReplicated;
  Host a(cfg, "ra"), b(cfg, "rb");
  a.wait_connected();
  b.wait_connected();
  // Shard 3 of 6 is on another master than shard 0's.
  killed = kill_master_mid_stream(cluster, a, 10'000, 4000, 3);
  // The promoted replica is a master without a replica: what it takes is not acknowledged
  // (it stays in the resend buffer) until a replica has it too...
  EXPECT_FALSE(a.transport->flush(std::chrono::seconds(2)));
  EXPECT_GT(a.sum(&LinkStatus::replica_timeouts), 0U);
  // ... which it has once the killed node is back, as the new master's replica.
  cluster.node_at(killed).start_again();
  ASSERT_TRUE(a.transport->flush(std::chrono::seconds(30))) << "not all acknowledged";
  ASSERT_TRUE(b.sink.wait_for(4000, std::chrono::seconds(30))) << b.sink.unique();
  EXPECT_EQ(b.sink.deliveries, 4000U) << "delivered twice after de-duplication";
  EXPECT_EQ(a.sum(&LinkStatus::exported), 4000U);
  expect_in_order(b.sink);
}

TEST(RedisClusterTransport, SlotsReshardedWhileMessagesFlowLoseNothingAndDeliverNothingTwice) {
  RedisCluster cluster(3);
  const auto cfg = on_cluster(cluster);
  Host a(cfg, "a"), b(cfg, "b");
  a.wait_connected();
  b.wait_connected();
  const auto before = a.transport->status();
  const auto masters = cluster.masters();
  ASSERT_EQ(masters.size(), 3U);
  // 3,000 of the lowest slots (shards 0 to 2) move from their master to the last slot's while
  // quotes flow.
  std::thread feed([&] { publish(a, 0, 8000, 60, 10); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto by_port = [&](std::uint16_t port) {
    for (const auto& m : masters) {
      if (m.port == port) return m.id;
    }
    return std::string();
  };
  auto c = ClusterClient::connect(cluster.seeds(), {});
  ASSERT_TRUE(c);
  const auto from = c->master_of(0), to = c->master_of(kClusterSlots - 1);
  EXPECT_TRUE(cluster.reshard(by_port(from.port), by_port(to.port), 3000));
  feed.join();
  ASSERT_TRUE(a.transport->flush(std::chrono::seconds(30)));
  ASSERT_TRUE(b.sink.wait_for(8000, std::chrono::seconds(30))) << b.sink.unique();
  EXPECT_EQ(b.sink.deliveries, 8000U) << "delivered twice after de-duplication";
  expect_in_order(b.sink);
  // At least one shard now lives on the other master, and the transport found it there.
  int moved = 0;
  const auto after = a.transport->status();
  ASSERT_TRUE(c->refresh());
  for (std::size_t i = 0; i < after.links.size(); ++i) {
    if (after.links[i].endpoint != before.links[i].endpoint) ++moved;
    if (after.links[i].name.starts_with("marketdata.")) {
      EXPECT_EQ(after.links[i].endpoint, c->master_of(after.links[i].slot).name());
    }
  }
  EXPECT_GT(moved, 0);
}

TEST(RedisClusterTransport, AWholeClusterRestartedHasItsGroupsRecreatedWithoutAnErrorStorm) {
  RedisCluster cluster(3);
  const auto cfg = on_cluster(cluster, 6);
  Host a(cfg, "a"), b(cfg, "b");
  a.wait_connected();
  b.wait_connected();
  publish(a, 0, 1000, 20, 100);
  ASSERT_TRUE(b.sink.wait_for(1000, std::chrono::seconds(20)));
  cluster.restart_all();  // every stream and group is gone: no persistence
  a.wait_connected();
  b.wait_connected();
  publish(a, 1000, 1000, 20, 100);
  ASSERT_TRUE(a.transport->flush(std::chrono::seconds(30)));
  ASSERT_TRUE(b.sink.wait_for(2000, std::chrono::seconds(30))) << b.sink.unique();
  EXPECT_EQ(b.sink.deliveries, 2000U);
  // Each link fails a handful of times while the nodes are down, backing off (500 ms at most
  // here), never in a loop.
  for (auto* h : {&a, &b}) {
    for (const auto& l : h->transport->status().links) {
      EXPECT_LT(l.failed_reads + l.reconnects, 40U) << l.name;
    }
  }
}

}  // namespace
}  // namespace nautilus::bus_redis
