// Link: one Redis bus (MarketData or Engine Logic) as the transport's threads share it: where
// it is, its streams, and the counters its writers and readers keep and status() reads. Private
// to the transport.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>

#include "nautilus/bus/priority.hpp"
#include "nautilus/config/bus_config.hpp"
#include "nautilus/core/clock.hpp"

namespace nautilus::bus_redis::detail {

// The two paths, out and in: FLASH_CRASH/URGENT never wait behind a NORMAL round trip, because
// they have their own subscription, threads, connections and stream.
enum Path : std::uint8_t { kNormalPath = 0, kUrgentPath = 1 };

// Written by one thread each (a path's writer or reader), read by any.
struct Link {
  std::string name;
  config::RedisEndpoint endpoint;
  std::string stream;
  std::string urgent_stream;
  std::string dead_stream;
  std::array<std::jthread, 2> readers;  // by Path

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

  [[nodiscard]] const std::string& stream_of(Path path) const {
    return path == kUrgentPath ? urgent_stream : stream;
  }
  // Since when a connection has been failing; the first failure after a success sets it.
  void mark_degraded(const core::Clock& clock) {
    core::UnixNanos zero = 0;
    degraded_since.compare_exchange_strong(zero, clock.now());
  }
};

}  // namespace nautilus::bus_redis::detail
