// The host's timers: one table for every engine of a host, ordered by (due time, name, id) so
// that timers due at the same instant always fire in the same order. Private to the engine
// component; engines reach it through EngineContext::set_timer_at / set_timer_every.
//
// Two ways to drive it:
// - realtime: a dispatcher thread sleeps until the next due time on the host's clock and posts
//   the callback into the owning engine's mailbox, so it runs on that engine's own thread;
// - deterministic: the host's run loop pops due timers itself (pop_due) after moving its
//   SimulatedClock, and calls them on the host thread. No thread, no wall time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "nautilus/core/clock.hpp"
#include "nautilus/engine/engine.hpp"

namespace nautilus::engine::detail {

class TimerService {
 public:
  // Realtime: runs `fn` on the thread of engine `slot`; false if it could not be queued.
  using Post = std::function<bool(std::size_t slot, std::function<void()> fn)>;

  explicit TimerService(const core::Clock& clock) : clock_(&clock) {}
  ~TimerService() { stop(); }
  TimerService(const TimerService&) = delete;
  TimerService& operator=(const TimerService&) = delete;

  // `interval` > 0 repeats every interval after `due`; 0 fires once.
  TimerId add(std::size_t slot, std::string name, core::UnixNanos due,
              std::chrono::nanoseconds interval, TimerCallback fn);
  // A cancelled timer does not fire again, including a realtime firing already queued in the
  // engine's mailbox.
  void cancel(TimerId id);

  // Deterministic driving: the earliest timer due at or before `limit`, taken out of the table
  // (a repeating one is put back at its next due time first). nullopt when none is due.
  struct Firing {
    core::UnixNanos due = 0;
    std::size_t slot = 0;
    TimerId id = 0;
    std::function<void()> run;  // calls the callback with `due`, unless cancelled meanwhile
  };
  [[nodiscard]] std::optional<Firing> pop_due(core::UnixNanos limit);
  [[nodiscard]] std::optional<core::UnixNanos> next_due() const;
  // Whether any timer that fires once is still pending (a replay's next record, a deadline).
  [[nodiscard]] bool has_one_shot() const;

  // Realtime driving on a thread of its own, until stop().
  void start_realtime(Post post);
  // Stops the dispatcher (if any) and forgets every timer: nothing fires after it.
  void stop();

 private:
  using Key = std::tuple<core::UnixNanos, std::string, TimerId>;
  struct Timer {
    TimerId id = 0;
    std::size_t slot = 0;
    std::string name;
    std::chrono::nanoseconds interval{0};
    TimerCallback fn;
    // Under mu_:
    bool cancelled = false;
    bool queued = false;
    Key key;
  };

  void enqueue_locked(const std::shared_ptr<Timer>& t, core::UnixNanos due);
  Firing take_locked();
  void dispatch(const std::stop_token& st);

  const core::Clock* clock_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::map<Key, std::shared_ptr<Timer>> queue_;
  // Every live timer: queued ones, and one-shots taken but not yet run (so cancel reaches them).
  std::unordered_map<TimerId, std::shared_ptr<Timer>> timers_;
  TimerId next_id_ = 1;
  std::size_t one_shots_ = 0;     // one-shot timers in queue_
  std::uint64_t generation_ = 0;  // bumped by add/cancel: wakes the dispatcher early
  Post post_;
  std::jthread thread_;
};

}  // namespace nautilus::engine::detail
