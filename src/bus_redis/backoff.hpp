// Backoff: the capped exponential wait between a writer's or reader's connection attempts, so
// a Redis that is down is retried at once at first and then ever less often, never more than
// `max` apart. Private to the transport.
//
//   Backoff b(10ms, 2000ms);
//   if (b.due()) { if (connect()) b.succeeded(); else b.failed(); }
#pragma once

#include <chrono>

namespace nautilus::bus_redis::detail {

class Backoff {
 public:
  using Clock = std::chrono::steady_clock;

  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max) : min_(min), max_(max) {}

  // Whether the next attempt may go now.
  [[nodiscard]] bool due() const;
  // An attempt failed: the next waits `min` after the first failure, twice the last wait after
  // each further one, and `max` at most.
  void failed();
  // An attempt succeeded: the next failure waits `min` again.
  void succeeded() { delay_ = {}; }
  // When the next attempt is due (a writer with messages waiting sleeps until then).
  [[nodiscard]] Clock::time_point next() const { return next_; }
  // The wait the last failure set; zero before any, or since a success.
  [[nodiscard]] std::chrono::milliseconds delay() const { return delay_; }

 private:
  std::chrono::milliseconds min_, max_, delay_{};
  Clock::time_point next_{};
};

}  // namespace nautilus::bus_redis::detail
