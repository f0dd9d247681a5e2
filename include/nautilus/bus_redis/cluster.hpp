// ClusterClient: a Redis Cluster from the client's side, which hiredis 0.14 does not do. The
// slot map comes from CLUSTER SLOTS of any reachable node (the seeds first time); a command
// goes to the master of its key's slot (CRC16 of the key, or of its {hash tag}, mod 16384) over
// one connection per master. A MOVED reply re-reads the map and the command goes again; an ASK
// reply (a slot being migrated) sends it once to the named node after ASKING. A master that
// stops answering is waited out until its replica is promoted (the map read again every
// 100 ms, up to `failover_wait`). Synchronous, for one thread, like RedisClient.
//
//   auto c = ClusterClient::connect({{.host = "10.0.0.1", .port = 7000}}, {});
//   auto r = c->command({"XADD", "nautilus:md:{3}", "*", "d", bytes});  // key at index 1
//   auto rs = c->pipeline({{"XADD", "a:{1}", "*", "d", x}, {"XADD", "a:{2}", "*", "d", y}});
//   for (const auto& m : c->masters()) { ... c->node(m)->command({"INFO"}) ... }
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nautilus/bus_redis/redis_client.hpp"
#include "nautilus/config/bus_config.hpp"
#include "nautilus/core/error.hpp"

namespace nautilus::bus_redis {

inline constexpr std::uint16_t kClusterSlots = 16384;

// CRC16/XMODEM (Redis Cluster's: polynomial 0x1021, initial 0) of the bytes.
[[nodiscard]] std::uint16_t crc16(std::string_view bytes) noexcept;
// The slot of a key: of its hash tag (between the first '{' and the next '}', when not empty),
// else of the whole key.
[[nodiscard]] std::uint16_t key_slot(std::string_view key) noexcept;

// A cluster endpoint's seed nodes as endpoints carrying its credentials, for connect().
[[nodiscard]] std::vector<config::RedisEndpoint> seed_endpoints(const config::RedisEndpoint& ep);

struct ClusterNode {
  std::string host;
  std::uint16_t port = 0;
  std::string id;  // the node's cluster id
  [[nodiscard]] std::string name() const { return host + ":" + std::to_string(port); }
  friend bool operator==(const ClusterNode& a, const ClusterNode& b) {
    return a.host == b.host && a.port == b.port;
  }
};

struct SlotRange {
  std::uint16_t first = 0, last = 0;  // inclusive
  ClusterNode master;
  // As CLUSTER SLOTS lists them: replicas the answering node has heard (by gossip) hold data.
  std::vector<ClusterNode> replicas;
};

struct ClusterOptions {
  std::chrono::milliseconds timeout{2000};          // per command (and connect, unless below)
  std::chrono::milliseconds connect_timeout{0};     // per connection attempt; 0: `timeout`
  std::chrono::milliseconds failover_wait{15'000};  // how long a lost master's slots are retried
  std::string username, password;                   // for every node
  config::TlsSettings tls;                          // for every node (tls-cluster yes)
};

struct ClusterStats {
  std::uint64_t moved = 0;      // MOVED replies followed
  std::uint64_t asks = 0;       // ASK replies followed
  std::uint64_t refreshes = 0;  // slot map reads
  std::uint64_t reconnects = 0;
};

class ClusterClient {
 public:
  ClusterClient(ClusterClient&&) noexcept;
  ClusterClient& operator=(ClusterClient&&) noexcept;
  ~ClusterClient();

  // Reads the slot map from the first seed that answers. Errors: kClosed/kTimeout when none
  // does, kInvalidArgument when a seed is not in cluster mode.
  [[nodiscard]] static core::Result<ClusterClient> connect(
      const std::vector<config::RedisEndpoint>& seeds, ClusterOptions options);

  // One command; args[key_index] is the key that routes it. A command whose connection broke
  // before its reply came is sent again (to the slot's master as the map then says), so it
  // may run twice: fine for idempotent commands and for XADD behind de-duplication.
  [[nodiscard]] core::Result<RedisReply> command(const std::vector<std::string>& args,
                                                 std::size_t key_index = 1);
  // Commands grouped by master, pipelined per master (all masters written to before any is
  // read), replies in the commands' order; one redirected or cut off is sent again on its own.
  // A command whose connection failed mid-reply may have run: callers that must not repeat
  // one (XADD) de-duplicate downstream, as the transport does.
  [[nodiscard]] core::Result<std::vector<RedisReply>> pipeline(
      const std::vector<std::vector<std::string>>& commands, std::size_t key_index = 1);

  // Reads the slot map again (from a known master, else a seed).
  [[nodiscard]] core::Result<void> refresh();
  [[nodiscard]] const std::vector<SlotRange>& slots() const noexcept;
  // The masters, each once, in slot order.
  [[nodiscard]] std::vector<ClusterNode> masters() const;
  // The master that owns `slot` now (as far as the map knows).
  [[nodiscard]] ClusterNode master_of(std::uint16_t slot) const;
  // A connection to one node, for per-node commands (INFO, XINFO); null if it does not answer.
  [[nodiscard]] RedisClient* node(const ClusterNode& n);
  [[nodiscard]] const ClusterStats& stats() const noexcept;

 private:
  struct Impl;
  explicit ClusterClient(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nautilus::bus_redis
