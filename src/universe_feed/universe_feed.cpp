#include "nautilus/universe_feed/universe_feed.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>

#include "nautilus/core/time.hpp"
#include "nautilus/engine/rejections.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/requests.hpp"
#include "nautilus/net/prometheus.hpp"

namespace nautilus::universe_feed {
namespace {

constexpr std::uint32_t kDaily = 86'400;

// One request to the hub, queued until there is room in the window.
struct Job {
  enum Kind : std::uint8_t { kUniverse, kHistory, kFilings } kind = kUniverse;
  std::size_t symbol = 0;  // index into histories (history and filings)
  core::UnixNanos start = 0;
  core::UnixNanos end = 0;  // filings paging: older records
  std::string after;        // universe paging
};

struct Answer {
  Job job;
  core::Result<bus::Envelope> reply;
};

// Where replies land. Shared with every pending request's callback, which may run after the
// engine is gone (a timeout or a late reply over Redis): closed at stop(), after which a
// callback touches nothing else.
struct Inbox {
  std::mutex mu;
  std::deque<Answer> answers;
  bool wake_pending = false;
  bool closed = false;
  engine::EngineContext* ctx = nullptr;
  std::string timer;            // "<engine>.replies"
  std::function<void()> drain;  // runs on the engine's thread, from a timer
};

struct PendingBar {
  core::UnixNanos ts = 0;
  double close = 0;
  double volume = 0;
};

std::chrono::nanoseconds seconds_setting(const engine::EngineSettings& s, std::string_view name) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(s.number(name) * 1000));
}

}  // namespace

std::string date_of(core::UnixNanos ts) { return core::format_timestamp(ts).substr(0, 10); }

void append_bar(SymbolHistory& h, core::UnixNanos ts, double close, double volume) {
  constexpr core::UnixNanos kDay = 86'400'000'000'000;
  if (!h.ts.empty() && ts <= h.ts.back()) return;
  if (!h.ts.empty() && ts / kDay == h.ts.back() / kDay) {
    // A second bar of the same UTC day (another source's stamp): the later one stands for it.
    h.ts.back() = ts;
    h.close.back() = close;
    h.volume.back() = volume;
    return;
  }
  h.ts.push_back(ts);
  h.close.push_back(close);
  h.volume.push_back(volume);
}

std::string_view state_name(FeedState s) {
  switch (s) {
    case FeedState::kIdle:
      return "idle";
    case FeedState::kWarmingUp:
      return "warming_up";
    case FeedState::kLive:
      return "live";
    case FeedState::kNoUniverse:
      return "no_universe";
  }
  return "?";
}

std::vector<engine::Setting> feed_settings() {
  using engine::Setting;
  return {
      Setting::number("request_timeout_s", 10, 0.001, 3600,
                      "How long a request to the hub may take"),
      Setting::integer("requests_in_flight", 32, 1, 1024,
                       "Requests to the hub outstanding at once while fetching history"),
      Setting::number("date_close_s", 600, 0.001, 86400 * 7,
                      "A date whose bars have not come for every symbol is taken this long "
                      "after its first bar (clock time)"),
      Setting::number("retry_s", 5, 0.001, 86400,
                      "How long to wait before asking again for a universe the hub did not "
                      "give (no hub yet, or no reference data)"),
  };
}

std::vector<engine::Setting> with_feed_settings(std::vector<engine::Setting> own) {
  for (auto& s : feed_settings()) own.push_back(std::move(s));
  return own;
}

FeedOptions feed_options(const engine::EngineSettings& s, std::string engine) {
  return {.engine = std::move(engine),
          .timeout = seconds_setting(s, "request_timeout_s"),
          .window = static_cast<std::size_t>(s.integer("requests_in_flight")),
          .retry = seconds_setting(s, "retry_s"),
          .date_close = seconds_setting(s, "date_close_s")};
}

struct UniverseFeed::Impl {
  Impl(FeedOptions o, DatesHandler h)
      : options(std::move(o)), on_dates(std::move(h)), rejected(options.engine) {}

  FeedOptions options;
  DatesHandler on_dates;
  engine::EngineContext* ctx = nullptr;
  std::optional<bus::Publisher> publisher;
  std::optional<bus::TopicHandle> history_ep, filings_ep, universe_ep;
  std::shared_ptr<Inbox> inbox = std::make_shared<Inbox>();

