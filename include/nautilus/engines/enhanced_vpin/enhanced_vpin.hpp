// Enhanced VPIN, per symbol: VPIN with the refinements proposed since ELO 2012.
//   - trades classified one by one (Classifier): by the feed's aggressor side when it has one,
//     else Lee–Ready against the quote in force, else the tick rule; or in bulk (kBvc: BVC on
//     time bars as in nautilus::vpin, by default with ELO's Student-t, df 0.25);
//   - a bucket size that follows a rolling average of daily volume;
//   - VPIN over several windows at once (10, 50 and 250 buckets by default), with the CDF and
//     the alert of one of them (the primary, 50).
// The buckets, windows, CDF and alert are the VPIN building blocks both VPIN engines share
// (nautilus/vpin_core/, namespace nautilus::vpin).
//
//   auto ev = *EnhancedVpin::create({.initial_bucket_volume = 20'000});
//   ev.on_quote(189.10, 189.12, ts);
//   ev.on_trade(189.12, 300, model::AggressorSide::kNone, ts, [&](const EnhancedResult& r) {
//     publish(r.vpin[0], r.vpin[1], r.vpin[2], r.cdf);   // horizons in options order
//   });
//
//   auto c = *Classifier::create(Mode::kAuto);            // classification alone, in batches
//   c.classify(prices, sides, mids, out);                 // out[i] in {0, 0.5, 1}
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "nautilus/core/error.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/vpin_core/buckets.hpp"
#include "nautilus/vpin_core/bvc.hpp"
#include "nautilus/vpin_core/time_bars.hpp"

namespace nautilus::enhanced_vpin {

using core::UnixNanos;
using model::AggressorSide;
using vpin::kNaN;

enum class Mode : std::uint8_t {
  kAuto,       // aggressor side if the trade has one, else Lee–Ready if a quote is known, else tick
  kAggressor,  // the feed's side only; a trade without one is split 50/50
  kTickRule,   // the tick rule only
  kLeeReady,   // Lee–Ready; the tick rule while no quote is known
  kBvc,        // bulk: BVC on time bars (EnhancedVpin only: it classifies bars, not trades)
};

// Trade-by-trade classification into a buy fraction: 1 (buy), 0 (sell) or 0.5 (unknown).
//
// Tick rule: a trade above the last different price is a buy, below it a sell; at the same
// price (a zero tick) it takes the previous trade's tick classification. The tick state is kept
// on every trade whichever rule decided it, so a zero tick follows the last price change, as
// the textbook rule does. The first trade of a symbol has no history: 0.5.
// Lee–Ready: above the mid a buy, below a sell, at the mid the tick rule. The quote used is the
// last one with ts <= the trade's ts: Lee and Ready's 5-second lag corrected for trades
// reported late against quotes, which today's feeds timestamp at the same venue clock.
class Classifier {
 public:
  // kBvc is refused: bulk classification works on bars (vpin::BulkClassifier).
  [[nodiscard]] static core::Result<Classifier> create(Mode mode);

  // A quote; a crossed or one-sided one (bid or ask <= 0, ask < bid) makes the mid unknown
  // until the next good quote. Quotes come in time order.
  void on_quote(double bid, double ask, UnixNanos ts) noexcept;
  [[nodiscard]] double classify(double price, AggressorSide side, UnixNanos ts) noexcept;

  // The same for a batch, with the mid in force for each trade given by the caller (NaN: none).
  // sides may be empty (kTickRule, kLeeReady, or kAuto without sides), mids too (kTickRule,
  // kAggressor, or no quotes); otherwise every span has prices.size() elements. The tick state
  // carries from one batch (or classify call) to the next; the quotes of on_quote are not used.
  // Branch-light: comparisons become 0/1 arithmetic, so mixed sides do not mispredict.
  [[nodiscard]] core::Result<void> classify(std::span<const double> prices,
                                            std::span<const AggressorSide> sides,
                                            std::span<const double> mids,
                                            std::span<double> out) noexcept;

  // The mid of the last quote with ts <= `ts` among the last kQuotes; NaN when there is none.
  [[nodiscard]] double mid_at(UnixNanos ts) const noexcept;
  [[nodiscard]] Mode mode() const noexcept { return mode_; }

  static constexpr std::size_t kQuotes = 16;  // quotes kept for trades that arrive a little late

 private:
  explicit Classifier(Mode mode) noexcept : mode_(mode) {}
  double tick(double price) noexcept {
    if (price > last_price_) {
      tick_ = 1.0;
    } else if (price < last_price_) {
      tick_ = 0.0;
    }  // equal, or the first trade (last_price_ NaN): unchanged
    last_price_ = price;
    return tick_;
  }

  struct Quote {
    UnixNanos ts = 0;
    double mid = kNaN;
  };
  Mode mode_;
  double last_price_ = kNaN;
  double tick_ = 0.5;
  std::array<Quote, kQuotes> quotes_{};
  std::size_t quote_count_ = 0;
  std::size_t quote_next_ = 0;
};

inline constexpr std::size_t kMaxHorizons = 8;

struct EnhancedVpinOptions {
  Mode mode = Mode::kAuto;
  // V until the first UTC date completes; then V = the average daily volume of the last
  // adv_days completed dates / buckets_per_day, which changes only at a bucket boundary (every
  // bucket is filled to one V, so its imbalance is comparable with the others').
  double initial_bucket_volume = 0;
  std::size_t adv_days = 20;  // a trading month: the usual ADV
  std::size_t buckets_per_day = 50;
  std::vector<std::size_t> windows{10, 50, 250};  // up to kMaxHorizons, each > 0
  std::size_t primary_window = 50;                // the one with the CDF; one of windows
  // kBvc only: the classification, and the time bars trades are built into.
  vpin::BvcOptions bvc{.cdf = vpin::BarCdf::kStudentT, .df = 0.25};
  std::uint32_t bar_seconds = 60;
  vpin::CdfOptions toxicity{};
  std::size_t result_history = 250;

