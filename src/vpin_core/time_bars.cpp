// Time bars from trades, daily volume, ELO's file bucket size.
#include "nautilus/vpin_core/time_bars.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace nautilus::vpin {
namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

TimeBar from_model(const model::Bar& bar) noexcept {
  return {.open = bar.open.as_double(),
          .close = bar.close.as_double(),
          .volume = bar.volume.as_double(),
          .ts_close = bar.ts_event,
          .trades = 0};
}

core::Result<TimeBarBuilder> TimeBarBuilder::create(std::uint32_t bar_seconds) {
  if (bar_seconds == 0)
    return core::fail(core::ErrorCode::kInvalidArgument, "bar_seconds must be > 0");
  return TimeBarBuilder(static_cast<UnixNanos>(bar_seconds) * kNanosPerSecond);
}

void TimeBarBuilder::start(double price, double size, std::int64_t interval) noexcept {
  interval_ = interval;
  open_ = true;
  bar_ = {.open = price,
          .close = price,
          .volume = size,
          .ts_close = (interval + 1) * bar_ns_,
          .trades = 1};
}

std::optional<TimeBar> TimeBarBuilder::on_trade(double price, double size, UnixNanos ts) noexcept {
  const std::int64_t interval = floor_div(ts, bar_ns_);
  if (!open_) {
    start(price, size, interval);
    return std::nullopt;
  }
  if (interval <= interval_) {
    bar_.volume += size;
    ++bar_.trades;
    if (interval == interval_) bar_.close = price;  // a late trade's price is stale
    return std::nullopt;
  }
  const TimeBar done = bar_;
  start(price, size, interval);
  return done;
}

std::optional<TimeBar> TimeBarBuilder::flush() noexcept {
  if (!open_) return std::nullopt;
  open_ = false;
  return bar_;
}

core::Result<DailyVolume> DailyVolume::create(std::size_t days) {
  if (days == 0) return core::fail(core::ErrorCode::kInvalidArgument, "days must be > 0");
  return DailyVolume(days);
}

bool DailyVolume::add(UnixNanos ts, double volume) noexcept {
  if (!(volume > 0)) return false;  // a date is a date with volume
  const std::int64_t date = floor_div(ts, kNanosPerDay);
  if (!has_open_) {
    has_open_ = true;
    open_date_ = date;
    open_volume_ = volume;
    return false;
  }
  if (date <= open_date_) {
    open_volume_ += volume;
    return false;
  }
  ring_[next_] = open_volume_;
  next_ = (next_ + 1) % ring_.size();
  ++completed_;
  open_date_ = date;
  open_volume_ = volume;
  return true;
}

std::optional<double> DailyVolume::average() const noexcept {
  if (completed_ == 0) return std::nullopt;
  const std::size_t n = completed_ < ring_.size() ? completed_ : ring_.size();
  double sum = 0;  // a handful of dates: summed afresh, nothing to drift
  for (std::size_t i = 0; i < n; ++i) sum += ring_[i];
  return sum / static_cast<double>(n);
}

std::size_t distinct_utc_dates(std::span<const TimeBar> bars) noexcept {
  std::size_t dates = 0;
  std::int64_t last = 0;
  bool any = false;
  // Bars come in time order, so a date is new when it differs from the last one; a stray
  // out-of-order bar would count its date twice, hence the sorted fallback below.
  bool ordered = true;
  for (const TimeBar& b : bars) {
    if (!(b.volume > 0)) continue;
    const std::int64_t d = utc_date(b);
    if (any && d < last) ordered = false;
    if (!any || d != last) ++dates;
    last = d;
    any = true;
  }
  if (ordered) return dates;
  std::vector<std::int64_t> all;
  for (const TimeBar& b : bars) {
    if (b.volume > 0) all.push_back(utc_date(b));
  }
  std::sort(all.begin(), all.end());
  return static_cast<std::size_t>(std::unique(all.begin(), all.end()) - all.begin());
}

core::Result<double> file_bucket_volume(double total_volume, std::size_t dates,
                                        std::size_t buckets_per_day) {
  if (!(total_volume > 0) || !std::isfinite(total_volume)) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      "total_volume must be > 0 and finite, not " + std::to_string(total_volume));
  }
  if (dates == 0) return core::fail(core::ErrorCode::kInvalidArgument, "no dates with trades");
  if (buckets_per_day == 0) {
    return core::fail(core::ErrorCode::kInvalidArgument, "buckets_per_day must be > 0");
  }
  return total_volume / static_cast<double>(dates) / static_cast<double>(buckets_per_day);
}

}  // namespace nautilus::vpin