  // Engine thread only.
  std::deque<Job> jobs;
  std::size_t in_flight = 0;
  std::function<void()> batch_done;  // when the queued jobs have all been answered
  bool refreshing = false;
  std::deque<SymbolHistory> histories;
  std::vector<core::Symbol> symbols;
  std::unordered_map<std::string, std::size_t> index;
  std::string last_date;
  std::map<std::string, std::map<std::size_t, PendingBar>> pending;  // date -> symbol -> bar
  std::set<std::string> armed;                                       // dates with a deadline timer
  std::set<std::string> expired;                                     // dates past their deadline
  std::chrono::steady_clock::time_point warmup_started;

  // Any thread.
  std::atomic<FeedState> state{FeedState::kIdle};
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> symbol_count{0};
  std::atomic<std::uint64_t> requests_failed{0};
  std::atomic<double> warmup_seconds{0};
  engine::Rejections rejected;

  // ---- requests -----------------------------------------------------------------------------

  // Issues queued jobs while the window has room.
  void pump() {
    if (draining.load()) return;
    while (in_flight < options.window && !jobs.empty()) {
      Job job = std::move(jobs.front());
      jobs.pop_front();
      auto done = [in = inbox, job](core::Result<bus::Envelope> r) {
        std::lock_guard lock(in->mu);
        if (in->closed) return;
        in->answers.push_back({job, std::move(r)});
        if (in->wake_pending) return;
        in->wake_pending = true;
        // Under the lock, so stop() cannot close the inbox and free the context meanwhile.
        auto timer =
            in->ctx->set_timer_at(in->timer, in->ctx->clock().now(), [in](core::UnixNanos) {
              {
                std::lock_guard closed_lock(in->mu);
                if (in->closed) return;  // the feed may be gone
              }
              in->drain();
            });
        if (!timer)
          in->wake_pending = false;  // timers stopped (shutting down): the next reply tries again
      };
      core::Result<bus::CorrelationId> sent = core::fail(core::ErrorCode::kInternal, "");
      // NOLINTBEGIN(bugprone-unchecked-optional-access): set in start()
      switch (job.kind) {
        case Job::kUniverse: {
          model::UniverseRequest q;
          q.after = *core::FixedString<64>::create(job.after);
          sent = publisher->request(*universe_ep, q, options.timeout, done);
          break;
        }
        case Job::kHistory:
          sent = publisher->request(*history_ep,
                                    model::HistoryRequest{.symbol = symbols[job.symbol],
                                                          .interval_s = kDaily,
                                                          .start = job.start,
                                                          .limit = model::kMaxHistoryBars},
                                    options.timeout, done);
          break;
        case Job::kFilings:
          sent = publisher->request(
              *filings_ep,
              model::FilingsRequest{
                  .symbol = symbols[job.symbol], .start = job.start, .end = job.end},
              options.timeout, done);
          break;
      }
      // NOLINTEND(bugprone-unchecked-optional-access)
      if (!sent) {
        // Nobody serves the endpoint (no hub on this bus yet), or its queue is full.
        request_failed(job, sent.error().message);
        continue;
      }
      ++in_flight;
    }
    if (in_flight == 0 && jobs.empty() && batch_done) {
      auto done = std::move(batch_done);
      batch_done = nullptr;
      done();
    }
  }

  void drain_inbox() {
    std::deque<Answer> answers;
    {
      std::lock_guard lock(inbox->mu);
      if (inbox->closed) return;
      answers.swap(inbox->answers);
      inbox->wake_pending = false;
    }
    for (auto& a : answers) {
      --in_flight;
      handle(a);
    }
    pump();
  }

  void request_failed(const Job& job, std::string_view why) {
    ++requests_failed;
    if (requests_failed.load() <= 10) {
      fmt::print(stderr, "{}: a request for {} failed: {}\n", options.engine,
                 job.kind == Job::kUniverse ? std::string("the universe")
                                            : std::string(symbols[job.symbol].value()),
                 why);
    }
    // A universe read in part would be frozen in part: forget it and ask again later. A symbol's
    // history or filings read in part would put a gap inside its returns: drop what came, so
    // the symbol starts again from the live bars (and the next refresh asks for all filings).
    if (job.kind == Job::kUniverse) return forget_universe_and_retry();
    SymbolHistory& h = histories[job.symbol];
    if (job.kind == Job::kHistory) {
      h.ts.clear();
      h.close.clear();
      h.volume.clear();
      h.rows_built = 0;
    } else {
      h.as_of.clear();
      h.shares.clear();
      h.book.clear();
      h.sales.clear();
      h.cash_flow.clear();
    }
  }

  void forget_universe_and_retry() {
    histories.clear();
    symbols.clear();
    index.clear();
    symbol_count.store(0);
    jobs.clear();
    retry_universe_later();
  }

