// ClusterRouter (cluster_router.hpp): one slot map per sharded bus, read again when a link
// says it is stale.
#include "cluster_router.hpp"

#include <utility>
#include <vector>

namespace nautilus::bus_redis::detail {

ClusterRouter::ClusterRouter(config::RedisEndpoint bus, std::chrono::milliseconds timeout)
    : bus_(std::move(bus)), timeout_(timeout) {}

std::optional<config::RedisEndpoint> ClusterRouter::master_of(std::uint16_t slot, bool stale) {
  std::lock_guard lock(mu_);
  refresh_locked(stale);
  if (!client_) return std::nullopt;
  const ClusterNode m = client_->master_of(slot);
  if (m.port == 0) return std::nullopt;  // the slot has no master in the map (CLUSTERDOWN)
  config::RedisEndpoint ep = bus_;       // its credentials and durability, and the master's address
  ep.host = m.host;
  ep.port = m.port;
  ep.cluster.clear();
  return ep;
}

void ClusterRouter::refresh_locked(bool stale) {
  const auto now = std::chrono::steady_clock::now();
  if (client_ && !stale) return;
  if (now - last_refresh_ < kMinRefresh) return;  // someone just read it
  last_refresh_ = now;
  if (client_) {
    if (client_->refresh()) refreshes_.fetch_add(1, std::memory_order_relaxed);
    return;  // on failure the old map stays: better a stale guess than none
  }
  // A short failover_wait: the transport's own backoff does the waiting, without this lock.
  auto c =
      ClusterClient::connect(seed_endpoints(bus_), {.timeout = timeout_,
                                                    .failover_wait = std::chrono::milliseconds(0),
                                                    .username = bus_.username,
                                                    .password = bus_.password,
                                                    .tls = bus_.tls});
  if (!c) return;
  client_.emplace(std::move(*c));
  refreshes_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace nautilus::bus_redis::detail
