// Mailbox: a subscriber's bounded inbox, one lane per priority, drained by one consumer thread
// (an engine's thread). Publishers on any thread enqueue without locks; the consumer always
// takes the highest-priority queued message next.
//
//   auto mb = bus.create_mailbox({.name = "risk"});
//   bus.subscribe("portfolio.*", on_portfolio, {.mailbox = mb});
//   MailboxThread engine_thread(mb);   // or call mb->poll() from your own loop
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>

#include "nautilus/bus/priority.hpp"

namespace nautilus::bus {

namespace detail {
class MailboxCore;
}

struct MailboxOptions {
  std::string name = "mailbox";
  // Capacity of each lane, indexed by Priority (LOW..FLASH_CRASH); rounded up to a power of
  // two. Memory is about 200 bytes per slot, allocated up front.
  std::array<std::size_t, kPriorityCount> lane_capacity = {1024, 8192, 2048, 1024, 1024};
  // How long an idle consumer spins before it parks on a futex: trades CPU for wake-up latency.
  std::chrono::nanoseconds spin_before_park = std::chrono::microseconds(50);
  // Publish->handler latency is recorded for 1 in N deliveries (1 = every one).
  std::uint32_t latency_sample_every = 1;
  // Every producer is the consumer's own thread (a deterministic host polls, publishes and
  // handles on one): the lanes are plain FIFOs that grow to their capacity as needed, with no
  // atomics and nothing allocated up front, and a full lane refuses at once instead of waiting
  // for room only this thread could make. Publishing from another thread is then a data race.
  bool single_thread = false;
};

// What a mailbox's consumer has done since it was created (the engine host's heartbeat).
struct MailboxStats {
  std::uint64_t delivered = 0;       // messages handed to handlers
  std::uint64_t handler_errors = 0;  // handlers that threw
  double lag_p99_ns = 0;             // publish -> handler start, p99 of the sampled deliveries
  std::uint64_t lag_samples = 0;
};

class Mailbox {
 public:
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  [[nodiscard]] const std::string& name() const noexcept;

  // Consumer side: one thread at a time. Delivers up to `max_messages` queued messages,
  // highest priority first; returns how many were taken.
  std::size_t poll(std::size_t max_messages = SIZE_MAX) noexcept;
  // Spins, then parks until a message arrives, `stop` is requested or `timeout` passes.
  // Returns true when there is work.
  bool wait(std::chrono::nanoseconds timeout, const std::stop_token& stop = {}) noexcept;
  // poll/wait until `stop` is requested, then drains what is queued and returns.
  void run(const std::stop_token& stop) noexcept;

  [[nodiscard]] std::size_t depth() const noexcept;
  [[nodiscard]] std::size_t depth(Priority p) const noexcept;
  // Any thread.
  [[nodiscard]] MailboxStats stats() const noexcept;

  // Any thread: runs `fn` on the consumer thread once everything queued before it in lane `p`,
  // and in every higher lane, has been handled (a transport acknowledges Redis entries only
  // then). False if the lane stayed full for 100 ms; `fn` is then never called.
  bool post_barrier(Priority p, std::function<void()> fn);

  [[nodiscard]] detail::MailboxCore& core() noexcept { return *core_; }

 private:
  friend class MessageBus;
  explicit Mailbox(std::unique_ptr<detail::MailboxCore> core) noexcept;
  std::unique_ptr<detail::MailboxCore> core_;
};

// Runs a mailbox's consumer loop on a dedicated thread (an engine thread). Destruction stops
// the loop after it drains what is queued, then joins.
class MailboxThread {
 public:
  // `cpu` >= 0 pins the thread to that CPU (an isolated core in production); -1 leaves it to
  // the scheduler.
  explicit MailboxThread(std::shared_ptr<Mailbox> mailbox, int cpu = -1);
  ~MailboxThread();
  MailboxThread(const MailboxThread&) = delete;
  MailboxThread& operator=(const MailboxThread&) = delete;

  void stop() noexcept;

 private:
  std::shared_ptr<Mailbox> mailbox_;
  std::jthread thread_;
};

// Pins the calling thread to `cpu`; false if the CPU does not exist or is not allowed.
bool pin_current_thread(int cpu) noexcept;

}  // namespace nautilus::bus
