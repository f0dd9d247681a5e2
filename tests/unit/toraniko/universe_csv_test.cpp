// The universe file reader (universe_csv.hpp): what it accepts, and an error naming the file,
// the line and the column for what it does not.
#include "nautilus/engines/toraniko/universe_csv.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace nautilus::toraniko {
namespace {

namespace fs = std::filesystem;

class UniverseCsv : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("nautilus_toraniko_csv_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    if (name.ends_with(".gz")) {
      gzFile z = gzopen(path.c_str(), "wb");
      gzwrite(z, text.data(), static_cast<unsigned>(text.size()));
      gzclose(z);
    } else {
      std::ofstream(path) << text;
    }
    return path;
  }
  std::string error_of(const std::string& text, const UniverseCsvOptions& o = {}) {
    const std::string path = write("bad.csv", text);
    auto u = read_universe_csv(path, o);
    return u ? std::string("no error") : u.error().message;
  }
  fs::path dir_;
};

constexpr std::string_view kHeader = "date,symbol,return,market_cap,sector\n";

TEST_F(UniverseCsv, RowsInAnyOrderAreGroupedByDateAndSortedBySymbol) {
  const std::string text =
      "date,symbol,return,market_cap,sector,book_price,sales_price,cf_price\n"
      "2024-01-03,BBB,0.02,2e9,Energy,0.5,0.7,0.04\n"
      "2024-01-02,CCC,-0.01,3e9,Utilities,0.4,0.6,0.05\n"
      "2024-01-02,AAA,0.01,1e9,Energy,0.3,0.8,0.06\n"
      "2024-01-03,AAA,,1e9,Energy,0.3,0.8,0.06\n";
  for (const char* name : {"u.csv", "u.csv.gz"}) {
    auto u = read_universe_csv(write(name, text), {});
    ASSERT_TRUE(u) << u.error().message;
    EXPECT_TRUE(u->value);
    EXPECT_TRUE(u->given_styles.empty());
    EXPECT_EQ(u->sectors, (std::vector<std::string>{"Energy", "Utilities"}));
    ASSERT_EQ(u->dates.size(), 2U);
    EXPECT_EQ(u->dates[0].date, "2024-01-02");
    ASSERT_EQ(u->dates[0].rows.size(), 2U);
    EXPECT_EQ(u->dates[0].rows[0].symbol, "AAA");
    EXPECT_EQ(u->dates[0].rows[1].symbol, "CCC");
    EXPECT_EQ(u->dates[0].rows[1].sector, 1);
    EXPECT_EQ(u->dates[0].rows[1].cf_price, 0.05);
    // AAA's empty return on 2024-01-03 is missing, not 0: the row is skipped.
    ASSERT_EQ(u->dates[1].rows.size(), 1U);
    EXPECT_EQ(u->dates[1].rows[0].symbol, "BBB");
    EXPECT_EQ(u->rows, 3U);
    EXPECT_EQ(u->missing_rows, 1U);
  }
}

TEST_F(UniverseCsv, StyleColumnsAreGivenStyles) {
  auto u = read_universe_csv(write("s.csv",
                                   "date,symbol,return,market_cap,sector,mom,sze,val\n"
                                   "d1,AAA,0.01,1e9,Energy,0.5,-1.25,0.75\n"
                                   "d1,AAB,0.01,1e9,Energy,0.5,-1.25,NaN\n"),
                             {});
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->given_styles, (std::vector<std::string>{"mom", "sze", "val"}));
  EXPECT_FALSE(u->value);
  ASSERT_EQ(u->dates.size(), 1U);
  ASSERT_EQ(u->dates[0].rows.size(), 1U);  // AAB's NaN val: skipped
  const auto& styles = u->dates[0].rows[0].styles;
  ASSERT_EQ(styles.size(), 3U);
  EXPECT_EQ(styles[1], -1.25);
  EXPECT_EQ(u->missing_rows, 1U);
  EXPECT_EQ(u->model_config({}).given_styles.size(), 3U);
}

TEST_F(UniverseCsv, BadCellsAreErrorsNamingFileLineAndColumn) {
  const std::string h(kHeader);
  EXPECT_NE(error_of(h + "d1,AAA,0.01,1e9,Energy\nd1,BBB,abc,1e9,Energy\n")
                .find("bad.csv:3: column 'return': 'abc' is not a number"),
            std::string::npos);
  EXPECT_NE(error_of(h + "d1,AAA,0.01,-4,Energy\n")
                .find("bad.csv:2: column 'market_cap': -4 is not positive"),
            std::string::npos);
  EXPECT_NE(error_of(h + "d1,AAA,0.01,0,Energy\n").find("column 'market_cap': 0 is not positive"),
            std::string::npos);
  EXPECT_NE(error_of(h + "d1,AAA,0.01,1e9,\n").find("bad.csv:2: column 'sector': empty"),
            std::string::npos);
  EXPECT_NE(error_of(h + "d1,AAA,0.01,1e9,Energy\nd1,AAA,0.02,1e9,Energy\n")
                .find("bad.csv:3: AAA on d1 again (first on line 2)"),
            std::string::npos);
  EXPECT_NE(error_of(h + "d1,AAA,0.01,1e9,Energy,7\n").find("bad.csv:2: more than 5 fields"),
            std::string::npos);
  EXPECT_NE(error_of(h + "d1,AAA,0.01,1e9\n").find("bad.csv:2: 4 fields, want 5"),
            std::string::npos);
  EXPECT_NE(error_of(h + "d1,AAA,inf,1e9,Energy\n").find("'inf' is not a number"),
            std::string::npos);
  EXPECT_NE(error_of(h + "d1,AAA,0.01,1e9,Energy\n", {.sectors = {"Financials"}})
                .find("bad.csv:2: column 'sector': 'Energy' is not one of the 1 sectors given"),
            std::string::npos);
}

TEST_F(UniverseCsv, BadHeadersAreErrors) {
  EXPECT_NE(error_of("date,symbol,return,market_cap,sector,beta\n")
                .find("bad.csv:1: unknown column 'beta'"),
            std::string::npos);
  EXPECT_NE(error_of("date,symbol,return,sector\n").find("bad.csv:1: no 'market_cap' column"),
            std::string::npos);
  EXPECT_NE(error_of("date,symbol,return,market_cap,sector,book_price\n")
                .find("value needs all of book_price, sales_price and cf_price"),
            std::string::npos);
  EXPECT_NE(error_of("date,symbol,return,market_cap,sector,date\n").find("column 'date' twice"),
            std::string::npos);
  EXPECT_NE(error_of("").find("bad.csv: empty file"), std::string::npos);
  auto missing = read_universe_csv((dir_ / "nope.csv").string(), {});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope.csv: cannot open"), std::string::npos);
}

TEST_F(UniverseCsv, GivenSectorsKeepTheirOrder) {
  auto u = read_universe_csv(write("g.csv", std::string(kHeader) + "d1,AAA,0.01,1e9,Energy\n"),
                             {.sectors = {"Utilities", "Energy"}});
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->sectors, (std::vector<std::string>{"Utilities", "Energy"}));
  EXPECT_EQ(u->dates[0].rows[0].sector, 1);
}

}  // namespace
}  // namespace nautilus::toraniko
