// The public sources' parsers (IBKR gateway, Binance, Data.gov's CKAN and CSV, BLS, Treasury)
// on responses written from their documentation (tests/fixtures/marketdata), their error
// bodies, truncated and mistyped JSON; then HttpSources::bars and ibkr_conid against a loopback
// server, and the IBKR gateway's self-signed certificate through ibkr_ca_file.
#include "../../../src/engines/marketdata/sources.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "nautilus/core/time.hpp"
#include "nautilus/engine/settings.hpp"
#include "nautilus/marketdata/adapters.hpp"
#include "nautilus/marketdata/engine.hpp"
#include "nautilus/net/http.hpp"

namespace nautilus::marketdata {
namespace {

using namespace std::chrono_literals;
using core::ErrorCode;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(NAUTILUS_SOURCE_DIR) + "/tests/fixtures/marketdata/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

core::UnixNanos at(std::string_view iso) { return *core::parse_timestamp(iso); }

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

// Every prefix of a good body short of the whole is malformed JSON, never a crash.
template <class Parse>
void expect_truncations_fail(const std::string& body, Parse parse) {
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, body.size() / 2, body.size() - 2}) {
    auto r = parse(body.substr(0, cut));
    ASSERT_FALSE(r) << "cut at " << cut;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << r.error().message;
  }
}

// ---- IBKR ----

TEST(IbkrSecdefSearch, TheStockIsTheFirstContractOfTheSymbolWithAnStkSection) {
  auto c = parse_ibkr_secdef_search(fixture("ibkr_secdef_search_AAPL.json"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->size(), 2U);
  EXPECT_EQ(c->front().company, "APPLE INC");
  EXPECT_EQ(c->front().exchange, "NASDAQ");
  EXPECT_EQ(c->front().sec_types.size(), 5U);
  EXPECT_EQ(c->back().conid, "38708077");
  EXPECT_EQ(ibkr_stock_conid(*c, "AAPL").value_or(""), "265598");
  EXPECT_EQ(ibkr_stock_conid(*c, "aapl").value_or(""), "265598");
  auto none = ibkr_stock_conid(*c, "MSFT");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(contains(none.error().message, "AAPL (265598)")) << none.error().message;
}

TEST(IbkrSecdefSearch, NumericConidsAreAcceptedAndErrorsAreReported) {
  auto numeric = parse_ibkr_secdef_search(
      R"([{"conid":265598,"symbol":"AAPL","sections":[{"secType":"STK"}]}])");
  ASSERT_TRUE(numeric) << numeric.error().message;
  EXPECT_EQ(numeric->front().conid, "265598");
  auto err = parse_ibkr_secdef_search(fixture("ibkr_error.json"));
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(contains(err.error().message, "Chart data unavailable"));
  auto empty = parse_ibkr_secdef_search("[]");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kNotFound);
  for (const char* bad : {R"({})", R"("AAPL")", R"([1])", R"([{"conid":true,"symbol":"A"}])",
                          R"([{"conid":"12x","symbol":"A"}])", R"([{"conid":"1"}])",
                          R"([{"conid":"1","symbol":"A","sections":{"secType":"STK"}}])",
                          R"([{"conid":"1","symbol":"A","sections":[{"exchange":"X"}]}])"}) {
    auto r = parse_ibkr_secdef_search(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << bad;
  }
  expect_truncations_fail(fixture("ibkr_secdef_search_AAPL.json"),
                          [](std::string_view b) { return parse_ibkr_secdef_search(b); });
}

TEST(IbkrSnapshot, PricesAndSizesAreReadFromTheirFieldTags) {
  auto s = parse_ibkr_snapshot(fixture("ibkr_snapshot_265598.json"));
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->size(), 1U);
  const auto& q = s->front();
  EXPECT_EQ(q.conid, "265598");
  EXPECT_TRUE(q.ready());
  EXPECT_EQ(q.last->to_string(), "168.42");
  EXPECT_EQ(q.last_kind, 'T');
  EXPECT_EQ(q.bid->to_string(), "168.41");
  EXPECT_EQ(q.ask->to_string(), "168.42");
  EXPECT_EQ(q.bid_size->to_string(), "1300");  // sent as "1,300"
  EXPECT_EQ(q.ask_size->to_string(), "600");
  EXPECT_EQ(q.availability, "RpB");
  EXPECT_EQ(core::format_timestamp(q.updated), "2024-04-08T17:21:51.593Z");
}

TEST(IbkrSnapshot, TheFirstAnswerForAConidCarriesNoPricesAndIsNotReady) {
  auto s = parse_ibkr_snapshot(fixture("ibkr_snapshot_preflight.json"));
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->size(), 1U);
  EXPECT_FALSE(s->front().ready());
  EXPECT_FALSE(s->front().last);
}

