// The latest value of a named input at a time, for the ml engine's features that come from
// other engines' messages (VPIN per bucket, factor exposures per date) rather than from the
// bar's feature update: a value counts from the moment it was known (its message's publish time
// or event time, whichever is later), so a bar at T sees only values known at or before T and a
// backtest cannot peek at an exposure computed after the bar.
//
//   ml::AsOf vpin;
//   vpin.add(known_at, 0.31);
//   double v = vpin.at(bar_ts);   // NaN when nothing was known by bar_ts
#pragma once

#include <cmath>
#include <cstddef>
#include <deque>
#include <utility>

#include "nautilus/core/clock.hpp"

namespace nautilus::ml {

class AsOf {
 public:
  // Values older than the latest `keep` are forgotten: a bar far behind its inputs gets NaN.
  explicit AsOf(std::size_t keep = 256) : keep_(keep) {}

  void add(core::UnixNanos known_at, double value) {
    // Inputs arrive in bus order; one that says it was known earlier than the last is kept in
    // order, so at() can scan from the newest.
    auto it = values_.end();
    while (it != values_.begin() && std::prev(it)->first > known_at) --it;
    values_.insert(it, {known_at, value});
    if (values_.size() > keep_) values_.pop_front();
  }

  [[nodiscard]] double at(core::UnixNanos t) const {
    for (auto it = values_.rbegin(); it != values_.rend(); ++it) {
      if (it->first <= t) return it->second;
    }
    return std::nan("");
  }

  [[nodiscard]] bool empty() const noexcept { return values_.empty(); }

 private:
  std::size_t keep_;
  std::deque<std::pair<core::UnixNanos, double>> values_;
};

}  // namespace nautilus::ml
