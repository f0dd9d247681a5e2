// The toraniko factor model over time: dates go in, in order, each with its assets' rows; each
// date comes out fitted (model.hpp), with the exposures the model computed for it. The same
// object runs `nautilus compute toraniko` over a file, the engine on the bus, and backtests.
//
// Two ways to give the styles:
//   - computed (no `styles` in the rows): toraniko's momentum, size and value scores
//     (styles.hpp) of each date's cross-section, from return, market cap and the three value
//     ratios (value is left out when the ratios are not given). Date t's return is regressed on
//     what was known before it: the scores, market cap and sector of the symbol's previous row.
//     Momentum needs kMomentumHistory (524) rows of a symbol's own history;
//   - given (each row carries its own `styles`, e.g. mom, sze, val columns): used as they are
//     with the same row's return, market cap and sector, as toraniko's estimate_factor_returns
//     joins them: lag them yourself.
//
// An asset missing any input on a date (a NaN return, no previous row, momentum not yet
// defined, a non-positive ratio for value) is left out of that date, not filled; a date with
// fewer assets than parameters + 1 is not fitted (`skipped`).
//
//   toraniko::FactorModel model({.sectors = {"Energy", "Financials"}, .value = true});
//   std::vector<toraniko::Row> rows = {{.symbol = "AAA", .sector = 0, .ret = 0.01, ...}, ...};
//   auto fit = model.add_date("2024-01-02", rows);   // Result<std::optional<DatedFit>>
//   if (fit && *fit) use((*fit)->fit.factor_returns, model.factor_names());
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nautilus/core/error.hpp"
#include "nautilus/engines/toraniko/model.hpp"

namespace nautilus::toraniko {

struct FactorModelConfig {
  std::vector<std::string> sectors;  // names, in the order sector indices refer to
  // Given styles: their names (each row then carries that many values). Empty: computed.
  std::vector<std::string> given_styles;
  bool value = true;  // computed styles: include value (the rows carry the three ratios)
  ModelOptions model;
};

// One asset on one date. NaN marks a missing value.
struct Row {
  std::string_view symbol;
  std::uint16_t sector = 0;
  double ret = 0;
  double market_cap = 0;
  double book_price = 0;  // computed styles with value only
  double sales_price = 0;
  double cf_price = 0;
  std::span<const double> styles;  // given styles only
};

struct DatedFit {
  std::string date;
  std::size_t assets = 0;                 // in the regression
  std::vector<std::string_view> symbols;  // the regression's assets, sorted; valid until the
                                          // next add_date
  DateFit fit;                            // factor_returns in factor_names() order
};

struct SymbolExposures {
  std::string symbol;
  std::vector<double> values;  // style_names() order; NaN where the score is not defined
};

class FactorModel {
 public:
  explicit FactorModel(FactorModelConfig config);
  ~FactorModel();
  FactorModel(FactorModel&&) noexcept;
  FactorModel& operator=(FactorModel&&) noexcept;

  // "market", the sectors, the styles: the columns of factor_returns.
  [[nodiscard]] const std::vector<std::string>& factor_names() const noexcept;
  [[nodiscard]] const std::vector<std::string>& style_names() const noexcept;
  [[nodiscard]] const FactorModelConfig& config() const noexcept;

  // The next date's rows, in any order. kInvalidArgument: a date not after the previous one, a
  // symbol twice, a sector index out of range, a non-positive market cap, or a wrong count of
  // given styles. nullopt: the date was not fitted (too few assets with every input).
  [[nodiscard]] core::Result<std::optional<DatedFit>> add_date(std::string date,
                                                               std::span<const Row> rows);

  // The styles each symbol of the last date loads on from the next date: with computed styles,
  // the scores of the last date's cross-section; with given styles, the last date's values.
  [[nodiscard]] std::vector<SymbolExposures> latest_exposures() const;
  [[nodiscard]] const std::string& last_date() const noexcept;
  [[nodiscard]] std::uint64_t dates_fitted() const noexcept;
  [[nodiscard]] std::uint64_t dates_skipped() const noexcept;
  [[nodiscard]] std::uint64_t rows_left_out() const noexcept;  // asset-dates not regressed

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace nautilus::toraniko