TEST(IbkrSnapshot, PriorClosePrefixesAndAbbreviatedSizesAreUnderstood) {
  auto s = parse_ibkr_snapshot(
      R"([{"conid":1,"31":"C168.40","88":"1.2K","85":"3,250,100"},{"conid":"2","31":"H12.5"}])");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ((*s)[0].last_kind, 'C');
  EXPECT_EQ((*s)[0].last->to_string(), "168.40");
  EXPECT_EQ((*s)[0].bid_size->to_string(), "1200");
  EXPECT_EQ((*s)[0].ask_size->to_string(), "3250100");
  EXPECT_EQ((*s)[1].last_kind, 'H');
  EXPECT_EQ((*s)[1].conid, "2");
}

TEST(IbkrSnapshot, MalformedFieldsAreErrorsNamingTheField) {
  for (const char* bad :
       {R"([{"conid":1,"84":168.41}])", R"([{"conid":1,"84":"abc"}])",
        R"([{"conid":1,"88":"1,30"}])", R"([{"conid":1,"85":"12Q"}])",
        R"([{"conid":1,"_updated":"soon"}])", R"([{"84":"1.0"}])", R"([7])", R"({"conid":1})"}) {
    auto r = parse_ibkr_snapshot(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << bad;
  }
  auto named = parse_ibkr_snapshot(R"([{"conid":1,"86":"x"}])");
  ASSERT_FALSE(named);
  EXPECT_TRUE(contains(named.error().message, "86 (ask)")) << named.error().message;
  auto err = parse_ibkr_snapshot(fixture("ibkr_error.json"));
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code, ErrorCode::kInvalidArgument);
  expect_truncations_fail(fixture("ibkr_snapshot_265598.json"),
                          [](std::string_view b) { return parse_ibkr_snapshot(b); });
}

TEST(IbkrHistory, BarsCloseOneBarLengthAfterTheirStart) {
  auto bars = parse_ibkr_history(fixture("ibkr_history_265598_5min.json"), "AAPL");
  ASSERT_TRUE(bars) << bars.error().message;
  ASSERT_EQ(bars->size(), 3U);
  EXPECT_EQ(bars->front().interval_s, 300U);
  // t = 2024-04-08 13:30 UTC (09:30 New York) is the start; the bar closes five minutes later.
  EXPECT_EQ(core::format_timestamp(bars->front().ts_event), "2024-04-08T13:35:00Z");
  EXPECT_EQ(core::format_timestamp(bars->back().ts_event), "2024-04-08T13:45:00Z");
  EXPECT_EQ(bars->front().open.to_string(), "168.95");
  EXPECT_EQ(bars->front().high.to_string(), "169.1");
  EXPECT_EQ(bars->back().close.to_string(), "168.6");
  EXPECT_EQ(bars->front().volume.to_string(), "16534.12");
  EXPECT_EQ(bars->front().symbol.value(), "AAPL");
}

TEST(IbkrHistory, DailyBarsCloseAtFourInTheAfternoonNewYorkTime) {
  const char* summer = R"({"barLength":86400,"data":[{"o":1,"h":2,"l":0.5,"c":1.5,"v":10,)"
                       R"("t":1712583000000}]})";
  auto s = parse_ibkr_history(summer, "AAPL");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(core::format_timestamp(s->front().ts_event), "2024-04-08T20:00:00Z");  // EDT
  const char* winter = R"({"barLength":86400,"data":[{"o":1,"h":2,"l":0.5,"c":1.5,"v":10,)"
                       R"("t":1704205800000}]})";
  auto w = parse_ibkr_history(winter, "AAPL");
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(core::format_timestamp(w->front().ts_event), "2024-01-02T21:00:00Z");  // EST
  EXPECT_EQ(w->front().interval_s, 86'400U);
}

TEST(IbkrHistory, ErrorsAndMalformedBarsAreErrors) {
  auto err = parse_ibkr_history(fixture("ibkr_error.json"), "AAPL");
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code, ErrorCode::kInvalidArgument);
  for (const char* bad :
       {R"({"data":[]})", R"({"barLength":"300","data":[]})", R"({"barLength":300})",
        R"({"barLength":300,"data":[{"o":"1","h":1,"l":1,"c":1,"v":1,"t":1}]})",
        R"({"barLength":300,"data":[{"o":1,"h":1,"l":1,"c":1,"v":1}]})",
        R"({"barLength":300,"data":[{"o":1,"h":1,"l":1,"c":1,"v":-1,"t":1}]})",
        R"({"barLength":300,"data":[{"o":1,"h":1,"l":1,"c":1,"v":1,"t":-5}]})",
        R"({"barLength":300,"data":[[1,1,1,1,1,1]]})", R"([])"}) {
    auto r = parse_ibkr_history(bad, "AAPL");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << bad;
  }
  expect_truncations_fail(fixture("ibkr_history_265598_5min.json"),
                          [](std::string_view b) { return parse_ibkr_history(b, "AAPL"); });
}

