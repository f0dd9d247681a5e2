// The features engine on a bus: bars in, feature_update out, the same numbers as a FeatureSet
// fed directly; per-symbol periods; bad bars counted, not crashing; REST over a real socket.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <thread>
#include <vector>

#include "nautilus/engine/host.hpp"
#include "nautilus/engines/features/engine.hpp"
#include "nautilus/engines/features/feature_set.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/signals.hpp"
#include "series.hpp"
#include "support/http_client.hpp"

namespace nautilus::features {
namespace {

constexpr core::UnixNanos kT0 = 1'767'623'400'000'000'000;  // 2026-01-05 14:30 UTC
constexpr core::UnixNanos kMinute = 60'000'000'000;

model::Bar make_bar(core::Symbol sym, const testing::Series& s, std::size_t i) {
  const auto px = [](double v) { return *core::Price::from_double(v, 4); };
  return {.symbol = sym,
          .open = px(s.open[i]),
          .high = px(s.high[i]),
          .low = px(s.low[i]),
          .close = px(s.close[i]),
          .volume = *core::Quantity::from_double(s.volume[i], 0),
          .interval_s = 60,
          .ts_event = kT0 + static_cast<core::UnixNanos>(i + 1) * kMinute};
}

struct Harness {
  core::SimulatedClock clock{kT0};
  bus::MessageBus bus{{.clock = &clock, .request_timer_thread = false}};
  std::unique_ptr<engine::EngineHost> host;
  std::vector<model::FeatureUpdate> updates;
  std::optional<bus::Publisher> hub;

