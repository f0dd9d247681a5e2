// Bus metrics: counters per topic family and priority, mailbox depths, and a latency
// histogram of publish-to-handler time for queued (cross-thread) deliveries.
//
//   BusMetrics m = bus.metrics();
//   std::string text = m.to_prometheus();   // served on /metrics by the engine host
//   double p99 = m.latency.percentile(0.99);
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nautilus/bus/priority.hpp"

namespace nautilus::bus {

// Topic families beyond this many share the last slot, reported as "other".
inline constexpr std::size_t kMaxTopicFamilies = 64;

// Log-linear histogram of nanosecond values (16 sub-buckets per power of two, so about 6%
// resolution) from 1 ns to about 68 s. One writer; any thread may read or merge it.
class LatencyHistogram {
 public:
  static constexpr int kSubBits = 4;
  static constexpr std::size_t kBuckets = (64 - kSubBits + 1) << kSubBits;

  LatencyHistogram() noexcept = default;
  // Copies are snapshots, so metrics can be returned by value.
  LatencyHistogram(const LatencyHistogram& o) noexcept { merge(o); }
  LatencyHistogram& operator=(const LatencyHistogram& o) noexcept {
    if (this != &o) {
      reset();
      merge(o);
    }
    return *this;
  }

  void record(std::int64_t ns) noexcept;
  void merge(const LatencyHistogram& other) noexcept;
  void reset() noexcept;
  [[nodiscard]] std::uint64_t count() const noexcept;
  // Upper bound of the bucket holding quantile q in [0, 1]; 0 when empty.
  [[nodiscard]] double percentile(double q) const noexcept;
  [[nodiscard]] std::int64_t max() const noexcept { return max_.load(std::memory_order_relaxed); }

  [[nodiscard]] static std::size_t bucket_of(std::uint64_t v) noexcept;
  [[nodiscard]] static std::uint64_t bucket_upper(std::size_t b) noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
  std::atomic<std::int64_t> max_{0};
};

// Counters written by one thread only (a Publisher's or a Mailbox's), read by any: a plain
// load+store increment, no locked instruction on the hot path.
struct FamilyPriorityCounters {
  std::array<std::array<std::atomic<std::uint64_t>, kPriorityCount>, kMaxTopicFamilies> v{};

  void add(std::uint16_t family, Priority p, std::uint64_t n = 1) noexcept {
    auto& c = v[family][index(p)];
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t get(std::size_t family, Priority p) const noexcept {
    return v[family][index(p)].load(std::memory_order_relaxed);
  }
};

struct BusMetrics {
  struct FamilyRow {
    std::string family;
    Priority priority = Priority::kNormal;
    std::uint64_t published = 0;
    std::uint64_t delivered = 0;
    std::uint64_t dropped = 0;    // refused by a full queue (overflow policy)
    std::uint64_t conflated = 0;  // replaced by a newer message on the same topic
  };
  struct MailboxRow {
    std::string name;
    std::array<std::size_t, kPriorityCount> depth{};
    std::uint64_t delivered = 0;
    std::uint64_t discarded = 0;  // queued for a subscription that was cancelled meanwhile
  };

  std::vector<FamilyRow> families;  // only rows with activity
  std::vector<MailboxRow> mailboxes;
  LatencyHistogram latency;  // publish -> handler start, queued deliveries
  std::uint64_t topics = 0;
  std::uint64_t subscriptions = 0;
  std::uint64_t endpoints = 0;
  std::uint64_t pending_requests = 0;
  std::uint64_t request_timeouts = 0;
  std::uint64_t handler_errors = 0;    // handlers that threw (caught and counted)
  std::uint64_t critical_dropped = 0;  // FLASH_CRASH/URGENT refused after waiting their bound

  [[nodiscard]] std::uint64_t total_published() const noexcept;
  [[nodiscard]] std::uint64_t total_delivered() const noexcept;
  [[nodiscard]] std::uint64_t total_dropped() const noexcept;
  // Prometheus text exposition format 0.0.4, metric names prefixed `nautilus_bus_`.
  [[nodiscard]] std::string to_prometheus() const;
};

}  // namespace nautilus::bus
