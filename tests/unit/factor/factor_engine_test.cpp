// The factor engine beside the MarketData hub, and `nautilus compute factor` over the research
// universe's files: the same exposures, and both as tests/reference/factor_check.py (numpy)
// computes them.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "nautilus/core/time.hpp"
#include "nautilus/engine/host.hpp"
#include "nautilus/engines/factor/engine.hpp"
#include "nautilus/engines/registry.hpp"
#include "nautilus/marketdata/csv.hpp"
#include "nautilus/marketdata/universe.hpp"
#include "nautilus/model/signals.hpp"
#include "support/http_client.hpp"

namespace nautilus::factor {
namespace {

namespace fs = std::filesystem;
constexpr core::UnixNanos kT0 = 1'767'623'400'000'000'000;  // 2026-01-05: after the universe

std::string run(const std::string& cmd) {
  std::FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  if (p == nullptr) return "popen failed";
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) out += buf.data();
  const int status = ::pclose(p);
  return status == 0 ? out : "exit status " + std::to_string(status) + ": " + out;
}

class FactorEngine : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("nautilus_factor_engine_" + std::to_string(::getpid())));
    auto w = marketdata::write_universe({.symbols = 60, .days = 30}, dir_->string());
    ASSERT_TRUE(w) << w.error().message;
    out_ = new std::string(run(std::string(NAUTILUS_BIN) + " compute factor --bars " + bars() +
                               " --reference " + reference() + " --out " + csv()));
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
    delete out_;
  }
  static std::string bars() { return (*dir_ / "daily_bars.csv.gz").string(); }
  static std::string reference() { return (*dir_ / "reference.csv.gz").string(); }
  static std::string csv() { return (*dir_ / "exposures.csv").string(); }
  static engine::EngineConfig hub_config() {
    engine::EngineConfig cfg;
    cfg.set("source", "none");
    cfg.set("live_sources", "");
    cfg.set("history_files", bars());
    cfg.set("reference_files", reference());
    return cfg;
  }
  // compute's rows of one date: symbol -> the five values (NaN for an empty cell).
  static std::map<std::string, std::array<double, 5>> rows_of(const std::string& date) {
    std::map<std::string, std::array<double, 5>> out;
    std::ifstream in(csv());
    std::string line;
    while (std::getline(in, line)) {
      if (!line.starts_with(date)) continue;
      std::stringstream cells(line);
      std::string cell;
      std::getline(cells, cell, ',');
      std::getline(cells, cell, ',');
      auto& v = out[cell];
      for (double& x : v) {
        std::getline(cells, cell, ',');
        x = std::nan("");
        if (!cell.empty()) std::from_chars(cell.data(), cell.data() + cell.size(), x);
      }
    }
    return out;
  }
  static inline fs::path* dir_ = nullptr;
  static inline std::string* out_ = nullptr;
};

TEST_F(FactorEngine, ComputeAgreesWithAnIndependentNumpyComputation) {
  ASSERT_EQ(out_->find("exit status"), std::string::npos) << *out_;
  EXPECT_NE(out_->find("60 symbols (and 0 without reference data"), std::string::npos) << *out_;
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 has no numpy (scripts/install-deps.sh installs it)";
  }
  const std::string check =
      run("/usr/bin/python3 " NAUTILUS_SOURCE_DIR "/tests/reference/factor_check.py " + bars() +
          " " + reference() + " " + csv());
  EXPECT_EQ(check.find("exit status"), std::string::npos) << check;
  std::printf("%s", check.c_str());
}

