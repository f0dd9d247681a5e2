// The research universe as an engine sees it over the bus: the MarketData hub's symbols, each
// one's daily bars and filings, fetched with the hub's requests and then kept up to date from
// the live daily bars. The cross-sectional engines (toraniko, factor) are built on it; it holds
// the data, they hold the models.
//
// At begin() it asks marketdata.universe (paged), then per symbol marketdata.history (daily
// bars) and marketdata.filings, at most `window` requests outstanding, all as of where the
// hub's data is up to; then it hands the histories over (`on_dates(true)`). After that it takes
// `market_data.<symbol>.bar` (86,400 s) and hands over each completed date (`on_dates(false)`):
// complete when every symbol that traded on the last date has its bar, when a bar of a later
// date arrives, or `date_close` after its first bar; the filings are refreshed first. Dates
// the live stream began while the history was being fetched are completed by the live path.
// No universe (no hub yet, or one without reference data), or a universe page that failed:
// asked again every `retry`.
//
// Threads: replies arrive on whatever thread delivers them (the hub's, or the bus's timeout
// thread); they only land in an inbox that wakes a timer, so everything else, on_dates
// included, runs on the engine's thread. The inbox is closed at stop(): a late reply then
// touches nothing.
//
//   universe_feed::UniverseFeed feed(universe_feed::feed_options(ctx.settings(), "factor"),
//                                    [this](bool warmup) { on_dates(warmup); });
//   if (auto ok = feed.start(ctx); !ok) return ok;     // in Engine::start
//   feed.begin();                                      // in Engine::begin
//   for (auto& h : feed.histories()) ...               // in on_dates: h.ts, h.close, h.as_of...
#pragma once

#include <boost/json/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/engine/engine.hpp"
#include "nautilus/engine/settings.hpp"

namespace nautilus::net {
class PrometheusText;
}

namespace nautilus::universe_feed {

struct SymbolHistory {
  std::string symbol;
  std::string sector;               // as of when the universe was read
  std::vector<core::UnixNanos> ts;  // daily bar closes, ascending, one a UTC day (append_bar)
  std::vector<double> close;
  std::vector<double> volume;
  std::vector<core::UnixNanos> as_of;  // filings, ascending
  std::vector<double> shares;
  std::vector<double> book;
  std::vector<double> sales;
  std::vector<double> cash_flow;
  std::size_t rows_built = 0;  // for the engine: bars it has already used
};

// The UTC date (YYYY-MM-DD) of a close time.
[[nodiscard]] std::string date_of(core::UnixNanos ts);

// Appends a daily bar after the history's last: one bar per UTC day (a later bar of the same
// day replaces the earlier), nothing at or before the last bar's time.
void append_bar(SymbolHistory& h, core::UnixNanos ts, double close, double volume);

enum class FeedState : std::uint8_t { kIdle, kWarmingUp, kLive, kNoUniverse };
[[nodiscard]] std::string_view state_name(FeedState s);

struct FeedOptions {
  std::string engine;  // for timer names, messages and metric names
  std::chrono::nanoseconds timeout{std::chrono::seconds(10)};
  std::size_t window = 32;
  std::chrono::nanoseconds retry{std::chrono::seconds(5)};
  std::chrono::nanoseconds date_close{std::chrono::minutes(10)};
};

// The settings an engine on the feed declares beside its own: request_timeout_s,
// requests_in_flight, date_close_s, retry_s.
[[nodiscard]] std::vector<engine::Setting> feed_settings();
// An engine's own settings followed by feed_settings().
[[nodiscard]] std::vector<engine::Setting> with_feed_settings(std::vector<engine::Setting> own);
[[nodiscard]] FeedOptions feed_options(const engine::EngineSettings& settings, std::string engine);

class UniverseFeed {
 public:
  // Called on the engine's thread when bars were added: the whole history (warmup true), or
  // one completed live date.
  using DatesHandler = std::function<void(bool warmup)>;

  UniverseFeed(FeedOptions options, DatesHandler on_dates);
  ~UniverseFeed();
  UniverseFeed(const UniverseFeed&) = delete;
  UniverseFeed& operator=(const UniverseFeed&) = delete;

  // Takes a publisher, resolves the hub's endpoints, subscribes to the daily bars.
  [[nodiscard]] core::Result<void> start(engine::EngineContext& ctx);
  void begin();  // asks for the universe (a timer: on the engine's thread)
  // Stops asking and handing over (Engine::drain): the engine's long loops over the history
  // check draining() and return, so a host stopping mid-warm-up does not wait for them.
  void drain();
  void stop();  // closes the inbox

  // Engine thread only (on_dates and the engine's own timers and handlers).
  [[nodiscard]] std::deque<SymbolHistory>& histories() noexcept;
  [[nodiscard]] const std::string& last_date() const noexcept;  // of the bars handed over

  // Any thread.
  [[nodiscard]] FeedState state() const noexcept;
  [[nodiscard]] bool draining() const noexcept;
  [[nodiscard]] std::size_t symbol_count() const noexcept;
  [[nodiscard]] engine::Health health() const;
  // nautilus_<engine>_requests_failed_total, _bars_rejected_total, _symbols, _warmup_seconds.
  void add_metrics(net::PrometheusText& p) const;
  void add_health_fields(boost::json::object& out) const;  // state, symbols

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nautilus::universe_feed
