// Link: one Redis bus (MarketData or Engine Logic), or one shard of a bus on a Redis Cluster,
// as the transport's threads share it: where it is, its streams, and the counters its writers
// and readers keep and status() reads. Routes: which link a topic goes to. Private to the
// transport.
#pragma once

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "cluster_router.hpp"
#include "nautilus/bus/priority.hpp"
#include "nautilus/bus/topic.hpp"
#include "nautilus/bus_redis/sharding.hpp"
#include "nautilus/config/bus_config.hpp"
#include "nautilus/core/clock.hpp"

namespace nautilus::bus_redis::detail {

// The two paths, out and in: FLASH_CRASH/URGENT never wait behind a NORMAL round trip, because
// they have their own subscription, threads, connections and stream.
enum Path : std::uint8_t { kNormalPath = 0, kUrgentPath = 1 };

// Written by one thread each (a path's writer or reader), read by any.
struct Link {
  std::string name;
  config::RedisEndpoint endpoint;  // the bus's settings (for a shard: its seeds, credentials)
  std::string stream;
  std::string urgent_stream;
  std::string dead_stream;
  std::array<std::jthread, 2> readers;  // by Path
  // A shard of a bus on a cluster: its number, its streams' slot, and the bus's router.
  int shard = -1;
  std::uint16_t slot = 0;
  std::shared_ptr<ClusterRouter> router;
  // A sharded bus's urgent messages all go to shard 0 (they are few, and one stream keeps
  // them in order); the other shards have no urgent writer or reader.
  bool carries_urgent = true;

  std::array<std::atomic<bool>, 2> writer_connected{}, reader_connected{};  // by Path
  std::array<std::atomic<std::uint64_t>, 2> backlog_messages{}, backlog_bytes{};
  std::atomic<core::UnixNanos> degraded_since{0};
  std::atomic<std::uint64_t> exported{0}, imported{0}, duplicates{0}, skipped_own{0},
      dead_lettered{0}, reconnects{0}, failed_reads{0}, failed_acks{0}, group_recreations{0},
      claimed{0}, group_pending{0}, group_lag{0}, replica_timeouts{0};
  std::array<std::atomic<std::uint64_t>, bus::kPriorityCount> overflow_dropped{};

  Link(std::string n, config::RedisEndpoint ep, std::string s)
      : name(std::move(n)),
        endpoint(std::move(ep)),
        stream(std::move(s)),
        urgent_stream(stream + ":urgent"),
        dead_stream(stream + ":dead") {}

  // Where to connect now: the bus's server, or the master that owns the shard's slot (the map
  // read again first when `stale`: the last connection failed or was redirected). nullopt
  // while no cluster node answers.
  [[nodiscard]] std::optional<config::RedisEndpoint> target(bool stale) {
    if (!router) return endpoint;
    auto ep = router->master_of(slot, stale);
    if (ep) {
      std::lock_guard lock(where_mu_);
      where_ = fmt::format("{}:{}", ep->host, ep->port);
    }
    return ep;
  }
  // host:port of the server (or shard master) last connected to, for status().
  [[nodiscard]] std::string where() const {
    if (!router) return fmt::format("{}:{}", endpoint.host, endpoint.port);
    std::lock_guard lock(where_mu_);
    return where_.empty() ? std::string("cluster (no node answers)") : where_;
  }
  [[nodiscard]] bool has_path(Path path) const { return path == kNormalPath || carries_urgent; }

  [[nodiscard]] const std::string& stream_of(Path path) const {
    return path == kUrgentPath ? urgent_stream : stream;
  }
  // Since when a connection has been failing; the first failure after a success sets it.
  void mark_degraded(const core::Clock& clock) {
    core::UnixNanos zero = 0;
    degraded_since.compare_exchange_strong(zero, clock.now());
  }

 private:
  mutable std::mutex where_mu_;
  std::string where_;
};

// Which link a topic's messages go to. The transport's links are, in order: the MarketData
// bus (one, or a cluster's shards), the Engine Logic bus (the same), then while migrating from
// single-Redis the legacy server's two.
struct Routes {
  std::optional<ShardLayout> marketdata, logic;  // set for a bus on a cluster
  bool legacy = false;

  [[nodiscard]] static bool is_market_data(std::string_view topic) {
    return bus::topic_family(topic) == "market_data" || topic.starts_with("price.update.") ||
           topic.starts_with("volume.update.");
  }
  [[nodiscard]] std::size_t marketdata_links() const {
    return marketdata ? marketdata->shards() : 1;
  }
  // The link of a topic on its bus (urgent messages: the bus's first link).
  [[nodiscard]] std::size_t link_of(std::string_view topic, Path path) const {
    const bool md = is_market_data(topic);
    const auto& layout = md ? marketdata : logic;
    const std::size_t first = md ? 0 : marketdata_links();
    if (!layout || path == kUrgentPath) return first;
    return first + layout->shard_of(topic);
  }
  // The legacy server's link for a topic, when migrating.
  [[nodiscard]] std::optional<std::size_t> legacy_of(std::string_view topic) const {
    if (!legacy) return std::nullopt;
    const std::size_t first = marketdata_links() + (logic ? logic->shards() : 1);
    return first + (is_market_data(topic) ? 0 : 1);
  }
};

}  // namespace nautilus::bus_redis::detail
