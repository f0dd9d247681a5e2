// A file of daily returns, plain or gzip (`nautilus compute analytics --returns`, `--benchmark`):
//
//   date,return
//   2024-01-02,0.0051
//   2024-01-03,
//   2024-01-04,-0.0123
//
// The header names the columns: `date` and `return`, in any order; other columns are ignored,
// so a wider export reads as it is. Dates are YYYY-MM-DD and strictly increasing. A return that
// is empty, NaN or nan is a missing day (compute_metrics leaves it out). Anything else wrong is
// a kParse error naming the file, the line and the column.
//
//   auto f = analytics::read_returns_csv("strategy.csv");
//   auto b = analytics::read_returns_csv("spy.csv");
//   auto on_f = analytics::align_returns(f->dates, *b);  // the benchmark on f's dates
//   auto m = analytics::compute_metrics(f->dates, f->returns, on_f.returns);
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "nautilus/core/error.hpp"
#include "nautilus/engines/analytics/metrics.hpp"

namespace nautilus::analytics {

struct ReturnsFile {
  std::string path;
  std::vector<Date> dates;      // increasing
  std::vector<double> returns;  // NaN: missing
};

[[nodiscard]] core::Result<ReturnsFile> read_returns_csv(const std::string& path);

struct AlignedReturns {
  std::vector<double> returns;  // one per date asked for; NaN where the file has no such date
  std::size_t matched = 0;      // dates the file has (its return may still be missing)
};

// `file`'s returns on `dates` (increasing): its dates that are not among them are left out.
[[nodiscard]] AlignedReturns align_returns(std::span<const Date> dates, const ReturnsFile& file);

}  // namespace nautilus::analytics
