// The toraniko engine on the bus beside the MarketData hub: it fetches the universe, bars and
// filings with the hub's requests, and fits what `nautilus compute toraniko` fits over the
// same universe's universe.csv.gz; then a new date of daily bars is fitted as it completes.
// REST and /health over a real socket on the wall clock.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <thread>

#include "nautilus/core/time.hpp"
#include "nautilus/engine/host.hpp"
#include "nautilus/engines/registry.hpp"
#include "nautilus/engines/toraniko/engine.hpp"
#include "nautilus/engines/toraniko/universe_csv.hpp"
#include "nautilus/marketdata/csv.hpp"
#include "nautilus/marketdata/universe.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/signals.hpp"
#include "support/http_client.hpp"

namespace nautilus::toraniko {
namespace {

namespace fs = std::filesystem;
constexpr core::UnixNanos kDay = 86'400'000'000'000;
constexpr core::UnixNanos kT0 = 1'767'623'400'000'000'000;  // 2026-01-05: after the universe

class ToranikoEngine : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("nautilus_toraniko_engine_" + std::to_string(::getpid())));
    // 60 symbols, 30 written days after the 524-day burn-in: small enough to fetch quickly.
    auto w = marketdata::write_universe({.symbols = 60, .days = 30}, dir_->string());
    ASSERT_TRUE(w) << w.error().message;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }
  static engine::EngineConfig hub_config() {
    engine::EngineConfig cfg;
    cfg.set("source", "none");
    cfg.set("live_sources", "");
    cfg.set("history_files", (*dir_ / "daily_bars.csv.gz").string());
    cfg.set("reference_files", (*dir_ / "reference.csv.gz").string());
    return cfg;
  }
  static std::vector<std::unique_ptr<engine::Engine>> both() {
    std::vector<std::unique_ptr<engine::Engine>> engines;
    engines.push_back(engines::find_engine("marketdata")->create());
    engines.push_back(make_engine());
    return engines;
  }
  static inline fs::path* dir_ = nullptr;
};

TEST_F(ToranikoEngine, FitsTheHubsHistoryAsComputeFitsTheUniverseFileThenEachNewDate) {
  core::SimulatedClock clock{kT0};
  bus::MessageBus bus{{.clock = &clock, .request_timer_thread = false}};
  std::vector<model::FactorReturns> returns;
  std::map<std::string, model::FactorExposures> exposures;
  ASSERT_TRUE(bus.subscribe("factor.return.toraniko", [&](const bus::Envelope& e) {
    if (const auto* r = e.get<model::FactorReturns>()) returns.push_back(*r);
  }));
  ASSERT_TRUE(bus.subscribe("factor.model.toraniko.*", [&](const bus::Envelope& e) {
    if (const auto* x = e.get<model::FactorExposures>())
      exposures[std::string(x->symbol.value())] = *x;
  }));
  auto host = engine::EngineHost::start(
      bus, both(),
      {.configs = {{"marketdata", hub_config()}}, .simulated_clock = &clock, .serve_http = false});
  ASSERT_TRUE(host) << host.error().message;
  // Each step lets replies land and the engine's timers run.
  for (int step = 0; step < 2000 && returns.size() < 29; ++step) {
    clock.advance(std::chrono::milliseconds(1));
    ASSERT_TRUE((*host)->run_until(clock.now()));
  }

  // The same universe through compute's path: universe.csv.gz, which also has a return on the
  // first day (from a close before the first bar); the hub's bars give none there, so momentum
  // of the first written day is not defined from the bars and the engine starts a day later.
  auto u = read_universe_csv((*dir_ / "universe.csv.gz").string(), {});
  ASSERT_TRUE(u) << u.error().message;
  FactorModel direct(u->model_config({}));
  std::map<std::string, std::vector<double>> want;
  for (const auto& d : u->dates) {
    auto fit = direct.add_date(d.date, d.rows);
    ASSERT_TRUE(fit);
    if (*fit) want[d.date] = (*fit)->fit.factor_returns;
  }
  ASSERT_EQ(want.size(), 30U);
  ASSERT_EQ(returns.size(), 29U);
  double worst = 0;
  for (const auto& r : returns) {
    const std::string date = core::format_timestamp(r.ts_event).substr(0, 10);
    const auto it = want.find(date);
    ASSERT_NE(it, want.end()) << date;
    ASSERT_EQ(r.returns.size(), it->second.size());
    for (std::size_t j = 0; j < r.returns.size(); ++j) {
      worst = std::max(worst, std::abs(r.returns[j] - it->second[j]));
    }
    EXPECT_EQ(r.assets, 60U);
    EXPECT_GT(r.r_squared, 0.0);
  }
  EXPECT_EQ(core::format_timestamp(returns.front().ts_event).substr(0, 10),
            std::next(want.begin())->first);
  // The files round caps to the dollar and ratios to 10 digits; the bars have 4 decimals.
  EXPECT_LT(worst, 1e-8);
  EXPECT_EQ(returns.front().names.front().view(), "market");
  EXPECT_EQ(returns.front().names.back().view(), "val");
  ASSERT_EQ(exposures.size(), 60U);  // the last date's, for the next return
  EXPECT_EQ(exposures.begin()->second.names.size(), 3U);

  // A new date: every symbol's daily bar one day after its last one, 1 % up.
  auto bars = marketdata::CsvReader::open((*dir_ / "daily_bars.csv.gz").string());
  ASSERT_TRUE(bars);
  std::map<std::string, model::Bar> last;
  while (true) {
    auto rec = bars->next();
    ASSERT_TRUE(rec);
    if (!*rec) break;
    const auto& b = std::get<model::Bar>(**rec);
    last[std::string(b.symbol.value())] = b;
  }
  auto pub = *bus.publisher("marketdata");
  exposures.clear();
  for (auto& [sym, b] : last) {
    b.ts_event += kDay;
    b.close = *core::Price::from_double(b.close.as_double() * 1.01, 4);
    ASSERT_TRUE(pub.publish(fmt::format("market_data.{}.bar", sym), b));
  }
  for (int step = 0; step < 200 && returns.size() < 30; ++step) {
    clock.advance(std::chrono::milliseconds(1));
    ASSERT_TRUE((*host)->run_until(clock.now()));
  }
  ASSERT_EQ(returns.size(), 30U);
  EXPECT_EQ(returns.back().ts_event, last.begin()->second.ts_event);
  // Every symbol up 1 % (to the bars' 4 decimals): all of it is the market's.
  EXPECT_NEAR(returns.back().returns[0], 0.01, 1e-5);
  for (std::size_t j = 1; j < 12; ++j) EXPECT_NEAR(returns.back().returns[j], 0.0, 1e-5) << j;
  EXPECT_EQ(exposures.size(), 60U);

  // A date one symbol never sends: fitted without it once date_close_s (600 s) has passed
  // since its first bar.
  bool first = true;
  for (auto& [sym, b] : last) {
    if (first) {
      first = false;
      continue;
    }
    b.ts_event += kDay;
    ASSERT_TRUE(pub.publish(fmt::format("market_data.{}.bar", sym), b));
  }
  clock.advance(std::chrono::milliseconds(1));
  ASSERT_TRUE((*host)->run_until(clock.now()));
  EXPECT_EQ(returns.size(), 30U) << "fitted before its deadline";
  for (int step = 0; step < 200 && returns.size() < 31; ++step) {
    clock.advance(std::chrono::seconds(10));
    ASSERT_TRUE((*host)->run_until(clock.now()));
  }
  ASSERT_EQ(returns.size(), 31U);
  EXPECT_EQ(returns.back().assets, 59U);
  (*host)->drain_and_stop();
}

