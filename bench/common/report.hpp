// The one output form every `nautilus bench <suite>` uses: a JSON object per line, with the
// anchor measured in the same run when there is one.
//
//   Report r{.bench = "bus.inproc.same_thread", .value = 5.2e7, .unit = "msgs/s",
//            .anchor = "spsc_ring", .anchor_value = 9.0e8};
//   print(r, /*json=*/true);
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nautilus::bench {

struct Report {
  std::string bench;
  double value = 0;
  std::string unit;
  std::string anchor;  // empty: no anchor for this figure
  std::optional<double> anchor_value;
  std::size_t runs = 1;  // value and anchor_value are medians over this many runs
  std::string note;
  std::optional<double> ratio;  // median of per-run ratios; default value / anchor_value
};

void print(const Report& r, bool json);

// Median of `runs` calls of `f`.
double median_of(std::size_t runs, const std::function<double()>& f);

// How the machine itself holds threads back: one thread sleeping `period` at a time for
// `duration`, and how late it wakes. On a shared VM the hypervisor stalls a vCPU for
// milliseconds now and then; every thread of a pipeline meets those stalls too, so latency
// tails are read against this anchor, measured in the same run.
struct WakeupStalls {
  double p999_us = 0;         // lateness of the wake-ups
  double over_2ms_per_s = 0;  // wake-ups later than 2 ms, per second
};
WakeupStalls measure_wakeups(std::chrono::milliseconds duration, std::chrono::microseconds period);

struct SuiteOptions {
  bool json = false;
  std::size_t runs = 5;
  bool quick = false;  // smaller message counts, for smoke tests
  std::string only;    // measure only figures whose name starts with this
  [[nodiscard]] bool wants(std::string_view figure) const {
    return only.empty() || figure.starts_with(only) || only.starts_with(figure);
  }
};

}  // namespace nautilus::bench
