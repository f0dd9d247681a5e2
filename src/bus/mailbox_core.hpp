// The machinery behind Mailbox: five lanes (MPSC rings, or local rings for one thread), a
// conflation table, and the futex a parked consumer sleeps on. Private to the bus.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include "bus_core.hpp"
#include "lane.hpp"
#include "nautilus/bus/envelope.hpp"
#include "nautilus/bus/mailbox.hpp"
#include "nautilus/bus/metrics.hpp"

namespace nautilus::bus::detail {

struct QueueItem {
  Subscription* sub = nullptr;
  std::uint16_t family = 0;
  Envelope env;
};

enum class EnqueueResult : std::uint8_t { kQueued, kConflated, kDropped };

class MailboxCore {
 public:
  MailboxCore(MailboxOptions options, const core::Clock* clock);

  // Producer side (any thread).
  EnqueueResult enqueue(Subscription* sub, std::uint16_t family, const Envelope& env) noexcept;

  // Consumer side (one thread).
  std::size_t poll(std::size_t max_messages) noexcept;
  bool wait(std::chrono::nanoseconds timeout, const std::stop_token& stop) noexcept;
  void run(const std::stop_token& stop) noexcept;
  void wake() noexcept;

  // Any thread.
  [[nodiscard]] std::size_t depth() const noexcept;
  [[nodiscard]] std::size_t depth(Priority p) const noexcept;
  void retain(std::shared_ptr<Subscription> sub);
  bool post_barrier(Priority p, std::function<void()> fn);
  void fill_metrics(BusMetrics& m, const std::vector<std::string>& families) const;
  [[nodiscard]] MailboxStats stats() const noexcept;

  const MailboxOptions options;

 private:
  bool push_lane(Priority p, Subscription* sub, std::uint16_t family, const Envelope& env) noexcept;
  EnqueueResult conflate(Subscription* sub, std::uint16_t family, const Envelope& env) noexcept;
  bool has_work() noexcept;
  bool claimed_work() const noexcept;
  void deliver(Subscription* sub, std::uint16_t family, const Envelope& env) noexcept;
  bool deliver_front(Lane<QueueItem>& lane) noexcept;  // false when the lane is empty
  static void release_slot(QueueItem& item) noexcept;
  void notify() noexcept;

  const core::Clock* clock_;
  std::array<std::unique_ptr<Lane<QueueItem>>, kPriorityCount> lanes_;
  std::size_t low_watermark_ = 0;

  struct ConflationKey {
    Subscription* sub;
    const char* topic;
    bool operator==(const ConflationKey&) const = default;
  };
  struct ConflationHash {
    std::size_t operator()(const ConflationKey& k) const noexcept {
      return std::hash<const void*>{}(k.sub) * 31 + std::hash<const void*>{}(k.topic);
    }
  };
  std::mutex conflate_mu_;
  std::unordered_map<ConflationKey, QueueItem, ConflationHash> latest_;
  std::deque<ConflationKey> conflate_order_;

  // Each of the next three groups has cache lines of its own: producers read sleeping_ on
  // every publish, the consumer writes its counters on every delivery, and sharing a line
  // between them cost a cross-core transfer per message (measured: 2x throughput).
  alignas(64) std::atomic<std::size_t> conflate_pending_{0};
  alignas(64) std::atomic<std::uint32_t> sleeping_{0};

  // Consumer-written metrics.
  alignas(64) FamilyPriorityCounters delivered_;
  std::atomic<std::uint64_t> discarded_{0};
  std::atomic<std::uint64_t> handler_errors_{0};
  LatencyHistogram latency_;
  std::uint32_t sample_countdown_ = 1;

  alignas(64) std::mutex retained_mu_;
  std::vector<std::shared_ptr<Subscription>> retained_;  // keeps queued items' targets alive
  std::shared_ptr<Subscription> barrier_sub_;            // runs posted barriers, not counted
};

}  // namespace nautilus::bus::detail
