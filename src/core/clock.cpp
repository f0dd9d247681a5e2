#include "nautilus/core/clock.hpp"

#include <ctime>
#include <string>

namespace nautilus::core {

UnixNanos RealtimeClock::now() const noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<UnixNanos>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

const Clock& realtime_clock() noexcept {
  static const RealtimeClock clock;
  return clock;
}

Result<void> SimulatedClock::set(UnixNanos t) noexcept {
  UnixNanos cur = now_.load(std::memory_order_relaxed);
  while (true) {
    if (t < cur) {
      return fail(ErrorCode::kInvalidArgument,
                  "simulated clock cannot go backwards (" + std::to_string(t) + " < " +
                      std::to_string(cur) + ")");
    }
    if (now_.compare_exchange_weak(cur, t, std::memory_order_acq_rel)) return {};
  }
}

void SimulatedClock::advance(std::chrono::nanoseconds d) noexcept {
  if (d.count() > 0) now_.fetch_add(d.count(), std::memory_order_acq_rel);
}

}  // namespace nautilus::core
