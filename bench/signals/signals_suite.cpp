#include "signals_suite.hpp"

#include <fmt/format.h>
#include <ta_libc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/engine/host.hpp"
#include "nautilus/engines/features/engine.hpp"
#include "nautilus/engines/features/feature_set.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/signals.hpp"
#include "signals_vpin.hpp"

namespace nautilus::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Bars {
  std::vector<double> open, high, low, close, volume;
};

// A random walk with intrabar ranges and volumes, the same every run.
Bars make_bars(std::size_t n) {
  std::mt19937_64 rng(2026);
  std::normal_distribution<double> step(0.0, 0.001);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Bars b;
  for (auto* v : {&b.open, &b.high, &b.low, &b.close, &b.volume}) v->reserve(n);
  double price = 100;
  for (std::size_t i = 0; i < n; ++i) {
    const double close = price * std::exp(step(rng));
    b.open.push_back(price);
    b.close.push_back(close);
    b.high.push_back(std::max(price, close) * (1 + 0.0005 * unit(rng)));
    b.low.push_back(std::min(price, close) * (1 - 0.0005 * unit(rng)));
    b.volume.push_back(std::floor(100 + 1000 * unit(rng)));
    price = close;
  }
  return b;
}

// TA-Lib's seven batch functions over all the bars: seconds.
double talib_seven(const Bars& b, std::vector<double>* out, double& sink) {
  const int n = static_cast<int>(b.close.size());
  const int end = n - 1;
  int begin = 0, count = 0;
  double* o = out[0].data();
  const auto t0 = Clock::now();
  TA_SMA(0, end, b.close.data(), 20, &begin, &count, o);
  TA_EMA(0, end, b.close.data(), 20, &begin, &count, out[1].data());
  TA_RSI(0, end, b.close.data(), 14, &begin, &count, out[2].data());
  TA_MACD(0, end, b.close.data(), 12, 26, 9, &begin, &count, out[3].data(), out[4].data(),
          out[5].data());
  TA_BBANDS(0, end, b.close.data(), 20, 2.0, 2.0, TA_MAType_SMA, &begin, &count, out[6].data(),
            out[7].data(), out[8].data());
  TA_ATR(0, end, b.high.data(), b.low.data(), b.close.data(), 14, &begin, &count, out[9].data());
  TA_OBV(0, end, b.close.data(), b.volume.data(), &begin, &count, out[10].data());
  const double s = seconds_since(t0);
  sink += out[0][static_cast<std::size_t>(count / 2)] + out[9][static_cast<std::size_t>(count / 2)];
  return s;
}

// The same seven, streamed one bar at a time through per-symbol state: seconds.
double streamed_seven(const Bars& b, double& sink) {
  features::Sma sma(20);
  features::Ema ema(20);
  features::Rsi rsi(14);
  features::Macd macd(12, 26, 9);
  features::Bollinger bb(20, 2.0);
  features::Atr atr(14);
  features::Obv obv;
  double acc = 0;
  const std::size_t n = b.close.size();
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    const double c = b.close[i];
    sma.update(c);
    ema.update(c);
    rsi.update(c);
    macd.update(c);
    bb.update(c);
    atr.update(b.high[i], b.low[i], c);
    obv.update(c, b.volume[i]);
    // Read what a consumer reads, so that nothing is optimised away.
    acc += sma.value() + ema.value() + rsi.value() + macd.histogram() + bb.upper() + atr.value() +
           obv.value();
  }
  const double s = seconds_since(t0);
  sink += acc;
  return s;
}

// The full FeatureSet (all fourteen features) per bar: seconds.
double streamed_full(const Bars& b, double& sink) {
  features::FeatureSet set(features::FeaturePeriods{});
  double acc = 0;
  const std::size_t n = b.close.size();
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    set.update({.open = b.open[i],
                .high = b.high[i],
                .low = b.low[i],
                .close = b.close[i],
                .volume = b.volume[i],
                .session = static_cast<std::int64_t>(i / 390)});
    const auto v = set.values();
    acc += v[0] + v[13];
  }
  const double s = seconds_since(t0);
  sink += acc;
  return s;
}

