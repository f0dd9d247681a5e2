// What a backtest keeps of the bus for its report, subscribed inline (on the host's thread, in
// the order the bus delivers): the account's daily equity and exposure, the fills, the orders
// by outcome, the benchmark's daily closes, and one symbol's bars, fills and VPIN. Every series
// is bounded, so a year of minute bars costs the same memory as a month: the chart symbol's
// bars and VPIN points are halved in resolution (adjacent pairs merged) whenever they reach
// kMaxPoints, and the trade list keeps the first kMaxTrades fills (the count is of them all).
//
//   Collector c(spec);
//   c.subscribe(bus);            // before the host starts
//   ... host->run() ...
//   auto report = c.report(meta);   // meta: the report's "backtest" member
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nautilus/backtest/backtest.hpp"
#include "nautilus/bus/message_bus.hpp"
#include "nautilus/engines/analytics/metrics.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/signals.hpp"
#include "nautilus/model/trading.hpp"

namespace nautilus::backtest {

inline constexpr std::size_t kMaxPoints = 4'096;
inline constexpr std::size_t kMaxTrades = 100'000;

class Collector {
 public:
  // The chart symbol is the spec's (checked by load_spec), else the first symbol of a bar.
  explicit Collector(const BacktestSpec& spec);

  [[nodiscard]] core::Result<void> subscribe(bus::MessageBus& bus);
  // The report's object; `meta` is its "backtest" member (the run's description). Its values
  // live in `sp`: a backtest passes a monotonic resource, which makes building the tens of
  // thousands of trade rows and dropping them cheap (docs/PERFORMANCE.md, "Backtests").
  [[nodiscard]] core::Result<boost::json::object> report(boost::json::object meta,
                                                         boost::json::storage_ptr sp = {}) const;

  [[nodiscard]] std::uint64_t fills() const noexcept { return fills_; }
  [[nodiscard]] std::size_t days() const noexcept { return equity_.size(); }
  [[nodiscard]] double final_nav() const noexcept {
    return equity_.empty() ? initial_cash_ : equity_.back().nav;
  }
  [[nodiscard]] double initial_cash() const noexcept { return initial_cash_; }

 private:
  struct Day {
    analytics::Date date;
    double nav = 0;
    double cash = 0;
    double gross = 0;
    double net = 0;
  };
  struct Point {             // a bar of the chart symbol, or a run of merged bars
    core::UnixNanos ts = 0;  // the last bar's close time
    double open = 0, high = 0, low = 0, close = 0, volume = 0;
  };
  struct VpinPoint {
    core::UnixNanos ts = 0;
    double vpin = 0;
    double cdf = 0;
  };

  void on_account(const model::PortfolioSnapshot& s);
  void on_bar(const model::Bar& b);
  void on_fill(const model::Fill& f);
  void on_event(const bus::Envelope& e);

  const BacktestSpec& spec_;
  double initial_cash_ = 0;
  bool initial_known_ = false;
  std::vector<Day> equity_;
  std::map<analytics::Date, double> benchmark_close_;  // the last close of each date
  std::optional<double> benchmark_first_open_;         // of its first bar: the first day's base
  std::vector<model::Fill> trades_;
  std::uint64_t fills_ = 0;
  std::uint64_t submitted_ = 0, filled_ = 0, cancelled_ = 0, denied_ = 0;
  std::map<std::string, std::uint64_t> denied_by_reason_;
  core::Symbol chart_;  // empty until chosen
  std::vector<Point> bars_;
  std::size_t bars_merge_ = 1;    // bars per point now
  std::size_t bars_pending_ = 0;  // bars merged into bars_.back() so far
  std::vector<VpinPoint> vpin_;
  std::size_t vpin_every_ = 1;  // keep one update in this many
  std::uint64_t vpin_seen_ = 0;
  std::optional<VpinPoint> vpin_last_;  // the latest update, kept or not: the series ends there
  std::vector<VpinPoint> alerts_;
  std::vector<model::Fill> chart_fills_;
};

}  // namespace nautilus::backtest
