// The hub's endpoints on the bus (model/requests.hpp): marketdata.history from its bar store and
// from a source (Alpha Vantage on a loopback server), paging, point-in-time limits on a
// simulated clock, marketdata.reference, error replies, and the same requests from another
// process over the dual Redis bus. marketdata.subscribe is tested in
// tests/unit/marketdata/streaming_test.cpp, beside the loopback WebSocket server (Beast's
// templates are compiled once, there).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "nautilus/bus_redis/transport.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/engine/host.hpp"
#include "nautilus/engines/registry.hpp"
#include "nautilus/marketdata/csv.hpp"
#include "nautilus/model/requests.hpp"
#include "nautilus/net/http.hpp"
#include "support/http_client.hpp"
#include "support/redis_server.hpp"

namespace nautilus {
namespace {

using namespace std::chrono_literals;
using model::BarHistory;
using model::HistoryRequest;
using model::RequestFailed;

const std::string kSample = std::string(NAUTILUS_SOURCE_DIR) + "/data/sample/";
const core::Symbol kAapl = core::Symbol::from_trusted("AAPL");

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(NAUTILUS_SOURCE_DIR) + "/tests/fixtures/marketdata/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The sample's AAPL minute bars, read straight from the file: what the store must answer.
std::vector<model::Bar> aapl_bars() {
  std::vector<model::Bar> out;
  auto r = marketdata::CsvReader::open(kSample + "bars_1m.csv.gz");
  while (true) {
    auto rec = r->next();
    if (!rec || !*rec) break;
    const auto& b = std::get<model::Bar>(**rec);
    if (b.symbol == kAapl) out.push_back(b);
  }
  return out;
}

// A small point-in-time reference file: two filings of AAPL.
std::string reference_file() {
  const auto path = std::filesystem::temp_directory_path() /
                    ("nautilus_reference_" + std::to_string(::getpid()) + ".csv");
  std::ofstream out(path);
  out << "as_of,symbol,sector,industry,shares_outstanding,book_value,sales,operating_cash_flow\n"
         "2025-11-01,AAPL,Information Technology,\"Technology Hardware, Storage & "
         "Peripherals\",15000000000,60000000000,390000000000,110000000000\n"
         "2026-01-20,AAPL,Information Technology,\"Technology Hardware, Storage & "
         "Peripherals\",14900000000,62000000000,400000000000,115000000000\n";
  return path.string();
}

// One request, waited for.
core::Result<bus::Envelope> ask(bus::MessageBus& bus, std::string_view endpoint,
                                const auto& request, std::chrono::milliseconds timeout = 5s) {
  auto pub = *bus.publisher("probe");
  auto ep = *bus.endpoint(endpoint);
  auto done = std::make_shared<std::promise<core::Result<bus::Envelope>>>();
  auto fut = done->get_future();
  auto id = pub.request(ep, request, timeout,
                        [done](core::Result<bus::Envelope> r) { done->set_value(std::move(r)); });
  if (!id) return std::unexpected(id.error());
  if (fut.wait_for(timeout + 5s) != std::future_status::ready) {
    return core::fail(core::ErrorCode::kTimeout, "no reply and no timeout");
  }
  return fut.get();
}

class HubRequests : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("ALPHAVANTAGE_API_KEY", "test-key", 1); }

  void start(engine::EngineConfig cfg) {
    cfg.set("source", "none");
    cfg.set("live_sources", "");
    cfg.set("history_files", kSample + "bars_1m.csv.gz");
    if (!cfg.has("reference_files")) cfg.set("reference_files", reference_file());
    cfg.set("alphavantage_url", fixture_url());
    cfg.set("alphavantage_per_minute", "600");
    std::vector<std::unique_ptr<engine::Engine>> engines;
    engines.push_back(engines::find_engine("marketdata")->create());
    auto h = engine::EngineHost::start(bus, std::move(engines),
                                       {.ephemeral_ports = true, .configs = {{"marketdata", cfg}}});
    ASSERT_TRUE(h) << h.error().message;
    host = std::move(*h);
    port = host->engines().front().port;
  }

  std::string fixture_url() {
    if (!av) {
      net::Router r;
      r.get("/query", [this](const net::Request&) {
        ++av_calls;
        return net::Response::json(fixture("alphavantage_daily_IBM.json"));
      });
      av = std::move(*net::HttpServer::start(std::move(r), {}));
    }
    return "http://127.0.0.1:" + std::to_string(av->port());
  }

