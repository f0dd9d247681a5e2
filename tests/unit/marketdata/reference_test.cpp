// The point-in-time reference store: lookups, the CSV schema and its errors, and the mapping
// from SEC company facts (tests/fixtures/marketdata).
#include "nautilus/marketdata/reference.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "nautilus/core/time.hpp"

namespace nautilus::marketdata {
namespace {

namespace fs = std::filesystem;

core::UnixNanos at(std::string_view s) { return *core::parse_timestamp(s); }

ReferenceRecord record(std::string_view symbol, std::string_view as_of, double shares,
                       double book = 1e9) {
  return {core::Symbol::from_trusted(symbol),
          "Information Technology",
          "Technology Hardware, Storage & Peripherals",
          shares,
          book,
          2e9,
          3e8,
          at(as_of)};
}

// A directory of its own per test, removed at the end.
class TempDir {
 public:
  TempDir()
      : path_(fs::temp_directory_path() /
              ("nautilus_reference_" + std::to_string(::getpid()) + "_" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = (path_ / name).string();
    if (name.ends_with(".gz")) {
      gzFile z = gzopen(p.c_str(), "wb");
      gzwrite(z, text.data(), static_cast<unsigned>(text.size()));
      gzclose(z);
    } else {
      std::ofstream(p, std::ios::binary) << text;
    }
    return p;
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

const std::string kHeader = std::string(kReferenceHeader) + "\n";

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(NAUTILUS_SOURCE_DIR) + "/tests/fixtures/marketdata/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ReferenceStore, AnswersWithTheLastRecordKnownAtTheTime) {
  ReferenceStore store;
  ASSERT_TRUE(store.add(record("AAPL", "2024-02-02", 300)));
  ASSERT_TRUE(store.add(record("AAPL", "2023-11-03", 100)));  // added out of order
  ASSERT_TRUE(store.add(record("AAPL", "2024-05-03T20:30:00Z", 200)));
  ASSERT_TRUE(store.add(record("MSFT", "2023-10-24", 7)));
  const auto aapl = core::Symbol::from_trusted("AAPL");

  // Before the first filing nothing was known: a backtest must not see it.
  EXPECT_FALSE(store.lookup(aapl, at("2023-11-02T23:59:59Z")));
  EXPECT_EQ(store.lookup(aapl, at("2023-11-03"))->shares_outstanding, 100);
  EXPECT_EQ(store.lookup(aapl, at("2024-02-01T21:00:00Z"))->shares_outstanding, 100);
  EXPECT_EQ(store.lookup(aapl, at("2024-02-02T21:00:00Z"))->shares_outstanding, 300);
  EXPECT_EQ(store.lookup(aapl, at("2024-05-03T20:29:59Z"))->shares_outstanding, 300);
  EXPECT_EQ(store.lookup(aapl, at("2030-01-01"))->shares_outstanding, 200);
  EXPECT_FALSE(store.lookup(core::Symbol::from_trusted("NVDA"), at("2030-01-01")));

  EXPECT_EQ(store.size(), 4U);
  const auto symbols = store.symbols();
  ASSERT_EQ(symbols.size(), 2U);
  EXPECT_EQ(symbols[0].value(), "AAPL");
  EXPECT_EQ(symbols[1].value(), "MSFT");
  const auto h = store.history(aapl);
  ASSERT_EQ(h.size(), 3U);
  EXPECT_TRUE(h[0].as_of < h[1].as_of && h[1].as_of < h[2].as_of);
}

TEST(ReferenceStore, LoadsPlainAndGzipFilesInAnyOrderWithQuotedText) {
  TempDir dir;
  const auto plain = dir.write(
      "a.csv", kHeader + "# comments and blank lines are skipped\n\n" +
                   "2024-02-02,AAPL,Information Technology,\"Technology Hardware, Storage & "
                   "Peripherals\",15441881000,74100000000,385706000000,116433000000\r\n"
                   "2023-11-03 ,AAPL, Information Technology ,\"Say \"\"hi\"\"\",15552752000,"
                   "62146000000,383285000000,110543000000\n");
  const auto gz = dir.write("b.csv.gz", kHeader +
                                            "2023-10-24T20:05:00Z,MSFT,Information Technology,"
                                            "Software,7429763722,-1.5,211915000000,87582000000\n");
  ReferenceStore store;
  auto n = store.load({plain, gz});
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 3U);
  const auto aapl = store.history(core::Symbol::from_trusted("AAPL"));
  ASSERT_EQ(aapl.size(), 2U);
  EXPECT_EQ(aapl[0].as_of, at("2023-11-03"));
  EXPECT_EQ(aapl[0].sector, "Information Technology");
  EXPECT_EQ(aapl[0].industry, "Say \"hi\"");
  EXPECT_EQ(aapl[1].industry, "Technology Hardware, Storage & Peripherals");
  EXPECT_EQ(aapl[1].shares_outstanding, 15441881000.0);
  EXPECT_EQ(aapl[1].operating_cash_flow, 116433000000.0);
  const auto msft = store.lookup(core::Symbol::from_trusted("MSFT"), at("2023-10-24T21:00:00Z"));
  ASSERT_TRUE(msft);
  EXPECT_EQ(msft->book_value, -1.5);  // a deficit is a valid book value
  EXPECT_FALSE(store.lookup(core::Symbol::from_trusted("MSFT"), at("2023-10-24T20:00:00Z")));
}

TEST(ReferenceStore, ReadsBackExactlyWhatItsWriterWrote) {
  TempDir dir;
  std::vector<ReferenceRecord> records = {record("AAPL", "2023-11-03", 15552752000, 0.1 + 0.2),
                                          record("AAPL", "2024-02-02T21:00:00.5Z", 1.0 / 3),
                                          record("BRK.B", "2024-02-26", 2.2e9, -123456.789)};
  records[2].industry = "Insurance \"P&C\", reinsurance";
  for (const auto* name : {"r.csv", "r.csv.gz"}) {
    ASSERT_TRUE(write_reference(dir.file(name), records));
    ReferenceStore store;
    ASSERT_TRUE(store.load({dir.file(name)}));
    ASSERT_EQ(store.size(), records.size());
    for (const auto& r : records) {
      const auto back = store.lookup(r.symbol, r.as_of);
      ASSERT_TRUE(back) << r.symbol.value();
      EXPECT_EQ(*back, r) << name << " " << format_reference_row(r);
    }
  }
  EXPECT_TRUE(format_reference_row(records[0]).starts_with("2023-11-03,AAPL,"));
  EXPECT_TRUE(format_reference_row(records[1]).starts_with("2024-02-02T21:00:00.500Z,AAPL,"));
}

TEST(ReferenceStore, RefusesMalformedRowsNamingFileLineAndColumn) {
  TempDir dir;
  const std::string good = "2024-02-02,AAPL,Information Technology,Software,1000,2000,3000,-4000\n";
  const std::string long_text(48, 'x');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"2024-13-02,AAPL,IT,Software,1,2,3,4", ":3: column 'as_of'"},
      {"2024-02-03,AA PL,IT,Software,1,2,3,4", ":3: column 'symbol'"},
      {"2024-02-03,AAPL," + long_text + ",Software,1,2,3,4",
       ":3: column 'sector': '" + long_text + "' is longer than 47 bytes"},
      {"2024-02-03,AAPL,IT," + long_text + ",1,2,3,4", ":3: column 'industry'"},
      {"2024-02-03,AAPL,IT,Software,1e9,2,3,4", ":3: column 'shares_outstanding': '1e9' is not"},
      {"2024-02-03,AAPL,IT,Software,0,2,3,4", ":3: column 'shares_outstanding': 0 must be > 0"},
      {"2024-02-03,AAPL,IT,Software,1,nan,3,4", ":3: column 'book_value': 'nan' is not a decimal"},
      {"2024-02-03,AAPL,IT,Software,1,2,-3,4", ":3: column 'sales': -3 must be >= 0"},
      {"2024-02-03,AAPL,IT,Software,1,2,3,", ":3: column 'operating_cash_flow': '' is not"},
      {"2024-02-03,AAPL,IT,Software,1,2,3", ":3: expected 8 columns, found 7"},
      {"2024-02-03,AAPL,\"IT,Software,1,2,3,4", ":3: cell 3 has an opening quote without"},
      {"2024-02-03,AAPL,\"IT\"x,Software,1,2,3,4", ":3: cell 3 has text after its closing quote"},
      {std::string(5000, '1'), ":3: line longer than 4094 bytes"},
  };
  for (const auto& [row, want] : cases) {
    const auto path = dir.write("bad.csv", kHeader + good + row + "\n");
    ReferenceStore store;
    const auto r = store.load({path});
    ASSERT_FALSE(r) << row;
    EXPECT_NE(r.error().message.find(path + want), std::string::npos)
        << r.error().message << "\nwant: " << want;
    EXPECT_EQ(store.size(), 0U);  // nothing of a failed load is kept
  }
  ReferenceStore store;
  const auto header = dir.write("header.csv", "ts,symbol,open,high,low,close,volume\n");
  auto r = store.load({header});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(header + ":1: unknown header 'ts,symbol"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find(std::string(kReferenceHeader)), std::string::npos);
  const auto empty = dir.write("empty.csv", "");
  r = store.load({empty});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, empty + ": empty file");
  r = store.load({dir.file("missing.csv")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, dir.file("missing.csv") + ": cannot open");
  EXPECT_EQ(r.error().code, core::ErrorCode::kIo);
}

TEST(ReferenceStore, RefusesTheSameSymbolTwiceAtOneTimeNamingBothRows) {
  TempDir dir;
  const auto a = dir.write("a.csv", kHeader + "2024-02-02,AAPL,IT,Software,1,2,3,4\n" +
                                        "2024-02-03,AAPL,IT,Software,1,2,3,4\n");
  const auto b = dir.write("b.csv", kHeader + "2024-02-02T00:00:00Z,AAPL,IT,Software,5,6,7,8\n");
  ReferenceStore store;
  auto r = store.load({a, b});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kAlreadyExists);
  EXPECT_NE(r.error().message.find(b + ":2: duplicate record for AAPL as of 2024-02-02 (first at " +
                                   a + ":2)"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(store.size(), 0U);

  ASSERT_TRUE(store.load({a}));
  r = store.load({b});  // against what an earlier load brought
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("already in the store"), std::string::npos);
  EXPECT_EQ(store.size(), 2U);
  const auto again = store.add(record("AAPL", "2024-02-03", 9));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, core::ErrorCode::kAlreadyExists);
  EXPECT_EQ(store.size(), 2U);
}