  void start(engine::EngineConfig cfg = {}) {
    std::vector<std::unique_ptr<engine::Engine>> engines;
    engines.push_back(make_engine());
    auto h = engine::EngineHost::start(bus, std::move(engines),
                                       {.configs = {{"features", std::move(cfg)}},
                                        .simulated_clock = &clock,
                                        .serve_http = false});
    ASSERT_TRUE(h) << h.error().message;
    host = std::move(*h);
    ASSERT_TRUE(bus.subscribe("feature.update.*", [this](const bus::Envelope& e) {
      if (const auto* u = e.get<model::FeatureUpdate>()) updates.push_back(*u);
    }));
    hub.emplace(*bus.publisher("marketdata"));
  }
  void publish(const model::Bar& b) {
    ASSERT_TRUE(hub->publish(fmt::format("market_data.{}.bar", b.symbol.value()), b));
    ASSERT_TRUE(host->run_until(b.ts_event));
  }
};

TEST(FeaturesEngine, PublishesAfterEveryBarWhatAFeatureSetFedDirectlyComputes) {
  Harness h;
  h.start();
  const auto sym = core::Symbol::from_trusted("AAPL");
  const auto s = testing::make_series(300, 5);
  FeatureSet direct(FeaturePeriods{});
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto bar = make_bar(sym, s, i);
    h.publish(bar);
    direct.update({.open = bar.open.as_double(),
                   .high = bar.high.as_double(),
                   .low = bar.low.as_double(),
                   .close = bar.close.as_double(),
                   .volume = bar.volume.as_double(),
                   .session = utc_session(bar.ts_event, bar.interval_s)});
    ASSERT_EQ(h.updates.size(), i + 1);
    const auto& u = h.updates.back();
    EXPECT_EQ(u.symbol, sym);
    EXPECT_EQ(u.ts_event, bar.ts_event);
    ASSERT_EQ(u.values.size(), kFeatureCount);
    const auto want = direct.values();
    for (std::size_t f = 0; f < kFeatureCount; ++f) {
      if (std::isnan(want[f])) {
        EXPECT_TRUE(std::isnan(u.values[f]));
      } else {
        EXPECT_EQ(u.values[f], want[f]) << u.names[f].view() << " bar " << i;
      }
    }
  }
  EXPECT_EQ(h.updates.back().names[2].view(), "rsi14");
}

TEST(FeaturesEngine, PerSymbolPeriodsApplyToThatSymbolOnly) {
  Harness h;
  engine::EngineConfig cfg;
  cfg.set("symbol_periods", "MSFT.rsi_period=5,MSFT.sma_period=3");
  h.start(std::move(cfg));
  const auto s = testing::make_series(10, 9);
  for (std::size_t i = 0; i < s.size(); ++i) {
    h.publish(make_bar(core::Symbol::from_trusted("MSFT"), s, i));
    h.publish(make_bar(core::Symbol::from_trusted("AAPL"), s, i));
  }
  const auto& msft = h.updates[h.updates.size() - 2];
  const auto& aapl = h.updates.back();
  EXPECT_EQ(msft.names[0].view(), "sma3");
  EXPECT_EQ(msft.names[2].view(), "rsi5");
  EXPECT_FALSE(std::isnan(msft.values[0]));  // 10 bars: SMA 3 and RSI 5 are warm
  EXPECT_FALSE(std::isnan(msft.values[2]));
  EXPECT_EQ(aapl.names[0].view(), "sma20");
  EXPECT_TRUE(std::isnan(aapl.values[0]));  // SMA 20 is not, after 10
}

TEST(FeaturesEngine, ABadPeriodOverrideStopsStartUpNamingIt) {
  core::SimulatedClock clock{kT0};
  bus::MessageBus bus{{.clock = &clock, .request_timer_thread = false}};
  for (const char* bad :
       {"MSFT.rsi_period=1", "MSFT.nope=3", "rsi_period=3", "MSFT.rsi_period=x"}) {
    engine::EngineConfig cfg;
    cfg.set("symbol_periods", bad);
    std::vector<std::unique_ptr<engine::Engine>> engines;
    engines.push_back(make_engine());
    auto host = engine::EngineHost::start(
        bus, std::move(engines),
        {.configs = {{"features", cfg}}, .simulated_clock = &clock, .serve_http = false});
    ASSERT_FALSE(host) << bad;
    EXPECT_NE(host.error().message.find("symbol_periods"), std::string::npos)
        << host.error().message;
  }
}

TEST(FeaturesEngine, OutOfOrderAndOtherIntervalBarsAreCountedNotUsed) {
  Harness h;
  h.start();
  const auto sym = core::Symbol::from_trusted("AAPL");
  const auto s = testing::make_series(3, 1);
  h.publish(make_bar(sym, s, 1));
  auto stale = make_bar(sym, s, 0);  // earlier than the last
  ASSERT_TRUE(h.hub->publish("market_data.AAPL.bar", stale));
  auto five = make_bar(sym, s, 2);
  five.interval_s = 300;
  h.publish(five);
  EXPECT_EQ(h.updates.size(), 1u);
  boost::json::object health;
  h.host->engine_objects().front()->add_health_fields(health);
  EXPECT_EQ(health["bars_rejected"].as_uint64(), 2u);
  EXPECT_EQ(health["bars"].as_uint64(), 1u);
}

TEST(FeaturesEngine, RestServesTheLatestValuesAndThePeriodsInForce) {
  bus::MessageBus bus;
  std::vector<std::unique_ptr<engine::Engine>> engines;
  engines.push_back(make_engine());
  engine::EngineConfig cfg;
  cfg.set("rsi_period", "9");
  auto host = engine::EngineHost::start(bus, std::move(engines),
                                        {.ephemeral_ports = true, .configs = {{"features", cfg}}});
  ASSERT_TRUE(host) << host.error().message;
  const auto port = (*host)->engines().front().port;
  auto pub = *bus.publisher("marketdata");
  const auto s = testing::make_series(30, 2);
  for (std::size_t i = 0; i < s.size(); ++i) {
    ASSERT_TRUE(
        pub.publish("market_data.IBM.bar", make_bar(core::Symbol::from_trusted("IBM"), s, i)));
  }
  test::HttpResult r;
  for (int tries = 0; tries < 200; ++tries) {
    r = test::http_get(port, "/features/latest/IBM");
    if (r.status == 200 && r.body.find("\"bars\":30") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(r.status, 200) << r.body;
  const auto j = boost::json::parse(r.body).as_object();
  EXPECT_EQ(j.at("bars").to_number<std::uint64_t>(), 30u);
  EXPECT_EQ(j.at("periods").at("rsi_period").as_int64(), 9);
  EXPECT_TRUE(j.at("values").at("rsi9").is_double());
  EXPECT_TRUE(j.at("values").at("macd").is_null());  // 30 bars: MACD 12/26/9 needs 34
  EXPECT_EQ(test::http_get(port, "/features/latest/NOPE").status, 404);
  const auto metrics = test::http_get(port, "/metrics");
  EXPECT_NE(metrics.body.find("nautilus_features_bars_total{engine=\"features\"} 30"),
            std::string::npos)
      << metrics.body;
  (*host)->drain_and_stop();
}

}  // namespace
}  // namespace nautilus::features