// Bars published by a hub publisher on the in-process bus, through the features engine on its
// own thread, until every feature.update has arrived: bars per second end to end.
double engine_end_to_end(const Bars& b, std::size_t n, std::size_t symbols) {
  bus::MessageBus bus;
  std::vector<std::unique_ptr<engine::Engine>> engines;
  engines.push_back(features::make_engine());
  auto host = engine::EngineHost::start(bus, std::move(engines),
                                        {.ephemeral_ports = true, .serve_http = false});
  if (!host) {
    fmt::print(stderr, "bench signals: {}\n", host.error().message);
    return 0;
  }
  std::atomic<std::size_t> updates{0};
  auto sub = bus.subscribe("feature.update.*", [&](const bus::Envelope&) {
    updates.fetch_add(1, std::memory_order_relaxed);
  });
  auto pub = *bus.publisher("marketdata");
  std::vector<bus::TopicHandle> topics;
  std::vector<core::Symbol> syms;
  for (std::size_t s = 0; s < symbols; ++s) {
    syms.push_back(core::Symbol::from_trusted(fmt::format("S{:03}", s)));
    topics.push_back(*bus.topic(fmt::format("market_data.S{:03}.bar", s)));
  }
  std::vector<model::Bar> bars;
  bars.reserve(n);
  constexpr core::UnixNanos kT0 = 1'767'623'400'000'000'000;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = i % b.close.size();
    const auto px = [](double v) { return *core::Price::from_double(v, 4); };
    bars.push_back(
        {.symbol = syms[i % symbols],
         .open = px(b.open[k]),
         .high = px(b.high[k]),
         .low = px(b.low[k]),
         .close = px(b.close[k]),
         .volume = *core::Quantity::from_double(b.volume[k], 0),
         .interval_s = 60,
         .ts_event = kT0 + static_cast<core::UnixNanos>(i / symbols + 1) * 60'000'000'000});
  }
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    // Back-pressure from the engine's mailbox is part of the measurement: a full lane blocks.
    (void)pub.publish(topics[i % symbols], bars[i], {.ts_event = bars[i].ts_event});
  }
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (updates.load(std::memory_order_relaxed) < n && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const double s = seconds_since(t0);
  const std::size_t got = updates.load();
  (*host)->drain_and_stop();
  if (sub) (void)bus.unsubscribe(*sub);
  if (got < n) {
    fmt::print(stderr, "bench signals: {} of {} feature updates arrived\n", got, n);
    return static_cast<double>(got) / s;
  }
  return static_cast<double>(n) / s;
}

}  // namespace

void run_signals_suite(const SuiteOptions& o) {
  const std::size_t n = o.quick ? 50'000 : 1'000'000;
  const Bars bars = make_bars(n);
  std::vector<double> out[11];
  for (auto& v : out) v.resize(n);
  double sink = 0;
  if (TA_Initialize() != TA_SUCCESS) {
    fmt::print(stderr, "bench signals: TA_Initialize failed\n");
    return;
  }
  if (o.wants("features")) {
    std::vector<double> talib, seven, full, ratio;
    for (std::size_t r = 0; r < o.runs; ++r) {
      talib.push_back(static_cast<double>(n) / talib_seven(bars, out, sink));
      seven.push_back(static_cast<double>(n) / streamed_seven(bars, sink));
      full.push_back(static_cast<double>(n) / streamed_full(bars, sink));
      ratio.push_back(seven.back() / talib.back());
    }
    const std::string anchor = "talib_batch_seven";
    print({.bench = "features.seven_bar_updates_per_s",
           .value = median(seven),
           .unit = "bars/s",
           .anchor = anchor,
           .anchor_value = median(talib),
           .runs = o.runs,
           .note = fmt::format("SMA20 EMA20 RSI14 MACD12/26/9 BB20/2 ATR14 OBV over {} bars", n)},
          o.json);
    print({.bench = "features.ratio_vs_talib",
           .value = median(ratio),
           .unit = "x",
           .runs = o.runs,
           .note = "streamed one bar at a time vs TA-Lib's batch functions (target >= 1.0)"},
          o.json);
    print({.bench = "features.bar_updates_per_s",
           .value = median(full),
           .unit = "bars/s",
           .runs = o.runs,
           .note = "the full set of 14 features per bar (target >= 2e7)"},
          o.json);
  }
  if (o.wants("features.engine")) {
    std::vector<double> e2e;
    const std::size_t m = o.quick ? 20'000 : 400'000;
    for (std::size_t r = 0; r < o.runs; ++r) e2e.push_back(engine_end_to_end(bars, m, 20));
    print({.bench = "features.engine_bars_per_s",
           .value = median(e2e),
           .unit = "bars/s",
           .runs = o.runs,
           .note = fmt::format("{} bars over 20 symbols: hub publisher -> in-process bus -> "
                               "features engine thread -> feature.update (target >= 1e6)",
                               m)},
          o.json);
  }
  run_vpin_benches(o, sink);
  if (sink == 42) fmt::print(" ");
}

}  // namespace nautilus::bench
