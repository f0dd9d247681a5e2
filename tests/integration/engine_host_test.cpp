// The engine host with the MarketData hub over real sockets: the standard endpoints, replay
// onto the bus, and the HTTP sources against a loopback server serving recorded responses.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>

#include "nautilus/engine/host.hpp"
#include "nautilus/engines/registry.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/net/http.hpp"
#include "support/http_client.hpp"

namespace nautilus {
namespace {

using namespace std::chrono_literals;
using test::http_get;
using test::http_request;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(NAUTILUS_SOURCE_DIR) + "/tests/fixtures/marketdata/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

template <class F>
bool eventually(F f, std::chrono::milliseconds limit = 5s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return f();
}

// Plays Alpha Vantage, FRED and EDGAR on one loopback port. `script` decides per call which
// recorded body (or failure) is served, so tests can make a source flaky or rate-limited.
class FixtureServer {
 public:
  FixtureServer() {
    net::Router r;
    r.get("/query", [this](const net::Request& q) {
      ++av_calls;
      std::lock_guard lock(mu_);
      if (!av_script.empty()) {
        auto next = av_script.front();
        av_script.erase(av_script.begin());
        if (next.starts_with("status:"))
          return net::Response::error(std::stoi(next.substr(7)), "upstream");
        if (next == "truncated")
          return net::Response::json(fixture("alphavantage_daily_IBM.json").substr(0, 150));
        return net::Response::json(fixture(next));
      }
      const auto fn = q.query_param("function").value_or("");
      if (q.query_param("apikey").value_or("") != "test-key")
        return net::Response::json(fixture("alphavantage_error.json"));
      return net::Response::json(fixture(fn == "TIME_SERIES_INTRADAY"
                                             ? "alphavantage_intraday_IBM_5min.json"
                                             : "alphavantage_daily_IBM.json"));
    });
    r.get("/fred/series/observations", [this](const net::Request& q) {
      ++fred_calls;
      if (q.query_param("series_id").value_or("") != "GDP") {
        return net::Response::json(fixture("fred_error.json"), 400);
      }
      return net::Response::json(fixture("fred_GDP.json"));
    });
    r.get("/api/xbrl/companyfacts/{file}", [this](const net::Request& q) {
      ++edgar_calls;
      if (q.param("file") != "CIK0000320193.json") return net::Response::error(404, "not found");
      return net::Response::json(fixture("edgar_companyfacts_CIK0000320193.json"));
    });
    server = std::move(*net::HttpServer::start(std::move(r), {}));
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }

  std::unique_ptr<net::HttpServer> server;
  std::atomic<int> av_calls{0}, fred_calls{0}, edgar_calls{0};
  std::mutex mu_;
  std::vector<std::string> av_script;
};

class EngineHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("ALPHAVANTAGE_API_KEY", "test-key", 1);
    ::setenv("FRED_API_KEY", "test-key", 1);
  }

  void start(engine::EngineConfig cfg, std::string token = {}) {
    cfg.set("alphavantage_url", fixtures.url());
    cfg.set("fred_url", fixtures.url());
    cfg.set("edgar_url", fixtures.url());
    if (!cfg.has("alphavantage_per_minute")) cfg.set("alphavantage_per_minute", "600");
    std::vector<std::unique_ptr<engine::Engine>> engines;
    engines.push_back(engines::find_engine("marketdata")->create());
    auto h = engine::EngineHost::start(bus, std::move(engines),
                                       {.ephemeral_ports = true,
                                        .bearer_token = std::move(token),
                                        .configs = {{"marketdata", std::move(cfg)}}});
    ASSERT_TRUE(h) << h.error().message;
    host = std::move(*h);
    port = host->engines().front().port;
  }

  engine::EngineConfig sample_at_full_speed() {
    engine::EngineConfig cfg;
    cfg.set("speed", "0");
    return cfg;
  }

  FixtureServer fixtures;
  bus::MessageBus bus;
  std::unique_ptr<engine::EngineHost> host;
  std::uint16_t port = 0;
};