TEST_F(FactorEngine, PublishesWhatComputeWritesForTheLastDateAndEachNewDate) {
  core::SimulatedClock clock{kT0};
  bus::MessageBus bus{{.clock = &clock, .request_timer_thread = false}};
  std::vector<model::FactorCalculation> calculations;
  std::map<std::string, model::FactorExposures> exposures;
  ASSERT_TRUE(bus.subscribe("factor.calculation.styles", [&](const bus::Envelope& e) {
    if (const auto* c = e.get<model::FactorCalculation>()) calculations.push_back(*c);
  }));
  ASSERT_TRUE(bus.subscribe("factor.update.*", [&](const bus::Envelope& e) {
    if (const auto* x = e.get<model::FactorExposures>()) {
      exposures[std::string(x->symbol.value())] = *x;
    }
  }));
  std::vector<std::unique_ptr<engine::Engine>> engines;
  engines.push_back(engines::find_engine("marketdata")->create());
  engines.push_back(make_engine());
  auto host = engine::EngineHost::start(
      bus, std::move(engines),
      {.configs = {{"marketdata", hub_config()}}, .simulated_clock = &clock, .serve_http = false});
  ASSERT_TRUE(host) << host.error().message;
  for (int step = 0; step < 2000 && exposures.size() < 60; ++step) {
    clock.advance(std::chrono::milliseconds(1));
    ASSERT_TRUE((*host)->run_until(clock.now()));
  }
  ASSERT_EQ(calculations.size(), 524U + 30U);  // every date, burn-in included
  ASSERT_EQ(exposures.size(), 60U);            // the last date's
  const std::string last = core::format_timestamp(calculations.back().ts_event).substr(0, 10);
  const auto want = rows_of(last);
  ASSERT_EQ(want.size(), 60U) << last;
  double worst = 0;
  for (const auto& [sym, x] : exposures) {
    ASSERT_EQ(x.values.size(), 5U);
    EXPECT_EQ(x.names[0].view(), "momentum");
    const auto& w = want.at(sym);
    for (std::size_t j = 0; j < 5; ++j) {
      ASSERT_EQ(std::isnan(x.values[j]), std::isnan(w[j])) << sym << " " << j;
      if (!std::isnan(w[j])) worst = std::max(worst, std::abs(x.values[j] - w[j]));
    }
  }
  EXPECT_LT(worst, 1e-12);  // the same code over the same bars and filings
  EXPECT_EQ(calculations.back().counts[0], 60U);
  EXPECT_EQ(calculations.front().counts[0], 0U);  // momentum needs 253 bars

  // A new date of daily bars: one more calculation, and every symbol's exposures again.
  auto reader = marketdata::CsvReader::open(bars());
  ASSERT_TRUE(reader);
  std::map<std::string, model::Bar> last_bars;
  while (true) {
    auto rec = reader->next();
    ASSERT_TRUE(rec);
    if (!*rec) break;
    const auto& b = std::get<model::Bar>(**rec);
    last_bars[std::string(b.symbol.value())] = b;
  }
  auto pub = *bus.publisher("marketdata");
  exposures.clear();
  for (auto& [sym, b] : last_bars) {
    b.ts_event += 86'400'000'000'000;
    b.volume = *core::Quantity::from_double(b.volume.as_double() * 3, 0);
    ASSERT_TRUE(pub.publish(fmt::format("market_data.{}.bar", sym), b));
  }
  for (int step = 0; step < 200 && exposures.size() < 60; ++step) {
    clock.advance(std::chrono::milliseconds(1));
    ASSERT_TRUE((*host)->run_until(clock.now()));
  }
  ASSERT_EQ(calculations.size(), 524U + 30U + 1U);
  EXPECT_EQ(calculations.back().ts_event, last_bars.begin()->second.ts_event);
  ASSERT_EQ(exposures.size(), 60U);
  EXPECT_EQ(exposures.begin()->second.ts_event, last_bars.begin()->second.ts_event);
  (*host)->drain_and_stop();
}

TEST_F(FactorEngine, ServesExposuresAndCalculationsOverRest) {
  bus::MessageBus bus;
  std::vector<std::unique_ptr<engine::Engine>> engines;
  engines.push_back(engines::find_engine("marketdata")->create());
  engines.push_back(make_engine());
  auto host = engine::EngineHost::start(
      bus, std::move(engines),
      {.ephemeral_ports = true, .configs = {{"marketdata", hub_config()}}});
  ASSERT_TRUE(host) << host.error().message;
  std::uint16_t port = 0;
  for (const auto& e : (*host)->engines()) {
    if (e.name == "factor") port = e.port;
  }
  test::HttpResult r;
  for (int tries = 0; tries < 600; ++tries) {
    r = test::http_get(port, "/health");
    if (r.body.find("\"state\":\"live\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_NE(r.body.find("\"state\":\"live\""), std::string::npos) << r.body;
  r = test::http_get(port, "/factor/exposures");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = boost::json::parse(r.body).as_object();
  ASSERT_EQ(j.at("symbols").as_object().size(), 60U);
  const std::string sym(j.at("symbols").as_object().begin()->key());
  r = test::http_get(port, "/factor/exposures/" + sym);
  ASSERT_EQ(r.status, 200) << r.body;
  j = boost::json::parse(r.body).as_object();
  EXPECT_TRUE(j.at("symbols").at(sym).at("exposures").at("size").is_double()) << r.body;
  EXPECT_TRUE(j.at("symbols").at(sym).at("raw").at("liquidity").is_double()) << r.body;
  EXPECT_EQ(test::http_get(port, "/factor/exposures/NOPE").status, 404);
  r = test::http_get(port, "/factor/calculation?limit=2");
  ASSERT_EQ(r.status, 200) << r.body;
  j = boost::json::parse(r.body).as_object();
  ASSERT_EQ(j.at("dates").as_array().size(), 2U);
  EXPECT_EQ(j.at("dates").as_array()[1].at("styles").at("value").at("count").as_int64(), 60);
  EXPECT_EQ(test::http_get(port, "/factor/calculation?limit=0").status, 400);
  (*host)->drain_and_stop();
}

}  // namespace
}  // namespace nautilus::factor
