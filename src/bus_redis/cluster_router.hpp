// ClusterRouter: where the shards of one bus on a Redis Cluster live now, shared by that bus's
// writers and readers in the transport. Each of them keeps its own connection to its shard's
// master and comes here when it (re)connects; one whose connection failed, or whose command
// was redirected (MOVED, ASK, CLUSTERDOWN), asks with `stale` set and the slot map is read
// again first, at most once per kMinRefresh whoever asks, so a failover that breaks a dozen
// links costs one CLUSTER SLOTS, not a dozen. Private to the transport.
//
//   ClusterRouter router(cfg.marketdata, std::chrono::seconds(1));
//   auto ep = router.master_of(layout.slot(3), /*stale=*/false);  // nullopt: no node answers
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

#include "nautilus/bus_redis/cluster.hpp"
#include "nautilus/config/bus_config.hpp"

namespace nautilus::bus_redis::detail {

class ClusterRouter {
 public:
  static constexpr std::chrono::milliseconds kMinRefresh{50};

  // `bus`: the bus's settings (seeds, credentials, durability); `timeout` per node asked.
  ClusterRouter(config::RedisEndpoint bus, std::chrono::milliseconds timeout);

  // The master that owns `slot` as an endpoint with the bus's credentials and durability;
  // nullopt while no node has given a map (the caller backs off and asks again).
  [[nodiscard]] std::optional<config::RedisEndpoint> master_of(std::uint16_t slot, bool stale);
  // Slot maps read so far.
  [[nodiscard]] std::uint64_t refreshes() const noexcept {
    return refreshes_.load(std::memory_order_relaxed);
  }

 private:
  void refresh_locked(bool stale);

  const config::RedisEndpoint bus_;
  const std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::optional<ClusterClient> client_;
  std::chrono::steady_clock::time_point last_refresh_{};
  std::atomic<std::uint64_t> refreshes_{0};
};

}  // namespace nautilus::bus_redis::detail
