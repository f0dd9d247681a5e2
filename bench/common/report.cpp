#include "report.hpp"

#include <fmt/format.h>

#include <thread>

namespace nautilus::bench {

void print(const Report& r, bool json) {
  const double ratio =
      r.ratio ? *r.ratio
              : (r.anchor_value && *r.anchor_value != 0 ? r.value / *r.anchor_value : 0.0);
  if (json) {
    std::string line =
        fmt::format(R"({{"bench": "{}", "value": {:.6g}, "unit": "{}")", r.bench, r.value, r.unit);
    if (!r.anchor.empty() && r.anchor_value) {
      line += fmt::format(R"(, "anchor": "{}", "anchor_value": {:.6g}, "ratio": {:.4g})", r.anchor,
                          *r.anchor_value, ratio);
    }
    line += fmt::format(R"(, "runs": {})", r.runs);
    if (!r.note.empty()) line += fmt::format(R"(, "note": "{}")", r.note);
    fmt::print("{}}}\n", line);
  } else {
    fmt::print("{:<34} {:>14.4g} {:<8}", r.bench, r.value, r.unit);
    if (!r.anchor.empty() && r.anchor_value) {
      fmt::print("  anchor {} = {:.4g} (ratio {:.3g})", r.anchor, *r.anchor_value, ratio);
    }
    if (!r.note.empty()) fmt::print("  [{}]", r.note);
    fmt::print("\n");
  }
  std::fflush(stdout);
}

double median_of(std::size_t runs, const std::function<double()>& f) {
  std::vector<double> v;
  for (std::size_t i = 0; i < std::max<std::size_t>(runs, 1); ++i) v.push_back(f());
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

WakeupStalls measure_wakeups(std::chrono::milliseconds duration, std::chrono::microseconds period) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> late;
  std::size_t over_2ms = 0;
  const auto end = Clock::now() + duration;
  for (auto t = Clock::now(); t < end; t = Clock::now()) {
    std::this_thread::sleep_for(period);
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - t - period).count();
    late.push_back(us);
    if (us > 2000) ++over_2ms;
  }
  if (late.empty()) return {};
  std::sort(late.begin(), late.end());
  return {.p999_us = late[late.size() * 999 / 1000],
          .over_2ms_per_s =
              static_cast<double>(over_2ms) / std::chrono::duration<double>(duration).count()};
}

}  // namespace nautilus::bench
