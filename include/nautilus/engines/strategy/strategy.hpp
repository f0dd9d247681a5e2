// The Strategy interface: market data, features, predictions and VPIN in; signals and target
// positions out, through a StrategyContext. A strategy never sees the bus, a thread or a wall
// clock: the strategy engine calls it on its own thread with the injected clock's time, so the
// same object runs live and in a backtest. Orders are the engine's business: a target position
// becomes the orders that close the gap (strategy_engine.cpp), and toxicity stands a symbol
// down for every strategy alike (no new exposure; optionally flat).
//
//   class Breakout final : public strategy::Strategy {
//     std::string_view name() const override { return "breakout"; }
//     void on_bar(strategy::StrategyContext& ctx, const model::Bar& b) override {
//       if (b.close > high_) ctx.target(b.symbol, ctx.params(b.symbol).notional /
//                                                 b.close.as_double());
//     }
//   };
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/core/identifiers.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/signals.hpp"
#include "nautilus/model/trading.hpp"

namespace nautilus::strategy {

// A strategy's parameters for one symbol: the engine's settings, with a symbol's overrides
// ("AAPL:lookback=30") applied.
struct Params {
  std::size_t lookback = 20;      // bars
  double threshold = 0.002;       // momentum: the lookback return that opens a position
  double entry_z = 2.0;           // mean reversion: |z| that opens
  double exit_z = 0.5;            // mean reversion: |z| that closes
  double notional = 50'000;       // a full position's market value, account currency
  double min_prediction = 0.0;    // |ml prediction| below this counts as no opinion
  double prediction_ttl_s = 300;  // a prediction older than this is ignored
};

// Sets `name` = `value` in p (the names of the fields above); kInvalidArgument otherwise.
[[nodiscard]] core::Result<void> set_param(Params& p, std::string_view name, double value);

class StrategyContext {
 public:
  virtual ~StrategyContext() = default;
  [[nodiscard]] virtual core::UnixNanos now() const = 0;
  [[nodiscard]] virtual const Params& params(core::Symbol symbol) const = 0;
  // Signed units held now (fills so far).
  [[nodiscard]] virtual double position(core::Symbol symbol) const = 0;
  // The symbol's latest ml prediction, if one came within prediction_ttl_s.
  [[nodiscard]] virtual std::optional<model::Prediction> prediction(core::Symbol symbol) const = 0;
  // True while a toxicity alert stands the symbol down: targets cannot add exposure then.
  [[nodiscard]] virtual bool standing_down(core::Symbol symbol) const = 0;

  virtual void signal(core::Symbol symbol, model::SignalDirection direction, double strength) = 0;
  // The signed position wanted, in units (0: flat).
  virtual void target(core::Symbol symbol, double units) = 0;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  virtual void on_bar(StrategyContext& /*ctx*/, const model::Bar& /*bar*/) {}
  virtual void on_trade(StrategyContext& /*ctx*/, const model::TradeTick& /*trade*/) {}
  virtual void on_features(StrategyContext& /*ctx*/, const model::FeatureUpdate& /*f*/) {}
  // False when on_features does nothing: the engine then does not subscribe to the features
  // engine's updates, which a backtest would otherwise build and deliver on every bar for
  // nobody (docs/PERFORMANCE.md, "Backtests"). The built-ins read bars only.
  [[nodiscard]] virtual bool reads_features() const noexcept { return true; }
  virtual void on_prediction(StrategyContext& /*ctx*/, const model::Prediction& /*p*/) {}
  virtual void on_vpin(StrategyContext& /*ctx*/, const model::VpinUpdate& /*v*/) {}
  virtual void on_toxicity(StrategyContext& /*ctx*/, const model::ToxicityAlert& /*a*/) {}
};

// The built-ins, by name: "momentum" (the lookback return past +-threshold, long or short) and
// "mean_reversion" (the close's z-score against its lookback mean past +-entry_z, against it;
// flat inside exit_z). Both follow an ml prediction where one is present: they do not open
// against its sign. nullptr for another name.
[[nodiscard]] std::unique_ptr<Strategy> make_builtin(std::string_view name);
[[nodiscard]] std::vector<std::string> builtin_names();

}  // namespace nautilus::strategy
