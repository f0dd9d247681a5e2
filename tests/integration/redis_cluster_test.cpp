// The cluster client (bus_redis/cluster.hpp) against a real Redis Cluster of three masters with
// one replica each (support/redis_cluster.hpp): key slots as Redis computes them (CLUSTER
// KEYSLOT is the reference), commands and pipelines routed to each slot's master, a slot moved
// mid-use followed through ASK and MOVED, and a killed master's slots served by its promoted
// replica without the caller doing anything.
#include "support/redis_cluster.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "nautilus/bus_redis/cluster.hpp"

namespace nautilus::bus_redis {
namespace {

using testing::RedisCluster;

TEST(ClusterSlots, Crc16AndKeySlotsAreTheSpecificationsOwn) {
  // The specification's check value for CRC16/XMODEM, and its hash-tag examples.
  EXPECT_EQ(crc16("123456789"), 0x31C3);
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("foo{}{bar}"), crc16("foo{}{bar}") % kClusterSlots);  // empty tag: whole key
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));                  // first { to next }
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
  EXPECT_EQ(key_slot("no close {brace"), crc16("no close {brace") % kClusterSlots);
}

TEST(RedisCluster, EveryKeysSlotIsTheOneRedisComputes) {
  RedisCluster cluster;
  auto c = ClusterClient::connect(cluster.seeds(), {});
  ASSERT_TRUE(c) << c.error().message;
  auto* any = c->node(c->masters().front());
  ASSERT_NE(any, nullptr);
  std::mt19937_64 rng(7);
  std::vector<std::vector<std::string>> asks;
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; ++i) {
    std::string k;
    const auto len = rng() % 24;
    for (std::size_t j = 0; j < len; ++j) k += static_cast<char>(rng() % 256);
    if (i % 3 == 0) k = "pre{" + k.substr(0, len / 2) + "}post";  // tags, some empty
    keys.push_back(k);
    asks.push_back({"CLUSTER", "KEYSLOT", k});
  }
  auto replies = any->pipeline(asks);
  ASSERT_TRUE(replies);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ASSERT_EQ(key_slot(keys[i]), (*replies)[i].integer) << "key #" << i;
  }
}

TEST(RedisCluster, CommandsGoToTheirSlotsMasterAndAPipelineSpreadsOverEveryMaster) {
  RedisCluster cluster;
  auto c = ClusterClient::connect(cluster.seeds(), {});
  ASSERT_TRUE(c) << c.error().message;
  const auto masters = c->masters();
  ASSERT_EQ(masters.size(), 3U);
  std::size_t covered = 0;
  for (const auto& r : c->slots()) covered += r.last - r.first + 1U;
  EXPECT_EQ(covered, kClusterSlots);
  std::vector<std::vector<std::string>> sets;
  for (int i = 0; i < 300; ++i) {
    sets.push_back({"SET", "k" + std::to_string(i), "v" + std::to_string(i)});
  }
  auto done = c->pipeline(sets);
  ASSERT_TRUE(done) << done.error().message;
  for (const auto& r : *done) EXPECT_EQ(r.str, "OK");
  std::map<std::string, long long> per_master;
  long long total = 0;
  for (const auto& m : masters) {
    auto n = c->node(m)->command({"DBSIZE"});
    ASSERT_TRUE(n);
    per_master[m.name()] = n->integer;
    total += n->integer;
    EXPECT_GT(n->integer, 50) << m.name() << ": about a third of 300";
  }
  EXPECT_EQ(total, 300);

  for (int i = 0; i < 300; i += 7) {
    auto v = c->command({"GET", "k" + std::to_string(i)});
    ASSERT_TRUE(v);
    EXPECT_EQ(v->str, "v" + std::to_string(i));
  }
  EXPECT_EQ(c->stats().moved, 0U);
  EXPECT_EQ(c->stats().asks, 0U);
}

