// The built-in strategies: momentum and mean reversion on bar closes, each following the ml
// engine's prediction where there is one.
#include <fmt/format.h>

#include <cmath>
#include <unordered_map>
#include <vector>

#include "nautilus/engines/strategy/strategy.hpp"

namespace nautilus::strategy {

core::Result<void> set_param(Params& p, std::string_view name, double value) {
  if (!std::isfinite(value)) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("{}: {} is not a finite number", name, value));
  }
  const auto positive = [&](double& field) -> core::Result<void> {
    if (value <= 0) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("{}: {} is not > 0", name, value));
    }
    field = value;
    return {};
  };
  if (name == "lookback") {
    if (value < 2 || value > 100'000 || value != std::floor(value)) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("lookback: {} is not a whole number of bars from 2", value));
    }
    p.lookback = static_cast<std::size_t>(value);
    return {};
  }
  if (name == "threshold") return positive(p.threshold);
  if (name == "entry_z") return positive(p.entry_z);
  if (name == "exit_z") {
    if (value < 0) {
      return core::fail(core::ErrorCode::kInvalidArgument, fmt::format("exit_z: {} < 0", value));
    }
    p.exit_z = value;
    return {};
  }
  if (name == "notional") return positive(p.notional);
  if (name == "min_prediction") {
    if (value < 0) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("min_prediction: {} < 0", value));
    }
    p.min_prediction = value;
    return {};
  }
  if (name == "prediction_ttl_s") return positive(p.prediction_ttl_s);
  return core::fail(core::ErrorCode::kInvalidArgument,
                    fmt::format("'{}' is not a strategy parameter (lookback, threshold, entry_z, "
                                "exit_z, notional, min_prediction, prediction_ttl_s)",
                                name));
}

namespace {

// +1, -1 or 0 from the prediction: 0 when there is none or it is too small to count.
int prediction_sign(const StrategyContext& ctx, core::Symbol s) {
  const auto p = ctx.prediction(s);
  if (!p) return 0;
  // A classifier's opinion is its probability of an up move; a regression's its forecast.
  const double v = std::isfinite(p->probability) ? p->probability - 0.5 : p->value;
  if (std::abs(v) <= ctx.params(s).min_prediction) return 0;
  return v > 0 ? 1 : -1;
}

// Closes per symbol, the latest `keep` of them, oldest first: a ring per symbol, so that a bar
// is a store, not a deque's push and pop (and a block allocated every 64 bars).
class Closes {
 public:
  class Window {
   public:
    [[nodiscard]] std::size_t size() const noexcept { return n_; }
    [[nodiscard]] double front() const noexcept { return buf_[head_]; }
    // f(close) for each, oldest first: the order the sums below have always been taken in.
    // (Until the ring is full head_ is 0, and the second loop does nothing.)
    template <class F>
    void each(F f) const {
      for (std::size_t i = head_; i < n_; ++i) f(buf_[i]);
      for (std::size_t i = 0; i < head_; ++i) f(buf_[i]);
    }

   private:
    friend class Closes;
    std::vector<double> buf_;
    std::size_t head_ = 0;  // the oldest, once full
    std::size_t n_ = 0;
  };

  const Window& add(core::Symbol s, double close, std::size_t keep) {
    Window& w = closes_[s];
    if (w.buf_.size() != keep) {
      w.buf_.assign(keep, 0.0);
      w.head_ = 0;
      w.n_ = 0;
    }
    if (w.n_ < keep) {
      w.buf_[w.n_++] = close;
    } else {
      w.buf_[w.head_] = close;
      w.head_ = w.head_ + 1 == keep ? 0 : w.head_ + 1;
    }
    return w;
  }

 private:
  std::unordered_map<core::Symbol, Window> closes_;
};

// Goes `direction` (+1, -1, 0) with a full position, unless the prediction disagrees (then
// flat); publishes the signal with its strength.
void act(StrategyContext& ctx, core::Symbol s, int direction, double strength, double price) {
  const int predicted = prediction_sign(ctx, s);
  if (direction != 0 && predicted != 0 && predicted != direction) direction = 0;
  ctx.signal(s,
             direction > 0   ? model::SignalDirection::kLong
             : direction < 0 ? model::SignalDirection::kShort
                             : model::SignalDirection::kFlat,
             direction == 0 ? 0 : std::min(1.0, strength));
  ctx.target(s, direction * std::floor(ctx.params(s).notional / price));
}

class Momentum final : public Strategy {
 public:
  std::string_view name() const override { return "momentum"; }
  bool reads_features() const noexcept override { return false; }
  void on_bar(StrategyContext& ctx, const model::Bar& b) override {
    const Params& p = ctx.params(b.symbol);
    const double close = b.close.as_double();
    const auto& d = closes_.add(b.symbol, close, p.lookback + 1);
    if (d.size() < p.lookback + 1 || !(close > 0) || !(d.front() > 0)) return;
    const double r = close / d.front() - 1;
    const int direction = r > p.threshold ? 1 : r < -p.threshold ? -1 : 0;
    act(ctx, b.symbol, direction, std::abs(r) / (2 * p.threshold), close);
  }

 private:
  Closes closes_;
};

class MeanReversion final : public Strategy {
 public:
  std::string_view name() const override { return "mean_reversion"; }
  bool reads_features() const noexcept override { return false; }
  void on_bar(StrategyContext& ctx, const model::Bar& b) override {
    const Params& p = ctx.params(b.symbol);
    const double close = b.close.as_double();
    const auto& d = closes_.add(b.symbol, close, p.lookback);
    if (d.size() < p.lookback || !(close > 0)) return;
    double mean = 0;
    d.each([&](double c) { mean += c; });
    mean /= static_cast<double>(d.size());
    double ss = 0;
    d.each([&](double c) { ss += (c - mean) * (c - mean); });
    const double sd = std::sqrt(ss / static_cast<double>(d.size() - 1));
    if (!(sd > 0)) return;
    const double z = (close - mean) / sd;
    const double held = ctx.position(b.symbol);
    int direction = held > 0 ? 1 : held < 0 ? -1 : 0;  // hold between the bands
    if (z <= -p.entry_z) direction = 1;
    if (z >= p.entry_z) direction = -1;
    if (std::abs(z) <= p.exit_z) direction = 0;
    act(ctx, b.symbol, direction, std::abs(z) / (2 * p.entry_z), close);
  }

 private:
  Closes closes_;
};

}  // namespace

std::unique_ptr<Strategy> make_builtin(std::string_view name) {
  if (name == "momentum") return std::make_unique<Momentum>();
  if (name == "mean_reversion") return std::make_unique<MeanReversion>();
  return nullptr;
}

std::vector<std::string> builtin_names() { return {"momentum", "mean_reversion"}; }

}  // namespace nautilus::strategy
