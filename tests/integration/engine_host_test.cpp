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

// ---- The public sources: IBKR gateway, Binance, Data.gov, BLS, Treasury ----

#include <map>
#include <thread>

namespace nautilus {
namespace {

// Plays the IBKR gateway, Binance, the Data.gov catalogue (and a host of its CSV resources),
// BLS and the Treasury on one loopback port, from the recorded bodies. `script[route]` decides
// per call what is served instead ("status:503", "status:429:1" with Retry-After 1 s,
// "truncated", or a fixture's name), so tests can make a source flaky, limited or broken.
class PublicSourcesServer {
 public:
  PublicSourcesServer() {
    net::Router r;
    r.get("/v1/api/iserver/secdef/search", [this](const net::Request& q) {
      return serve("ibkr.search", [&] {
        return q.query_param("symbol").value_or("") == "AAPL"
                   ? net::Response::json(fixture("ibkr_secdef_search_AAPL.json"))
                   : net::Response::json("[]");
      });
    });
    r.get("/v1/api/iserver/accounts", [this](const net::Request&) {
      return serve("ibkr.accounts",
                   [] { return net::Response::json(fixture("ibkr_accounts.json")); });
    });
    r.get("/v1/api/iserver/marketdata/snapshot", [this](const net::Request& q) {
      return serve("ibkr.snapshot", [&] {
        if (q.query_param("conids").value_or("") != "265598" ||
            q.query_param("fields").value_or("") != "31,84,86,85,88")
          return net::Response::json(fixture("ibkr_error.json"), 400);
        return net::Response::json(fixture("ibkr_snapshot_265598.json"));
      });
    });
    r.get("/v1/api/iserver/marketdata/history", [this](const net::Request& q) {
      return serve("ibkr.history", [&] {
        if (q.query_param("conid").value_or("") != "265598")
          return net::Response::json(fixture("ibkr_error.json"), 500);
        return net::Response::json(fixture("ibkr_history_265598_5min.json"));
      });
    });
    r.get("/api/v3/klines", [this](const net::Request& q) {
      return serve("binance", [&] {
        if (q.query_param("symbol").value_or("") != "BTCUSDT")
          return net::Response::json(fixture("binance_error.json"), 400);
        return net::Response::json(fixture("binance_klines_BTCUSDT_1m.json"));
      });
    });
    r.get("/api/3/action/package_search", [this](const net::Request&) {
      return serve("datagov.search", [this] {
        return net::Response::json(with_host(fixture("datagov_package_search.json")));
      });
    });
    r.get("/api/3/action/package_show", [this](const net::Request& q) {
      return serve("datagov.show", [&] {
        if (q.query_param("id").value_or("") != "average-price-data")
          return net::Response::json(fixture("datagov_not_found.json"), 404);
        return net::Response::json(with_host(fixture("datagov_package_show.json")));
      });
    });
    // The resource moved: the catalogue's link answers with a redirect on the same host.
    r.get("/files/average_price_data.csv", [](const net::Request&) {
      net::Response moved = net::Response::text("moved", 302);
      moved.headers.emplace_back("Location", "/download/average_price_data.csv");
      return moved;
    });
    r.get("/download/average_price_data.csv", [this](const net::Request&) {
      return serve("datagov.csv", [] {
        auto csv = net::Response::text(fixture("datagov_average_price_data.csv"));
        csv.content_type = "text/csv";
        return csv;
      });
    });
    r.post("/publicAPI/v2/timeseries/data", [this](const net::Request& q) {
      {
        std::lock_guard lock(mu_);
        bls_body = std::string(q.body);
      }
      return serve("bls", [&] {
        if (q.body.find(R"("seriesid":["CUUR0000SA0"])") == std::string_view::npos)
          return net::Response::json(fixture("bls_no_data_note.json"));
        return net::Response::json(fixture("bls_CUUR0000SA0.json"));
      });
    });
    r.get("/services/api/fiscal_service/v2/accounting/od/avg_interest_rates",
          [this](const net::Request& q) {
            return serve("treasury.rates", [&] {
              if (q.query_param("filter").value_or("") != "record_date:gte:2024-01-01")
                return net::Response::json(fixture("treasury_error.json"), 400);
              return net::Response::json(fixture(q.query_param("page[number]").value_or("") == "2"
                                                     ? "treasury_avg_interest_rates_p2.json"
                                                     : "treasury_avg_interest_rates_p1.json"));
            });
          });
    r.get("/resource-center/data-chart-center/interest-rates/daily-treasury-rates.csv/{year}/all",
          [this](const net::Request& q) {
            return serve("treasury.yields", [&] {
              if (q.param("year") != "2025" ||
                  q.query_param("type").value_or("") != "daily_treasury_yield_curve")
                return net::Response::text("<!DOCTYPE html><html><body>No data</body></html>");
              auto csv = net::Response::text(fixture("treasury_yield_curve_2025.csv"));
              csv.content_type = "text/csv";
              return csv;
            });
          });
    server = std::move(*net::HttpServer::start(std::move(r), {}));
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
  int calls(const std::string& route) {
    std::lock_guard lock(mu_);
    return counts[route];
  }
  void play(const std::string& route, std::vector<std::string> steps) {
    std::lock_guard lock(mu_);
    script[route] = std::move(steps);
  }
  std::string last_bls_body() {
    std::lock_guard lock(mu_);
    return bls_body;
  }

  std::unique_ptr<net::HttpServer> server;

 private:
  // The catalogue's resource links point at this server.
  std::string with_host(std::string body) const {
    const std::string mark = "{{FIXTURE}}";
    for (auto at = body.find(mark); at != std::string::npos; at = body.find(mark))
      body.replace(at, mark.size(), url());
    return body;
  }
  template <class Real>
  net::Response serve(const std::string& route, Real real) {
    std::string next;
    {
      std::lock_guard lock(mu_);
      ++counts[route];
      auto& steps = script[route];
      if (!steps.empty()) {
        next = steps.front();
        steps.erase(steps.begin());
      }
    }
    if (next.empty()) return real();
    if (next.starts_with("status:")) {
      const auto colon = next.find(':', 7);
      auto r = net::Response::error(std::stoi(next.substr(7, colon - 7)), "upstream");
      if (colon != std::string::npos) r.headers.emplace_back("Retry-After", next.substr(colon + 1));
      return r;
    }
    if (next == "truncated") {
      auto whole = real();
      whole.body = whole.body.substr(0, whole.body.size() / 2);
      return whole;
    }
    return net::Response::json(fixture(next));
  }

  std::mutex mu_;
  std::map<std::string, int> counts;
  std::map<std::string, std::vector<std::string>> script;
  std::string bls_body;
};

class PublicSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override { ::unsetenv("BLS_API_KEY"); }

