// Bus configuration: the documented environment variables (docs/CONFIGURATION.md), plus a host/port
// for each of the three Redis servers, with a TOML file overriding both. Every value is validated
// at start-up, and an error names the variable or key that is wrong.
//
//   auto cfg = config::load_bus_config(config::process_env(), "nautilus.toml");
//   if (!cfg) { fmt::print(stderr, "{}\n", cfg.error().message); return 2; }
//   cfg->logic.port;   // 6381 unless ENGINE_LOGIC_REDIS_PORT or [redis.logic] port says otherwise
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nautilus/core/error.hpp"
#include "nautilus/core/setting_value.hpp"

namespace nautilus::config {

// When a bus's write counts as done (it leaves the publisher's resend buffer): once the server
// has it (local), or once a replica has it too (replicated: WAIT 1 after each round, so a
// master that dies right after acknowledging loses nothing its replica does not have).
enum class Durability : std::uint8_t { kLocal, kReplicated };

// One node of a Redis Cluster to ask for the slot map first ("host:port" in the settings).
struct ClusterSeed {
  std::string host;
  std::uint16_t port = 0;
  friend bool operator==(const ClusterSeed&, const ClusterSeed&) = default;
};

// TLS to a Redis (REDIS_TLS, [redis.<bus>] tls = true): the server's certificate is always
// verified, against `ca_file` (PEM) or the system's CAs, and so is its name: `server_name`, or
// the host connected to (a DNS name or an IP address in the certificate's subjectAltName).
// `cert_file` and `key_file` (PEM, both or neither) identify the client, for a server with
// tls-auth-clients on.
struct TlsSettings {
  bool enabled = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;
  friend bool operator==(const TlsSettings&, const TlsSettings&) = default;
};

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  int db = 0;
  std::string username;                        // ACL user; empty = "default"
  std::string password;                        // empty = no AUTH
  Durability durability = Durability::kLocal;  // the buses' writes (not the main Redis's)
  TlsSettings tls;
  // A bus on a Redis Cluster (MARKETDATA_REDIS_CLUSTER, [redis.marketdata] cluster): the seed
  // nodes, in place of host and port. Its stream is then `shards` streams, each with its own
  // hash tag, spread over the masters' slots (docs/OPERATIONS.md).
  std::vector<ClusterSeed> cluster;
  std::size_t shards = 0;  // with `cluster`: 0 = the bus's default (12 market data, 4 logic)

  [[nodiscard]] bool is_cluster() const noexcept { return !cluster.empty(); }

  friend bool operator==(const RedisEndpoint&, const RedisEndpoint&) = default;
};

enum class Retention : std::uint8_t { kMaxLen, kMinId };

struct BusConfig {
  bool messagebus_enabled = true;  // MESSAGEBUS_ENABLED
  // [engines.<name>] key = value: settings handed to each engine, keeping TOML's types (the
  // engine's declared settings validate them; `--set` overrides them).
  std::map<std::string, std::map<std::string, core::SettingValue>> engine_settings;
  RedisEndpoint main{.port = 6379};        // registry and state snapshots only
  RedisEndpoint marketdata{.port = 6380};  // market_data.*, price.update.*, volume.update.*
  RedisEndpoint logic{.port = 6381};       // everything else
  // Migration from single-Redis: while set, the engine also writes to and reads from this
  // (old) server, so engines not yet moved still hear it and are heard (docs/OPERATIONS.md).
  std::optional<RedisEndpoint> legacy;            // LEGACY_REDIS_HOST / LEGACY_REDIS_PORT
  std::chrono::milliseconds buffer_interval{20};  // MESSAGEBUS_BUFFER_INTERVAL
  std::size_t buffer_size = 3000;                 // MESSAGEBUS_BUFFER_SIZE
  // Messages packed into one stream entry (MESSAGEBUS_PACK_MAX): packing divides Redis's work
  // per message; 1 writes one message per entry ("d" entries only).
  std::size_t pack_max = 256;
  // While a Redis is down: outbound bytes kept per bus and path (MESSAGEBUS_FAILOVER_BUFFER_MB).
  std::size_t failover_buffer_bytes = 64u << 20;
  // With durability "replicated": how long one WAIT for a replica may take before the round is
  // counted as not yet replicated and waited for again (MESSAGEBUS_REPLICATION_TIMEOUT_MS).
  std::chrono::milliseconds replication_timeout{1000};
  std::string logic_stream = "nautilus:engine_communication";
  std::string marketdata_stream = "nautilus:market_data";
  Retention retention = Retention::kMaxLen;
  std::size_t retention_maxlen = 1'000'000;        // entries, trimmed with MAXLEN ~
  std::chrono::seconds retention_minid_age{3600};  // with kMinId: keep this much history
  bool auto_hardware_routing = true;               // AUTO_HARDWARE_ROUTING

  // True when all three buses are one server (single-Redis mode).
  [[nodiscard]] bool single_redis() const noexcept;
};

// Reads one environment variable; injected so tests do not touch the process environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
[[nodiscard]] EnvLookup process_env();

// Defaults, then the environment, then `toml_path` if given (unknown keys are errors).
[[nodiscard]] core::Result<BusConfig> load_bus_config(const EnvLookup& env,
                                                      std::optional<std::string> toml_path = {});
// The same from TOML text, for tests and embedded configs; `origin` names it in errors.
[[nodiscard]] core::Result<BusConfig> load_bus_config_text(const EnvLookup& env,
                                                           std::string_view toml_text,
                                                           std::string_view origin);

// A TOML file of [engines.<name>] tables (as load_bus_config reads them) and of the other
// top-level tables a command names (`nautilus backtest`'s [backtest]), each table's keys with
// their TOML types. Any other top-level key is an error naming it; a syntax error names the
// file, line and column.
struct EngineTables {
  std::map<std::string, std::map<std::string, core::SettingValue>> engines;
  std::map<std::string, std::map<std::string, core::SettingValue>> tables;  // by table name
};
[[nodiscard]] core::Result<EngineTables> load_engine_tables(const std::string& path,
                                                            const std::vector<std::string>& tables);
[[nodiscard]] core::Result<EngineTables> load_engine_tables_text(
    std::string_view toml_text, std::string_view origin, const std::vector<std::string>& tables);

}  // namespace nautilus::config