  // No universe yet (no hub answering, or one without reference data): ask again later, since
  // in separate processes the hub may simply not be up yet.
  void retry_universe_later() {
    state.store(FeedState::kNoUniverse);
    (void)ctx->set_timer_at(options.engine + ".universe_retry",
                            ctx->clock().now() + options.retry.count(), [this](core::UnixNanos) {
                              if (!histories.empty() || !jobs.empty()) return;
                              jobs.push_back({.kind = Job::kUniverse});
                              pump();
                            });
  }

  void handle(const Answer& a) {
    if (!a.reply) return request_failed(a.job, a.reply.error().message);
    const bus::Envelope& e = *a.reply;
    if (const auto* f = e.get<model::RequestFailed>()) {
      // A symbol without filings, or without daily bars, is simply absent from the models.
      if (f->error == model::RequestError::kNotFound) {
        if (a.job.kind == Job::kUniverse) universe_done();
        return;
      }
      return request_failed(a.job, f->detail.view());
    }
    switch (a.job.kind) {
      case Job::kUniverse:
        if (const auto* u = e.get<model::UniverseMembers>()) return on_universe(*u);
        break;
      case Job::kHistory:
        if (const auto* h = e.get<model::BarHistory>()) return on_history(a.job, *h);
        break;
      case Job::kFilings:
        if (const auto* f = e.get<model::ReferenceHistory>()) return on_filings(a.job, *f);
        break;
    }
    request_failed(a.job, fmt::format("an unexpected {} reply", e.type_name()));
  }

  void on_universe(const model::UniverseMembers& u) {
    for (std::size_t i = 0; i < u.symbols.size() && i < u.sectors.size(); ++i) {
      const std::string sym(u.symbols[i].value());
      if (index.contains(sym)) continue;
      index.emplace(sym, histories.size());
      histories.push_back({.symbol = sym, .sector = std::string(u.sectors[i].view())});
      symbols.push_back(u.symbols[i]);
    }
    symbol_count.store(histories.size());
    if (u.more && !u.symbols.empty()) {
      jobs.push_back({.kind = Job::kUniverse, .after = std::string(u.symbols.back().value())});
      return;
    }
    universe_done();
  }

  // The universe is known: every symbol's bars and filings.
  void universe_done() {
    if (histories.empty()) return retry_universe_later();
    state.store(FeedState::kWarmingUp);
    for (std::size_t i = 0; i < histories.size(); ++i) {
      jobs.push_back({.kind = Job::kHistory, .symbol = i});
      jobs.push_back({.kind = Job::kFilings, .symbol = i});
    }
    batch_done = [this] { warmup_done(); };
  }

  void on_history(const Job& job, const model::BarHistory& h) {
    SymbolHistory& s = histories[job.symbol];
    const std::size_t n = std::min({h.ts.size(), h.close.size(), h.volume.size()});
    for (std::size_t k = 0; k < n; ++k)
      append_bar(s, h.ts[k], h.close[k].as_double(), h.volume[k].as_double());
    if (h.more) {
      jobs.push_back({.kind = Job::kHistory, .symbol = job.symbol, .start = h.next_start});
    }
  }

  void on_filings(const Job& job, const model::ReferenceHistory& f) {
    SymbolHistory& s = histories[job.symbol];
    const std::size_t n =
        std::min({f.as_of.size(), f.shares_outstanding.size(), f.book_value.size(), f.sales.size(),
                  f.operating_cash_flow.size()});
    // Replies come newest page first when a symbol has more than a reply holds: merge by as_of.
    for (std::size_t k = 0; k < n; ++k) {
      const auto pos = std::lower_bound(s.as_of.begin(), s.as_of.end(), f.as_of[k]);
      if (pos != s.as_of.end() && *pos == f.as_of[k]) continue;
      const auto i = pos - s.as_of.begin();
      s.as_of.insert(pos, f.as_of[k]);
      s.shares.insert(s.shares.begin() + i, f.shares_outstanding[k]);
      s.book.insert(s.book.begin() + i, f.book_value[k]);
      s.sales.insert(s.sales.begin() + i, f.sales[k]);
      s.cash_flow.insert(s.cash_flow.begin() + i, f.operating_cash_flow[k]);
    }
    if (f.more && n > 0 && f.as_of.front() - 1 >= job.start) {
      jobs.push_back({.kind = Job::kFilings,
                      .symbol = job.symbol,
                      .start = job.start,
                      .end = f.as_of.front() - 1});
    }
  }

  // ---- handing over -------------------------------------------------------------------------

