#include "nautilus/config/bus_config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

namespace nautilus::config {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view k) -> std::optional<std::string> {
    auto it = vars.find(std::string(k));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(BusConfig, DefaultsAreTheGuidesDualBusTopology) {
  auto c = load_bus_config(env_of({}));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->messagebus_enabled);
  EXPECT_EQ(c->main.port, 6379);
  EXPECT_EQ(c->marketdata.port, 6380);
  EXPECT_EQ(c->logic.port, 6381);
  EXPECT_EQ(c->buffer_interval, std::chrono::milliseconds(20));
  EXPECT_EQ(c->buffer_size, 3000u);
  EXPECT_EQ(c->logic_stream, "nautilus:engine_communication");
  EXPECT_FALSE(c->single_redis());
}

TEST(BusConfig, ReadsTheGuidesEnvironmentVariables) {
  auto c = load_bus_config(env_of({{"MESSAGEBUS_ENABLED", "0"},
                                   {"REDIS_HOST", "redis.internal"},
                                   {"REDIS_PORT", "7000"},
                                   {"REDIS_DB", "2"},
                                   {"REDIS_USERNAME", "nautilus"},
                                   {"REDIS_PASSWORD", "s3cret"},
                                   {"MESSAGEBUS_BUFFER_INTERVAL", "5"},
                                   {"MESSAGEBUS_BUFFER_SIZE", "100"},
                                   {"MESSAGEBUS_PACK_MAX", "1"},
                                   {"ENGINE_LOGIC_REDIS_PORT", "7002"},
                                   {"AUTO_HARDWARE_ROUTING", "false"},
                                   {"MESSAGEBUS_FAILOVER_BUFFER_MB", "8"}}));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->messagebus_enabled);
  EXPECT_EQ(c->main.host, "redis.internal");
  EXPECT_EQ(c->marketdata.host, "redis.internal");  // REDIS_HOST is every bus's default
  EXPECT_EQ(c->main.port, 7000);
  EXPECT_EQ(c->marketdata.port, 6380);
  EXPECT_EQ(c->logic.port, 7002);
  EXPECT_EQ(c->logic.db, 2);
  EXPECT_EQ(c->logic.username, "nautilus");
  EXPECT_EQ(c->marketdata.password, "s3cret");
  EXPECT_EQ(c->buffer_interval, std::chrono::milliseconds(5));
  EXPECT_EQ(c->buffer_size, 100u);
  EXPECT_EQ(c->pack_max, 1u);
  EXPECT_FALSE(c->auto_hardware_routing);
  EXPECT_EQ(c->failover_buffer_bytes, 8u << 20);
}

TEST(BusConfig, InvalidEnvironmentValuesNameTheVariable) {
  const std::pair<const char*, const char*> bad[] = {
      {"REDIS_PORT", "http"},
      {"REDIS_PORT", "70000"},
      {"REDIS_PORT", ""},
      {"MESSAGEBUS_BUFFER_SIZE", "0"},
      {"MESSAGEBUS_PACK_MAX", "5000"},
      {"MESSAGEBUS_BUFFER_INTERVAL", "-1"},
      {"MESSAGEBUS_ENABLED", "maybe"},
      {"REDIS_HOST", "bad host"},
      {"REDIS_DB", "x"},
      {"MARKETDATA_REDIS_PORT", "6380.5"},
      {"MESSAGEBUS_LOGIC_STREAM", "has space"},
      {"MESSAGEBUS_FAILOVER_BUFFER_MB", "0"},
      {"ENGINE_LOGIC_REDIS_DURABILITY", "fsync"},
      {"MESSAGEBUS_REPLICATION_TIMEOUT_MS", "0"},
  };
  for (const auto& [var, value] : bad) {
    auto c = load_bus_config(env_of({{var, value}}));
    ASSERT_FALSE(c) << var << "=" << value << " accepted";
    EXPECT_NE(c.error().message.find(var), std::string::npos) << c.error().message;
  }
}

