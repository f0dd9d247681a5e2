// The vpin and enhanced_vpin engines on a deterministic bus: what they publish is what their
// calculators compute when fed the same inputs directly; the first date is held until an ADV
// exists; alerts are published; bad inputs are counted; REST over a real socket.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include "nautilus/engine/host.hpp"
#include "nautilus/engines/enhanced_vpin/engine.hpp"
#include "nautilus/engines/enhanced_vpin/enhanced_vpin.hpp"
#include "nautilus/engines/vpin/engine.hpp"
#include "nautilus/engines/vpin/vpin.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/signals.hpp"
#include "support/http_client.hpp"

namespace nautilus {
namespace {

constexpr core::UnixNanos kT0 = 1'767'623'400'000'000'000;  // 2026-01-05 14:30 UTC
constexpr core::UnixNanos kMinute = 60'000'000'000;
constexpr core::UnixNanos kDay = 86'400'000'000'000;

// Two sessions of 390 one-minute bars; the second half of day 2 is one-sided buying.
std::vector<model::Bar> make_bars(core::Symbol sym) {
  std::mt19937_64 rng(17);
  std::normal_distribution<double> step(0.0, 0.05);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<model::Bar> bars;
  double price = 100;
  for (int day = 0; day < 2; ++day) {
    for (int m = 0; m < 390; ++m) {
      const bool burst = day == 1 && m > 200;
      const double close = price + step(rng) + (burst ? 0.08 : 0.0);
      const auto px = [](double v) {
        return *core::Price::from_double(std::round(v * 100) / 100, 2);
      };
      bars.push_back({.symbol = sym,
                      .open = px(price),
                      .high = px(std::max(price, close) + 0.01),
                      .low = px(std::min(price, close) - 0.01),
                      .close = px(close),
                      .volume = *core::Quantity::from_double(std::floor(500 + 1000 * unit(rng)), 0),
                      .interval_s = 60,
                      .ts_event = kT0 + day * kDay + (m + 1) * kMinute});
      price = close;
    }
  }
  return bars;
}

struct Harness {
  core::SimulatedClock clock{kT0};
  bus::MessageBus bus{{.clock = &clock, .request_timer_thread = false}};
  std::unique_ptr<engine::EngineHost> host;
  std::vector<model::VpinUpdate> updates;
  std::vector<model::ToxicityAlert> alerts;
  std::optional<bus::Publisher> hub;

