// Trade classification: aggressor side, tick rule, Lee–Ready, one by one and in batches.
#include <cmath>

#include "nautilus/engines/enhanced_vpin/enhanced_vpin.hpp"

namespace nautilus::enhanced_vpin {
namespace {

// 0/1 as a double: the batch loops combine these instead of branching.
inline double as01(bool b) noexcept { return b ? 1.0 : 0.0; }

}  // namespace

core::Result<Classifier> Classifier::create(Mode mode) {
  if (mode == Mode::kBvc) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      "kBvc classifies time bars, not trades: use vpin::BulkClassifier");
  }
  if (mode > Mode::kBvc) return core::fail(core::ErrorCode::kInvalidArgument, "unknown mode");
  return Classifier(mode);
}

void Classifier::on_quote(double bid, double ask, UnixNanos ts) noexcept {
  const bool good = bid > 0 && ask >= bid && std::isfinite(ask);
  quotes_[quote_next_] = {.ts = ts, .mid = good ? 0.5 * (bid + ask) : kNaN};
  quote_next_ = (quote_next_ + 1) % kQuotes;
  if (quote_count_ < kQuotes) ++quote_count_;
}

double Classifier::mid_at(UnixNanos ts) const noexcept {
  std::size_t i = quote_next_;
  for (std::size_t k = 0; k < quote_count_; ++k) {  // newest first; usually the first one
    i = i == 0 ? kQuotes - 1 : i - 1;
    if (quotes_[i].ts <= ts) return quotes_[i].mid;
  }
  return kNaN;
}

double Classifier::classify(double price, AggressorSide side, UnixNanos ts) noexcept {
  const double t = tick(price);  // always: the tick state follows every trade
  const auto lee_ready = [&] {
    const double mid = mid_at(ts);
    return price > mid ? 1.0 : price < mid ? 0.0 : t;  // at the mid, or no mid (NaN): tick
  };
  switch (mode_) {
    case Mode::kAuto:
      if (side == AggressorSide::kBuyer) return 1.0;
      if (side == AggressorSide::kSeller) return 0.0;
      return lee_ready();
    case Mode::kAggressor:
      return side == AggressorSide::kBuyer ? 1.0 : side == AggressorSide::kSeller ? 0.0 : 0.5;
    case Mode::kTickRule:
      return t;
    case Mode::kLeeReady:
      return lee_ready();
    case Mode::kBvc:
      break;
  }
  return 0.5;
}

core::Result<void> Classifier::classify(std::span<const double> prices,
                                        std::span<const AggressorSide> sides,
                                        std::span<const double> mids,
                                        std::span<double> out) noexcept {
  const std::size_t n = prices.size();
  const bool want_sides = mode_ == Mode::kAggressor || (mode_ == Mode::kAuto && !sides.empty());
  const bool want_mids = (mode_ == Mode::kAuto || mode_ == Mode::kLeeReady) && !mids.empty();
  if (out.size() != n || (want_sides && sides.size() != n) || (want_mids && mids.size() != n)) {
    return core::fail(
        core::ErrorCode::kInvalidArgument,
        "classify: sides, mids (when given) and out must have prices.size() elements");
  }
  if (n == 0) return {};
  std::size_t i = 0;
  double last = last_price_;
  double t = tick_;
  // The first trade of a symbol (no last price) leaves the tick state at 0.5; past it every
  // comparison with `last` is defined, so the loop needs no NaN case.
  const auto first = [&] {
    if (!std::isnan(last)) return;
    last = prices[0];
    const double side = !want_sides                          ? 0.5
                        : sides[0] == AggressorSide::kBuyer  ? 1.0
                        : sides[0] == AggressorSide::kSeller ? 0.0
                                                             : 0.5;
    const double mid = want_mids ? mids[0] : kNaN;
    const double lr = prices[0] > mid ? 1.0 : prices[0] < mid ? 0.0 : t;
    out[0] = mode_ == Mode::kTickRule      ? t
             : mode_ == Mode::kAggressor   ? side
             : mode_ == Mode::kLeeReady    ? lr
             : (want_sides && side != 0.5) ? side
                                           : lr;
    i = 1;
  };
  first();
  // Zero tick: t stays; up: 1; down: 0. As arithmetic, t = up + same * t (same and up are
  // never both 1), a two-instruction dependency chain instead of a branch.
  switch (mode_) {
    case Mode::kTickRule:
      for (; i < n; ++i) {
        const double p = prices[i];
        t = as01(p > last) + as01(p == last) * t;
        last = p;
        out[i] = t;
      }
      break;
    case Mode::kAggressor:
      for (; i < n; ++i) {
        const double p = prices[i];
        t = as01(p > last) + as01(p == last) * t;
        last = p;
        const auto s = sides[i];
        out[i] = as01(s == AggressorSide::kBuyer) +
                 0.5 * as01(s != AggressorSide::kBuyer && s != AggressorSide::kSeller);
      }
      break;
    case Mode::kLeeReady:
    case Mode::kAuto:
      for (; i < n; ++i) {
        const double p = prices[i];
        t = as01(p > last) + as01(p == last) * t;
        last = p;
        double lr = t;
        if (want_mids) {
          const double mid = mids[i];  // NaN: neither above nor below, so the tick rule
          const double above = as01(p > mid);
          const double below = as01(p < mid);
          lr = above + (1.0 - above - below) * t;
        }
        if (want_sides) {
          const auto s = sides[i];
          const double none = as01(s != AggressorSide::kBuyer && s != AggressorSide::kSeller);
          lr = as01(s == AggressorSide::kBuyer) + none * lr;
        }
        out[i] = lr;
      }
      break;
    case Mode::kBvc:
      break;
  }
  last_price_ = last;
  tick_ = t;
  return {};
}

}  // namespace nautilus::enhanced_vpin
