#include "nautilus/core/clock.hpp"

#include <ctime>
#include <fstream>
#include <string>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace nautilus::core {
namespace {

__extension__ using Int128 = __int128;  // TSC delta x multiplier needs more than 64 bits

UnixNanos sys_realtime() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<UnixNanos>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

#if defined(__x86_64__)
// CLOCK_REALTIME read through the TSC: rdtsc plus a multiply (about half the cost of the vDSO
// call on this class of machine). Used only when the kernel itself chose the TSC as its
// clocksource, i.e. it found it invariant and synchronised across cores; otherwise now()
// falls back to clock_gettime. The TSC->ns line is re-anchored to CLOCK_REALTIME every
// ~100 ms by slewing (the next segment starts where the last one ended and aims at the real
// time one interval later), so readings stay continuous; a gap above 1 ms (an NTP step,
// a suspend) is applied as a step.
class TscRealtime {
 public:
  TscRealtime() {
    std::ifstream f("/sys/devices/system/clocksource/clocksource0/current_clocksource");
    std::string source;
    f >> source;
    usable_ = source == "tsc";
    if (!usable_) return;
    Anchor a0 = anchor();
    Anchor a1;
    do {
      a1 = anchor();
    } while (a1.ns - a0.ns < 2'000'000);  // 2 ms calibration, once per process
    const double ns_per_tick =
        static_cast<double>(a1.ns - a0.ns) / static_cast<double>(a1.tsc - a0.tsc);
    interval_ticks_ = static_cast<std::uint64_t>(100e6 / ns_per_tick);
    publish(a1.tsc, a1.ns, static_cast<std::uint64_t>(ns_per_tick * 4294967296.0));
    prev_ = a1;
  }

  [[nodiscard]] bool usable() const noexcept { return usable_; }

  [[nodiscard]] UnixNanos now() noexcept {
    const std::uint64_t tsc = __rdtsc();
    std::uint64_t base_tsc, mult;
    UnixNanos base_ns;
    read(base_tsc, base_ns, mult);
    const auto delta = static_cast<std::int64_t>(tsc - base_tsc);
    const UnixNanos t = base_ns + static_cast<UnixNanos>((static_cast<Int128>(delta) * mult) >> 32);
    if (delta > static_cast<std::int64_t>(interval_ticks_) &&
        !updating_.exchange(true, std::memory_order_acquire)) {
      reanchor(base_tsc, base_ns, mult);
      updating_.store(false, std::memory_order_release);
    }
    return t;
  }

 private:
  struct Anchor {
    std::uint64_t tsc = 0;
    UnixNanos ns = 0;
  };

  // The (tsc, realtime) pair with the tightest bracket of five tries.
  static Anchor anchor() noexcept {
    Anchor best;
    std::uint64_t best_gap = UINT64_MAX;
    for (int i = 0; i < 5; ++i) {
      const std::uint64_t t1 = __rdtsc();
      const UnixNanos ns = sys_realtime();
      const std::uint64_t t2 = __rdtsc();
      if (t2 - t1 < best_gap) {
        best_gap = t2 - t1;
        best = {t1 + (t2 - t1) / 2, ns};
      }
    }
    return best;
  }

  void read(std::uint64_t& base_tsc, UnixNanos& base_ns, std::uint64_t& mult) const noexcept {
    while (true) {  // seqlock read
      const std::uint64_t s1 = seq_.load(std::memory_order_acquire);
      base_tsc = base_tsc_.load(std::memory_order_relaxed);
      base_ns = base_ns_.load(std::memory_order_relaxed);
      mult = mult_.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if ((s1 & 1) == 0 && seq_.load(std::memory_order_relaxed) == s1) return;
    }
  }

  void publish(std::uint64_t base_tsc, UnixNanos base_ns, std::uint64_t mult) noexcept {
    seq_.fetch_add(1, std::memory_order_acq_rel);
    std::atomic_thread_fence(std::memory_order_release);
    base_tsc_.store(base_tsc, std::memory_order_relaxed);
    base_ns_.store(base_ns, std::memory_order_relaxed);
    mult_.store(mult, std::memory_order_relaxed);
    seq_.fetch_add(1, std::memory_order_release);
  }

  void reanchor(std::uint64_t base_tsc, UnixNanos base_ns, std::uint64_t mult) noexcept {
    const Anchor a = anchor();
    const double slope =
        static_cast<double>(a.ns - prev_.ns) / static_cast<double>(a.tsc - prev_.tsc);
    const auto delta = static_cast<std::int64_t>(a.tsc - base_tsc);
    const UnixNanos predicted =
        base_ns + static_cast<UnixNanos>((static_cast<Int128>(delta) * mult) >> 32);
    const UnixNanos error = a.ns - predicted;
    prev_ = a;
    if (error > 1'000'000 || error < -1'000'000 || !(slope > 0)) {
      publish(a.tsc, a.ns, static_cast<std::uint64_t>((slope > 0 ? slope : 0.4) * 4294967296.0));
      return;
    }
    const double next = slope + static_cast<double>(error) / static_cast<double>(interval_ticks_);
    publish(a.tsc, predicted, static_cast<std::uint64_t>((next > 0 ? next : slope) * 4294967296.0));
  }

  bool usable_ = false;
  std::uint64_t interval_ticks_ = 0;
  Anchor prev_;  // owned by whoever holds updating_
  std::atomic<bool> updating_{false};
  std::atomic<std::uint64_t> seq_{0};
  std::atomic<std::uint64_t> base_tsc_{0};
  std::atomic<UnixNanos> base_ns_{0};
  std::atomic<std::uint64_t> mult_{0};  // ns per tick, 32.32 fixed point
};

TscRealtime& tsc_realtime() {
  static TscRealtime clock;
  return clock;
}
// Initialised before main (and on first use if another static needs it earlier), so now()
// pays no guard check.
TscRealtime* const g_tsc = &tsc_realtime();
#endif

}  // namespace

UnixNanos RealtimeClock::now() const noexcept {
#if defined(__x86_64__)
  TscRealtime* tsc = g_tsc != nullptr ? g_tsc : &tsc_realtime();
  if (tsc->usable()) return tsc->now();
#endif
  return sys_realtime();
}

bool RealtimeClock::uses_tsc() noexcept {
#if defined(__x86_64__)
  return tsc_realtime().usable();
#else
  return false;
#endif
}

const Clock& realtime_clock() noexcept {
  static const RealtimeClock clock;
  return clock;
}

Result<void> SimulatedClock::set(UnixNanos t) noexcept {
  UnixNanos cur = now_.load(std::memory_order_relaxed);
  while (true) {
    if (t < cur) {
      return fail(ErrorCode::kInvalidArgument, "simulated clock cannot go backwards (" +
                                                   std::to_string(t) + " < " + std::to_string(cur) +
                                                   ")");
    }
    if (now_.compare_exchange_weak(cur, t, std::memory_order_acq_rel)) return {};
  }
}

void SimulatedClock::advance(std::chrono::nanoseconds d) noexcept {
  if (d.count() > 0) now_.fetch_add(d.count(), std::memory_order_acq_rel);
}

}  // namespace nautilus::core