  void start(std::unique_ptr<engine::Engine> e, const std::string& name, engine::EngineConfig cfg) {
    std::vector<std::unique_ptr<engine::Engine>> engines;
    engines.push_back(std::move(e));
    auto h = engine::EngineHost::start(
        bus, std::move(engines),
        {.configs = {{name, std::move(cfg)}}, .simulated_clock = &clock, .serve_http = false});
    ASSERT_TRUE(h) << h.error().message;
    host = std::move(*h);
    ASSERT_TRUE(bus.subscribe("vpin.*", [this](const bus::Envelope& e) {
      if (const auto* u = e.get<model::VpinUpdate>()) updates.push_back(*u);
    }));
    ASSERT_TRUE(bus.subscribe("toxicity.alert.*", [this](const bus::Envelope& e) {
      if (const auto* a = e.get<model::ToxicityAlert>()) alerts.push_back(*a);
    }));
    hub.emplace(*bus.publisher("marketdata"));
  }
  template <class T>
  void publish(const std::string& topic, const T& msg, core::UnixNanos ts) {
    ASSERT_TRUE(hub->publish(topic, msg, {.ts_event = ts}));
    ASSERT_TRUE(host->run_until(ts));
  }
};

vpin::VpinOptions options(double v) {
  return {.bucket_volume = v,
          .window = 20,
          .toxicity = {.history = 0, .min_history = 10, .threshold = 0.9}};
}

engine::EngineConfig vpin_config(double v) {
  engine::EngineConfig cfg;
  cfg.set("bucket_volume", fmt::format("{}", v));
  cfg.set("window", "20");
  cfg.set("cdf_history", "0");
  cfg.set("cdf_min_history", "10");
  return cfg;
}

TEST(VpinEngine, PublishesEveryBucketAsTheCalculatorComputesItAndAlertsOnTheBurst) {
  const auto sym = core::Symbol::from_trusted("AAPL");
  const auto bars = make_bars(sym);
  const double v = 5000;
  Harness h;
  h.start(vpin::make_engine(), "vpin", vpin_config(v));
  auto direct = *vpin::VpinCalculator::create(options(v));
  std::vector<vpin::BucketResult> want;
  for (const auto& b : bars) {
    h.publish("market_data.AAPL.bar", b, b.ts_event);
    direct.on_bar(vpin::from_model(b), want);
  }
  ASSERT_EQ(h.updates.size(), want.size());
  ASSERT_GT(want.size(), 100u);
  std::size_t want_alerts = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const auto& u = h.updates[i];
    EXPECT_EQ(u.bucket, want[i].index);
    EXPECT_EQ(u.ts_event, want[i].ts);
    EXPECT_EQ(u.method, model::VpinMethod::kBvc);
    EXPECT_EQ(u.window, 20u);
    if (std::isnan(want[i].vpin)) {
      EXPECT_TRUE(std::isnan(u.vpin));
    } else {
      EXPECT_EQ(u.vpin, want[i].vpin);
    }
    EXPECT_EQ(u.buy_volume, want[i].buy);
    want_alerts += want[i].alert ? 1 : 0;
  }
  EXPECT_GE(want_alerts, 1u) << "the one-sided burst crosses the CDF threshold";
  ASSERT_EQ(h.alerts.size(), want_alerts);
  const auto burst = std::find_if(h.alerts.begin(), h.alerts.end(), [](const auto& a) {
    return a.ts_event > kT0 + kDay + 201 * kMinute;
  });
  ASSERT_NE(burst, h.alerts.end()) << "an alert during the one-sided burst";
  EXPECT_GE(burst->cdf, 0.9);
  EXPECT_EQ(burst->symbol, sym);
}

TEST(VpinEngine, WithoutABucketSizeItHoldsTheFirstDateThenUsesItsVolume) {
  const auto sym = core::Symbol::from_trusted("MSFT");
  const auto bars = make_bars(sym);
  Harness h;
  engine::EngineConfig cfg = vpin_config(0);
  cfg.set("buckets_per_day", "40");
  h.start(vpin::make_engine(), "vpin", std::move(cfg));
  double day1 = 0;
  for (std::size_t i = 0; i < 390; ++i) {
    day1 += bars[i].volume.as_double();
    h.publish("market_data.MSFT.bar", bars[i], bars[i].ts_event);
  }
  EXPECT_TRUE(h.updates.empty()) << "no V before the first date completes";
  h.publish("market_data.MSFT.bar", bars[390], bars[390].ts_event);
  ASSERT_GE(h.updates.size(), 39u) << "the held day is bucketed at once";
  EXPECT_DOUBLE_EQ(h.updates.front().bucket_volume, day1 / 40);
}

TEST(VpinEngine, BadInputsAreCountedAndChangeNothing) {
  const auto sym = core::Symbol::from_trusted("IBM");
  auto bars = make_bars(sym);
  Harness h;
  h.start(vpin::make_engine(), "vpin", vpin_config(3000));
  h.publish("market_data.IBM.bar", bars[1], bars[1].ts_event);
  h.publish("market_data.IBM.bar", bars[0], bars[1].ts_event);  // earlier than the last
  auto five = bars[2];
  five.interval_s = 300;
  h.publish("market_data.IBM.bar", five, five.ts_event);
  h.publish("market_data.IBM.bar", model::PriceUpdate{sym, bars[2].close, bars[2].ts_event},
            bars[2].ts_event);  // not a bar
  boost::json::object health;
  h.host->engine_objects().front()->add_health_fields(health);
  EXPECT_EQ(health["rejected"].as_uint64(), 3u);
}

TEST(EnhancedVpinEngine, PublishesEveryHorizonPerBucketWithTheCdfOnThePrimaryOnly) {
  const auto sym = core::Symbol::from_trusted("AAPL");
  Harness h;
  engine::EngineConfig cfg;
  cfg.set("initial_bucket_volume", "2000");
  cfg.set("horizons", "5,20");
  cfg.set("primary_window", "20");
  cfg.set("cdf_history", "0");
  cfg.set("cdf_min_history", "10");
  h.start(enhanced_vpin::make_engine(), "enhanced_vpin", std::move(cfg));
  auto direct =
      *enhanced_vpin::EnhancedVpin::create({.initial_bucket_volume = 2000,
                                            .windows = {5, 20},
                                            .primary_window = 20,
                                            .toxicity = {.history = 0, .min_history = 10}});
  std::vector<enhanced_vpin::EnhancedResult> want;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  double price = 50;
  for (int i = 0; i < 3000; ++i) {
    const core::UnixNanos ts = kT0 + i * 1'000'000'000LL;
    const bool burst = i > 2000;
    const double mid = price;
    const model::QuoteTick q{sym,
                             *core::Price::from_double(mid - 0.01, 2),
                             *core::Price::from_double(mid + 0.01, 2),
                             *core::Quantity::from_double(100, 0),
                             *core::Quantity::from_double(100, 0),
                             ts};
    h.publish("market_data.AAPL.quote", q, ts);
    direct.on_quote(q.bid.as_double(), q.ask.as_double(), ts);
    const bool buy = unit(rng) < (burst ? 0.9 : 0.5);
    // Half the trades carry no side: Lee-Ready against the quote decides them.
    const auto side = i % 2 == 0 ? model::AggressorSide::kNone
                      : buy      ? model::AggressorSide::kBuyer
                                 : model::AggressorSide::kSeller;
    const model::TradeTick t{
        sym,  buy ? q.ask : q.bid,           *core::Quantity::from_double(100, 0),
        side, static_cast<std::uint64_t>(i), ts};
    h.publish("market_data.AAPL.trade", t, ts);
    direct.on_trade(t.price.as_double(), 100, side, ts, want);
    price += (buy ? 0.01 : -0.01);
  }
  ASSERT_GT(want.size(), 100u);
  ASSERT_EQ(h.updates.size(), 2 * want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    const auto& short_h = h.updates[2 * i];
    const auto& primary = h.updates[2 * i + 1];
    EXPECT_EQ(short_h.window, 5u);
    EXPECT_EQ(primary.window, 20u);
    EXPECT_EQ(primary.method, model::VpinMethod::kEnhanced);
    EXPECT_TRUE(std::isnan(short_h.cdf));
    for (const auto* u : {&short_h, &primary}) {
      EXPECT_EQ(u->bucket, want[i].index);
      EXPECT_EQ(u->ts_event, want[i].ts);
      EXPECT_EQ(u->buy_volume, want[i].buy);
      EXPECT_EQ(u->bucket_volume, want[i].bucket_volume);
    }
    // NaN (warming up) where the calculator has NaN, the same value elsewhere.
    const auto same = [](double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; };
    EXPECT_TRUE(same(short_h.vpin, want[i].vpin[0])) << "bucket " << i;
    EXPECT_TRUE(same(primary.vpin, want[i].primary_vpin)) << "bucket " << i;
    EXPECT_TRUE(same(primary.cdf, want[i].cdf)) << "bucket " << i;
  }
  EXPECT_FALSE(h.alerts.empty()) << "the one-sided burst raises an alert";
  for (const auto& a : h.alerts) EXPECT_EQ(a.method, model::VpinMethod::kEnhanced);
}

TEST(EnhancedVpinEngine, AHorizonListWithoutThePrimaryStopsStartUp) {
  core::SimulatedClock clock{kT0};
  bus::MessageBus bus{{.clock = &clock, .request_timer_thread = false}};
  engine::EngineConfig cfg;
  cfg.set("horizons", "10,30");
  std::vector<std::unique_ptr<engine::Engine>> engines;
  engines.push_back(enhanced_vpin::make_engine());
  auto h = engine::EngineHost::start(
      bus, std::move(engines),
      {.configs = {{"enhanced_vpin", cfg}}, .simulated_clock = &clock, .serve_http = false});
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message.find("primary_window"), std::string::npos) << h.error().message;
}