  std::unique_ptr<net::HttpServer> av;
  std::atomic<int> av_calls{0};
  bus::MessageBus bus;
  std::unique_ptr<engine::EngineHost> host;
  std::uint16_t port = 0;
};

TEST_F(HubRequests, HistoryFromTheStoreIsTheFilesBarsInPagesOverTheBus) {
  start({});
  const auto expected = aapl_bars();
  ASSERT_GT(expected.size(), 8000u);
  const core::UnixNanos start = expected[100].ts_event, end = expected[600].ts_event;
  std::vector<model::Bar> got;
  HistoryRequest q{.symbol = kAapl, .interval_s = 60, .start = start, .end = end, .limit = 200};
  for (int page = 0; page < 10; ++page) {
    auto r = ask(bus, "marketdata.history", q);
    ASSERT_TRUE(r) << r.error().message;
    const auto* h = r->get<BarHistory>();
    ASSERT_NE(h, nullptr) << r->type_name();
    EXPECT_EQ(h->source.view(), "store");
    EXPECT_EQ(h->symbol, kAapl);
    ASSERT_EQ(h->ts.size(), h->close.size());
    for (std::size_t i = 0; i < h->ts.size(); ++i) {
      got.push_back(
          {kAapl, h->open[i], h->high[i], h->low[i], h->close[i], h->volume[i], 60, h->ts[i]});
    }
    if (!h->more) break;
    q.start = h->next_start;
  }
  // Bars 100..600 inclusive, every field as the file has it, in three pages.
  ASSERT_EQ(got.size(), 501u);
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], expected[100 + i]) << i;
  auto m = test::http_get(port, "/metrics");
  EXPECT_NE(
      m.body.find(
          R"(nautilus_marketdata_requests_total{endpoint="marketdata.history",result="ok"} 3)"),
      std::string::npos)
      << m.body;
}

TEST_F(HubRequests, BadOrUnanswerableHistoryRequestsGetARequestFailedSayingWhy) {
  start({});
  const auto failed = [&](const auto& request, std::string_view endpoint = "marketdata.history") {
    auto r = ask(bus, endpoint, request);
    EXPECT_TRUE(r) << r.error().message;
    const auto* f = r ? r->template get<RequestFailed>() : nullptr;
    EXPECT_NE(f, nullptr);
    return f != nullptr ? *f : RequestFailed{};
  };
  auto f = failed(HistoryRequest{.symbol = core::Symbol::from_trusted("NOPE"), .interval_s = 60});
  EXPECT_EQ(f.error, model::RequestError::kNotFound);
  EXPECT_NE(f.detail.view().find("NOPE"), std::string_view::npos) << f.detail.view();
  f = failed(HistoryRequest{.symbol = kAapl, .interval_s = 60, .limit = 5000});
  EXPECT_EQ(f.error, model::RequestError::kInvalidArgument);
  f = failed(HistoryRequest{.symbol = kAapl, .interval_s = 60, .start = 10, .end = 5});
  EXPECT_EQ(f.error, model::RequestError::kInvalidArgument);
  f = failed(
      HistoryRequest{.symbol = kAapl, .interval_s = 60, .source = *model::Name::create("x")});
  EXPECT_EQ(f.error, model::RequestError::kInvalidArgument);
  EXPECT_NE(f.detail.view().find("unknown source 'x'"), std::string_view::npos);
  // The wrong message type on an endpoint is refused by name, not crashed on.
  f = failed(model::ReferenceRequest{.symbol = kAapl});
  EXPECT_EQ(f.error, model::RequestError::kInvalidArgument);
  EXPECT_EQ(f.endpoint.view(), "marketdata.history");
  // Live streaming is off in this hub.
  f = failed(model::StreamRequest{.symbol = kAapl}, "marketdata.subscribe");
  EXPECT_EQ(f.error, model::RequestError::kUnavailable);
  auto m = test::http_get(port, "/metrics");
  EXPECT_NE(
      m.body.find(
          R"(nautilus_marketdata_requests_total{endpoint="marketdata.history",result="failed"} 5)"),
      std::string::npos)
      << m.body;
}

