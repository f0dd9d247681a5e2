// Clock: the only source of time for engines, injected so a backtest replays deterministically.
//
//   RealtimeClock live;                 // wall clock, nanoseconds since the Unix epoch
//   SimulatedClock sim(1'700'000'000'000'000'000);
//   sim.advance(std::chrono::milliseconds(5));
//   UnixNanos t = sim.now();
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "nautilus/core/error.hpp"

namespace nautilus::core {

// Nanoseconds since 1970-01-01T00:00:00Z. Signed so differences are plain subtraction.
using UnixNanos = std::int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual UnixNanos now() const noexcept = 0;
};

// CLOCK_REALTIME. Read through the TSC (calibrated, re-anchored every ~100 ms) when the
// kernel's own clocksource is the TSC, else through clock_gettime.
class RealtimeClock final : public Clock {
 public:
  [[nodiscard]] UnixNanos now() const noexcept override;
  // Whether readings come from the TSC path (reported on /hardware/status).
  [[nodiscard]] static bool uses_tsc() noexcept;
};

// Process-wide realtime clock for code that is handed no clock (CLI, benchmarks).
[[nodiscard]] const Clock& realtime_clock() noexcept;

// Time that moves only when told to; monotonic (never goes backwards). Thread-safe.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(UnixNanos start = 0) noexcept : now_(start) {}

  [[nodiscard]] UnixNanos now() const noexcept override {
    return now_.load(std::memory_order_acquire);
  }
  // Moves to `t`; refuses to go backwards, since replays rely on ordered time.
  [[nodiscard]] Result<void> set(UnixNanos t) noexcept;
  void advance(std::chrono::nanoseconds d) noexcept;

 private:
  std::atomic<UnixNanos> now_;
};

}  // namespace nautilus::core