TEST(BusConfig, TomlOverridesTheEnvironment) {
  const char* text = R"(
[messagebus]
buffer_interval_ms = 0
logic_stream = "logic:v2"
[messagebus.retention]
policy = "minid"
minid_age_s = 600
[redis]
host = "10.0.0.5"
[redis.marketdata]
port = 7380
[redis.logic]
host = "10.0.0.6"
password = "p"
[hardware]
auto_routing = false
[engines.marketdata]
source = "synthetic"
speed = 2.5
seed = 7
symbols = ["AAPL", "MSFT"]
)";
  auto c = load_bus_config_text(
      env_of({{"REDIS_HOST", "ignored"}, {"MESSAGEBUS_BUFFER_INTERVAL", "50"}}), text, "test.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->buffer_interval, std::chrono::milliseconds(0));
  EXPECT_EQ(c->logic_stream, "logic:v2");
  EXPECT_EQ(c->retention, Retention::kMinId);
  EXPECT_EQ(c->retention_minid_age, std::chrono::seconds(600));
  EXPECT_EQ(c->main.host, "10.0.0.5");
  EXPECT_EQ(c->marketdata.port, 7380);
  EXPECT_EQ(c->logic.host, "10.0.0.6");
  EXPECT_EQ(c->logic.password, "p");
  EXPECT_FALSE(c->auto_hardware_routing);
  // Engine settings keep their TOML types (the engine's declaration validates them).
  const auto& md = c->engine_settings.at("marketdata");
  EXPECT_EQ(std::get<std::string>(md.at("source")), "synthetic");
  EXPECT_EQ(std::get<double>(md.at("speed")), 2.5);
  EXPECT_EQ(std::get<std::int64_t>(md.at("seed")), 7);
  EXPECT_EQ(std::get<std::vector<std::string>>(md.at("symbols")),
            (std::vector<std::string>{"AAPL", "MSFT"}));
}

TEST(BusConfig, DurabilityIsSetPerBusLocalUnlessSaidOtherwise) {
  auto d = load_bus_config(env_of({}));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->logic.durability, Durability::kLocal);
  EXPECT_EQ(d->replication_timeout, std::chrono::milliseconds(1000));
  auto env = load_bus_config(env_of({{"REDIS_DURABILITY", "replicated"},
                                     {"MARKETDATA_REDIS_DURABILITY", "local"},
                                     {"MESSAGEBUS_REPLICATION_TIMEOUT_MS", "250"}}));
  ASSERT_TRUE(env) << env.error().message;
  EXPECT_EQ(env->logic.durability, Durability::kReplicated);
  EXPECT_EQ(env->marketdata.durability, Durability::kLocal);
  EXPECT_EQ(env->replication_timeout, std::chrono::milliseconds(250));
  auto toml = load_bus_config_text(env_of({}), R"(
[messagebus]
replication_timeout_ms = 50
[redis.logic]
durability = "replicated"
)",
                                   "test.toml");
  ASSERT_TRUE(toml) << toml.error().message;
  EXPECT_EQ(toml->logic.durability, Durability::kReplicated);
  EXPECT_EQ(toml->marketdata.durability, Durability::kLocal);
  EXPECT_EQ(toml->replication_timeout, std::chrono::milliseconds(50));
  auto bad = load_bus_config_text(env_of({}), "[redis.logic]\ndurability = \"sync\"\n", "t.toml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("redis.logic.durability"), std::string::npos)
      << bad.error().message;
  EXPECT_NE(bad.error().message.find("\"replicated\""), std::string::npos);
}

