// RedisTransport: joins one process's in-process MessageBus to the dual Redis bus
// (docs/ARCHITECTURE.md).
//
// Out: every message published locally goes onto the MarketData bus (market_data.*,
// price.update.*, volume.update.*) or the Engine Logic bus (everything else). FLASH_CRASH and
// URGENT take a path of their own (subscription, thread, connection) to the bus's urgent
// stream and are written at once; the rest is batched per
// MESSAGEBUS_BUFFER_INTERVAL / MESSAGEBUS_BUFFER_SIZE and flushed at once when nothing more is
// queued. While a Redis is down, outbound messages wait in a bounded buffer (LOW dropped first,
// every drop counted) and are resent in order after a reconnect with capped backoff.
//
// In: two readers per bus (its urgent stream and its normal stream, so urgent entries never
// wait behind a normal batch) read as consumers of the process's group; entries this process wrote
// itself are skipped, entries that do not decode go to `<stream>:dead`, duplicates (source,
// sequence, ts_publish) are dropped, and the rest are delivered to local subscribers, then
// acknowledged (XACK).
//
//   auto t = RedisTransport::start(bus, {.config = *cfg, .group = "risk"});
//   ... engines publish and subscribe on `bus` as before ...
//   TransportStatus s = (*t)->status();
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/config/bus_config.hpp"
#include "nautilus/core/error.hpp"

namespace nautilus::bus_redis {

struct TransportOptions {
  config::BusConfig config;
  std::string group = "nautilus";  // consumer group: the engine (or engine host) name
  std::string consumer;            // unique per process; default "<hostname>-<pid>"
  // Per bus and path (normal, urgent); 0 = the configuration's (MESSAGEBUS_FAILOVER_BUFFER_MB).
  std::size_t failover_buffer_bytes = 0;
  std::chrono::milliseconds read_block{50};
  // Reads of the normal stream ask for about read_bytes, and never fewer than read_count
  // entries (an entry carries up to MESSAGEBUS_PACK_MAX messages).
  std::size_t read_count = 8;
  std::size_t read_bytes = std::size_t{384} * 1024;
  // Per writer and source: the last this many sequence numbers (rounded up to a power of two)
  // are remembered to drop duplicates. Resends after a failover are at most one write round
  // (MESSAGEBUS_BUFFER_SIZE messages) behind.
  std::size_t dedup_window = 16'384;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds reconnect_min{10};
  std::chrono::milliseconds reconnect_max{2000};
  // Taking over a dead consumer's work: entries read but not acknowledged for claim_idle are
  // claimed (XAUTOCLAIM) every claim_interval; one delivered more than max_deliveries times
  // (it keeps killing its consumers) goes to the dead-letter stream instead.
  std::chrono::milliseconds claim_idle{30'000};
  std::chrono::milliseconds claim_interval{1000};
  std::uint64_t max_deliveries = 5;
};

struct LinkStatus {
  std::string name;      // "marketdata" or "logic"; on a cluster "marketdata.<shard>"
  std::string endpoint;  // host:port (of the shard's master, on a cluster)
  std::string stream;
  int shard = -1;                    // the shard's number on a cluster; -1 for a single server
  std::uint16_t slot = 0;            // on a cluster: the slot of the shard's streams
  std::string durability = "local";  // or "replicated": a write counts once a replica has it
  bool writer_connected = false;
  bool reader_connected = false;
  core::UnixNanos degraded_since = 0;  // 0 while connected
  std::uint64_t backlog_messages = 0;  // waiting to be written
  std::uint64_t backlog_bytes = 0;
  std::uint64_t exported = 0;       // messages written
  std::uint64_t imported = 0;       // messages delivered locally
  std::uint64_t duplicates = 0;     // messages already seen
  std::uint64_t skipped_own = 0;    // entries this process wrote itself
  std::uint64_t dead_lettered = 0;  // messages (or whole entries) sent to <stream>:dead
  std::uint64_t reconnects = 0;
  std::uint64_t failed_reads = 0;
  std::uint64_t failed_acks = 0;  // XACKs the server refused (the entries are claimed again)
  std::uint64_t group_recreations = 0;
  std::uint64_t claimed = 0;  // entries taken over from other consumers
  // With replicated durability: WAITs that timed out with no replica confirming the round
  // (its messages stay in the resend buffer until one does).
  std::uint64_t replica_timeouts = 0;
  // This process's group on the bus's normal stream (XINFO GROUPS, refreshed every
  // claim_interval): entries read but not acknowledged, and entries not yet read.
  std::uint64_t group_pending = 0;
  std::uint64_t group_lag = 0;
  std::array<std::uint64_t, bus::kPriorityCount> overflow_dropped{};  // by Priority
};

struct TransportStatus {
  std::vector<LinkStatus> links;
  std::uint64_t unencodable = 0;  // local messages of a type with no wire format
};

class RedisTransport {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<RedisTransport>> start(
      bus::MessageBus& bus, TransportOptions options);
  ~RedisTransport();  // writes what it can (bounded), then stops
  RedisTransport(const RedisTransport&) = delete;
  RedisTransport& operator=(const RedisTransport&) = delete;

  [[nodiscard]] TransportStatus status() const;
  // Waits until every message published locally so far has been written to Redis.
  bool flush(std::chrono::milliseconds timeout);

  struct Impl;

 private:
  explicit RedisTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nautilus::bus_redis