  void start(engine::EngineConfig cfg = {}) {
    cfg.set("source", "none");
    cfg.set("ibkr_url", fixtures.url() + "/v1/api");
    cfg.set("binance_url", fixtures.url());
    cfg.set("datagov_url", fixtures.url() + "/api/3");
    cfg.set("bls_url", fixtures.url() + "/publicAPI/v2");
    cfg.set("treasury_url", fixtures.url() + "/services/api/fiscal_service");
    cfg.set("treasury_yields_url", fixtures.url());
    for (const char* key : {"ibkr_per_minute", "binance_per_minute", "datagov_per_minute",
                            "bls_per_minute", "treasury_per_minute"}) {
      if (!cfg.has(key)) cfg.set(key, "6000");
    }
    std::vector<std::unique_ptr<engine::Engine>> engines;
    engines.push_back(engines::find_engine("marketdata")->create());
    auto h = engine::EngineHost::start(
        bus, std::move(engines),
        {.ephemeral_ports = true, .configs = {{"marketdata", std::move(cfg)}}});
    ASSERT_TRUE(h) << h.error().message;
    host = std::move(*h);
    port = host->engines().front().port;
  }
  bool has(const test::HttpResult& r, std::string_view part) {
    return r.body.find(part) != std::string::npos;
  }
  std::string metrics() { return http_get(port, "/metrics").body; }