TEST_F(ToranikoEngine, ServesFactorReturnsAndExposuresOverRest) {
  bus::MessageBus bus;
  auto host = engine::EngineHost::start(
      bus, both(), {.ephemeral_ports = true, .configs = {{"marketdata", hub_config()}}});
  ASSERT_TRUE(host) << host.error().message;
  std::uint16_t port = 0;
  for (const auto& e : (*host)->engines()) {
    if (e.name == "toraniko") port = e.port;
  }
  ASSERT_NE(port, 0);
  test::HttpResult r;
  for (int tries = 0; tries < 600; ++tries) {
    r = test::http_get(port, "/health");
    if (r.body.find("\"state\":\"live\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_NE(r.body.find("\"state\":\"live\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"dates_fitted\":29"), std::string::npos) << r.body;

  r = test::http_get(port, "/toraniko/factor_returns?limit=5");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = boost::json::parse(r.body).as_object();
  EXPECT_EQ(j.at("factors").as_array().size(), 15U);  // market, 11 sectors, 3 styles
  ASSERT_EQ(j.at("dates").as_array().size(), 5U);
  const auto& last = j.at("dates").as_array().back().as_object();
  EXPECT_TRUE(last.at("returns").as_object().at("mom").is_double());
  EXPECT_EQ(test::http_get(port, "/toraniko/factor_returns?limit=x").status, 400);

  r = test::http_get(port, "/toraniko/exposures");
  ASSERT_EQ(r.status, 200) << r.body;
  j = boost::json::parse(r.body).as_object();
  const auto& symbols = j.at("symbols").as_object();
  ASSERT_EQ(symbols.size(), 60U);
  const std::string first(symbols.begin()->key());
  r = test::http_get(port, "/toraniko/exposures/" + first);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"sze\""), std::string::npos) << r.body;
  EXPECT_EQ(test::http_get(port, "/toraniko/exposures/NOPE").status, 404);
  const auto metrics = test::http_get(port, "/metrics");
  EXPECT_NE(
      metrics.body.find("nautilus_toraniko_dates_total{engine=\"toraniko\",outcome=\"fitted\"} 29"),
      std::string::npos)
      << metrics.body;
  (*host)->drain_and_stop();
}

TEST_F(ToranikoEngine, WithoutAHubItSaysSoAndStaysUp) {
  core::SimulatedClock clock{kT0};
  bus::MessageBus bus{{.clock = &clock, .request_timer_thread = false}};
  std::vector<std::unique_ptr<engine::Engine>> engines;
  engines.push_back(make_engine());
  const engine::Engine* toraniko = engines.back().get();
  auto host = engine::EngineHost::start(bus, std::move(engines),
                                        {.simulated_clock = &clock, .serve_http = false});
  ASSERT_TRUE(host) << host.error().message;
  for (int step = 0; step < 10; ++step) {
    clock.advance(std::chrono::milliseconds(1));
    ASSERT_TRUE((*host)->run_until(clock.now()));
  }
  const auto health = toraniko->health();
  EXPECT_TRUE(health.healthy);  // nothing is broken: there is just nothing to fit yet
  EXPECT_NE(health.detail.find("no universe"), std::string::npos) << health.detail;
  // It asks again every retry_s (5 s): a hub started later is found.
  clock.advance(std::chrono::seconds(5));
  ASSERT_TRUE((*host)->run_until(clock.now()));
  (*host)->drain_and_stop();
}

}  // namespace
}  // namespace nautilus::toraniko
