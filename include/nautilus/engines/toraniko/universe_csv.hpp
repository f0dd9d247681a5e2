// The long table the toraniko model reads from a file (`nautilus compute toraniko --universe`),
// plain or gzip: one row per date and symbol,
//
//   date,symbol,return,market_cap,sector[,book_price,sales_price,cf_price][,mom,sze,val]
//
// in any order (rows are grouped by date, dates sorted as text: write ISO dates). With the
// three ratio columns the value style is computed; with any of mom, sze, val those columns are
// the given styles instead (factor_model.hpp says how each is used). The research universe's
// universe.csv.gz is such a file.
//
// A cell that is empty, NaN or nan is missing: the row is skipped (counted in missing_rows), not
// filled, so the symbol is absent from that date, and its next date has no previous row (it is
// left out of that one too when styles are computed); its momentum window counts the rows it
// has. Anything else wrong is an error naming the file, the line and the column: a number
// that does not parse, a market cap that is not positive, an empty sector, a sector not in
// `sectors` when that list is given, a date and symbol seen twice, an unknown column.
//
//   auto u = toraniko::read_universe_csv("data/universe/universe.csv.gz", {});
//   toraniko::FactorModel model(u->model_config({}));
//   for (const auto& d : u->dates) auto fit = model.add_date(d.date, d.rows);
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

#include "nautilus/core/error.hpp"
#include "nautilus/engines/toraniko/factor_model.hpp"

namespace nautilus::toraniko {

struct UniverseDate {
  std::string date;
  std::vector<Row> rows;  // views into UniverseFile's storage
};

struct UniverseFile {
  std::string path;
  std::vector<std::string> sectors;       // sorted (toraniko sorts them), or as given
  std::vector<std::string> given_styles;  // the mom/sze/val columns present, in file order
  bool value = false;                     // book_price, sales_price, cf_price present
  std::vector<UniverseDate> dates;        // ascending
  std::size_t rows = 0;                   // read into dates
  std::size_t missing_rows = 0;           // skipped: a cell was missing

  [[nodiscard]] FactorModelConfig model_config(const ModelOptions& options) const;

  // Storage the rows view.
  std::deque<std::string> symbol_names;
  std::vector<double> style_values;
};

struct UniverseCsvOptions {
  std::vector<std::string> sectors;  // non-empty: the only sectors allowed, in this order
};

[[nodiscard]] core::Result<UniverseFile> read_universe_csv(const std::string& path,
                                                           const UniverseCsvOptions& options);

}  // namespace nautilus::toraniko