  void note_last_date() {
    for (const auto& h : histories) {
      if (!h.ts.empty()) last_date = std::max(last_date, date_of(h.ts.back()));
    }
  }

  void warmup_done() {
    // Bars of the dates the live stream has begun may be in some histories and not others:
    // those dates are completed by the live path, from the pending bars, not handed over here
    // in part.
    // A live date older than every history's last bar is covered by all of them already (a
    // stale bar): it does not cut.
    std::string covered;
    for (const auto& h : histories) {
      if (h.ts.empty()) continue;
      const std::string d = date_of(h.ts.back());
      if (covered.empty() || d < covered) covered = d;
    }
    while (!pending.empty() && !covered.empty() && pending.begin()->first <= covered) {
      rejected.add("daily bars of a date the history already holds", pending.begin()->first);
      pending.erase(pending.begin());
    }
    if (!pending.empty()) {
      const std::string cut = pending.begin()->first;
      for (std::size_t i = 0; i < histories.size(); ++i) {
        SymbolHistory& h = histories[i];
        while (!h.ts.empty() && date_of(h.ts.back()) >= cut) {
          auto& slot = pending[date_of(h.ts.back())];
          if (!slot.contains(i))
            slot.emplace(i, PendingBar{h.ts.back(), h.close.back(), h.volume.back()});
          h.ts.pop_back();
          h.close.pop_back();
          h.volume.pop_back();
        }
      }
    }
    note_last_date();
    if (draining.load()) return;
    on_dates(true);
    warmup_seconds.store(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - warmup_started).count());
    state.store(FeedState::kLive);
    close_complete_dates();
  }

  // ---- live bars ----------------------------------------------------------------------------

  void on_bar(const bus::Envelope& e) {
    const auto* bar = e.get<model::Bar>();
    if (bar == nullptr || bar->interval_s != kDaily) return;  // other engines' bars
    if (histories.empty()) return;  // no universe yet: nothing to keep up to date
    const auto it = index.find(std::string(bar->symbol.value()));
    if (it == index.end()) {
      rejected.add("a daily bar of a symbol outside the universe", bar->symbol.value());
      return;
    }
    const std::string date = date_of(bar->ts_event);
    if (!last_date.empty() && date <= last_date) {
      rejected.add("a daily bar of a date already taken", bar->symbol.value());
      return;
    }
    pending[date][it->second] =
        PendingBar{bar->ts_event, bar->close.as_double(), bar->volume.as_double()};
    if (state.load() == FeedState::kLive) close_complete_dates();
  }

  // The symbols whose last bar is on the last date handed over.
  [[nodiscard]] std::size_t active_symbols() const {
    if (last_date.empty()) return histories.size();
    std::size_t n = 0;
    for (const auto& h : histories) {
      if (!h.ts.empty() && date_of(h.ts.back()) == last_date) ++n;
    }
    return n;
  }

  void close_complete_dates() {
    if (refreshing) return;
    // Dates at or before the last one handed over are late: drop them (counted).
    while (!pending.empty() && !last_date.empty() && pending.begin()->first <= last_date) {
      rejected.add("daily bars of a date already taken", pending.begin()->first);
      pending.erase(pending.begin());
    }
    if (pending.empty()) return;
    const auto first = pending.begin();
    // Complete: every symbol that traded on the last date has its bar (a symbol with no bars,
    // or delisted, is not waited for), or a later date has begun, or its deadline passed.
    std::size_t active_pending = 0;
    for (const auto& [i, bar] : first->second) {
      const auto& h = histories[i];
      if (last_date.empty() || (!h.ts.empty() && date_of(h.ts.back()) == last_date))
        ++active_pending;
    }
    const bool complete =
        active_pending >= active_symbols() || pending.size() > 1 || expired.contains(first->first);
    if (!complete) {
      arm_deadline(first->first, first->second.begin()->second.ts);
      return;
    }
    refreshing = true;
    const std::string date = first->first;
    for (std::size_t i = 0; i < histories.size(); ++i) {
      const auto& s = histories[i];
      jobs.push_back(
          {.kind = Job::kFilings, .symbol = i, .start = s.as_of.empty() ? 0 : s.as_of.back() + 1});
    }
    batch_done = [this, date] {
      auto node = pending.extract(date);
      expired.erase(date);
      for (const auto& [i, bar] : node.mapped())
        append_bar(histories[i], bar.ts, bar.close, bar.volume);
      note_last_date();
      if (draining.load()) return;
      on_dates(false);
      refreshing = false;
      close_complete_dates();
    };
    pump();
  }

  // A date whose bars stop short of every symbol is taken `date_close` after its first bar.
  void arm_deadline(const std::string& date, core::UnixNanos first_bar) {
    if (!armed.insert(date).second) return;
    const auto at = std::max(first_bar, ctx->clock().now()) + options.date_close.count();
    (void)ctx->set_timer_at(options.engine + ".date_deadline", at, [this, date](core::UnixNanos) {
      armed.erase(date);
      if (!pending.contains(date)) return;
      expired.insert(date);
      close_complete_dates();
    });
  }
};

