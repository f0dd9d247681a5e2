// The hub's endpoints on the bus (model/requests.hpp): marketdata.history from its bar store and
// from a source (Alpha Vantage on a loopback server), paging, point-in-time limits on a
// simulated clock, marketdata.reference, .filings and .universe, error replies, and the same
// requests from another process over the dual Redis bus. marketdata.subscribe is tested in
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
#include "nautilus/marketdata/reference.hpp"
#include "nautilus/model/requests.hpp"
#include "nautilus/net/http.hpp"
#include "support/http_client.hpp"
#include "support/redis_server.hpp"

namespace nautilus {
namespace {

using namespace std::chrono_literals;
using model::BarHistory;
using model::FilingsRequest;
using model::HistoryRequest;
using model::ReferenceHistory;
using model::RequestFailed;
using model::UniverseMembers;
using model::UniverseRequest;

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

core::UnixNanos time_of(const char* when) { return *core::parse_timestamp(when); }

// A reference file of several symbols: four filings of AAPL, GOOGL moving sector in 2018, XOM
// known only from 2026-01-10.
std::string universe_file() {
  const auto path = std::filesystem::temp_directory_path() /
                    ("nautilus_universe_" + std::to_string(::getpid()) + ".csv");
  std::ofstream out(path);
  out << "as_of,symbol,sector,industry,shares_outstanding,book_value,sales,operating_cash_flow\n"
         "2026-01-20,AAPL,Information Technology,\"Technology Hardware, Storage & "
         "Peripherals\",14900000000,62000000000,400000000000,115000000000\n"
         "2025-05-02,AAPL,Information Technology,\"Technology Hardware, Storage & "
         "Peripherals\",15200000000,66000000000,380000000000,105000000000\n"
         "2025-08-01,AAPL,Information Technology,\"Technology Hardware, Storage & "
         "Peripherals\",15100000000,65000000000,385000000000,108000000000\n"
         "2025-11-01,AAPL,Information Technology,\"Technology Hardware, Storage & "
         "Peripherals\",15000000000,60000000000,390000000000,110000000000\n"
         "2025-04-15,BAC,Financials,Diversified Banks,7700000000,290000000000,100000000000,"
         "-8000000000\n"
         "2018-01-01,GOOGL,Information Technology,Internet Software & Services,700000000,"
         "150000000000,110000000000,37000000000\n"
         "2018-09-28,GOOGL,Communication Services,Interactive Media & Services,700000000,"
         "170000000000,130000000000,45000000000\n"
         "2025-04-11,JPM,Financials,Diversified Banks,2800000000,340000000000,170000000000,"
         "12000000000\n"
         "2025-04-30,MSFT,Information Technology,Systems Software,7400000000,320000000000,"
         "260000000000,130000000000\n"
         "2026-01-10,XOM,Energy,Integrated Oil & Gas,4300000000,260000000000,340000000000,"
         "55000000000\n";
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

TEST_F(HubRequests, FilingsAreEveryRecordOfASymbolInTheRangeOldestFirst) {
  engine::EngineConfig cfg;
  cfg.set("reference_files", universe_file());
  start(cfg);
  auto r = ask(bus, "marketdata.filings", FilingsRequest{.symbol = kAapl});
  ASSERT_TRUE(r) << r.error().message;
  const auto* h = r->get<ReferenceHistory>();
  ASSERT_NE(h, nullptr) << r->type_name();
  EXPECT_EQ(h->symbol, kAapl);
  EXPECT_FALSE(h->more);
  // The file's rows are out of order: the reply is sorted by as_of.
  EXPECT_EQ(h->as_of, (std::vector<std::int64_t>{time_of("2025-05-02"), time_of("2025-08-01"),
                                                 time_of("2025-11-01"), time_of("2026-01-20")}));
  EXPECT_EQ(h->shares_outstanding, (std::vector<double>{15.2e9, 15.1e9, 15e9, 14.9e9}));
  EXPECT_EQ(h->book_value, (std::vector<double>{66e9, 65e9, 60e9, 62e9}));
  EXPECT_EQ(h->sales, (std::vector<double>{380e9, 385e9, 390e9, 400e9}));
  EXPECT_EQ(h->operating_cash_flow, (std::vector<double>{105e9, 108e9, 110e9, 115e9}));
  EXPECT_EQ(h->sector.view(), "Information Technology");
  EXPECT_EQ(h->industry.view(), "Technology Hardware, Storage & Peripherals");
  // [start, end] inclusive at both ends.
  r = ask(bus, "marketdata.filings",
          FilingsRequest{
              .symbol = kAapl, .start = time_of("2025-08-01"), .end = time_of("2025-11-01")});
  ASSERT_TRUE(r);
  h = r->get<ReferenceHistory>();
  ASSERT_NE(h, nullptr) << r->type_name();
  EXPECT_EQ(h->as_of, (std::vector<std::int64_t>{time_of("2025-08-01"), time_of("2025-11-01")}));
  EXPECT_EQ(h->sales, (std::vector<double>{385e9, 390e9}));
  // An open end, and sector and industry those of the latest record sent.
  const auto googl = core::Symbol::from_trusted("GOOGL");
  r = ask(bus, "marketdata.filings", FilingsRequest{.symbol = googl, .end = time_of("2018-06-01")});
  ASSERT_TRUE(r);
  h = r->get<ReferenceHistory>();
  ASSERT_NE(h, nullptr) << r->type_name();
  EXPECT_EQ(h->as_of, (std::vector<std::int64_t>{time_of("2018-01-01")}));
  EXPECT_EQ(h->sector.view(), "Information Technology");
  r = ask(bus, "marketdata.filings",
          FilingsRequest{.symbol = googl, .start = time_of("2018-06-01")});
  ASSERT_TRUE(r);
  h = r->get<ReferenceHistory>();
  ASSERT_NE(h, nullptr) << r->type_name();
  EXPECT_EQ(h->as_of, (std::vector<std::int64_t>{time_of("2018-09-28")}));
  EXPECT_EQ(h->sector.view(), "Communication Services");
  EXPECT_EQ(h->industry.view(), "Interactive Media & Services");
  auto m = test::http_get(port, "/metrics");
  EXPECT_NE(
      m.body.find(
          R"(nautilus_marketdata_requests_total{endpoint="marketdata.filings",result="ok"} 4)"),
      std::string::npos)
      << m.body;
}

TEST_F(HubRequests, BadOrUnanswerableFilingsRequestsGetARequestFailedSayingWhy) {
  engine::EngineConfig cfg;
  cfg.set("reference_files", universe_file());
  start(cfg);
  const auto failed = [&](const auto& request) {
    auto r = ask(bus, "marketdata.filings", request);
    EXPECT_TRUE(r) << r.error().message;
    const auto* f = r ? r->template get<RequestFailed>() : nullptr;
    EXPECT_NE(f, nullptr) << (r ? r->type_name() : "no reply");
    return f != nullptr ? *f : RequestFailed{};
  };
  auto f = failed(FilingsRequest{.symbol = core::Symbol::from_trusted("NOPE")});
  EXPECT_EQ(f.error, model::RequestError::kNotFound);
  EXPECT_EQ(f.endpoint.view(), "marketdata.filings");
  EXPECT_NE(f.detail.view().find("NOPE"), std::string_view::npos) << f.detail.view();
  // A known symbol with nothing filed in the range: the detail names the symbol and the range.
  f = failed(FilingsRequest{
      .symbol = kAapl, .start = time_of("2025-12-01"), .end = time_of("2026-01-01")});
  EXPECT_EQ(f.error, model::RequestError::kNotFound);
  EXPECT_NE(f.detail.view().find("AAPL"), std::string_view::npos) << f.detail.view();
  EXPECT_NE(f.detail.view().find("2025-12-01"), std::string_view::npos) << f.detail.view();
  EXPECT_NE(f.detail.view().find("2026-01-01"), std::string_view::npos) << f.detail.view();
  f = failed(FilingsRequest{
      .symbol = kAapl, .start = time_of("2026-01-01"), .end = time_of("2025-01-01")});
  EXPECT_EQ(f.error, model::RequestError::kInvalidArgument);
  f = failed(model::ReferenceRequest{.symbol = kAapl});
  EXPECT_EQ(f.error, model::RequestError::kInvalidArgument);
  EXPECT_NE(f.detail.view().find("reference_request"), std::string_view::npos) << f.detail.view();
  auto m = test::http_get(port, "/metrics");
  EXPECT_NE(
      m.body.find(
          R"(nautilus_marketdata_requests_total{endpoint="marketdata.filings",result="failed"} 4)"),
      std::string::npos)
      << m.body;
}

// More records than a reply holds: the newest kMaxHistoryBars, and `more`.
TEST_F(HubRequests, FilingsBeyondAReplysLimitAreTheNewestWithMoreSet) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("nautilus_many_filings_" + std::to_string(::getpid()) + ".csv");
  const std::size_t n = model::kMaxHistoryBars + 10;
  const core::UnixNanos t0 = time_of("2010-01-01");
  constexpr core::UnixNanos kDay = 86'400'000'000'000;
  {
    std::ofstream out(path);
    out << marketdata::kReferenceHeader << "\n";
    for (std::size_t i = 0; i < n; ++i) {
      out << core::format_timestamp(t0 + static_cast<core::UnixNanos>(i) * kDay)
          << ",AAPL,Information Technology,Hardware," << 1'000'000 + i << ",1,2,3\n";
    }
  }
  engine::EngineConfig cfg;
  cfg.set("reference_files", path.string());
  start(cfg);
  auto r = ask(bus, "marketdata.filings", FilingsRequest{.symbol = kAapl});
  ASSERT_TRUE(r) << r.error().message;
  const auto* h = r->get<ReferenceHistory>();
  ASSERT_NE(h, nullptr) << r->type_name();
  EXPECT_TRUE(h->more);
  ASSERT_EQ(h->as_of.size(), model::kMaxHistoryBars);
  ASSERT_EQ(h->shares_outstanding.size(), model::kMaxHistoryBars);
  EXPECT_EQ(h->as_of.front(), t0 + 10 * kDay);  // the ten oldest are left out
  EXPECT_EQ(h->as_of.back(), t0 + static_cast<core::UnixNanos>(n - 1) * kDay);
  EXPECT_DOUBLE_EQ(h->shares_outstanding.front(), 1'000'010);
  EXPECT_TRUE(std::is_sorted(h->as_of.begin(), h->as_of.end()));
  // The older ones, by asking again up to just before the first sent.
  r = ask(bus, "marketdata.filings", FilingsRequest{.symbol = kAapl, .end = h->as_of.front() - 1});
  ASSERT_TRUE(r);
  h = r->get<ReferenceHistory>();
  ASSERT_NE(h, nullptr) << r->type_name();
  EXPECT_FALSE(h->more);
  ASSERT_EQ(h->as_of.size(), 10u);
  EXPECT_EQ(h->as_of.front(), t0);
  std::filesystem::remove(path);
}

TEST_F(HubRequests, TheUniverseIsTheSymbolsKnownAtATimeWithTheirSectorsThen) {
  engine::EngineConfig cfg;
  cfg.set("reference_files", universe_file());
  start(cfg);
  const auto universe = [&](UniverseRequest q) {
    auto r = ask(bus, "marketdata.universe", q);
    EXPECT_TRUE(r) << r.error().message;
    const auto* m = r ? r->get<UniverseMembers>() : nullptr;
    EXPECT_NE(m, nullptr) << (r ? r->type_name() : "no reply");
    return m != nullptr ? *m : UniverseMembers{};
  };
  const auto names = [](const UniverseMembers& m) {
    std::vector<std::string> out;
    for (const auto& s : m.symbols) out.emplace_back(s.value());
    return out;
  };
  const auto sectors = [](const UniverseMembers& m) {
    std::vector<std::string> out;
    for (const auto& s : m.sectors) out.emplace_back(s.view());
    return out;
  };
  using Names = std::vector<std::string>;
  // as_of 0: where the data is (the hub's clock here, source none), every symbol.
  const auto before = core::realtime_clock().now();
  auto m = universe({});
  EXPECT_EQ(names(m), (Names{"AAPL", "BAC", "GOOGL", "JPM", "MSFT", "XOM"}));
  EXPECT_EQ(sectors(m), (Names{"Information Technology", "Financials", "Communication Services",
                               "Financials", "Information Technology", "Energy"}));
  EXPECT_FALSE(m.more);
  EXPECT_GE(m.as_of, before - 1'000'000'000);
  EXPECT_LE(m.as_of, core::realtime_clock().now() + 1'000'000'000);
  // Before XOM's first record it is not in the universe; the reply says the time used.
  m = universe({.as_of = time_of("2026-01-01")});
  EXPECT_EQ(names(m), (Names{"AAPL", "BAC", "GOOGL", "JPM", "MSFT"}));
  EXPECT_EQ(m.as_of, time_of("2026-01-01"));
  // A sector as of the time asked: GOOGL was in Information Technology until 2018-09-28.
  m = universe({.as_of = time_of("2018-06-01")});
  EXPECT_EQ(names(m), (Names{"GOOGL"}));
  EXPECT_EQ(sectors(m), (Names{"Information Technology"}));
  // Before any record: an empty universe, not an error.
  m = universe({.as_of = time_of("2000-01-01")});
  EXPECT_TRUE(m.symbols.empty());
  EXPECT_TRUE(m.sectors.empty());
  EXPECT_FALSE(m.more);
  // A time in the future is capped at where the data is.
  m = universe({.as_of = time_of("2100-01-01")});
  EXPECT_EQ(m.symbols.size(), 6u);
  EXPECT_LE(m.as_of, core::realtime_clock().now() + 1'000'000'000);
  // Pages of two: `after` the last symbol of the page before, `more` until the last.
  Names got;
  UniverseRequest q{.limit = 2};
  std::vector<bool> more;
  for (int page = 0; page < 10; ++page) {
    m = universe(q);
    EXPECT_LE(m.symbols.size(), 2u);
    for (const auto& s : names(m)) got.push_back(s);
    more.push_back(m.more);
    if (!m.more || m.symbols.empty()) break;
    q.after = *core::FixedString<64>::create(m.symbols.back().value());
  }
  EXPECT_EQ(got, (Names{"AAPL", "BAC", "GOOGL", "JPM", "MSFT", "XOM"}));
  EXPECT_EQ(more, (std::vector<bool>{true, true, false}));
  // `more` counts only symbols known at the time: after JPM on 2026-01-01 only MSFT is left.
  m = universe(
      {.as_of = time_of("2026-01-01"), .after = *core::FixedString<64>::create("JPM"), .limit = 1});
  EXPECT_EQ(names(m), (Names{"MSFT"}));
  EXPECT_FALSE(m.more);
  // `after` need not be a symbol of the store: strictly after it in name order.
  m = universe({.after = *core::FixedString<64>::create("C"), .limit = 2});
  EXPECT_EQ(names(m), (Names{"GOOGL", "JPM"}));
  EXPECT_TRUE(m.more);
  m = universe({.after = *core::FixedString<64>::create("XOM")});
  EXPECT_TRUE(m.symbols.empty());
  EXPECT_FALSE(m.more);
  auto metrics = test::http_get(port, "/metrics");
  EXPECT_NE(
      metrics.body.find(
          R"(nautilus_marketdata_requests_total{endpoint="marketdata.universe",result="ok"} 11)"),
      std::string::npos)
      << metrics.body;
}

TEST_F(HubRequests, BadUniverseRequestsGetARequestFailedSayingWhy) {
  start({});
  const auto failed = [&](const auto& request) {
    auto r = ask(bus, "marketdata.universe", request);
    EXPECT_TRUE(r) << r.error().message;
    const auto* f = r ? r->template get<RequestFailed>() : nullptr;
    EXPECT_NE(f, nullptr) << (r ? r->type_name() : "no reply");
    return f != nullptr ? *f : RequestFailed{};
  };
  auto f = failed(UniverseRequest{.limit = 0});
  EXPECT_EQ(f.error, model::RequestError::kInvalidArgument);
  EXPECT_EQ(f.endpoint.view(), "marketdata.universe");
  EXPECT_NE(f.detail.view().find("limit"), std::string_view::npos) << f.detail.view();
  f = failed(FilingsRequest{.symbol = kAapl});
  EXPECT_EQ(f.error, model::RequestError::kInvalidArgument);
  EXPECT_NE(f.detail.view().find("filings_request"), std::string_view::npos) << f.detail.view();
  f = failed(UniverseRequest{.as_of = -5});
  EXPECT_EQ(f.error, model::RequestError::kInvalidArgument);
  EXPECT_NE(f.detail.view().find("as_of -5"), std::string_view::npos) << f.detail.view();
  // A limit above a reply's is not an error: it is capped.
  auto r = ask(bus, "marketdata.universe", UniverseRequest{.limit = 100'000});
  ASSERT_TRUE(r);
  ASSERT_NE(r->get<UniverseMembers>(), nullptr) << r->type_name();
  EXPECT_EQ(r->get<UniverseMembers>()->symbols.size(), 1u);  // AAPL, the reference file's only
  auto m = test::http_get(port, "/metrics");
  EXPECT_NE(
      m.body.find(
          R"(nautilus_marketdata_requests_total{endpoint="marketdata.universe",result="failed"} 3)"),
      std::string::npos)
      << m.body;
}

// The hub alone on a simulated clock, with the sample's bars and `reference` behind its
// endpoints.
core::Result<std::unique_ptr<engine::EngineHost>> start_deterministic_hub(
    bus::MessageBus& bus, core::SimulatedClock& clock, const std::string& reference) {
  engine::EngineConfig cfg;
  cfg.set("source", "none");
  cfg.set("live_sources", "");
  cfg.set("history_files", kSample + "bars_1m.csv.gz");
  cfg.set("reference_files", reference);
  std::vector<std::unique_ptr<engine::Engine>> engines;
  engines.push_back(engines::find_engine("marketdata")->create());
  return engine::EngineHost::start(
      bus, std::move(engines),
      {.configs = {{"marketdata", cfg}}, .simulated_clock = &clock, .serve_http = false});
}

// In a deterministic run the hub's clock is the simulated one: a history request made at
// simulated time T sees no bar that closed after T, and a reference request no later filing.
TEST(HubRequestsDeterministic, NothingFromTheFutureOfTheSimulatedClock) {
  const auto bars = aapl_bars();
  core::SimulatedClock clock(bars[1000].ts_event);
  bus::MessageBus bus(
      {.clock = &clock, .request_timer_thread = false, .reply_endpoint = "_reply.t"});
  auto host = start_deterministic_hub(bus, clock, reference_file());
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

// The same for filings and the universe: at simulated time T (2026-01-07 here) a filings
// request sees no filing after T, however late its end, and the universe no symbol first known
// after T.
TEST(HubRequestsDeterministic, NoFilingAndNoMemberFromTheFutureOfTheSimulatedClock) {
  const auto bars = aapl_bars();
  core::SimulatedClock clock(bars[1000].ts_event);
  bus::MessageBus bus(
      {.clock = &clock, .request_timer_thread = false, .reply_endpoint = "_reply.t"});
  auto host = start_deterministic_hub(bus, clock, universe_file());
  ASSERT_TRUE(host) << host.error().message;
  auto pub = *bus.publisher("probe");
  const auto request = [&](std::string_view endpoint, const auto& q) {
    std::optional<bus::Envelope> reply;
    auto ep = *bus.endpoint(endpoint);
    EXPECT_TRUE(pub.request(ep, q, 1s, [&](core::Result<bus::Envelope> r) { reply = *r; }));
    EXPECT_TRUE((*host)->run_until(clock.now()));  // the hub handles it on the host's thread
    return reply;
  };
  for (const core::UnixNanos end : {core::UnixNanos{0}, time_of("2100-01-01")}) {
    auto r = request("marketdata.filings", FilingsRequest{.symbol = kAapl, .end = end});
    ASSERT_TRUE(r);
    const auto* h = r->get<ReferenceHistory>();
    ASSERT_NE(h, nullptr) << r->type_name();
    // Not 2026-01-20's.
    EXPECT_EQ(h->as_of, (std::vector<std::int64_t>{time_of("2025-05-02"), time_of("2025-08-01"),
                                                   time_of("2025-11-01")}));
    EXPECT_EQ(h->book_value.back(), 60e9);
  }
  // A range wholly after the clock holds nothing known yet.
  auto r = request("marketdata.filings",
                   FilingsRequest{.symbol = kAapl, .start = time_of("2026-01-10")});
  ASSERT_TRUE(r);
  ASSERT_NE(r->get<RequestFailed>(), nullptr) << r->type_name();
  EXPECT_EQ(r->get<RequestFailed>()->error, model::RequestError::kNotFound);
  for (const core::UnixNanos as_of : {core::UnixNanos{0}, time_of("2100-01-01")}) {
    r = request("marketdata.universe", UniverseRequest{.as_of = as_of});
    ASSERT_TRUE(r);
    const auto* m = r->get<UniverseMembers>();
    ASSERT_NE(m, nullptr) << r->type_name();
    EXPECT_EQ(m->as_of, clock.now());
    ASSERT_EQ(m->symbols.size(), 5u);  // no XOM, first known 2026-01-10
    EXPECT_EQ(m->symbols.back(), core::Symbol::from_trusted("MSFT"));
  }
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
  // Filings stop there too: 2025-11-01's, not 2026-01-20's (all in the wall clock's past).
  r = ask(bus, "marketdata.filings", FilingsRequest{.symbol = kAapl});
  ASSERT_TRUE(r) << r.error().message;
  const auto* f = r->get<ReferenceHistory>();
  ASSERT_NE(f, nullptr) << r->type_name();
  EXPECT_EQ(f->as_of, (std::vector<std::int64_t>{time_of("2025-11-01")}));
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