  [[nodiscard]] core::Result<void> validate() const;
};

struct EnhancedResult {
  std::uint64_t index = 0;
  UnixNanos ts = 0;  // of the trade (or bar close) that completed the bucket
  double buy = 0;
  double sell = 0;
  double bucket_volume = 0;
  std::array<double, kMaxHorizons> vpin{};  // per window, in options order; NaN while warming
  std::uint8_t horizons = 0;
  double primary_vpin = kNaN;
  double cdf = kNaN;  // of the primary VPIN
  bool alert = false;
};

class EnhancedVpin {
 public:
  [[nodiscard]] static core::Result<EnhancedVpin> create(const EnhancedVpinOptions& options);

  void on_quote(double bid, double ask, UnixNanos ts) noexcept {
    if (classifier_) classifier_->on_quote(bid, ask, ts);
  }

  // One trade (size > 0 and finite, at most VolumeBucketer::kMaxBucketsPerAdd buckets, price
  // finite; others are counted in rejected() and change nothing). In kBvc it goes into a time bar,
  // which is classified when it completes.
  template <class OnResult>
  void on_trade(double price, double size, AggressorSide side, UnixNanos ts, OnResult&& out) {
    if (!(size > 0) || !std::isfinite(size) || !std::isfinite(price) || !buckets_.accepts(size)) {
      ++rejected_;
      return;
    }
    if (!classifier_) {  // kBvc
      if (auto bar = bars_->on_trade(price, size, ts)) on_bar(*bar, out);
      return;
    }
    track_day(ts, size);
    add(size, classifier_->classify(price, side, ts), ts, out);
  }
  void on_trade(double price, double size, AggressorSide side, UnixNanos ts,
                std::vector<EnhancedResult>& out) {
    on_trade(price, size, side, ts, [&out](const EnhancedResult& r) { out.push_back(r); });
  }

  // A completed time bar (kBvc only: false in the other modes, which classify trades).
  template <class OnResult>
  bool on_bar(const vpin::TimeBar& bar, OnResult&& out) {
    if (!bvc_) return false;
    if (!(bar.volume > 0) || !std::isfinite(bar.volume) || !std::isfinite(bar.open) ||
        !std::isfinite(bar.close) || !buckets_.accepts(bar.volume)) {
      if (bar.volume != 0) ++rejected_;
      return true;
    }
    track_day(bar.ts_close - 1, bar.volume);
    add(bar.volume, bvc_->classify(bar.open, bar.close), bar.ts_close, out);
    return true;
  }
  // kBvc: classifies the open time bar (end of a file).
  template <class OnResult>
  void flush(OnResult&& out) {
    if (bars_) {
      if (auto bar = bars_->flush()) on_bar(*bar, out);
    }
  }

  // Volume already classified (e.g. by Classifier's batch): `size` of which `buy_fraction` bought.
  // A size that is not finite or would complete too many buckets is counted and ignored.
  template <class OnResult>
  void add(double size, double buy_fraction, UnixNanos ts, OnResult&& out) {
    if (!(size >= 0) || !buckets_.accepts(size)) {
      ++rejected_;
      return;
    }
    buckets_.add(size, buy_fraction, [&](const vpin::Bucket& b) { out(complete(b, ts)); });
  }

  // State, for a REST answer.
  [[nodiscard]] std::size_t horizons() const noexcept { return windows_.size(); }
  [[nodiscard]] std::size_t window(std::size_t i) const noexcept { return windows_[i].window(); }
  [[nodiscard]] double vpin(std::size_t i) const noexcept { return windows_[i].value(); }
  [[nodiscard]] double cdf() const noexcept { return cdf_.value(); }
  [[nodiscard]] std::uint64_t buckets() const noexcept { return buckets_.completed(); }
  [[nodiscard]] double bucket_volume() const noexcept { return buckets_.bucket_volume(); }
  [[nodiscard]] double next_bucket_volume() const noexcept {
    return buckets_.pending_bucket_volume();
  }
  [[nodiscard]] double bucket_fill() const noexcept { return buckets_.fill(); }
  [[nodiscard]] std::optional<double> average_daily_volume() const noexcept {
    return days_.average();
  }
  [[nodiscard]] std::uint64_t rejected() const noexcept { return rejected_; }
  [[nodiscard]] std::vector<EnhancedResult> recent(std::size_t max = SIZE_MAX) const {
    return history_.last(max);
  }
  [[nodiscard]] const EnhancedVpinOptions& options() const noexcept { return options_; }

 private:
  EnhancedVpin(const EnhancedVpinOptions& options, vpin::VolumeBucketer buckets,
               vpin::DailyVolume days, vpin::VpinCdf cdf);
  // A completed date sets V for the buckets after the current one.
  void track_day(UnixNanos ts, double volume) noexcept;
  const EnhancedResult& complete(const vpin::Bucket& b, UnixNanos ts) noexcept;

  EnhancedVpinOptions options_;
  std::optional<Classifier> classifier_;      // the trade modes
  std::optional<vpin::TimeBarBuilder> bars_;  // kBvc
  std::optional<vpin::BulkClassifier> bvc_;   // kBvc
  vpin::VolumeBucketer buckets_;
  vpin::DailyVolume days_;
  std::vector<vpin::VpinWindow> windows_;
  std::size_t primary_ = 0;  // index into windows_
  vpin::VpinCdf cdf_;
  vpin::AlertLatch latch_;
  vpin::ResultRing<EnhancedResult> history_;
  std::uint64_t rejected_ = 0;
};

}  // namespace nautilus::enhanced_vpin
