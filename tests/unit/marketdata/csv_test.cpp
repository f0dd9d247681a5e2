// The CSV reader: the documented schemas, gzip, and every rejected row naming file and line.
#include "nautilus/marketdata/csv.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "nautilus/marketdata/replay.hpp"

namespace nautilus::marketdata {
namespace {

class CsvTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const auto p = dir_ / name;
    if (name.ends_with(".gz")) {
      gzFile f = gzopen(p.c_str(), "wb");
      gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
      gzclose(f);
    } else {
      std::ofstream(p) << text;
    }
    return p.string();
  }
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("nautilus_csv_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string error_of(const std::string& path) {
    auto r = CsvReader::open(path);
    if (!r) return r.error().message;
    while (true) {
      auto rec = r->next();
      if (!rec) return rec.error().message;
      if (!*rec) return "";
    }
  }

  std::filesystem::path dir_;
};

TEST_F(CsvTest, ReadsBarsTradesAndQuotes) {
  auto bars = CsvReader::open(write("b.csv",
                                    "ts,symbol,open,high,low,close,volume\n"
                                    "2026-01-05T14:31:00Z,AAPL,10.5,11,10,10.75,1200\n"));
  ASSERT_TRUE(bars) << bars.error().message;
  EXPECT_EQ(bars->kind(), RecordKind::kBar);
  auto b = bars->next();
  ASSERT_TRUE(b && *b);
  const auto& bar = std::get<model::Bar>(**b);
  EXPECT_EQ(bar.symbol.value(), "AAPL");
  EXPECT_EQ(bar.close.to_string(), "10.75");
  EXPECT_EQ(bar.ts_event, 1'767'623'460'000'000'000);
  EXPECT_EQ(bar.interval_s, 60U);
  EXPECT_FALSE(*bars->next());

  auto trades = CsvReader::open(write("t.csv.gz",
                                      "ts,symbol,price,size,side,trade_id\n"
                                      "1767623460000000000,MSFT,401.07,100,B,7\n"
                                      "1767623460000000001,MSFT,401.05,300,S,8\n"));
  ASSERT_TRUE(trades) << trades.error().message;
  auto t = trades->next();
  ASSERT_TRUE(t && *t);
  EXPECT_EQ(std::get<model::TradeTick>(**t).aggressor, model::AggressorSide::kBuyer);
  EXPECT_EQ(std::get<model::TradeTick>(**t).trade_id, 7U);

  auto quotes = CsvReader::open(write("q.csv",
                                      "ts,symbol,bid,ask,bid_size,ask_size\r\n"
                                      "2026-01-05 14:31:00.250,SPY,500.01,500.02,300,200\r\n"));
  ASSERT_TRUE(quotes) << quotes.error().message;
  auto q = quotes->next();
  ASSERT_TRUE(q && *q) << (q ? "" : q.error().message);
  EXPECT_EQ(std::get<model::QuoteTick>(**q).ts_event, 1'767'623'460'250'000'000);
}

TEST_F(CsvTest, RejectsBadRowsWithFileLineAndColumn) {
  const std::string head = "ts,symbol,open,high,low,close,volume\n";
  const std::string ok = "2026-01-05T14:31:00Z,AAPL,10,11,9,10,5\n";
  struct Case {
    std::string row, expect;
  };
  const Case cases[] = {
      {"2026-01-05T14:32:00Z,AAPL,abc,11,9,10,5\n", "column 'open'"},
      {"2026-01-05T14:32:00Z,AAPL,10,11,9,10\n", "expected 7 columns, found 6"},
      {"2026-13-05T14:32:00Z,AAPL,10,11,9,10,5\n", "bad timestamp"},
      {"2026-01-05T14:32:00Z,AAPL,10,9,11,10,5\n", "low <= open, close <= high"},
      {"2026-01-05T14:32:00Z,AAPL,10,11,9,10,-5\n", "column 'volume'"},
      {"2026-01-05T14:30:00Z,AAPL,10,11,9,10,5\n", "earlier than the row before"},
      {"2026-01-05T14:32:00Z,,10,11,9,10,5\n", "column 'symbol'"},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string path = write("bad" + std::to_string(i++) + ".csv", head + ok + c.row);
    const std::string err = error_of(path);
    EXPECT_NE(err.find(path + ":3:"), std::string::npos) << err;
    EXPECT_NE(err.find(c.expect), std::string::npos) << err;
  }
  EXPECT_NE(error_of(write("trade.csv", "ts,symbol,price,size,side\n2026-01-05,X,1,1,Q\n"))
                .find(":2: column 'side'"),
            std::string::npos);
  EXPECT_NE(error_of(write("crossed.csv",
                           "ts,symbol,bid,ask,bid_size,ask_size\n"
                           "2026-01-05,X,2,1,1,1\n"))
                .find("crossed"),
            std::string::npos);
}

TEST_F(CsvTest, RejectsUnknownHeadersMissingAndEmptyFiles) {
  EXPECT_NE(error_of(write("h.csv", "time,sym,px\n")).find(":1: unknown header"),
            std::string::npos);
  EXPECT_NE(error_of(write("e.csv", "")).find("empty file"), std::string::npos);
  EXPECT_NE(error_of((dir_ / "missing.csv").string()).find("cannot open"), std::string::npos);
}