TEST_F(EngineHostTest, StandardEndpointsAnswer) {
  start(sample_at_full_speed());
  auto h = http_get(port, "/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_NE(h.body.find(R"("status":"healthy")"), std::string::npos) << h.body;
  EXPECT_NE(h.body.find(R"("engine":"marketdata")"), std::string::npos);
  EXPECT_NE(h.body.find(R"("version":"0.1.0")"), std::string::npos);
  EXPECT_NE(h.body.find(R"("uptime_s")"), std::string::npos);
  auto s = http_get(port, "/messagebus/status");
  EXPECT_EQ(s.status, 200);
  EXPECT_NE(s.body.find(R"("backend":"inprocess")"), std::string::npos) << s.body;
  EXPECT_NE(s.body.find(R"("lag":0)"), std::string::npos);
  auto subs = http_get(port, "/messagebus/subscriptions");
  EXPECT_NE(subs.body.find(R"("publishes":["market_data.*.bar")"), std::string::npos) << subs.body;
  // The settings in force with their declared types: given (speed, from text) and defaults.
  auto settings = http_get(port, "/settings");
  EXPECT_EQ(settings.status, 200);
  EXPECT_NE(settings.body.find(R"("speed":0,)"), std::string::npos) << settings.body;
  EXPECT_NE(settings.body.find(R"("days":21,)"), std::string::npos) << settings.body;
  EXPECT_NE(settings.body.find(R"("files":[])"), std::string::npos) << settings.body;
  EXPECT_NE(settings.body.find(R"("source":"replay")"), std::string::npos) << settings.body;
  auto hw = http_get(port, "/hardware/status");
  EXPECT_NE(hw.body.find(R"("logical_cores")"), std::string::npos);
  EXPECT_NE(hw.body.find(R"("gpu":null)"), std::string::npos) << "this build has no CUDA";
  auto m = http_get(port, "/metrics");
  EXPECT_NE(m.headers.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(m.body.find("nautilus_engine_up{engine=\"marketdata\"} 1"), std::string::npos);
  EXPECT_NE(m.body.find("nautilus_http_requests_total{engine=\"marketdata\"}"), std::string::npos);
  EXPECT_NE(m.body.find("nautilus_marketdata_cache_total{source=\"fred\",result=\"hit\"}"),
            std::string::npos);
}

TEST_F(EngineHostTest, ReplaysTheSampleOntoTheBus) {
  std::atomic<int> bars{0}, trades{0}, prices{0}, volumes{0};
  auto mb = bus.create_mailbox({.name = "probe"});
  bus::MailboxThread probe(mb);
  ASSERT_TRUE(bus.subscribe(
      "market_data.*.bar", [&](const bus::Envelope& e) { bars += e.get<model::Bar>() != nullptr; },
      {.mailbox = mb, .policy = bus::OverflowPolicy::kBlock, .block_bound = 1s}));
  ASSERT_TRUE(
      bus.subscribe("market_data.*.trade", [&](const bus::Envelope&) { ++trades; },
                    {.mailbox = mb, .policy = bus::OverflowPolicy::kBlock, .block_bound = 1s}));
  ASSERT_TRUE(bus.subscribe(
      "price.update.AAPL",
      [&](const bus::Envelope& e) { prices += e.get<model::PriceUpdate>() != nullptr; },
      {.mailbox = mb, .policy = bus::OverflowPolicy::kBlock, .block_bound = 1s}));
  ASSERT_TRUE(
      bus.subscribe("volume.update.*", [&](const bus::Envelope&) { ++volumes; },
                    {.mailbox = mb, .policy = bus::OverflowPolicy::kBlock, .block_bound = 1s}));
  start(sample_at_full_speed());
  EXPECT_TRUE(eventually([&] { return bars.load() >= 20 * 390; }, 20s)) << bars.load();
  EXPECT_GT(trades.load(), 1000);
  EXPECT_GT(prices.load(), 390);
  EXPECT_GE(volumes.load(), 20 * 390);
  auto latest = http_get(port, "/marketdata/latest/AAPL");
  EXPECT_EQ(latest.status, 200);
  EXPECT_NE(latest.body.find(R"("bar":{)"), std::string::npos) << latest.body;
  EXPECT_EQ(http_get(port, "/marketdata/latest/NOPE").status, 404);
  host->drain_and_stop();
}

TEST_F(EngineHostTest, AMissingFileStopsStartUpWithItsName) {
  engine::EngineConfig cfg;
  cfg.set("files", "/nonexistent/bars.csv");
  std::vector<std::unique_ptr<engine::Engine>> engines;
  engines.push_back(engines::find_engine("marketdata")->create());
  auto h = engine::EngineHost::start(bus, std::move(engines),
                                     {.ephemeral_ports = true, .configs = {{"marketdata", cfg}}});
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message.find("/nonexistent/bars.csv: cannot open"), std::string::npos);
}

TEST_F(EngineHostTest, AlphaVantageIsFetchedOnceThenServedFromTheCache) {
  engine::EngineConfig cfg;
  cfg.set("source", "none");
  start(cfg);
  auto a = http_get(port, "/marketdata/alphavantage/IBM");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_NE(a.body.find(R"("cached":false)"), std::string::npos);
  EXPECT_NE(a.body.find(R"("close":"195.9500")"), std::string::npos);
  auto b = http_get(port, "/marketdata/alphavantage/IBM");
  EXPECT_NE(b.body.find(R"("cached":true)"), std::string::npos);
  EXPECT_EQ(fixtures.av_calls.load(), 1);
  auto intraday = http_get(port, "/marketdata/alphavantage/IBM?function=intraday&interval=5min");
  EXPECT_NE(intraday.body.find("2024-01-05T14:35:00Z"), std::string::npos) << intraday.body;
  EXPECT_EQ(http_get(port, "/marketdata/alphavantage/IBM?function=weekly").status, 400);
  EXPECT_EQ(http_get(port, "/marketdata/alphavantage/bad%20sym").status, 400);
  auto m = http_get(port, "/metrics");
  EXPECT_NE(
      m.body.find("nautilus_marketdata_cache_total{source=\"alphavantage\",result=\"hit\"} 1"),
      std::string::npos);
}

TEST_F(EngineHostTest, RateLimitNotesAndTruncatedBodiesAreReportedAndNotCached) {
  engine::EngineConfig cfg;
  cfg.set("source", "none");
  start(cfg);
  {
    std::lock_guard lock(fixtures.mu_);
    fixtures.av_script = {"alphavantage_note.json", "truncated", "status:503", "status:503"};
  }
  auto note = http_get(port, "/marketdata/alphavantage/IBM");
  EXPECT_EQ(note.status, 429) << note.body;
  EXPECT_NE(note.body.find("5 calls per minute"), std::string::npos);
  auto truncated = http_get(port, "/marketdata/alphavantage/IBM");
  EXPECT_EQ(truncated.status, 502) << truncated.body;
  // Two 503s, then the script runs out and the real body comes: the retry succeeds.
  auto retried = http_get(port, "/marketdata/alphavantage/IBM");
  EXPECT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(fixtures.av_calls.load(), 5);
  auto m = http_get(port, "/metrics");
  EXPECT_NE(m.body.find("nautilus_marketdata_source_retries_total{source=\"alphavantage\"} 2"),
            std::string::npos);
  EXPECT_NE(
      m.body.find("nautilus_marketdata_cache_total{source=\"alphavantage\",result=\"error\"} 2"),
      std::string::npos);
}

TEST_F(EngineHostTest, TheLocalRateLimitRefusesBeforeCallingTheSource) {
  engine::EngineConfig cfg;
  cfg.set("source", "none");
  cfg.set("alphavantage_per_minute", "5");  // Alpha Vantage's free tier: a burst of one
  start(cfg);
  EXPECT_EQ(http_get(port, "/marketdata/alphavantage/IBM").status, 200);
  const auto t0 = std::chrono::steady_clock::now();
  auto second = http_get(port, "/marketdata/alphavantage/MSFT");
  EXPECT_EQ(second.status, 429) << second.body;
  EXPECT_NE(second.body.find("local rate limit"), std::string::npos);
  EXPECT_EQ(fixtures.av_calls.load(), 1);
  // The refusal is immediate (the next token is 12 s away, beyond the 5 s wait), and /health
  // stays responsive meanwhile because fetches run off the connection threads.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(http_get(port, "/health").status, 200);
}

TEST_F(EngineHostTest, FredAndEdgarThroughTheHub) {
  engine::EngineConfig cfg;
  cfg.set("source", "none");
  start(cfg);
  auto gdp = http_get(port, "/marketdata/fred/GDP");
  ASSERT_EQ(gdp.status, 200) << gdp.body;
  EXPECT_NE(gdp.body.find(R"("missing":1)"), std::string::npos);
  EXPECT_NE(gdp.body.find(R"({"date":"2023-07-01","value":null})"), std::string::npos) << gdp.body;
  EXPECT_EQ(http_get(port, "/marketdata/fred/NOPE").status, 400);
  auto apple = http_get(port, "/marketdata/edgar/320193?concepts=NetIncomeLoss");
  ASSERT_EQ(apple.status, 200) << apple.body;
  EXPECT_NE(apple.body.find(R"("entity":"Apple Inc.")"), std::string::npos);
  EXPECT_NE(apple.body.find(R"("concept":"NetIncomeLoss")"), std::string::npos);
  EXPECT_EQ(http_get(port, "/marketdata/edgar/999").status, 404);
  EXPECT_EQ(http_get(port, "/marketdata/edgar/12345678901").status, 400);
}

TEST_F(EngineHostTest, PublishingFetchedBarsNeedsTheToken) {
  engine::EngineConfig cfg;
  cfg.set("source", "none");
  start(cfg, "tok");
  std::atomic<int> bars{0};
  ASSERT_TRUE(bus.subscribe("market_data.IBM.bar", [&](const bus::Envelope&) { ++bars; }));
  EXPECT_EQ(http_request(port, "POST", "/marketdata/alphavantage/IBM/publish").status, 401);
  auto r = http_request(port, "POST", "/marketdata/alphavantage/IBM/publish", {},
                        "Authorization: Bearer tok\r\n");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(bars.load(), 3);
}

TEST_F(EngineHostTest, MissingApiKeyIsA503NotAFakeAnswer) {
  ::unsetenv("ALPHAVANTAGE_API_KEY");
  engine::EngineConfig cfg;
  cfg.set("source", "none");
  start(cfg);
  auto r = http_get(port, "/marketdata/alphavantage/IBM");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("ALPHAVANTAGE_API_KEY"), std::string::npos);
  EXPECT_EQ(fixtures.av_calls.load(), 0);
}

}  // namespace
}  // namespace nautilus
