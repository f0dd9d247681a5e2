// One symbol's walk-forward forecasts of its forward log return, bar by bar, as the ml engine
// runs them on the bus and `nautilus compute ml` runs them over a file (the same code). The
// sample taken at bar k gets as target the sum of the log returns of bars k+1 .. k+horizon
// (ridge), or whether that sum is positive (logistic); that target is known at bar k+horizon
// and trained on from then on, never before (walk_forward.hpp).
//
//   ml::Forecaster f({.model = {.kind = ml::Kind::kRidge, .window = 500}, .horizon = 5});
//   auto step = f.on_bar(ts, x, log_return);   // x: NaN where a feature is missing
//   if (step && step->value) publish(*step->value);
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <span>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/engines/ml/walk_forward.hpp"

namespace nautilus::ml {

struct ForecasterConfig {
  WalkForwardConfig model;
  std::size_t horizon = 5;  // bars ahead
};

struct Forecast {
  bool complete = false;              // every feature was there (else no sample was taken)
  std::optional<double> value;        // the model's x.w + b; nullopt before a first model
  std::optional<double> probability;  // logistic only
  bool retrained = false;             // a new model was trained before this forecast
};

// A target a bar resolved: the sample taken `horizon` bars before it, with its known target.
struct Resolved {
  std::size_t bar = 0;  // the bar (0-based) the sample was taken at
  double target = 0;
};

class Forecaster {
 public:
  explicit Forecaster(ForecasterConfig config);

  // One bar, in time order: `x` its features (NaN: missing), `log_return` its log return (NaN:
  // none, so the targets that needed it are dropped). Resolves the samples `horizon` bars old,
  // then forecasts from x. kOutOfRange for a ts not after the previous bar's (the bar is not
  // counted); kInvalidArgument for a width other than the first bar's.
  [[nodiscard]] core::Result<Forecast> on_bar(core::UnixNanos ts, std::span<const double> x,
                                              double log_return);

  // The targets the last on_bar() resolved (for a caller that reports them, as compute does).
  [[nodiscard]] std::span<const Resolved> resolved() const noexcept { return resolved_; }
  [[nodiscard]] const WalkForward& model() const noexcept { return wf_; }
  [[nodiscard]] std::size_t bars() const noexcept { return bars_; }

 private:
  struct Pending {
    std::uint64_t sample = 0;
    std::size_t bar = 0;
  };
  ForecasterConfig config_;
  WalkForward wf_;
  std::size_t width_ = 0;
  std::size_t bars_ = 0;
  core::UnixNanos last_ts_ = 0;
  std::deque<double> log_returns_;  // the latest `horizon`
  std::deque<Pending> pending_;     // samples waiting for their forward return
  std::vector<Resolved> resolved_;
};

}  // namespace nautilus::ml