TEST(ReferenceStore, AddRefusesRecordsNoFileCouldHold) {
  ReferenceStore store;
  auto r = record("AAPL", "2024-02-02", 0);
  auto e = store.add(r);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(e.error().message.find("column 'shares_outstanding'"), std::string::npos);
  r = record("AAPL", "2024-02-02", 1);
  r.sector = std::string(kMaxReferenceText + 1, 's');
  EXPECT_FALSE(store.add(r));
  r = record("AAPL", "2024-02-02", 1);
  r.industry = "two\nlines";
  EXPECT_FALSE(store.add(r));
  r = record("AAPL", "2024-02-02", 1);
  r.sales = std::nan("");
  EXPECT_FALSE(store.add(r));
  r = record("AAPL", "2024-02-02", 1);
  r.symbol = core::Symbol();
  EXPECT_FALSE(store.add(r));
  EXPECT_EQ(store.size(), 0U);
}

TEST(ReferenceStore, ManyThreadsLookUpAfterLoadingAndAgree) {
  ReferenceStore store;
  const std::vector<std::string> names = {"AAA", "BBB", "CCC", "DDD"};
  core::UnixNanos day = at("2023-01-02");
  for (int q = 0; q < 40; ++q) {
    for (std::size_t s = 0; s < names.size(); ++s) {
      ASSERT_TRUE(
          store.add(record(names[s], core::format_timestamp(day + q * 90 * 86'400'000'000'000LL),
                           1 + q * 10 + static_cast<double>(s))));
    }
  }
  const ReferenceStore& shared = store;
  auto sweep = [&] {
    double sum = 0;
    for (int k = 0; k < 2000; ++k) {
      for (const auto& n : names) {
        if (auto r =
                shared.lookup(core::Symbol::from_trusted(n), day + k * 2 * 86'400'000'000'000LL))
          sum += r->shares_outstanding;
      }
    }
    return sum;
  };
  const double want = sweep();
  EXPECT_GT(want, 0);
  std::vector<double> got(4);
  std::vector<std::thread> threads;
  for (auto& g : got) threads.emplace_back([&g, &sweep] { g = sweep(); });
  for (auto& t : threads) t.join();
  for (const double g : got) EXPECT_EQ(g, want);
}

