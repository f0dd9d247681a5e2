// Time bars and daily volume, the inputs VPIN is computed from. Plain state in, values out: no
// clock reads, so a live feed and a file replay give the same bars.
//
//   auto builder = *TimeBarBuilder::create(/*bar_seconds=*/60);
//   if (auto bar = builder.on_trade(189.12, 300, ts)) calculator.on_bar(*bar, out);
//   if (auto last = builder.flush()) calculator.on_bar(*last, out);   // end of the file
//
//   auto adv = *DailyVolume::create(/*days=*/20);
//   if (adv.add(bar) && adv.average()) calculator.set_bucket_volume(*adv.average() / 50);
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/model/market_data.hpp"

namespace nautilus::vpin {

using core::UnixNanos;
inline constexpr UnixNanos kNanosPerSecond = 1'000'000'000;
inline constexpr UnixNanos kNanosPerDay = 86'400 * kNanosPerSecond;

// One time bar. ts_close is the end of its interval (exclusive): a bar of [09:30, 09:31) has
// ts_close 09:31, like model::Bar's ts_event.
struct TimeBar {
  double open = 0;
  double close = 0;
  double volume = 0;
  UnixNanos ts_close = 0;
  std::uint32_t trades = 0;

  friend bool operator==(const TimeBar&, const TimeBar&) = default;
};

// A bus bar as a TimeBar (prices as doubles: statistics only); trades is 0, the bus bar has none.
[[nodiscard]] TimeBar from_model(const model::Bar& bar) noexcept;

// The UTC date (days since 1970-01-01) a bar's volume traded on: that of its last nanosecond,
// so a bar ending at 00:00 belongs to the day before.
[[nodiscard]] constexpr std::int64_t utc_date(const TimeBar& bar) noexcept {
  const UnixNanos t = bar.ts_close - 1;
  return t >= 0 ? t / kNanosPerDay : (t + 1) / kNanosPerDay - 1;  // floor division
}

// Trades -> bars of `bar_seconds`, aligned to multiples of bar_seconds since the epoch
// (09:30:00, 09:31:00, ... for 60). A trade at exactly an interval's start belongs to it. The
// bar is emitted when a trade of a later interval arrives, or by flush(); intervals without
// trades give no bar. A late trade (ts in an interval before the open bar's) is added to the
// open bar's volume and count but does not move its close: its price is stale.
class TimeBarBuilder {
 public:
  // bar_seconds > 0.
  [[nodiscard]] static core::Result<TimeBarBuilder> create(std::uint32_t bar_seconds = 60);

  // The bar this trade completed, if the trade opened a later interval.
  [[nodiscard]] std::optional<TimeBar> on_trade(double price, double size, UnixNanos ts) noexcept;
  // The open bar, if any; the builder is empty afterwards.
  [[nodiscard]] std::optional<TimeBar> flush() noexcept;
  [[nodiscard]] bool has_open_bar() const noexcept { return open_; }
  [[nodiscard]] UnixNanos bar_nanos() const noexcept { return bar_ns_; }

 private:
  explicit TimeBarBuilder(UnixNanos bar_ns) noexcept : bar_ns_(bar_ns) {}
  void start(double price, double size, std::int64_t interval) noexcept;

  UnixNanos bar_ns_;
  std::int64_t interval_ = 0;  // floor(ts / bar_ns_) of the open bar
  bool open_ = false;
  TimeBar bar_{};
};

// Volume per UTC date, and the average of the last `days` completed dates: what a live engine
// sets the bucket size from. Dates without volume (weekends, holidays) are not dates here. A
// date completes when volume of a later date arrives. The first date seen counts like the
// others even when the stream started in its middle; an engine that minds seeds it with history.
class DailyVolume {
 public:
  // days > 0.
  [[nodiscard]] static core::Result<DailyVolume> create(std::size_t days = 20);

  // Volume traded at `ts` (in time order; a ts of an earlier date than the open one is added to
  // the open date). True when this call completed a date, i.e. average() may have changed.
  bool add(UnixNanos ts, double volume) noexcept;
  bool add(const TimeBar& bar) noexcept { return add(bar.ts_close - 1, bar.volume); }

  // Mean volume of the last `days` completed dates (fewer while fewer have completed); nullopt
  // before the first date completes.
  [[nodiscard]] std::optional<double> average() const noexcept;
  [[nodiscard]] std::size_t completed_days() const noexcept { return completed_; }
  [[nodiscard]] double open_volume() const noexcept { return open_volume_; }

 private:
  explicit DailyVolume(std::size_t days) : ring_(days, 0.0) {}

  std::vector<double> ring_;  // the last completed dates' volumes
  std::size_t next_ = 0;
  std::size_t completed_ = 0;
  std::int64_t open_date_ = 0;
  bool has_open_ = false;
  double open_volume_ = 0;
};

// How many distinct UTC dates the bars with volume fall on (utc_date).
[[nodiscard]] std::size_t distinct_utc_dates(std::span<const TimeBar> bars) noexcept;

// ELO's bucket size for a whole file: V = total volume / dates with trades / buckets_per_day.
// Errors when total_volume <= 0 (or not finite), dates == 0 or buckets_per_day == 0.
[[nodiscard]] core::Result<double> file_bucket_volume(double total_volume, std::size_t dates,
                                                      std::size_t buckets_per_day = 50);

}  // namespace nautilus::vpin