TEST_F(HubRequests, HistoryFromASourceGoesThroughItsCache) {
  start({});
  HistoryRequest q{.symbol = core::Symbol::from_trusted("IBM"),
                   .interval_s = 86'400,
                   .source = *model::Name::create("alphavantage")};
  auto first = ask(bus, "marketdata.history", q);
  ASSERT_TRUE(first) << first.error().message;
  const auto* h = first->get<BarHistory>();
  ASSERT_NE(h, nullptr) << (first->get<RequestFailed>() ? first->get<RequestFailed>()->detail.view()
                                                        : first->type_name());
  EXPECT_EQ(h->source.view(), "alphavantage");
  EXPECT_FALSE(h->cached);
  ASSERT_EQ(h->ts.size(), 3u);  // the fixture's three days
  EXPECT_TRUE(std::is_sorted(h->ts.begin(), h->ts.end()));
  auto second = ask(bus, "marketdata.history", q);
  ASSERT_TRUE(second);
  ASSERT_NE(second->get<BarHistory>(), nullptr);
  EXPECT_TRUE(second->get<BarHistory>()->cached);
  EXPECT_EQ(av_calls.load(), 1);
}

TEST_F(HubRequests, ReferenceDataIsWhatWasKnownAtTheTimeAsked) {
  start({});
  const auto at = [&](const char* when) {
    return ask(bus, "marketdata.reference",
               model::ReferenceRequest{.symbol = kAapl, .as_of = *core::parse_timestamp(when)});
  };
  auto r = at("2025-12-15T00:00:00Z");
  ASSERT_TRUE(r) << r.error().message;
  const auto* d = r->get<model::ReferenceData>();
  ASSERT_NE(d, nullptr) << r->type_name();
  EXPECT_EQ(d->sector.view(), "Information Technology");
  EXPECT_EQ(d->industry.view(), "Technology Hardware, Storage & Peripherals");
  EXPECT_DOUBLE_EQ(d->shares_outstanding, 15e9);
  EXPECT_EQ(d->as_of, *core::parse_timestamp("2025-11-01T00:00:00Z"));
  r = at("2026-02-01T00:00:00Z");
  ASSERT_TRUE(r);
  ASSERT_NE(r->get<model::ReferenceData>(), nullptr);
  EXPECT_DOUBLE_EQ(r->get<model::ReferenceData>()->sales, 400e9);
  r = at("2025-01-01T00:00:00Z");  // before the first filing: nothing was known
  ASSERT_TRUE(r);
  ASSERT_NE(r->get<RequestFailed>(), nullptr);
  EXPECT_EQ(r->get<RequestFailed>()->error, model::RequestError::kNotFound);
}

// In a deterministic run the hub's clock is the simulated one: a history request made at
// simulated time T sees no bar that closed after T, and a reference request no later filing.
TEST(HubRequestsDeterministic, NothingFromTheFutureOfTheSimulatedClock) {
  const auto bars = aapl_bars();
  core::SimulatedClock clock(bars[1000].ts_event);
  bus::MessageBus bus(
      {.clock = &clock, .request_timer_thread = false, .reply_endpoint = "_reply.t"});
  engine::EngineConfig cfg;
  cfg.set("source", "none");
  cfg.set("live_sources", "");
  cfg.set("history_files", kSample + "bars_1m.csv.gz");
  cfg.set("reference_files", reference_file());
  std::vector<std::unique_ptr<engine::Engine>> engines;
  engines.push_back(engines::find_engine("marketdata")->create());
  auto host = engine::EngineHost::start(
      bus, std::move(engines),
      {.configs = {{"marketdata", cfg}}, .simulated_clock = &clock, .serve_http = false});
  ASSERT_TRUE(host) << host.error().message;
  auto pub = *bus.publisher("probe");
  auto ep = *bus.endpoint("marketdata.history");
  std::optional<bus::Envelope> reply;
  ASSERT_TRUE(pub.request(ep, HistoryRequest{.symbol = kAapl, .interval_s = 60, .limit = 4096}, 1s,
                          [&](core::Result<bus::Envelope> r) { reply = *r; }));
  ASSERT_TRUE((*host)->run_until(clock.now()));  // the hub handles it on the host's thread
  ASSERT_TRUE(reply);
  const auto* h = reply->get<BarHistory>();
  ASSERT_NE(h, nullptr);
  ASSERT_EQ(h->ts.size(), 1001u);  // bars 0..1000: none after the clock
  EXPECT_EQ(h->ts.back(), bars[1000].ts_event);
  (*host)->drain_and_stop();
}