TEST(EdgarReference, KeysRecordsByFilingDateWithTheLatestKnownValueOfEachField) {
  // Apple's 10-K for fiscal 2022 and 2023 and the three 10-Qs between (the fixture's README).
  auto facts = parse_edgar_companyfacts(
      fixture("edgar_companyfacts_CIK0000320193_fundamentals.json"), edgar_reference_concepts());
  ASSERT_TRUE(facts) << facts.error().message;
  const auto aapl = core::Symbol::from_trusted("AAPL");
  auto records = reference_from_edgar(*facts, aapl, "Information Technology",
                                      "Technology Hardware, Storage & Peripherals");
  ASSERT_TRUE(records) << records.error().message;
  // 2018's revenue alone makes no record: equity and cash flow were not known yet. From the
  // fiscal 2022 10-K on, one record per filing.
  ASSERT_EQ(records->size(), 5U);
  const std::vector<std::string> filed = {"2022-10-28", "2023-02-03", "2023-05-05", "2023-08-04",
                                          "2023-11-03"};
  for (std::size_t k = 0; k < filed.size(); ++k) {
    EXPECT_EQ((*records)[k].as_of, at(filed[k])) << k;
    EXPECT_EQ((*records)[k].symbol, aapl);
    EXPECT_EQ((*records)[k].industry, "Technology Hardware, Storage & Peripherals");
  }
  const auto& first = records->front();
  EXPECT_EQ(first.shares_outstanding, 15908118000.0);
  EXPECT_EQ(first.book_value, 50672000000.0);  // 2022-09-24, not the comparative 2021 year end
  EXPECT_EQ(first.sales, 394328000000.0);      // fiscal 2022, not fiscal 2021 beside it
  EXPECT_EQ(first.operating_cash_flow, 122151000000.0);
  // A 10-Q moves shares and equity; its quarterly and year-to-date flows are not annual.
  const auto& q1 = (*records)[1];
  EXPECT_EQ(q1.shares_outstanding, 15821946000.0);
  EXPECT_EQ(q1.book_value, 56727000000.0);
  EXPECT_EQ(q1.sales, 394328000000.0);
  EXPECT_EQ(q1.operating_cash_flow, 122151000000.0);
  const auto& last = records->back();
  EXPECT_EQ(last.shares_outstanding, 15552752000.0);
  EXPECT_EQ(last.book_value, 62146000000.0);
  EXPECT_EQ(last.sales, 383285000000.0);  // the year, not the fourth quarter filed beside it
  EXPECT_EQ(last.operating_cash_flow, 110543000000.0);

  // Loaded into a store, a backtest on the eve of the 10-K sees the third quarter's 10-Q.
  ReferenceStore store;
  for (auto& r : *records) ASSERT_TRUE(store.add(r));
  EXPECT_EQ(store.lookup(aapl, at("2023-11-02T21:00:00Z"))->book_value, 60274000000.0);
  EXPECT_FALSE(store.lookup(aapl, at("2022-10-27T21:00:00Z")));
}