// A recorded bus stream (JSON lines as `nautilus replay` prints them): its bars, trades and
// quotes are records, its other messages skipped, and a bad line is named by file and line.
TEST_F(CsvTest, ARecordedStreamsMarketMessagesAreRecordsAndItsOthersAreSkipped) {
  const std::string bar =
      R"({"v":1,"topic":"market_data.AAPL.bar","type":"bar","payload":{"symbol":"AAPL",)"
      R"("open":"10.5","high":"11","low":"10","close":"10.75","volume":"1200","interval_s":60,)"
      R"("ts_event":1767623460000000000}})";
  const std::string feature =
      R"({"v":1,"topic":"features.AAPL","type":"feature_update","payload":{"symbol":"AAPL"}})";
  const std::string trade =
      R"({"v":1,"topic":"market_data.AAPL.trade","type":"trade_tick","payload":{"symbol":)"
      R"("AAPL","price":"10.8","size":"200","aggressor":"seller","trade_id":7,)"
      R"("ts_event":1767623461000000000}})";
  // `nautilus replay` prints each envelope inside {"stream", "id", "envelope"}.
  const std::string replayed =
      R"({"stream":"nautilus:market_data","id":"1-0","envelope":)" + trade + "}";
  for (const char* name : {"rec.jsonl", "rec.jsonl.gz", "replayed.jsonl"}) {
    const bool wrapped = std::string_view(name) == "replayed.jsonl";
    auto r = CsvReader::open(
        write(name, bar + "\n" + feature + "\n" + (wrapped ? replayed : trade) + "\n"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->kind(), RecordKind::kRecorded);
    auto a = r->next();
    ASSERT_TRUE(a && *a) << (a ? "" : a.error().message);
    const auto& b = std::get<model::Bar>(**a);
    EXPECT_EQ(b.close.to_string(), "10.75");
    EXPECT_EQ(b.ts_event, 1'767'623'460'000'000'000);
    auto t = r->next();
    ASSERT_TRUE(t && *t);
    const auto& tick = std::get<model::TradeTick>(**t);
    EXPECT_EQ(tick.aggressor, model::AggressorSide::kSeller);
    EXPECT_EQ(tick.trade_id, 7U);
    EXPECT_EQ(r->line(), 3U);
    auto end = r->next();
    ASSERT_TRUE(end);
    EXPECT_FALSE(*end);
  }
  const auto bad = [&](const std::string& line, const std::string& expect) {
    const std::string path = write("bad.jsonl", bar + "\n" + line + "\n");
    const std::string err = error_of(path);
    EXPECT_NE(err.find(path + ":2:"), std::string::npos) << err;
    EXPECT_NE(err.find(expect), std::string::npos) << err;
  };
  bad("not json", "not a JSON object");
  bad(R"({"type":"bar","payload":{"symbol":"AAPL"}})", "payload.open: missing");
  bad(R"({"type":"trade_tick","payload":{"symbol":"AAPL","price":"x","size":"1",)"
      R"("aggressor":"seller","trade_id":1,"ts_event":1767623461000000000}})",
      "payload.price");
  bad(R"({"type":"trade_tick","payload":{"symbol":"AAPL","price":"1","size":"1",)"
      R"("aggressor":"sideways","trade_id":1,"ts_event":1767623461000000000}})",
      "'sideways' is not a known name");
  bad(R"({"type":"bar","payload":{"symbol":"AAPL","open":"10","high":"9","low":"8",)"
      R"("close":"9","volume":"1","interval_s":60,"ts_event":1767623470000000000}})",
      "low <= open, close <= high");
  bad(R"({"type":"bar","payload":{"symbol":"AAPL","open":"10","high":"11","low":"9",)"
      R"("close":"10","volume":"1","interval_s":60,"ts_event":1767620000000000000}})",
      "earlier than the row before");
}

TEST_F(CsvTest, ReplayMergesFilesInTimeOrder) {
  const auto bars = write("b.csv",
                          "ts,symbol,open,high,low,close,volume\n"
                          "2026-01-05T14:31:00Z,A,1,1,1,1,1\n"
                          "2026-01-05T14:32:00Z,A,1,1,1,1,1\n");
  const auto trades = write("t.csv",
                            "ts,symbol,price,size,side\n"
                            "2026-01-05T14:30:30Z,A,1,1,B\n"
                            "2026-01-05T14:31:30Z,A,1,1,S\n"
                            "2026-01-05T14:33:00Z,A,1,1,S\n");
  auto r = ReplaySource::open({bars, trades});
  ASSERT_TRUE(r);
  std::vector<core::UnixNanos> ts;
  std::vector<std::size_t> kinds;
  while (true) {
    auto rec = r->next();
    ASSERT_TRUE(rec);
    if (!*rec) break;
    ts.push_back(record_ts(**rec));
    kinds.push_back((*rec)->index());
  }
  EXPECT_TRUE(std::is_sorted(ts.begin(), ts.end()));
  EXPECT_EQ(kinds, (std::vector<std::size_t>{1, 0, 1, 0, 1}));
}

}  // namespace
}  // namespace nautilus::marketdata
