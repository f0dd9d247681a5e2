// The returns file reader (returns_csv.hpp): what it accepts, an error naming the file, the line
// and the column for what it does not, and a benchmark lined up on the returns' dates.
#include "nautilus/engines/analytics/returns_csv.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace nautilus::analytics {
namespace {

namespace fs = std::filesystem;
namespace chr = std::chrono;

Date day(int y, unsigned m, unsigned d) { return chr::sys_days(chr::year(y) / m / d); }

class ReturnsCsv : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("nautilus_returns_csv_" + std::to_string(::getpid()) + "_" +
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
      std::ofstream(path, std::ios::binary) << text;
    }
    return path;
  }
  // The message, with the temporary directory replaced by "DIR".
  std::string error_of(const std::string& text) {
    const std::string path = write("bad.csv", text);
    auto f = read_returns_csv(path);
    if (f) return "no error";
    EXPECT_EQ(f.error().code, core::ErrorCode::kParse);
    std::string m = f.error().message;
    const std::string dir = dir_.string();
    if (m.starts_with(dir)) m.replace(0, dir.size(), "DIR");
    return m;
  }
  fs::path dir_;
};

TEST_F(ReturnsCsv, ReadsDatesAndReturnsPlainOrGzip) {
  // Columns in any order, an extra one ignored, quotes, CRLF, a blank line, a missing return.
  const std::string text =
      "\xEF\xBB\xBF"  // a byte-order mark
      "equity,\"return\",date\r\n"
      "100,0.01,2024-01-02\r\n"
      "101,,2024-01-03\r\n"
      "\r\n"
      "99,-2.5e-3,\"2024-01-05\"\r\n"
      "98,NaN,2024-01-08\r\n";
  for (const char* name : {"r.csv", "r.csv.gz"}) {
    auto f = read_returns_csv(write(name, text));
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_EQ(f->dates, (std::vector<Date>{day(2024, 1, 2), day(2024, 1, 3), day(2024, 1, 5),
                                           day(2024, 1, 8)}));
    ASSERT_EQ(f->returns.size(), 4U);
    EXPECT_EQ(f->returns[0], 0.01);
    EXPECT_TRUE(std::isnan(f->returns[1]));
    EXPECT_EQ(f->returns[2], -2.5e-3);
    EXPECT_TRUE(std::isnan(f->returns[3]));
  }
}

TEST_F(ReturnsCsv, EveryRejectedCellNamesTheFileLineAndColumn) {
  EXPECT_EQ(error_of(""), "DIR/bad.csv: empty file");
  EXPECT_EQ(error_of("date,ret\n2024-01-02,0.1\n"),
            "DIR/bad.csv:1: no 'return' column (the header must name date and return)");
  EXPECT_EQ(error_of("date,return,date\n"), "DIR/bad.csv:1: column 'date' twice");
  EXPECT_EQ(error_of("date,return\n2024-01-02,0.1\n2024-01-03,abc\n"),
            "DIR/bad.csv:3: column 'return': 'abc' is not a number");
  EXPECT_EQ(error_of("date,return\n2024-01-02,0.1x\n"),
            "DIR/bad.csv:2: column 'return': '0.1x' is not a number");
  EXPECT_EQ(error_of("date,return\n2024-01-02,inf\n"),
            "DIR/bad.csv:2: column 'return': 'inf' is not finite");
  EXPECT_EQ(error_of("date,return\n01/02/2024,0.1\n"),
            "DIR/bad.csv:2: column 'date': '01/02/2024' is not a date (YYYY-MM-DD)");
  EXPECT_EQ(error_of("date,return\n2024-01-03,0.1\n2024-01-02,0.1\n"),
            "DIR/bad.csv:3: column 'date': 2024-01-02 is not after the row before's 2024-01-03 "
            "(dates must increase)");
  EXPECT_EQ(error_of("date,return\n2024-01-02,0.1,7\n"),
            "DIR/bad.csv:2: 3 fields, the header has 2");
  auto missing = read_returns_csv((dir_ / "none.csv").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, core::ErrorCode::kIo);
}

TEST_F(ReturnsCsv, ABenchmarkIsLinedUpOnTheReturnsDates) {
  auto b = read_returns_csv(write("b.csv",
                                  "date,return\n2024-01-01,0.5\n2024-01-02,0.1\n2024-01-04,0.3\n"
                                  "2024-01-05,\n2024-01-09,0.9\n"));
  ASSERT_TRUE(b) << b.error().message;
  const std::vector<Date> dates = {day(2024, 1, 2), day(2024, 1, 3), day(2024, 1, 4),
                                   day(2024, 1, 5), day(2024, 1, 8)};
  const auto a = align_returns(dates, *b);
  ASSERT_EQ(a.returns.size(), 5U);
  EXPECT_EQ(a.returns[0], 0.1);
  EXPECT_TRUE(std::isnan(a.returns[1]));  // the benchmark has no 2024-01-03
  EXPECT_EQ(a.returns[2], 0.3);
  EXPECT_TRUE(std::isnan(a.returns[3]));  // it has the date, without a return
  EXPECT_TRUE(std::isnan(a.returns[4]));
  EXPECT_EQ(a.matched, 3U);
}

}  // namespace
}  // namespace nautilus::analytics