// ---- Binance ----

TEST(Binance, IntervalsHaveTheirLengthsAndMonthsAreRefused) {
  EXPECT_EQ(binance_interval_seconds("1s"), 1U);
  EXPECT_EQ(binance_interval_seconds("15m"), 900U);
  EXPECT_EQ(binance_interval_seconds("12h"), 43'200U);
  EXPECT_EQ(binance_interval_seconds("1w"), 604'800U);
  EXPECT_FALSE(binance_interval_seconds("1M"));
  EXPECT_FALSE(binance_interval_seconds("2m"));
  EXPECT_FALSE(binance_interval_seconds(""));
}

TEST(Binance, KlinesAreStampedAtTheirCloseTimePlusOneMillisecond) {
  auto bars = parse_binance_klines(fixture("binance_klines_BTCUSDT_1m.json"), "BTCUSDT", "1m");
  ASSERT_TRUE(bars) << bars.error().message;
  ASSERT_EQ(bars->size(), 3U);
  // Opened 00:00:00, close time 00:00:59.999: the bar is stamped 00:01:00.
  EXPECT_EQ(core::format_timestamp(bars->front().ts_event), "2024-01-01T00:01:00Z");
  EXPECT_EQ(bars->front().interval_s, 60U);
  EXPECT_EQ(bars->front().open.to_string(), "42283.58000000");
  EXPECT_EQ(bars->front().volume.to_string(), "35.92724000");
  EXPECT_EQ(bars->back().close.to_string(), "42310.00000000");
}

TEST(Binance, ErrorBodiesBecomeTheirCodeAndMessage) {
  auto err = parse_binance_klines(fixture("binance_error.json"), "NOPE", "1m");
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(contains(err.error().message, "Invalid symbol. (code -1121)")) << err.error().message;
  auto busy = parse_binance_klines(R"({"code":-1003,"msg":"Too many requests."})", "X", "1m");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, ErrorCode::kCapacity);
  auto down = parse_binance_klines(R"({"code":-1001,"msg":"Internal error."})", "X", "1m");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, ErrorCode::kIo);
  auto month = parse_binance_klines("[]", "X", "1M");
  ASSERT_FALSE(month);
  EXPECT_EQ(month.error().code, ErrorCode::kInvalidArgument);
}

TEST(Binance, MalformedKlinesAreErrors) {
  const std::string good =
      R"([1704067200000,"1.0","2.0","0.5","1.5","10.0",1704067259999,"15.0",3,"5.0","7.5","0"])";
  ASSERT_TRUE(parse_binance_klines("[" + good + "]", "X", "1m"));
  for (
      const std::string& bad :
      {std::string(
           R"([[1704067200000,"1.0","2.0","0.5","1.5","10.0",1704067259999,"15.0",3,"5.0","7.5"]])"),
       std::string(
           R"([[1704067200000,1.0,"2.0","0.5","1.5","10.0",1704067259999,"15.0",3,"5.0","7.5","0"]])"),
       std::string(
           R"([[1704067200000,"1.0","2.0","0.5","1.5","ten",1704067259999,"15.0",3,"5.0","7.5","0"]])"),
       std::string(
           R"([[1704067200000,"1.0","2.0","0.5","1.5","10.0",1704067100000,"15.0",3,"5.0","7.5","0"]])"),
       std::string(
           R"([["1704067200000","1.0","2.0","0.5","1.5","10.0",1704067259999,"15.0",3,"5.0","7.5","0"]])"),
       std::string(
           R"([[1704067200000,"1.0","2.0","0.5","1.5","10.0",1704067259999,"15.0","3","5.0","7.5","0"]])"),
       std::string(R"({"msg":"no code"})"), std::string(R"("x")"), std::string("[1]")}) {
    auto r = parse_binance_klines(bad, "X", "1m");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << bad;
  }
  auto short_kline = parse_binance_klines(
      R"([[1704067200000,"1.0","2.0","0.5","1.5","10.0",1704067259999]])", "X", "1m");
  ASSERT_FALSE(short_kline);
  EXPECT_TRUE(contains(short_kline.error().message, "has 7 fields"));
  expect_truncations_fail(fixture("binance_klines_BTCUSDT_1m.json"), [](std::string_view b) {
    return parse_binance_klines(b, "BTCUSDT", "1m");
  });
}

// ---- Data.gov (CKAN) ----