TEST(VpinEngine, AHubPublishingAsFastAsItCanLosesNoBarOnAThreadedHost) {
  bus::MessageBus bus;
  std::vector<std::unique_ptr<engine::Engine>> engines;
  engines.push_back(vpin::make_engine());
  auto host = engine::EngineHost::start(
      bus, std::move(engines),
      {.ephemeral_ports = true, .configs = {{"vpin", vpin_config(4000)}}, .serve_http = false});
  ASSERT_TRUE(host) << host.error().message;
  // A subscriber without a mailbox runs on the publishing engine's thread: the first bucket
  // stalls the engine for 50 ms, meanwhile the hub fills the engine's mailbox.
  std::atomic<bool> stalled{false};
  ASSERT_TRUE(bus.subscribe("vpin.calculation.*", [&](const bus::Envelope&) {
    if (!stalled.exchange(true)) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }));
  auto pub = *bus.publisher("marketdata");
  std::vector<std::vector<model::Bar>> series;
  for (int s = 0; s < 32; ++s) {
    series.push_back(make_bars(core::Symbol::from_trusted(fmt::format("S{:02}", s))));
  }
  // 32 × 780 bars in one burst, three times what the mailbox's lane holds: the publisher waits.
  std::uint64_t published = 0;
  for (std::size_t i = 0; i < series.front().size(); ++i) {
    for (const auto& bars : series) {
      const auto topic = fmt::format("market_data.{}.bar", bars[i].symbol.value());
      ASSERT_TRUE(pub.publish(topic, bars[i]));
      ++published;
    }
  }
  engine::Engine* e = (*host)->engine_objects().front();
  boost::json::object health;
  for (int tries = 0; tries < 500; ++tries) {
    health.clear();
    e->add_health_fields(health);
    if (health["bars"].as_uint64() == published) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(health["bars"].as_uint64(), published);
  EXPECT_EQ(health["rejected"].as_uint64(), 0u);
  (*host)->drain_and_stop();
}

TEST(VpinEngine, RestServesTheStateAndTheBucketHistory) {
  bus::MessageBus bus;
  std::vector<std::unique_ptr<engine::Engine>> engines;
  engines.push_back(vpin::make_engine());
  auto host = engine::EngineHost::start(
      bus, std::move(engines), {.ephemeral_ports = true, .configs = {{"vpin", vpin_config(4000)}}});
  ASSERT_TRUE(host) << host.error().message;
  const auto port = (*host)->engines().front().port;
  auto pub = *bus.publisher("marketdata");
  const auto bars = make_bars(core::Symbol::from_trusted("IBM"));
  for (std::size_t i = 0; i < 200; ++i) ASSERT_TRUE(pub.publish("market_data.IBM.bar", bars[i]));
  test::HttpResult r;
  for (int tries = 0; tries < 300; ++tries) {
    r = test::http_get(port, "/vpin/IBM");
    if (r.status == 200 && r.body.find("\"bars\":200") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(r.status, 200) << r.body;
  const auto j = boost::json::parse(r.body).as_object();
  EXPECT_EQ(j.at("bucket_volume").to_number<double>(), 4000.0);
  EXPECT_GT(j.at("buckets").to_number<std::uint64_t>(), 20u);
  const auto b = test::http_get(port, "/vpin/IBM/buckets?limit=5");
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(boost::json::parse(b.body).at("buckets").as_array().size(), 5u);
  EXPECT_EQ(test::http_get(port, "/vpin/IBM/buckets?limit=x").status, 400);
  EXPECT_EQ(test::http_get(port, "/vpin/NOPE").status, 404);
  (*host)->drain_and_stop();
}

}  // namespace
}  // namespace nautilus