TEST(BusConfig, ABusOnAClusterTakesSeedNodesAndAShardCountAndBadOnesAreNamed) {
  auto env = load_bus_config(env_of({{"MARKETDATA_REDIS_CLUSTER", "10.0.0.1:7000,node-b:7001"},
                                     {"MARKETDATA_REDIS_SHARDS", "6"}}));
  ASSERT_TRUE(env) << env.error().message;
  ASSERT_EQ(env->marketdata.cluster.size(), 2U);
  EXPECT_EQ(env->marketdata.cluster[1], (ClusterSeed{.host = "node-b", .port = 7001}));
  EXPECT_EQ(env->marketdata.shards, 6U);
  EXPECT_FALSE(env->logic.is_cluster());
  auto toml = load_bus_config_text(env_of({}), R"(
[redis.logic]
cluster = ["127.0.0.1:7000", "127.0.0.1:7001"]
shards = 3
)",
                                   "c.toml");
  ASSERT_TRUE(toml) << toml.error().message;
  EXPECT_EQ(toml->logic.cluster.size(), 2U);
  EXPECT_EQ(toml->logic.shards, 3U);
  const std::pair<const char*, const char*> bad[] = {
      {"[redis.logic]\ncluster = [\"nohost\"]\n", "redis.logic.cluster"},
      {"[redis.logic]\ncluster = [\"h:99999\"]\n", "redis.logic.cluster"},
      {"[redis.logic]\ncluster = []\n", "redis.logic.cluster"},
      {"[redis.logic]\ncluster = [\"h:1\"]\nshards = 0\n", "redis.logic.shards"},
      {"[redis.logic]\nshards = 4\n", "needs a cluster"},
      {"[redis.main]\ncluster = [\"h:1\"]\nshards = 2\n", "redis.main.shards"},
      {"[redis.main]\ncluster = [\"h:1\"]\ndb = 2\n", "redis.main.db"},
      {"[redis.legacy]\ncluster = [\"h:1\"]\n", "redis.legacy.cluster"},
  };
  for (const auto& [text, want] : bad) {
    auto c = load_bus_config_text(env_of({}), text, "bad.toml");
    ASSERT_FALSE(c) << text;
    EXPECT_NE(c.error().message.find(want), std::string::npos) << c.error().message;
  }
  // The main Redis (registry, state snapshots) may be a cluster too, unsharded.
  auto main = load_bus_config(env_of({{"REDIS_CLUSTER", "10.0.0.1:7000"}}));
  ASSERT_TRUE(main) << main.error().message;
  EXPECT_TRUE(main->main.is_cluster());
  EXPECT_FALSE(main->marketdata.is_cluster());
  auto main_toml =
      load_bus_config_text(env_of({}), "[redis.main]\ncluster = [\"h:1\", \"h:2\"]\n", "m.toml");
  ASSERT_TRUE(main_toml) << main_toml.error().message;
  EXPECT_EQ(main_toml->main.cluster.size(), 2U);
  auto e = load_bus_config(env_of({{"ENGINE_LOGIC_REDIS_CLUSTER", "a:1,,b"}}));
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("ENGINE_LOGIC_REDIS_CLUSTER"), std::string::npos);
}

TEST(BusConfig, TlsIsPerBusWithItsFilesCheckedAtLoadNamingTheKey) {
  const std::string ca = ::testing::TempDir() + "/nautilus-bus-config-ca.pem";
  std::ofstream(ca) << "not read here, only opened\n";
  auto all = load_bus_config(env_of({{"REDIS_TLS", "1"}, {"REDIS_TLS_CA_FILE", ca}}));
  ASSERT_TRUE(all) << all.error().message;
  for (const auto* ep : {&all->main, &all->marketdata, &all->logic}) {
    EXPECT_TRUE(ep->tls.enabled);
    EXPECT_EQ(ep->tls.ca_file, ca);
  }
  auto one = load_bus_config(env_of({{"MARKETDATA_REDIS_TLS", "yes"}}));
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_TRUE(one->marketdata.tls.enabled);
  EXPECT_FALSE(one->logic.tls.enabled);
  EXPECT_FALSE(one->main.tls.enabled);
  auto toml = load_bus_config_text(env_of({}),
                                   "[redis.logic]\ntls = true\ntls_ca_file = \"" + ca +
                                       "\"\ntls_server_name = \"redis.internal\"\n",
                                   "t.toml");
  ASSERT_TRUE(toml) << toml.error().message;
  EXPECT_TRUE(toml->logic.tls.enabled);
  EXPECT_EQ(toml->logic.tls.server_name, "redis.internal");
  EXPECT_FALSE(toml->marketdata.tls.enabled);
  const std::pair<std::string, const char*> bad[] = {
      {"[redis.logic]\ntls = true\ntls_ca_file = \"/nonexistent/ca.pem\"\n",
       "redis.logic.tls_ca_file"},
      {"[redis.logic]\ntls = true\ntls_cert_file = \"" + ca + "\"\n", "redis.logic.tls_key_file"},
      {"[redis.main]\ntls = \"yes\"\n", "redis.main.tls"},
      {"[redis.logic]\ntls_ca = \"x\"\n", "redis.logic.tls_ca"},
  };
  for (const auto& [text, want] : bad) {
    auto c = load_bus_config_text(env_of({}), text, "bad.toml");
    ASSERT_FALSE(c) << text;
    EXPECT_NE(c.error().message.find(want), std::string::npos) << c.error().message;
  }
  auto env_bad = load_bus_config(env_of({{"ENGINE_LOGIC_REDIS_TLS", "maybe"}}));
  ASSERT_FALSE(env_bad);
  EXPECT_NE(env_bad.error().message.find("ENGINE_LOGIC_REDIS_TLS"), std::string::npos);
}

