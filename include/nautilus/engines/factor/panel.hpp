// The factor engine's styles over the universe feed's histories (universe_feed.hpp): every bar
// not yet used, grouped by date, raw styles per symbol and the date's standardized
// cross-section. The engine calls it on each batch of new bars; `nautilus compute factor` on
// histories it reads from files.
//
//   auto dates = factor::exposures_by_date(histories, {});   // marks the bars used
//   for (const auto& d : dates) use(d.date, d.symbols, d.cross.exposures);
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "nautilus/core/clock.hpp"
#include "nautilus/engines/factor/styles.hpp"
#include "nautilus/universe_feed/universe_feed.hpp"

namespace nautilus::factor {

struct DateExposures {
  std::string date;  // YYYY-MM-DD (UTC) of the closes
  core::UnixNanos ts = 0;
  std::vector<std::string_view> symbols;  // sorted; view the histories' names
  std::vector<Styles> raw;                // per symbol
  CrossSection cross;                     // exposures per symbol, and the date's summary
};

// Bars at or after each history's rows_built, which is then moved to the end. `cancelled`, when
// given, is asked between symbols: true stops the work (the result is then empty).
[[nodiscard]] std::vector<DateExposures> exposures_by_date(
    std::deque<universe_feed::SymbolHistory>& histories, const StyleConfig& config,
    const std::function<bool()>& cancelled = {});

}  // namespace nautilus::factor