// The steps `redis-cli --cluster reshard` takes for one slot, done by hand so the test can act
// between them: while the slot migrates, a key not yet moved is answered by the old master and a
// new one by the new master (ASK); once it has moved, the old master says MOVED.
TEST(RedisCluster, ASlotMovedWhileInUseIsFollowedThroughAskThenMoved) {
  RedisCluster cluster;
  auto c = ClusterClient::connect(cluster.seeds(), {});
  ASSERT_TRUE(c) << c.error().message;
  const std::string key = "{moving}.old";
  const std::uint16_t slot = key_slot(key);
  auto set = c->command({"SET", key, "before"});
  ASSERT_TRUE(set && set->str == "OK");
  const ClusterNode from = c->master_of(slot);
  ClusterNode to;
  for (const auto& m : c->masters()) {
    if (!(m == from)) to = m;
  }
  RedisClient* src = c->node(from);
  RedisClient* dst = c->node(to);
  ASSERT_TRUE(src != nullptr && dst != nullptr);
  const auto id_of = [&](RedisClient* n) {
    auto id = n->command({"CLUSTER", "MYID"});
    return id && !id->is_error() ? id->str : std::string();
  };
  const std::string from_id = id_of(src), to_id = id_of(dst);
  ASSERT_FALSE(from_id.empty() || to_id.empty());
  const std::string s = std::to_string(slot);
  ASSERT_EQ(dst->command({"CLUSTER", "SETSLOT", s, "IMPORTING", from_id})->str, "OK");
  ASSERT_EQ(src->command({"CLUSTER", "SETSLOT", s, "MIGRATING", to_id})->str, "OK");
  // Migrating: the old key still answers where it is; a new key goes to the new master.
  EXPECT_EQ(c->command({"GET", key})->str, "before");
  auto fresh = c->command({"SET", "{moving}.new", "after"});
  ASSERT_TRUE(fresh) << fresh.error().message;
  EXPECT_EQ(fresh->str, "OK");
  EXPECT_GE(c->stats().asks, 1U);
  auto on_dst = dst->pipeline({{"ASKING"}, {"GET", "{moving}.new"}});
  ASSERT_TRUE(on_dst);
  EXPECT_EQ(on_dst->back().str, "after") << "the new key lives on the new master";
  // The old key moves, the slot is handed over on every master.
  auto migrated =
      src->command({"MIGRATE", "127.0.0.1", std::to_string(to.port), "", "0", "5000", "KEYS", key});
  ASSERT_TRUE(migrated);
  ASSERT_EQ(migrated->str, "OK");
  for (const auto& m : c->masters()) {
    ASSERT_EQ(c->node(m)->command({"CLUSTER", "SETSLOT", s, "NODE", to_id})->str, "OK");
  }
  // The client still routes the slot to the old master: MOVED, then the new map.
  const auto moved_before = c->stats().moved;
  auto v = c->command({"GET", key});
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->str, "before");
  EXPECT_EQ(c->stats().moved, moved_before + 1);
  EXPECT_EQ(c->master_of(slot), to);
  auto both = c->pipeline({{"GET", key}, {"GET", "{moving}.new"}});
  ASSERT_TRUE(both);
  EXPECT_EQ((*both)[0].str, "before");
  EXPECT_EQ((*both)[1].str, "after");
  EXPECT_EQ(c->stats().moved, moved_before + 1) << "the map already knew";
}

TEST(RedisCluster, AKilledMastersSlotsAreServedByItsPromotedReplicaWithoutTheCallerRetrying) {
  RedisCluster cluster;
  auto c = ClusterClient::connect(cluster.seeds(), {});
  ASSERT_TRUE(c) << c.error().message;
  const std::string key = "{victim}.k";
  const std::uint16_t slot = key_slot(key);
  ASSERT_TRUE(c->command({"SET", key, "1"}));
  const ClusterNode dead = c->master_of(slot);
  // Let the replica catch up, then kill the master.
  auto waited = c->node(dead)->command({"WAIT", "1", "2000"});
  ASSERT_TRUE(waited);
  EXPECT_EQ(waited->integer, 1);
  // Its replica, from CLUSTER NODES (CLUSTER SLOTS lists a replica only once gossip has told
  // the node answering it that the replica holds data).
  ClusterNode replica{.host = "127.0.0.1", .port = 0, .id = {}};
  const auto nodes = cluster.topology();
  for (const auto& n : nodes) {
    if (n.port == dead.port) {
      for (const auto& r : nodes) {
        if (r.master_id == n.id) replica.port = r.port;
      }
    }
  }
  ASSERT_NE(replica.port, 0);
  cluster.node_at(dead.port).kill9();
  // One call: it waits out the failover by itself (cluster-node-timeout 1 s).
  auto set = c->command({"INCR", key});
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->integer, 2) << "the replica had the key";
  EXPECT_EQ(c->master_of(slot), replica);
  // Every slot is served again, by three masters, none of them the dead one.
  const auto masters = c->masters();
  EXPECT_EQ(masters.size(), 3U);
  for (const auto& m : masters) EXPECT_FALSE(m == dead);
  std::vector<std::vector<std::string>> sets;
  for (int i = 0; i < 100; ++i) sets.push_back({"SET", "after" + std::to_string(i), "x"});
  auto done = c->pipeline(sets);
  ASSERT_TRUE(done) << done.error().message;
  for (const auto& r : *done) EXPECT_EQ(r.str, "OK");
}

}  // namespace
}  // namespace nautilus::bus_redis
