#include "signals_vpin.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "nautilus/engines/enhanced_vpin/enhanced_vpin.hpp"
#include "nautilus/engines/vpin/vpin.hpp"

namespace nautilus::bench {
namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One-minute bars with the paper's proportions: V = ADV / 50 over 390 bars a day, so a bucket
// fills in about 7.8 bars.
std::vector<vpin::TimeBar> make_bars(std::size_t n, double& bucket_volume) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> step(0.0, 0.05);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<vpin::TimeBar> bars(n);
  double price = 100, total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double close = price + step(rng);
    bars[i] = {.open = price,
               .close = close,
               .volume = std::floor(500 + 1000 * unit(rng)),
               .ts_close = static_cast<vpin::UnixNanos>(i + 1) * 60'000'000'000};
    total += bars[i].volume;
    price = close;
  }
  bucket_volume = total / (static_cast<double>(n) / 390.0) / 50.0;
  return bars;
}

struct Trades {
  std::vector<double> prices, mids;
  std::vector<model::AggressorSide> sides;
};

// Trades at the bid or the ask of a moving quote; half carry the feed's aggressor side, so
// kAuto mixes the aggressor path with Lee–Ready (and its tick-rule fallback at the mid).
Trades make_trades(std::size_t n) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Trades t;
  t.prices.resize(n);
  t.mids.resize(n);
  t.sides.resize(n);
  double mid = 100;
  for (std::size_t i = 0; i < n; ++i) {
    mid += unit(rng) < 0.5 ? -0.01 : 0.01;
    const double u = unit(rng);
    const bool buy = u < 0.5;
    t.prices[i] = u < 0.1 ? mid : (buy ? mid + 0.01 : mid - 0.01);
    t.mids[i] = mid;
    t.sides[i] = unit(rng) < 0.5 ? model::AggressorSide::kNone
                 : buy           ? model::AggressorSide::kBuyer
                                 : model::AggressorSide::kSeller;
  }
  return t;
}

}  // namespace

void run_vpin_benches(const SuiteOptions& o, double& sink) {
  if (o.wants("vpin")) {
    const std::size_t n = o.quick ? 100'000 : 2'000'000;
    double v = 0;
    const auto bars = make_bars(n, v);
    std::vector<double> rates;
    std::uint64_t buckets = 0;
    for (std::size_t r = 0; r < o.runs; ++r) {
      auto calc = *vpin::VpinCalculator::create({.bucket_volume = v});
      double acc = 0;
      const auto t0 = Clock::now();
      for (const auto& b : bars) {
        calc.on_bar(b, [&acc](const vpin::BucketResult& res) { acc += res.buy; });
      }
      rates.push_back(static_cast<double>(n) /
                      std::chrono::duration<double>(Clock::now() - t0).count());
      buckets = calc.buckets();
      sink += acc;
    }
    print({.bench = "vpin.bars_per_s",
           .value = median(rates),
           .unit = "bars/s",
           .runs = o.runs,
           .note = fmt::format("default options (close-to-close ΔP, expanding σ, normal CDF, "
                               "window 50, empirical CDF of 1000): {} bars, {} buckets "
                               "(target >= 2e7)",
                               n, buckets)},
          o.json);
  }
  if (o.wants("enhanced_vpin")) {
    const std::size_t n = o.quick ? 200'000 : 5'000'000;
    const auto trades = make_trades(n);
    std::vector<double> out(n);
    std::vector<double> rates, one_by_one;
    for (std::size_t r = 0; r < o.runs; ++r) {
      auto c = *enhanced_vpin::Classifier::create(enhanced_vpin::Mode::kAuto);
      const auto t0 = Clock::now();
      (void)c.classify(trades.prices, trades.sides, trades.mids, out);
      rates.push_back(static_cast<double>(n) /
                      std::chrono::duration<double>(Clock::now() - t0).count());
      sink += out[n / 2];
      // The whole per-trade path: classification, buckets, three horizons, the CDF.
      auto ev = *enhanced_vpin::EnhancedVpin::create({.initial_bucket_volume = 5000});
      double acc = 0;
      const auto t1 = Clock::now();
      for (std::size_t i = 0; i < n; ++i) {
        ev.on_trade(trades.prices[i], 100, trades.sides[i],
                    static_cast<vpin::UnixNanos>(i) * 1'000'000,
                    [&acc](const enhanced_vpin::EnhancedResult& res) { acc += res.buy; });
      }
      one_by_one.push_back(static_cast<double>(n) /
                           std::chrono::duration<double>(Clock::now() - t1).count());
      sink += acc;
    }
    print({.bench = "enhanced_vpin.trades_per_s",
           .value = median(rates),
           .unit = "trades/s",
           .runs = o.runs,
           .note = fmt::format("trade classification, auto mode (half with the feed's side, the "
                               "rest Lee-Ready), batches of {} (target >= 5e7)",
                               n)},
          o.json);
    print({.bench = "enhanced_vpin.pipeline_trades_per_s",
           .value = median(one_by_one),
           .unit = "trades/s",
           .runs = o.runs,
           .note = "on_trade one by one: classification, buckets, horizons 10/50/250, CDF"},
          o.json);
  }
}

}  // namespace nautilus::bench