UniverseFeed::UniverseFeed(FeedOptions options, DatesHandler on_dates)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(on_dates))) {}

UniverseFeed::~UniverseFeed() { stop(); }

core::Result<void> UniverseFeed::start(engine::EngineContext& ctx) {
  Impl& m = *impl_;
  m.ctx = &ctx;
  m.inbox->ctx = &ctx;
  m.inbox->timer = m.options.engine + ".replies";
  m.inbox->drain = [&m] { m.drain_inbox(); };
  auto pub = ctx.publisher();
  if (!pub) return std::unexpected(pub.error());
  m.publisher.emplace(std::move(*pub));
  for (const auto& [ep, name] : {std::pair{&m.history_ep, "marketdata.history"},
                                 std::pair{&m.filings_ep, "marketdata.filings"},
                                 std::pair{&m.universe_ep, "marketdata.universe"}}) {
    auto h = ctx.bus().endpoint(name);
    if (!h) return std::unexpected(h.error());
    ep->emplace(std::move(*h));
  }
  // Daily bars wait for room rather than being dropped: a missing bar is a missing return.
  auto sub = ctx.subscribe(
      "market_data.*.bar", [&m](const bus::Envelope& e) { m.on_bar(e); },
      bus::OverflowPolicy::kBlock);
  if (!sub) return std::unexpected(sub.error());
  return {};
}

void UniverseFeed::begin() {
  Impl& m = *impl_;
  (void)m.ctx->set_timer_at(m.options.engine + ".warmup", m.ctx->clock().now(),
                            [&m](core::UnixNanos) {
                              m.state.store(FeedState::kWarmingUp);
                              m.warmup_started = std::chrono::steady_clock::now();
                              m.jobs.push_back({.kind = Job::kUniverse});
                              m.pump();
                            });
}

void UniverseFeed::drain() { impl_->draining.store(true); }
bool UniverseFeed::draining() const noexcept { return impl_->draining.load(); }

void UniverseFeed::stop() {
  impl_->draining.store(true);
  std::lock_guard lock(impl_->inbox->mu);
  impl_->inbox->closed = true;
  impl_->inbox->answers.clear();
}

std::deque<SymbolHistory>& UniverseFeed::histories() noexcept { return impl_->histories; }
const std::string& UniverseFeed::last_date() const noexcept { return impl_->last_date; }
FeedState UniverseFeed::state() const noexcept { return impl_->state.load(); }
std::size_t UniverseFeed::symbol_count() const noexcept { return impl_->symbol_count.load(); }

engine::Health UniverseFeed::health() const {
  if (state() == FeedState::kNoUniverse) {
    return {true,
            "no universe yet: no hub answered marketdata.universe, or it has no reference data "
            "(asked again every retry_s)"};
  }
  return {};
}

void UniverseFeed::add_metrics(net::PrometheusText& p) const {
  const Impl& m = *impl_;
  const std::string& e = m.options.engine;
  const auto name = [&](std::string_view what) { return fmt::format("nautilus_{}_{}", e, what); };
  const net::PrometheusText::Labels l = {{"engine", e}};
  p.family(name("requests_failed_total"), "counter",
           "requests to the hub that failed or timed out (that symbol's data is missing)");
  p.sample(name("requests_failed_total"), l, static_cast<double>(m.requests_failed.load()));
  p.family(name("bars_rejected_total"), "counter",
           "daily bars ignored: of a symbol outside the universe, or of a date already taken");
  p.sample(name("bars_rejected_total"), l, static_cast<double>(m.rejected.count()));
  p.family(name("symbols"), "gauge", "symbols of the universe");
  p.sample(name("symbols"), l, static_cast<double>(m.symbol_count.load()));
  p.family(name("warmup_seconds"), "gauge", "how long fetching and using the history took");
  p.sample(name("warmup_seconds"), l, m.warmup_seconds.load());
}

void UniverseFeed::add_health_fields(boost::json::object& out) const {
  out["state"] = state_name(state());
  out["symbols"] = symbol_count();
}

}  // namespace nautilus::universe_feed
