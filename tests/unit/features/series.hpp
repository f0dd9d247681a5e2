// Seeded OHLCV series for the indicator tests: a random walk with jumps, flat runs (every
// price equal for a while) and zero-volume bars, so warm-up, constant-price and no-volume
// paths are all exercised against the references.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "nautilus/engines/features/feature_set.hpp"

namespace nautilus::features::testing {

struct Series {
  std::vector<double> open, high, low, close, volume;
  std::vector<std::int64_t> session;  // a new session every `bars_per_session` bars
  [[nodiscard]] std::size_t size() const { return close.size(); }
  // Bar i as the FeatureSet takes it.
  [[nodiscard]] BarInput bar(std::size_t i) const {
    return {.open = open[i],
            .high = high[i],
            .low = low[i],
            .close = close[i],
            .volume = volume[i],
            .session = session[i]};
  }
};

inline Series make_series(std::size_t n, std::uint64_t seed, std::size_t bars_per_session = 390) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> step(0.0, 0.002);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Series s;
  double price = 100.0;
  std::size_t flat_left = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double open = price;
    if (flat_left == 0 && unit(rng) < 0.01)
      flat_left = 5 + static_cast<std::size_t>(unit(rng) * 40);
    double close = open;
    double high = open;
    double low = open;
    if (flat_left > 0) {
      --flat_left;  // open = high = low = close: a flat run
    } else {
      close = open * std::exp(step(rng) + (unit(rng) < 0.005 ? 0.05 * (unit(rng) - 0.5) : 0.0));
      high = std::max(open, close) * (1.0 + 0.001 * unit(rng));
      low = std::min(open, close) * (1.0 - 0.001 * unit(rng));
    }
    const double volume = unit(rng) < 0.05 ? 0.0 : std::floor(100.0 + 5000.0 * unit(rng));
    s.open.push_back(open);
    s.high.push_back(high);
    s.low.push_back(low);
    s.close.push_back(close);
    s.volume.push_back(volume);
    s.session.push_back(static_cast<std::int64_t>(i / bars_per_session));
    price = close;
  }
  return s;
}

}  // namespace nautilus::features::testing