TEST(BusConfig, SingleRedisModeWhenAllBusesAreOneServer) {
  auto c = load_bus_config_text(env_of({}), "[redis]\nport = 6379\n", "single.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->single_redis());
  EXPECT_NE(c->marketdata_stream, c->logic_stream);
}

TEST(BusConfig, BadTomlIsAnErrorWithTheLocationOrKey) {
  const std::pair<const char*, const char*> bad[] = {
      {"[messagebus\n", "bad.toml:1"},
      {"[messagebus]\nbuffer_size = \"big\"\n", "messagebus.buffer_size"},
      {"[messagebus]\npack_max = 0\n", "messagebus.pack_max"},
      {"[messagebus]\nbufer_size = 3\n", "messagebus.bufer_size"},
      {"[redis.logic]\nport = 0\n", "redis.logic.port"},
      {"[redis.marketdata.main]\nport = 1\n", "redis.marketdata"},
      {"[messagebus.retention]\npolicy = \"forever\"\n", "messagebus.retention.policy"},
      {"[gpu]\nmetal = true\n", "config.gpu"},
      {"engines = 3\n", "engines"},
      {"[engines.marketdata]\nfiles = [1]\n", "engines.marketdata.files"},
      {"[redis]\nport = 6379\n[messagebus]\nmarketdata_stream = \"s\"\nlogic_stream = \"s\"\n",
       "share a name"},
  };
  for (const auto& [text, needle] : bad) {
    auto c = load_bus_config_text(env_of({}), text, "bad.toml");
    ASSERT_FALSE(c) << text;
    EXPECT_NE(c.error().message.find(needle), std::string::npos)
        << "'" << c.error().message << "' lacks '" << needle << "'";
  }
}

TEST(BusConfig, LegacyServerForMigration) {
  auto env = load_bus_config(env_of({{"LEGACY_REDIS_PORT", "6379"},
                                     {"MARKETDATA_REDIS_PORT", "7380"},
                                     {"ENGINE_LOGIC_REDIS_PORT", "7381"}}));
  ASSERT_TRUE(env) << env.error().message;
  ASSERT_TRUE(env->legacy);
  EXPECT_EQ(env->legacy->port, 6379);
  EXPECT_FALSE(load_bus_config(env_of({}))->legacy);
  auto file = load_bus_config_text(env_of({}), "[redis.legacy]\nhost = \"10.0.0.9\"\n", "m.toml");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->legacy->host, "10.0.0.9");
  auto same = load_bus_config(env_of({{"LEGACY_REDIS_PORT", "6381"}}));  // = the logic bus
  ASSERT_FALSE(same);
  EXPECT_NE(same.error().message.find("legacy"), std::string::npos);
}

TEST(BusConfig, MissingFileIsNotFound) {
  auto c = load_bus_config(env_of({}), "/nonexistent/nautilus.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, core::ErrorCode::kNotFound);
}

}  // namespace
}  // namespace nautilus::config