  PublicSourcesServer fixtures;
  bus::MessageBus bus;
  std::unique_ptr<engine::EngineHost> host;
  std::uint16_t port = 0;
};

TEST_F(PublicSourcesTest, IbkrSearchesOnceAWaitsForAReadySnapshotAndServesHistory) {
  start();
  auto search = http_get(port, "/marketdata/ibkr/search/AAPL");
  ASSERT_EQ(search.status, 200) << search.body;
  EXPECT_TRUE(has(search, R"("conid":"265598")")) << search.body;
  EXPECT_TRUE(has(search, R"("cached":false)"));
  EXPECT_TRUE(has(http_get(port, "/marketdata/ibkr/search/AAPL"), R"("cached":true)"));
  EXPECT_EQ(http_get(port, "/marketdata/ibkr/search/MSFT").status, 404);
  EXPECT_EQ(http_get(port, "/marketdata/ibkr/search/bad%20sym").status, 400);

  // The gateway's first answer has the conid alone: asked again, the second has prices.
  fixtures.play("ibkr.snapshot", {"ibkr_snapshot_preflight.json"});
  auto snap = http_get(port, "/marketdata/ibkr/snapshot/AAPL");
  ASSERT_EQ(snap.status, 200) << snap.body;
  EXPECT_TRUE(has(snap, R"("last":"168.42")")) << snap.body;
  EXPECT_TRUE(has(snap, R"("bid_size":"1300")")) << snap.body;
  EXPECT_TRUE(has(snap, R"("last_kind":"trade")"));
  EXPECT_EQ(fixtures.calls("ibkr.snapshot"), 2);
  EXPECT_EQ(fixtures.calls("ibkr.accounts"), 1);
  EXPECT_EQ(fixtures.calls("ibkr.search"), 2);  // AAPL (the snapshot used the cached conid), MSFT
  // Never ready within the three attempts: 503 with Retry-After, nothing cached.
  std::this_thread::sleep_for(2100ms);  // past the snapshot's 2 s TTL
  fixtures.play("ibkr.snapshot", {"ibkr_snapshot_preflight.json", "ibkr_snapshot_preflight.json",
                                  "ibkr_snapshot_preflight.json"});
  auto waiting = http_get(port, "/marketdata/ibkr/snapshot/AAPL");
  EXPECT_EQ(waiting.status, 503) << waiting.body;
  EXPECT_NE(waiting.headers.find("Retry-After: 1"), std::string::npos) << waiting.headers;
  EXPECT_TRUE(has(waiting, "only begun streaming")) << waiting.body;
  EXPECT_EQ(http_get(port, "/marketdata/ibkr/snapshot/AAPL").status, 200);

  auto history = http_get(port, "/marketdata/ibkr/history/AAPL?period=1d&bar=5min");
  ASSERT_EQ(history.status, 200) << history.body;
  EXPECT_TRUE(has(history, R"("interval_s":300)")) << history.body;
  EXPECT_TRUE(has(history, R"({"ts":"2024-04-08T13:35:00Z","open":"168.95")")) << history.body;
  EXPECT_TRUE(has(history, R"("closed":true)"));
  EXPECT_EQ(http_get(port, "/marketdata/ibkr/history/AAPL?period=1d&bar=7min").status, 400);
  EXPECT_EQ(http_get(port, "/marketdata/ibkr/history/AAPL?period=40min&bar=5min").status, 400);
  const auto m = metrics();
  EXPECT_NE(m.find("nautilus_marketdata_cache_total{source=\"ibkr\",result=\"hit\"}"),
            std::string::npos);
  EXPECT_NE(m.find("nautilus_marketdata_source_retries_total{source=\"ibkr\"} 3"),
            std::string::npos)
      << m;
}

TEST_F(PublicSourcesTest, BinanceKlinesAreCachedRetriedReportedAndBannedCallsStop) {
  start();
  const std::string path =
      "/marketdata/binance/klines/"
      "BTCUSDT?interval=1m&start=2024-01-01T00:00:00Z&end=2024-01-01T00:02:00Z&limit=3";
  auto a = http_get(port, path);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(has(a, R"("cached":false)"));
  EXPECT_TRUE(has(a, R"({"ts":"2024-01-01T00:01:00Z","open":"42283.58000000")")) << a.body;
  EXPECT_TRUE(has(a, R"("interval_s":60)"));
  EXPECT_TRUE(has(http_get(port, path), R"("cached":true)"));
  EXPECT_EQ(fixtures.calls("binance"), 1);
  // A 429 with Retry-After 1 s is waited out and the request retried.
  fixtures.play("binance", {"status:429:1"});
  const auto t0 = std::chrono::steady_clock::now();
  auto retried = http_get(port, path.substr(0, path.size() - 1) + "2");  // limit=2: a new key
  EXPECT_EQ(retried.status, 200) << retried.body;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(fixtures.calls("binance"), 3);
  // Three 5xx: 502, and the next call goes out again (errors are not cached).
  fixtures.play("binance", {"status:500", "status:500", "status:500"});
  auto down = http_get(port, "/marketdata/binance/klines/BTCUSDT?interval=5m");
  EXPECT_EQ(down.status, 502) << down.body;
  EXPECT_TRUE(has(down, "HTTP 500"));
  fixtures.play("binance", {"truncated"});
  EXPECT_EQ(http_get(port, "/marketdata/binance/klines/BTCUSDT?interval=5m").status, 502);
  EXPECT_EQ(http_get(port, "/marketdata/binance/klines/BTCUSDT?interval=5m").status, 200);
  // Binance's own error body words the 400.
  auto invalid = http_get(port, "/marketdata/binance/klines/NOPEUSDT");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_TRUE(has(invalid, "Invalid symbol. (code -1121)")) << invalid.body;
  EXPECT_EQ(http_get(port, "/marketdata/binance/klines/BTCUSDT?interval=1M").status, 400);
  EXPECT_EQ(http_get(port, "/marketdata/binance/klines/BTCUSDT?limit=5000").status, 400);
  EXPECT_EQ(http_get(port, "/marketdata/binance/klines/btcusdt").status, 400);
  EXPECT_EQ(http_get(port, "/marketdata/binance/klines/BTCUSDT?start=yesterday").status, 400);
  // A 418 bans the IP: no request goes out until Retry-After has passed.
  fixtures.play("binance", {"status:418:60"});
  auto banned = http_get(port, "/marketdata/binance/klines/BTCUSDT?interval=15m");
  EXPECT_EQ(banned.status, 429) << banned.body;
  const int calls = fixtures.calls("binance");
  auto held = http_get(port, "/marketdata/binance/klines/BTCUSDT?interval=30m");
  EXPECT_EQ(held.status, 429);
  EXPECT_TRUE(has(held, "asked for no requests until")) << held.body;
  EXPECT_EQ(fixtures.calls("binance"), calls);
  const auto m = metrics();
  EXPECT_NE(m.find("nautilus_marketdata_source_retries_total{source=\"binance\"} 3"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("nautilus_marketdata_cache_total{source=\"binance\",result=\"hit\"} 1"),
            std::string::npos);
}

TEST_F(PublicSourcesTest, DatagovSearchesTheCatalogueAndFetchesOnlyItsCsvResources) {
  start();
  auto found = http_get(port, "/marketdata/datagov/search?q=average%20price&rows=5");
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_TRUE(has(found, R"("count":2)"));
  EXPECT_TRUE(has(found, R"("organization":"Bureau of Labor Statistics")")) << found.body;
  EXPECT_TRUE(has(found, R"("format":"PDF")"));
  EXPECT_EQ(http_get(port, "/marketdata/datagov/search").status, 400);
  EXPECT_EQ(http_get(port, "/marketdata/datagov/search?q=x&rows=1000").status, 400);

  fixtures.play("datagov.csv", {"truncated"});  // cut mid-row
  auto broken = http_get(port, "/marketdata/datagov/average-price-data/csv?resource=0");
  EXPECT_EQ(broken.status, 502) << broken.body;
  auto csv = http_get(port, "/marketdata/datagov/average-price-data/csv?resource=0");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_TRUE(has(csv, R"("cached":false)"));
  EXPECT_TRUE(has(csv, R"("header":["series_id","year","period","value","footnote"])")) << csv.body;
  EXPECT_TRUE(has(csv, R"J("Price, per lb. (453.6 gm)")J"));
  EXPECT_TRUE(has(csv, R"("rows_total":3)"));
  auto one = http_get(port, "/marketdata/datagov/average-price-data/csv?resource=0&limit=1");
  EXPECT_TRUE(has(one, R"("cached":true)"));
  EXPECT_TRUE(has(one, R"("truncated":true)")) << one.body;
  EXPECT_EQ(fixtures.calls("datagov.csv"), 2);
  EXPECT_EQ(fixtures.calls("datagov.show"), 1);
  auto pdf = http_get(port, "/marketdata/datagov/average-price-data/csv?resource=1");
  EXPECT_EQ(pdf.status, 400);
  EXPECT_TRUE(has(pdf, "not CSV")) << pdf.body;
  auto plain = http_get(port, "/marketdata/datagov/average-price-data/csv?resource=2");
  EXPECT_EQ(plain.status, 400);
  EXPECT_TRUE(has(plain, "must be https")) << plain.body;
  EXPECT_EQ(http_get(port, "/marketdata/datagov/average-price-data/csv?resource=9").status, 404);
  auto missing = http_get(port, "/marketdata/datagov/no-such-dataset/csv");
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(has(missing, "Not Found Error")) << missing.body;
  EXPECT_EQ(http_get(port, "/marketdata/datagov/Bad%20Name/csv").status, 400);
  EXPECT_EQ(http_get(port, "/marketdata/datagov/average-price-data/csv?resource=x").status, 400);
}

TEST_F(PublicSourcesTest, BlsPostsTheSeriesAndReportsItsNotesAndLimits) {
  start();
  auto cpi = http_get(port, "/marketdata/bls/CUUR0000SA0?start=2023&end=2024");
  ASSERT_EQ(cpi.status, 200) << cpi.body;
  EXPECT_TRUE(has(cpi, R"({"year":"2023","period":"M11","period_name":"November","value":null)"))
      << cpi.body;
  EXPECT_TRUE(has(cpi, R"("footnotes":["Preliminary."])"));
  EXPECT_TRUE(has(cpi, R"("registered":false)"));
  const std::string body = fixtures.last_bls_body();
  EXPECT_NE(body.find(R"("startyear":"2023")"), std::string::npos) << body;
  EXPECT_EQ(body.find("registrationkey"), std::string::npos) << body;
  EXPECT_TRUE(
      has(http_get(port, "/marketdata/bls/CUUR0000SA0?start=2023&end=2024"), R"("cached":true)"));
  auto notes = http_get(port, "/marketdata/bls/OEUN000000054192027402104?start=2013&end=2015");
  ASSERT_EQ(notes.status, 200) << notes.body;
  EXPECT_TRUE(has(notes, "No Data Available for Series")) << notes.body;
  // The daily threshold is a 429 and is not cached.
  fixtures.play("bls", {"bls_threshold.json"});
  auto limited = http_get(port, "/marketdata/bls/CUUR0000SA0?start=2020&end=2021");
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(http_get(port, "/marketdata/bls/CUUR0000SA0?start=2020&end=2021").status, 200);
  EXPECT_EQ(http_get(port, "/marketdata/bls/CUUR0000SA0?start=2001&end=2024").status, 400);
  EXPECT_EQ(http_get(port, "/marketdata/bls/CUUR0000SA0?start=24").status, 400);
  EXPECT_EQ(http_get(port, "/marketdata/bls/CUUR0000SA0?start=2024&end=2023").status, 400);
  EXPECT_EQ(http_get(port, "/marketdata/bls/cuur0000sa0").status, 400);
  EXPECT_EQ(fixtures.calls("bls"), 4);
}

TEST_F(PublicSourcesTest, BlsSendsTheRegistrationKeyWhenItIsSet) {
  ::setenv("BLS_API_KEY", "bls-test-key", 1);
  start();
  auto r = http_get(port, "/marketdata/bls/CUUR0000SA0?start=2005&end=2024");  // 20 years
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(has(r, R"("registered":true)"));
  EXPECT_NE(fixtures.last_bls_body().find(R"("registrationkey":"bls-test-key")"),
            std::string::npos);
}

TEST_F(PublicSourcesTest, TreasuryRatesFollowTheirPagesAndYieldsComeFromTheCsv) {
  start();
  auto rates = http_get(port, "/marketdata/treasury/avg_interest_rates?from=2024-01-01");
  ASSERT_EQ(rates.status, 200) << rates.body;
  EXPECT_TRUE(has(rates, R"("total_count":5)"));
  EXPECT_TRUE(has(rates, R"({"record_date":"2024-02-29","security_type":"Interest-bearing Debt")"))
      << rates.body;
  EXPECT_TRUE(has(rates, R"("security":"Domestic Series","rate":null)"));
  EXPECT_EQ(fixtures.calls("treasury.rates"), 2);  // two pages
  EXPECT_TRUE(has(http_get(port, "/marketdata/treasury/avg_interest_rates?from=2024-01-01"),
                  R"("cached":true)"));
  auto refused = http_get(port, "/marketdata/treasury/avg_interest_rates?from=2023-01-01");
  EXPECT_EQ(refused.status, 400);
  EXPECT_TRUE(has(refused, "Invalid Query Param")) << refused.body;
  EXPECT_EQ(http_get(port, "/marketdata/treasury/avg_interest_rates?from=2024-13").status, 400);

  // Two 503s, then the curve: retried.
  fixtures.play("treasury.yields", {"status:503", "status:503"});
  auto yields = http_get(port, "/marketdata/treasury/yields?year=2025");
  ASSERT_EQ(yields.status, 200) << yields.body;
  EXPECT_EQ(fixtures.calls("treasury.yields"), 3);
  EXPECT_TRUE(has(yields, R"("tenors":["1 Mo","1.5 Month","2 Mo")")) << yields.body;
  EXPECT_TRUE(has(yields, R"({"date":"2025-02-14","rates":{"1 Mo":4.36,"1.5 Month":null)"))
      << yields.body;
  auto html = http_get(port, "/marketdata/treasury/yields?year=2024");
  EXPECT_EQ(html.status, 502);
  EXPECT_TRUE(has(html, "not the yield curve CSV")) << html.body;
  EXPECT_EQ(http_get(port, "/marketdata/treasury/yields?year=1985").status, 400);
  EXPECT_EQ(http_get(port, "/marketdata/treasury/yields?year=2999").status, 400);
  const auto m = metrics();
  // Two pages, the refused 2023 query, three tries at 2025, the HTML page for 2024.
  EXPECT_NE(m.find("nautilus_marketdata_source_requests_total{source=\"treasury\"} 7"),
            std::string::npos)
      << m;
  for (const char* source : {"ibkr", "binance", "datagov", "bls", "treasury"}) {
    EXPECT_NE(m.find(std::string("nautilus_marketdata_cache_entries{source=\"") + source + "\"}"),
              std::string::npos)
        << source;
  }
}

}  // namespace
}  // namespace nautilus
