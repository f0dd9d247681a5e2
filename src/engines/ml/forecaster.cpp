#include "nautilus/engines/ml/forecaster.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace nautilus::ml {

Forecaster::Forecaster(ForecasterConfig config) : config_(config), wf_(config.model) {
  config_.horizon = std::max<std::size_t>(config_.horizon, 1);
}

core::Result<Forecast> Forecaster::on_bar(core::UnixNanos ts, std::span<const double> x,
                                          double log_return) {
  resolved_.clear();
  // A bar counts once, in time order: a late or repeated one would shift every target.
  if (bars_ > 0 && ts <= last_ts_) {
    return core::fail(core::ErrorCode::kOutOfRange, "a bar not after the symbol's previous one");
  }
  if (bars_ == 0) width_ = x.size();
  if (x.size() != width_ || x.empty()) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("{} features, the symbol's first bar had {}", x.size(), width_));
  }
  last_ts_ = ts;
  ++bars_;
  log_returns_.push_back(log_return);
  if (log_returns_.size() > config_.horizon) log_returns_.pop_front();
  const std::size_t bar = bars_ - 1;
  // The oldest pending sample was taken at bar - horizon when no bar in between lacked
  // features; its target is the sum of the returns of the bars since, this one included.
  while (!pending_.empty() && pending_.front().bar + config_.horizon <= bar) {
    const Pending p = pending_.front();
    pending_.pop_front();
    double forward = 0;
    for (const double r : log_returns_) forward += r;
    if (p.bar + config_.horizon != bar || !std::isfinite(forward)) {  // a return is missing
      wf_.discard(p.sample);
      continue;
    }
    const double target =
        config_.model.kind == Kind::kLogistic ? (forward > 0 ? 1.0 : 0.0) : forward;
    if (wf_.resolve(p.sample, target, ts)) resolved_.push_back({p.bar, target});
  }
  Forecast out;
  if (!std::all_of(x.begin(), x.end(), [](double v) { return std::isfinite(v); })) return out;
  const std::size_t trainings = wf_.trainings();
  NAUTILUS_TRY(o, wf_.observe(ts, x));
  pending_.push_back({o.sample, bar});
  out.complete = true;
  out.value = o.value;
  out.probability = o.probability;
  out.retrained = wf_.trainings() > trainings;
  return out;
}

}  // namespace nautilus::ml
