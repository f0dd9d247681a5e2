// The toraniko engine's inputs as the universe feed holds them (per symbol its daily bars and
// filings from the hub), turned into the model's rows the way the research universe's
// universe.csv.gz defines them:
//
//   return     = close / previous close - 1 (NaN on a symbol's first bar)
//   market_cap = shares outstanding x close, with the filing known at the bar's close
//   book_price, sales_price, cf_price = book value, sales, operating cash flow / market_cap
//
// A bar with no filing known yet has a NaN market cap (the model leaves it out). Private to
// the toraniko engine.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "nautilus/core/clock.hpp"
#include "nautilus/engines/toraniko/factor_model.hpp"
#include "nautilus/universe_feed/universe_feed.hpp"

namespace nautilus::toraniko {

using universe_feed::date_of;
using universe_feed::SymbolHistory;

struct PanelDate {
  std::string date;  // YYYY-MM-DD of the bars' close (UTC)
  core::UnixNanos ts = 0;
  std::vector<Row> rows;  // view the histories' symbol names
};

// The rows of every bar not yet built, grouped by date (ascending). `sectors` maps a sector
// name to its index; a symbol whose sector is not in it is skipped (counted in *unknown).
[[nodiscard]] std::vector<PanelDate> build_rows(std::deque<SymbolHistory>& histories,
                                                const std::map<std::string, std::uint16_t>& sectors,
                                                std::size_t* unknown);

}  // namespace nautilus::toraniko