TEST(DatagovCkan, SearchListsDatasetsWithTheirOrganizationAndResources) {
  auto s = parse_ckan_package_search(fixture("datagov_package_search.json"));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->count, 2U);
  ASSERT_EQ(s->datasets.size(), 2U);
  const auto& d = s->datasets.front();
  EXPECT_EQ(d.name, "average-price-data");
  EXPECT_EQ(d.title, "Average Price Data");
  EXPECT_EQ(d.organization, "Bureau of Labor Statistics");
  ASSERT_EQ(d.resources.size(), 3U);
  EXPECT_EQ(d.resources[0].format, "CSV");
  EXPECT_EQ(d.resources[1].format, "PDF");
  EXPECT_EQ(d.resources[1].url, "https://www.bls.gov/cpi/factsheets/average-prices.pdf");
  EXPECT_EQ(s->datasets.back().organization, "");  // "organization": null
  EXPECT_TRUE(s->datasets.back().resources.empty());
}

TEST(DatagovCkan, PackageShowGivesTheDataset) {
  auto d = parse_ckan_package_show(fixture("datagov_package_show.json"));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->name, "average-price-data");
  EXPECT_EQ(d->resources.size(), 3U);
}

TEST(DatagovCkan, FailuresNameCkansErrorTypeAndMessages) {
  auto missing = parse_ckan_package_show(fixture("datagov_not_found.json"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(contains(missing.error().message, "Not Found Error: Not found"))
      << missing.error().message;
  auto invalid = parse_ckan_package_search(fixture("datagov_validation_error.json"));
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(contains(invalid.error().message, "Validation Error: rows: Invalid integer"))
      << invalid.error().message;
  for (
      const char* bad :
      {R"({"result":{}})", R"({"success":true})", R"({"success":true,"result":{"count":1}})",
       R"({"success":true,"result":{"count":"1","results":[]}})",
       R"({"success":true,"result":{"count":1,"results":[{"title":"no name","resources":[]}]}})",
       R"({"success":true,"result":{"count":1,"results":[{"name":"a"}]}})",
       R"({"success":true,"result":{"count":1,"results":[{"name":"a","resources":[{"format":"CSV"}]}]}})",
       R"({"success":true,"result":{"count":1,"results":[{"name":"a","organization":"x","resources":[]}]}})",
       R"([])"}) {
    auto r = parse_ckan_package_search(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << bad;
  }
  expect_truncations_fail(fixture("datagov_package_search.json"),
                          [](std::string_view b) { return parse_ckan_package_search(b); });
}

// ---- CSV ----

TEST(CsvTable, QuotedFieldsCommasAndDoubledQuotesAreRead) {
  auto t = parse_csv_table(fixture("datagov_average_price_data.csv"));
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->header.size(), 5U);
  EXPECT_EQ(t->header[3], "value");
  ASSERT_EQ(t->rows.size(), 3U);
  EXPECT_EQ(t->rows[0][3], "0.534");
  EXPECT_EQ(t->rows[0][4], "");
  EXPECT_EQ(t->rows[1][4], "Price, per lb. (453.6 gm)");
  EXPECT_EQ(t->rows[2][4], R"(includes "choice" grade)");
}

TEST(CsvTable, QuotedLineBreaksByteOrderMarksBlankLinesAndAMissingLastNewline) {
  auto t = parse_csv_table(
      "\xEF\xBB\xBF"
      "a,b\n\"one\ntwo\",2\n\n3,\"\"\n\r\n4,5");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->header, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(t->rows.size(), 3U);
  EXPECT_EQ(t->rows[0][0], "one\ntwo");
  EXPECT_EQ(t->rows[1], (std::vector<std::string>{"3", ""}));
  EXPECT_EQ(t->rows[2], (std::vector<std::string>{"4", "5"}));
  auto header_only = parse_csv_table("x,y\r\n");
  ASSERT_TRUE(header_only);
  EXPECT_TRUE(header_only->rows.empty());
}

TEST(CsvTable, MalformedCsvNamesTheLine) {
  struct Case {
    const char* body;
    const char* says;
  };
  for (const Case& c : {Case{"a,b\n1,\"2\n3,4\n", "line 2: a quoted field is never closed"},
                        Case{"a,b\n1,\"2\"x\n", "line 2: text after a closing quote"},
                        Case{"a,b\n1,2\"\n", "line 2: a quote inside an unquoted field"},
                        Case{"a,b,c\n1,2,3\n4,5\n", "line 3: 2 fields, the header has 3"},
                        Case{"", "no header row"}, Case{"\n\n", "no header row"}}) {
    auto r = parse_csv_table(c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << c.body;
    EXPECT_TRUE(contains(r.error().message, c.says)) << r.error().message;
  }
  auto big = parse_csv_table("a\n1\n", CsvLimits{.max_bytes = 3});
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kCapacity);
  auto rows = parse_csv_table("a\n1\n2\n3\n", CsvLimits{.max_rows = 2});
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code, ErrorCode::kCapacity);
  auto wide = parse_csv_table("a,b,c\n", CsvLimits{.max_columns = 2});
  ASSERT_FALSE(wide);
  EXPECT_EQ(wide.error().code, ErrorCode::kCapacity);
}

// ---- BLS ----

TEST(Bls, ObservationsComeOldestFirstWithFootnotesAndMissingValues) {
  auto r = parse_bls_timeseries(fixture("bls_CUUR0000SA0.json"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->notes.empty());
  ASSERT_EQ(r->series.size(), 1U);
  const auto& obs = r->series.front().observations;
  ASSERT_EQ(obs.size(), 6U);
  EXPECT_EQ(obs.front().year + obs.front().period, "2023M11");
  EXPECT_FALSE(obs.front().value);  // "-"
  EXPECT_EQ(obs.front().footnotes, std::vector<std::string>{"Data unavailable."});
  EXPECT_EQ(obs[2].period, "M13");  // the annual average sorts after December
  EXPECT_DOUBLE_EQ(*obs[2].value, 304.702);
  EXPECT_EQ(obs.back().period_name, "March");
  EXPECT_TRUE(obs.back().latest);
  EXPECT_DOUBLE_EQ(*obs.back().value, 312.332);
  EXPECT_EQ(obs.back().footnotes, std::vector<std::string>{"Preliminary."});
  EXPECT_TRUE(obs[3].footnotes.empty());  // [{}]
}

TEST(Bls, MessagesOfASuccessfulRequestAreKeptAsNotes) {
  auto r = parse_bls_timeseries(fixture("bls_no_data_note.json"));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->notes.size(), 2U);
  EXPECT_TRUE(contains(r->notes[0], "No Data Available"));
  EXPECT_EQ(r->series.front().observations.front().period, "A01");
}

TEST(Bls, TheDailyThresholdIsARateLimitAndOtherStatusesAreErrors) {
  auto limit = parse_bls_timeseries(fixture("bls_threshold.json"));
  ASSERT_FALSE(limit);
  EXPECT_EQ(limit.error().code, ErrorCode::kCapacity);
  EXPECT_TRUE(contains(limit.error().message, "daily threshold")) << limit.error().message;
  auto failed = parse_bls_timeseries(
      R"({"status":"REQUEST_FAILED","message":["Invalid Series for Series X"],"Results":{}})");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(contains(failed.error().message, "REQUEST_FAILED: Invalid Series"));
  for (
      const char* bad :
      {R"({"message":[]})", R"({"status":"REQUEST_SUCCEEDED","message":[]})",
       R"({"status":"REQUEST_SUCCEEDED","message":"none","Results":{"series":[]}})",
       R"({"status":"REQUEST_SUCCEEDED","Results":{"series":[{"data":[]}]}})",
       R"({"status":"REQUEST_SUCCEEDED","Results":{"series":[{"seriesID":"X","data":[{"year":"2024","period":"X01","value":"1"}]}]}})",
       R"({"status":"REQUEST_SUCCEEDED","Results":{"series":[{"seriesID":"X","data":[{"year":"24","period":"M01","value":"1"}]}]}})",
       R"({"status":"REQUEST_SUCCEEDED","Results":{"series":[{"seriesID":"X","data":[{"year":"2024","period":"M01","value":"one"}]}]}})",
       R"({"status":"REQUEST_SUCCEEDED","Results":{"series":[{"seriesID":"X","data":[{"year":"2024","period":"M01","value":1}]}]}})",
       R"([])"}) {
    auto r = parse_bls_timeseries(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << bad;
  }
  expect_truncations_fail(fixture("bls_CUUR0000SA0.json"),
                          [](std::string_view b) { return parse_bls_timeseries(b); });
}

// ---- Treasury ----

TEST(TreasuryFiscalData, AnAverageInterestRatesPageWithItsPagination) {
  auto p = parse_fiscaldata_avg_interest_rates(fixture("treasury_avg_interest_rates_p1.json"));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->total_count, 5U);
  EXPECT_EQ(p->total_pages, 2U);
  EXPECT_EQ(p->page, 1U);
  ASSERT_EQ(p->records.size(), 3U);
  EXPECT_EQ(p->records[0].record_date, "2024-01-31");
  EXPECT_EQ(p->records[0].security, "Treasury Bills");
  EXPECT_DOUBLE_EQ(*p->records[0].rate, 5.327);
  EXPECT_FALSE(p->records[2].rate);  // "null"
  auto p2 = parse_fiscaldata_avg_interest_rates(fixture("treasury_avg_interest_rates_p2.json"));
  ASSERT_TRUE(p2) << p2.error().message;
  EXPECT_EQ(p2->page, 2U);
  EXPECT_EQ(p2->records.back().security_type, "Interest-bearing Debt");
}

TEST(TreasuryFiscalData, ErrorBodiesAndMalformedPagesAreErrors) {
  auto err = parse_fiscaldata_avg_interest_rates(fixture("treasury_error.json"));
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(contains(err.error().message, "Invalid Query Param: Invalid query parameter"));
  const std::string meta = R"("meta":{"total-count":1,"total-pages":1})";
  for (
      const std::string& bad :
      {std::string(R"({"data":[]})"), std::string(R"({"meta":{}, "data":[]})"),
       R"({"data":[{"record_date":"2024-01-31","security_type_desc":"M","security_desc":"B"}],)" +
           meta + "}",
       R"({"data":[{"record_date":"01/31/2024","security_type_desc":"M","security_desc":"B","avg_interest_rate_amt":"1"}],)" +
           meta + "}",
       R"({"data":[{"record_date":"2024-01-31","security_type_desc":"M","security_desc":"B","avg_interest_rate_amt":"high"}],)" +
           meta + "}",
       R"({"data":[{"record_date":"2024-01-31","security_type_desc":"M","security_desc":"B","avg_interest_rate_amt":5.3}],)" +
           meta + "}",
       std::string("[]")}) {
    auto r = parse_fiscaldata_avg_interest_rates(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << bad;
  }
  expect_truncations_fail(fixture("treasury_avg_interest_rates_p1.json"), [](std::string_view b) {
    return parse_fiscaldata_avg_interest_rates(b);
  });
}

TEST(TreasuryYieldCurve, DaysComeOldestFirstWithTheHeadersTenors) {
  auto c = parse_treasury_yield_curve_csv(fixture("treasury_yield_curve_2025.csv"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->tenors.size(), 14U);
  EXPECT_EQ(c->tenors[1], "1.5 Month");
  EXPECT_EQ(c->tenors.back(), "30 Yr");
  ASSERT_EQ(c->days.size(), 4U);
  EXPECT_EQ(c->days.front().date, "2025-02-14");
  EXPECT_FALSE(c->days.front().rates[1]);  // not quoted that day
  EXPECT_DOUBLE_EQ(*c->days.front().rates[0], 4.36);
  EXPECT_EQ(c->days.back().date, "2025-02-21");
  EXPECT_DOUBLE_EQ(*c->days.back().rates.back(), 4.68);
}

TEST(TreasuryYieldCurve, APageThatIsNotTheCurveIsAnError) {
  for (const char* bad : {"<!DOCTYPE html>\n<html><body>Service unavailable</body></html>\n",
                          "Date,\"1 Mo\"\n2025-02-21,4.36\n", "Date,\"1 Mo\"\n02/21/2025,high\n",
                          "Date\n02/21/2025\n", "Tenor,\"1 Mo\"\n02/21/2025,4.36\n",
                          "Date,\"1 Mo\"\n02/21/2025,\"4.36\n"}) {
    auto r = parse_treasury_yield_curve_csv(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << bad;
    EXPECT_TRUE(r.error().message.starts_with("treasury: ")) << r.error().message;
  }
}

// ---- HttpSources against a loopback server ----

// Plays Binance, the IBKR gateway and Alpha Vantage, counting calls and keeping the queries.
class Upstreams {
 public:
  Upstreams() {
    net::Router r;
    r.get("/api/v3/klines", [this](const net::Request& q) {
      ++binance_calls;
      remember("klines", q);
      if (q.query_param("symbol").value_or("") != "BTCUSDT")
        return net::Response::json(fixture("binance_error.json"), 400);
      return net::Response::json(fixture("binance_klines_BTCUSDT_1m.json"));
    });
    r.get("/v1/api/iserver/secdef/search", [this](const net::Request& q) {
      ++search_calls;
      return net::Response::json(q.query_param("symbol").value_or("") == "AAPL"
                                     ? fixture("ibkr_secdef_search_AAPL.json")
                                     : "[]");
    });
    r.get("/v1/api/iserver/marketdata/history", [this](const net::Request& q) {
      ++history_calls;
      remember("history", q);
      return net::Response::json(fixture("ibkr_history_265598_5min.json"));
    });
    r.get("/query", [this](const net::Request&) {
      ++av_calls;
      return net::Response::json(fixture("alphavantage_daily_IBM.json"));
    });
    server = std::move(*net::HttpServer::start(std::move(r), {}));
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
  std::string query(const std::string& route) {
    std::lock_guard lock(mu);
    return queries[route];
  }

  std::unique_ptr<net::HttpServer> server;
  std::atomic<int> binance_calls{0}, search_calls{0}, history_calls{0}, av_calls{0};

 private:
  void remember(const std::string& route, const net::Request& q) {
    std::lock_guard lock(mu);
    queries[route] = std::string(q.query);
  }
  std::mutex mu;
  std::map<std::string, std::string> queries;
};

class HttpSourcesBars : public ::testing::Test {
 protected:
  std::unique_ptr<HttpSources> make(std::vector<std::pair<std::string, std::string>> extra = {}) {
    engine::EngineConfig cfg;
    for (const char* key : {"alphavantage_url", "binance_url"}) cfg.set(key, upstream.url());
    cfg.set("ibkr_url", upstream.url() + "/v1/api");
    cfg.set("alphavantage_per_minute", "600");
    for (auto& [k, v] : extra) cfg.set(k, v);
    auto settings = engine::resolve_settings("marketdata", engine_info().settings, cfg);
    EXPECT_TRUE(settings) << settings.error().message;
    auto pub = bus.publisher("marketdata");
    EXPECT_TRUE(pub);
    auto s = std::make_unique<HttpSources>(*settings, clock, std::move(*pub));
    auto ok = s->validate();
    EXPECT_TRUE(ok) << ok.error().message;
    return s;
  }
  void SetUp() override { ::setenv("ALPHAVANTAGE_API_KEY", "test-key", 1); }

  Upstreams upstream;
  core::RealtimeClock clock;
  bus::MessageBus bus;
};

TEST_F(HttpSourcesBars, BinanceBarsAreSelectedByCloseTimeAndServedFromTheCacheAfterwards) {
  auto sources = make();
  bool cached = true;
  auto bars = sources->bars("binance", "BTCUSDT", 60, at("2024-01-01T00:01:00Z"),
                            at("2024-01-01T00:02:00Z"), &cached);
  ASSERT_TRUE(bars) << bars.error().message;
  EXPECT_FALSE(cached);
  ASSERT_EQ(bars->size(), 2U);  // the fixture's third bar closes at 00:03
  EXPECT_EQ(core::format_timestamp(bars->back().ts_event), "2024-01-01T00:02:00Z");
  // Binance selects by open time: one interval before the first close asked for.
  const std::string q = upstream.query("klines");
  EXPECT_TRUE(contains(q, "interval=1m")) << q;
  EXPECT_TRUE(contains(q, "startTime=1704067200000")) << q;
  EXPECT_TRUE(contains(q, "endTime=1704067260000")) << q;
  auto again = sources->bars("binance", "BTCUSDT", 60, at("2024-01-01T00:01:00Z"),
                             at("2024-01-01T00:02:00Z"), &cached);
  ASSERT_TRUE(again);
  EXPECT_TRUE(cached);
  EXPECT_EQ(upstream.binance_calls.load(), 1);
  auto unknown = sources->bars("binance", "NOPE", 60, 0, at("2024-01-02T00:00:00Z"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(contains(unknown.error().message, "Invalid symbol.")) << unknown.error().message;
}

TEST_F(HttpSourcesBars, IntervalsSourcesAndRangesTheSourcesDoNotOfferAreRefusedWithoutACall) {
  auto sources = make();
  const auto end = at("2024-01-02T00:00:00Z");
  for (auto [source, interval] : {std::pair<const char*, std::uint32_t>{"binance", 7},
                                  {"binance", 2'592'000},
                                  {"ibkr", 7},
                                  {"ibkr", 604'800},
                                  {"alphavantage", 120},
                                  {"yahoo", 60}}) {
    auto r = sources->bars(source, "AAPL", interval, 0, end);
    ASSERT_FALSE(r) << source << " " << interval;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().message;
  }
  auto backwards = sources->bars("binance", "BTCUSDT", 60, end, end - 1);
  ASSERT_FALSE(backwards);
  EXPECT_EQ(backwards.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(sources->bars("binance", "BTC USDT", 60, 0, end));
  EXPECT_EQ(
      upstream.binance_calls.load() + upstream.history_calls.load() + upstream.av_calls.load(), 0);
}

TEST_F(HttpSourcesBars, IbkrBarsResolveTheConidOnceAndAskForThePeriodBackToTheStart) {
  auto sources = make();
  EXPECT_EQ(sources->ibkr_conid("AAPL").value_or(""), "265598");
  auto missing = sources->ibkr_conid("MSFT");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  bool cached = true;
  auto bars = sources->bars("ibkr", "AAPL", 300, at("2024-04-08T13:40:00Z"),
                            at("2024-04-08T13:45:00Z"), &cached);
  ASSERT_TRUE(bars) << bars.error().message;
  EXPECT_FALSE(cached);
  ASSERT_EQ(bars->size(), 2U);
  EXPECT_EQ(core::format_timestamp(bars->front().ts_event), "2024-04-08T13:40:00Z");
  const std::string q = upstream.query("history");
  EXPECT_TRUE(contains(q, "conid=265598")) << q;
  EXPECT_TRUE(contains(q, "bar=5min")) << q;
  // The period reaches from now back past the start: days or weeks for a start in 2024.
  const auto period = q.substr(q.find("period=") + 7, q.find("&bar") - q.find("period=") - 7);
  EXPECT_TRUE(period.ends_with('d') || period.ends_with('w')) << q;
  EXPECT_EQ(upstream.search_calls.load(), 2);  // AAPL once (cached since), MSFT once
  // A range wholly in the future asks nothing.
  auto future = sources->bars("ibkr", "AAPL", 300, clock.now() + 3'600'000'000'000LL,
                              clock.now() + 7'200'000'000'000LL);
  ASSERT_TRUE(future) << future.error().message;
  EXPECT_TRUE(future->empty());
  EXPECT_EQ(upstream.history_calls.load(), 1);
}

TEST_F(HttpSourcesBars, AlphaVantageDailyBarsAndAMissingKey) {
  auto sources = make();
  auto bars = sources->bars("alphavantage", "IBM", 86'400, 0, clock.now());
  ASSERT_TRUE(bars) << bars.error().message;
  EXPECT_EQ(bars->size(), 3U);
  EXPECT_EQ(bars->front().interval_s, 86'400U);
  ::unsetenv("ALPHAVANTAGE_API_KEY");
  auto keyless = make();
  auto none = keyless->bars("alphavantage", "IBM", 86'400, 0, clock.now());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kClosed);
  EXPECT_TRUE(contains(none.error().message, "ALPHAVANTAGE_API_KEY"));
  EXPECT_EQ(upstream.av_calls.load(), 1);
}

// `openssl s_server -WWW` serving a recorded secdef/search under a certificate made for the
// test, as the IBKR gateway serves its own self-signed one.
class SelfSignedGateway {
 public:
  SelfSignedGateway() {
    dir_ = std::filesystem::temp_directory_path() / ("nautilus-ibkr-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "v1/api/iserver/secdef");
    const std::string gen =
        "cd " + dir_.string() +
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1"
        " -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1";
    ok_ = std::system(gen.c_str()) == 0;
    // s_server -WWW maps the whole request target, query included, to a file name.
    std::ofstream(dir_ / "v1/api/iserver/secdef/search?symbol=AAPL")
        << fixture("ibkr_secdef_search_AAPL.json");
    {
      auto probe = net::HttpServer::start(net::Router{}, {});  // a port free a moment ago
      port_ = (*probe)->port();
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      std::filesystem::current_path(dir_);
      const std::string accept = "127.0.0.1:" + std::to_string(port_);
      ::execlp("openssl", "openssl", "s_server", "-accept", accept.c_str(), "-cert", "cert.pem",
               "-key", "key.pem", "-WWW", "-quiet", static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    // Up when it accepts connections.
    bool up = false;
    for (int i = 0; i < 300 && ok_ && !up; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port_);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      up = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(fd);
      if (!up) std::this_thread::sleep_for(10ms);
    }
    ok_ = ok_ && up;
  }
  ~SelfSignedGateway() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }
  bool ok() const { return ok_ && pid_ > 0; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/v1/api"; }
  std::string ca() const { return (dir_ / "cert.pem").string(); }

 private:
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool ok_ = false;
};

TEST_F(HttpSourcesBars, TheIbkrGatewaysSelfSignedCertificateIsTrustedOnlyThroughIbkrCaFile) {
  SelfSignedGateway gateway;
  ASSERT_TRUE(gateway.ok()) << "openssl could not make a certificate or start s_server";
  auto trusted = make({{"ibkr_url", gateway.url()}, {"ibkr_ca_file", gateway.ca()}});
  auto conid = trusted->ibkr_conid("AAPL");
  ASSERT_TRUE(conid) << conid.error().message;
  EXPECT_EQ(*conid, "265598");
  auto untrusted = make({{"ibkr_url", gateway.url()}});
  auto refused = untrusted->ibkr_conid("AAPL");
  ASSERT_FALSE(refused);
  EXPECT_TRUE(contains(refused.error().message, "TLS handshake")) << refused.error().message;
}

TEST_F(HttpSourcesBars, AnUnreadableIbkrCaFileStopsStartUpNamingIt) {
  engine::EngineConfig cfg;
  cfg.set("ibkr_ca_file", "/nonexistent/gateway.pem");
  auto settings = engine::resolve_settings("marketdata", engine_info().settings, cfg);
  ASSERT_TRUE(settings) << settings.error().message;
  HttpSources sources(*settings, clock, std::move(*bus.publisher("marketdata")));
  auto ok = sources.validate();
  ASSERT_FALSE(ok);
  EXPECT_TRUE(contains(ok.error().message, "ibkr_ca_file /nonexistent/gateway.pem"))
      << ok.error().message;
}

}  // namespace
}  // namespace nautilus::marketdata