// On the wall clock a replay is somewhere in its files: history stops where the replay is, not
// at today's date (all of the sample is in the past of the wall clock).
TEST(HubRequestsWallClock, AReplaysHistoryStopsAtWhereTheReplayHasGot) {
  bus::MessageBus bus;
  engine::EngineConfig cfg;
  cfg.set("speed", "1");  // real time: it stays within its first seconds during the test
  cfg.set("live_sources", "");
  cfg.set("reference_files", reference_file());
  std::vector<std::unique_ptr<engine::Engine>> engines;
  engines.push_back(engines::find_engine("marketdata")->create());
  auto host = engine::EngineHost::start(
      bus, std::move(engines), {.ephemeral_ports = true, .configs = {{"marketdata", cfg}}});
  ASSERT_TRUE(host) << host.error().message;
  const auto bars = aapl_bars();
  // The first request waits for the hub's stores to be read (the sample and, when present,
  // the research universe: several seconds under TSan).
  auto r = ask(bus, "marketdata.history",
               HistoryRequest{.symbol = kAapl, .interval_s = 60, .limit = 4096}, 60s);
  ASSERT_TRUE(r) << r.error().message;
  const auto* h = r->get<BarHistory>();
  ASSERT_NE(h, nullptr) << r->type_name();
  EXPECT_LE(h->ts.size(), 2u);  // the replay is within its first minute or two
  for (auto t : h->ts) EXPECT_LE(t, bars[1].ts_event);
  (*host)->drain_and_stop();
}

// Another process asks the hub over the dual Redis bus, as a factor engine would.
TEST(HubRequestsOverRedis, AnEngineInAnotherProcessGetsHistoryAndReference) {
  testing::RedisServer md, logic;
  config::BusConfig cfg;
  cfg.main = logic.endpoint();
  cfg.marketdata = md.endpoint();
  cfg.logic = logic.endpoint();
  bus::MessageBus hub_bus, engine_bus;
  auto th = bus_redis::RedisTransport::start(hub_bus, {.config = cfg, .group = "marketdata"});
  auto te = bus_redis::RedisTransport::start(engine_bus, {.config = cfg, .group = "factor"});
  ASSERT_TRUE(th && te);
  engine::EngineConfig hub;
  hub.set("source", "none");
  hub.set("live_sources", "");
  hub.set("history_files", kSample + "bars_1m.csv.gz");
  hub.set("reference_files", reference_file());
  std::vector<std::unique_ptr<engine::Engine>> engines;
  engines.push_back(engines::find_engine("marketdata")->create());
  auto host = engine::EngineHost::start(
      hub_bus, std::move(engines),
      {.ephemeral_ports = true, .configs = {{"marketdata", hub}}, .transport = th->get()});
  ASSERT_TRUE(host) << host.error().message;
  for (int i = 0; i < 400; ++i) {
    bool up = true;
    for (const auto& t : {th->get(), te->get()}) {
      for (const auto& l : t->status().links) up = up && l.reader_connected;
    }
    if (up) break;
    std::this_thread::sleep_for(5ms);
  }
  auto r = ask(engine_bus, "marketdata.history",
               HistoryRequest{.symbol = kAapl, .interval_s = 60, .limit = 390}, 10s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->remote);
  const auto* h = r->get<BarHistory>();
  ASSERT_NE(h, nullptr) << r->type_name();
  EXPECT_EQ(h->ts.size(), 390u);
  EXPECT_TRUE(h->more);
  EXPECT_EQ(h->ts.front(), aapl_bars().front().ts_event);
  auto ref = ask(engine_bus, "marketdata.reference", model::ReferenceRequest{.symbol = kAapl}, 10s);
  ASSERT_TRUE(ref) << ref.error().message;
  ASSERT_NE(ref->get<model::ReferenceData>(), nullptr) << ref->type_name();
  EXPECT_DOUBLE_EQ(ref->get<model::ReferenceData>()->book_value, 62e9);  // the latest filing
  (*host)->drain_and_stop();
}

}  // namespace
}  // namespace nautilus
