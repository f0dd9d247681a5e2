// The risk engine's post-trade VaR of the book: the instruments' bar closes kept per symbol, the
// simple returns over the latest `window` bar times common to every held symbol, and VaR and ES
// by historical simulation, variance-covariance and Monte Carlo (var.hpp) at each confidence,
// scaled from one bar to `horizon_bars` by the square root of time (zero mean, as is usual for
// horizons this short: a day's drift is noise next to its spread).
//
//   risk::CloseHistory closes(300);
//   closes.add(symbol, bar.ts_event, bar.close.as_double());
//   auto r = risk::book_var(closes, {{sym, 25'000.0}}, {.window = 250, .horizon_bars = 390});
//   for (const auto& m : *r) publish(m.method, m.confidence, m.result.var);
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <utility>
#include <vector>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/core/identifiers.hpp"
#include "nautilus/engines/risk/var.hpp"

namespace nautilus::risk {

class CloseHistory {
 public:
  explicit CloseHistory(std::size_t keep) : keep_(keep) {}
  // A bar's close; the oldest beyond `keep` are forgotten. Not positive: ignored.
  void add(core::Symbol symbol, core::UnixNanos ts, double close);
  // The closes at the latest `count` times every one of `symbols` has a close at, oldest first:
  // closes[t * symbols.size() + i]. Fewer when there are fewer such times.
  [[nodiscard]] std::vector<double> common_closes(const std::vector<core::Symbol>& symbols,
                                                  std::size_t count, std::size_t& times) const;

 private:
  // One symbol's closes in time order. Bars come in time order, so an add is a push at the
  // back and a pop at the front; a std::map here allocated and rebalanced on every bar (a
  // twentieth of a backtest's time).
  struct Series {
    std::deque<core::UnixNanos> ts;
    std::deque<double> close;
    [[nodiscard]] const double* find(core::UnixNanos t) const;
  };
  std::size_t keep_;
  std::unordered_map<core::Symbol, Series> closes_;
};

struct BookRiskOptions {
  std::size_t window = 250;   // bar returns
  double horizon_bars = 390;  // one US trading day of minute bars
  std::vector<double> confidences = {0.95, 0.99};
  std::size_t scenarios = 10'000;  // Monte Carlo
  std::uint64_t seed = 1;
};

struct BookRisk {
  Method method = Method::kHistorical;
  double confidence = 0.95;
  VarResult result;  // var and expected_shortfall scaled to the horizon
};

// kOutOfRange with fewer than 20 common returns; an empty result for a flat book.
[[nodiscard]] core::Result<std::vector<BookRisk>> book_var(
    const CloseHistory& closes, const std::vector<std::pair<core::Symbol, double>>& values,
    const BookRiskOptions& options);

}  // namespace nautilus::risk
