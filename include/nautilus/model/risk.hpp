// Risk, margin and performance messages, and engine health. Limits and money are fixed-point
// where they are accounting (equity, margin), doubles where they are statistics (VaR, Sharpe,
// utilisation). Every one is trivially copyable and at most 112 bytes.
//
//   publisher.publish("risk.alert.drawdown_limit", RiskAlert{.kind = RiskAlertKind::kDrawdownLimit,
//                                                      .state = TradingState::kReducing, ...});
#pragma once

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>
#include <cstdint>
#include <string_view>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/fixed_point.hpp"
#include "nautilus/core/fixed_string.hpp"
#include "nautilus/core/identifiers.hpp"

namespace nautilus::model {

using core::Price;
using core::Symbol;
using core::UnixNanos;

enum class TradingState : std::uint8_t { kActive, kReducing, kHalted };
BOOST_DESCRIBE_ENUM(TradingState, kActive, kReducing, kHalted)
enum class VarMethod : std::uint8_t { kHistorical, kParametric, kMonteCarlo };
BOOST_DESCRIBE_ENUM(VarMethod, kHistorical, kParametric, kMonteCarlo)
enum class RiskAlertKind : std::uint8_t {
  kStateChange,  // the trading state moved (state is the new one)
  kKillSwitch,
  kDrawdownLimit,
  kDailyLossLimit,
  kVarLimit,
  kExposureLimit,
  kToxicity,  // VPIN toxicity high on a symbol
};
BOOST_DESCRIBE_ENUM(RiskAlertKind, kStateChange, kKillSwitch, kDrawdownLimit, kDailyLossLimit,
                    kVarLimit, kExposureLimit, kToxicity)
enum class MarginMethod : std::uint8_t { kRegT, kPortfolio };
BOOST_DESCRIBE_ENUM(MarginMethod, kRegT, kPortfolio)
enum class MarginAlertLevel : std::uint8_t { kWarning, kCall };
BOOST_DESCRIBE_ENUM(MarginAlertLevel, kWarning, kCall)
enum class EngineState : std::uint8_t { kStarting, kRunning, kDegraded, kStopping, kStopped };
BOOST_DESCRIBE_ENUM(EngineState, kStarting, kRunning, kDegraded, kStopping, kStopped)
enum class BacktestState : std::uint8_t { kQueued, kRunning, kDone, kFailed, kCancelled };
BOOST_DESCRIBE_ENUM(BacktestState, kQueued, kRunning, kDone, kFailed, kCancelled)

// Post-trade risk of the account: `risk.metric.account` (and `portfolio.risk.*`).
struct RiskMetrics {
  static constexpr std::string_view kTypeName = "risk_metrics";
  VarMethod method = VarMethod::kHistorical;
  std::uint32_t horizon_days = 1;
  double confidence = 0.95;
  double var = 0;  // value at risk, a positive loss in account currency
  double expected_shortfall = 0;
  double gross_exposure = 0;
  double leverage = 0;  // gross exposure / NAV
  double drawdown = 0;  // from the high-water mark, in [0, 1]
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(RiskMetrics, (),
                      (method, horizon_days, confidence, var, expected_shortfall, gross_exposure,
                       leverage, drawdown, ts_event))

// A limit breached or the trading state changed: `risk.alert.<kind>`. symbol is empty for
// account-wide alerts; value broke limit (NaN when no number applies).
struct RiskAlert {
  static constexpr std::string_view kTypeName = "risk_alert";
  RiskAlertKind kind = RiskAlertKind::kStateChange;
  TradingState state = TradingState::kActive;  // in force after this alert
  Symbol symbol;
  double value = 0;
  double limit = 0;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(RiskAlert, (), (kind, state, symbol, value, limit, ts_event))

// The account's margin: `collateral.margin.account`.
struct MarginUpdate {
  static constexpr std::string_view kTypeName = "margin_update";
  MarginMethod method = MarginMethod::kRegT;
  Price equity;
  Price initial_margin;
  Price maintenance_margin;
  Price excess_liquidity;  // equity - maintenance margin (negative in a call)
  double utilisation = 0;  // maintenance margin / equity
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(MarginUpdate, (),
                      (method, equity, initial_margin, maintenance_margin, excess_liquidity,
                       utilisation, ts_event))

// `margin.alert.<level>`: a warning past the configured utilisation, or a call when equity is
// below maintenance, with the liquidation that restores it (X = MV - E/m). symbol is empty for
// the account.
struct MarginAlert {
  static constexpr std::string_view kTypeName = "margin_alert";
  MarginAlertLevel level = MarginAlertLevel::kWarning;
  Symbol symbol;
  Price equity;
  Price maintenance_margin;
  Price liquidation_amount;
  double utilisation = 0;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(MarginAlert, (),
                      (level, symbol, equity, maintenance_margin, liquidation_amount, utilisation,
                       ts_event))

// Performance of the account's marked-to-market equity since inception:
// `performance.metric.account`. Ratios are annualised with 252 days.
struct PerformanceMetrics {
  static constexpr std::string_view kTypeName = "performance_metrics";
  std::uint32_t days = 0;  // of history behind the figures
  double total_return = 0;
  double cagr = 0;
  double volatility = 0;
  double sharpe = 0;
  double sortino = 0;
  double max_drawdown = 0;
  double calmar = 0;
  double hit_rate = 0;
  double var_95 = 0;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(PerformanceMetrics, (),
                      (days, total_return, cagr, volatility, sharpe, sortino, max_drawdown, calmar,
                       hit_rate, var_95, ts_event))

// One engine's health: `system.health.<engine>`.
struct EngineHealth {
  static constexpr std::string_view kTypeName = "engine_health";
  core::FixedString<31> engine;
  EngineState state = EngineState::kRunning;
  bool healthy = true;
  std::uint64_t queue_depth = 0;
  std::uint64_t errors = 0;
  double messages_per_s = 0;
  double lag_us = 0;  // publish -> handler, p99
  double uptime_s = 0;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(EngineHealth, (),
                      (engine, state, healthy, queue_depth, errors, messages_per_s, lag_us,
                       uptime_s, ts_event))

// A backtest job of the backtesting engine, when its state or progress moves:
// `backtesting.job.<id>` (its report: GET /backtests/<id>/report on the engine's port). The
// figures are NaN until the job is done.
struct BacktestStatus {
  static constexpr std::string_view kTypeName = "backtest_status";
  core::FixedString<31> id;
  BacktestState state = BacktestState::kQueued;
  double fraction = 0;  // of the data's time span replayed, [0, 1]; NaN when unknown
  std::uint64_t events = 0;
  std::uint64_t fills = 0;
  double total_return = 0;
  double sharpe = 0;
  double max_drawdown = 0;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(BacktestStatus, (),
                      (id, state, fraction, events, fills, total_return, sharpe, max_drawdown,
                       ts_event))

}  // namespace nautilus::model