TEST(EdgarReference, AnOlderPeriodFiledLaterDoesNotReplaceANewerOne) {
  CompanyFacts facts{.cik = 1, .entity = "Example Corp"};
  auto fact = [](std::string taxonomy, std::string name, std::string unit, std::string end,
                 std::string form, std::string filed, double v) {
    std::string fp = form == "10-K" ? "FY" : "Q1";
    return Fact{std::move(taxonomy),
                std::move(name),
                std::move(unit),
                std::move(end),
                std::move(form),
                std::move(filed),
                std::move(fp),
                2023,
                v};
  };
  facts.facts = {
      fact("dei", "EntityCommonStockSharesOutstanding", "shares", "2023-02-01", "10-K",
           "2023-02-20", 1000),
      fact("us-gaap", "StockholdersEquity", "USD", "2022-12-31", "10-K", "2023-02-20", 50),
      fact("us-gaap", "Revenues", "USD", "2022-12-31", "10-K", "2023-02-20", 400),
      fact("us-gaap", "NetCashProvidedByUsedInOperatingActivities", "USD", "2022-12-31", "10-K",
           "2023-02-20", -30),
      fact("us-gaap", "StockholdersEquity", "USD", "2023-03-31", "10-Q", "2023-05-01", 55),
      // A late 10-Q about 2022's third quarter: older than the equity already known.
      fact("us-gaap", "StockholdersEquity", "USD", "2022-09-30", "10-Q", "2023-06-01", 45),
      // Other forms and units are not read.
      fact("us-gaap", "StockholdersEquity", "USD", "2023-06-30", "8-K", "2023-07-01", 99),
      fact("us-gaap", "StockholdersEquity", "EUR", "2023-06-30", "10-Q", "2023-07-02", 98),
  };
  auto records =
      reference_from_edgar(facts, core::Symbol::from_trusted("EXC"), "Industrials", "Machinery");
  ASSERT_TRUE(records) << records.error().message;
  // The late 10-Q changes nothing, so it makes no record.
  ASSERT_EQ(records->size(), 2U);
  EXPECT_EQ((*records)[0].as_of, at("2023-02-20"));
  EXPECT_EQ((*records)[0].book_value, 50);
  EXPECT_EQ((*records)[0].operating_cash_flow, -30);
  EXPECT_EQ((*records)[1].as_of, at("2023-05-01"));
  EXPECT_EQ((*records)[1].book_value, 55);
}

TEST(EdgarReference, NamesTheConceptsACompanyLacks) {
  // The first fixture is trimmed to shares, revenue (2018) and net income.
  auto facts = parse_edgar_companyfacts(fixture("edgar_companyfacts_CIK0000320193.json"),
                                        edgar_reference_concepts());
  ASSERT_TRUE(facts) << facts.error().message;
  auto r = reference_from_edgar(*facts, core::Symbol::from_trusted("AAPL"), "IT", "Hardware");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message,
            "edgar: Apple Inc. (CIK 320193) has no us-gaap:StockholdersEquity, "
            "us-gaap:NetCashProvidedByUsedInOperatingActivities facts for reference data");
  auto long_sector = reference_from_edgar(*facts, core::Symbol::from_trusted("AAPL"),
                                          std::string(48, 'x'), "Hardware");
  ASSERT_FALSE(long_sector);
  EXPECT_EQ(long_sector.error().code, core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace nautilus::marketdata
