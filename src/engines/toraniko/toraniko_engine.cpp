// The toraniko engine's glue: requests to the hub, daily bars in, FactorModel, factor_returns
// and factor_exposures out, REST. The arithmetic is all in factor_model.hpp and model.hpp.
//
// Threads: replies to requests arrive on whatever thread delivers them (the hub's, or the
// bus's timeout thread), so they only land in the inbox and wake a timer; every piece of state
// is then changed on the engine's own thread (timers and the bar subscription run there), and
// read by REST under `mu_`.
#include <fmt/format.h>

#include <atomic>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <variant>

#include "hub_panel.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/engine/rejections.hpp"
#include "nautilus/engines/toraniko/engine.hpp"
#include "nautilus/engines/toraniko/factor_model.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/requests.hpp"
#include "nautilus/model/signals.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"

namespace nautilus::toraniko {
namespace {

namespace json = boost::json;
constexpr std::uint32_t kDaily = 86'400;

enum class State : std::uint8_t { kIdle, kWarmingUp, kLive, kNoUniverse };
std::string_view state_name(State s) {
  switch (s) {
    case State::kIdle:
      return "idle";
    case State::kWarmingUp:
      return "warming_up";
    case State::kLive:
      return "live";
    case State::kNoUniverse:
      return "no_universe";
  }
  return "?";
}

// One request to the hub, queued until there is room in the window.
struct Job {
  enum Kind : std::uint8_t { kUniverse, kHistory, kFilings } kind = kUniverse;
  std::size_t symbol = 0;  // index into histories_ (history and filings)
  core::UnixNanos start = 0;
  core::UnixNanos end = 0;  // filings paging: older records
  std::string after;        // universe paging
};

struct Answer {
  Job job;
  core::Result<bus::Envelope> reply;
};

// Where replies land. Shared with every pending request's callback, which may run after the
// engine is gone (a timeout or a late reply over Redis): closed at stop(), after which a callback
// touches nothing else.
struct Inbox {
  std::mutex mu;
  std::deque<Answer> answers;
  bool wake_pending = false;
  bool closed = false;
  engine::EngineContext* ctx = nullptr;
  std::function<void()> drain;  // runs on the engine's thread, from a timer
};

struct FittedDate {
  std::string date;
  core::UnixNanos ts = 0;
  std::size_t assets = 0;
  double r_squared = 0;
  std::vector<double> returns;
};

class ToranikoEngine final : public engine::Engine {
 public:
  const engine::EngineInfo& info() const override { return info_; }

  core::Result<void> start(engine::EngineContext& ctx) override {
    ctx_ = &ctx;
    inbox_->ctx = &ctx;
    inbox_->drain = [this] { drain_inbox(); };
    const auto& cfg = ctx.settings();
    model_name_ = cfg.text("model");
    auto name = model::Name::create(model_name_);
    if (!name) return core::fail(core::ErrorCode::kInvalidArgument, "toraniko.model: too long");
    wire_model_ = *name;
    options_.winsor = cfg.number("winsor");
    if (*options_.winsor == 0) options_.winsor.reset();
    options_.residualize_styles = cfg.boolean("residualize_styles");
    timeout_ = std::chrono::milliseconds(
        static_cast<std::int64_t>(cfg.number("request_timeout_s") * 1000));
    window_ = static_cast<std::size_t>(cfg.integer("requests_in_flight"));
    retry_ = std::chrono::milliseconds(static_cast<std::int64_t>(cfg.number("retry_s") * 1000));
    close_after_ =
        std::chrono::milliseconds(static_cast<std::int64_t>(cfg.number("date_close_s") * 1000));
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    publisher_.emplace(std::move(*pub));
    for (const auto [ep, name] : {std::pair{&history_ep_, "marketdata.history"},
                                  std::pair{&filings_ep_, "marketdata.filings"},
                                  std::pair{&universe_ep_, "marketdata.universe"}}) {
      auto h = ctx.bus().endpoint(name);
      if (!h) return std::unexpected(h.error());
      ep->emplace(std::move(*h));
    }
    auto topic = ctx.bus().topic(fmt::format("factor.return.{}", model_name_));
    if (!topic) return std::unexpected(topic.error());
    returns_topic_.emplace(std::move(*topic));
    // Daily bars wait for room rather than being dropped: a missing bar is a missing return.
    auto sub = ctx.subscribe(
        "market_data.*.bar", [this](const bus::Envelope& e) { on_bar(e); },
        bus::OverflowPolicy::kBlock);
    if (!sub) return std::unexpected(sub.error());
    return {};
  }

  void stop() override {
    std::lock_guard lock(inbox_->mu);
    inbox_->closed = true;
    inbox_->answers.clear();
  }

  void begin() override {
    (void)ctx_->set_timer_at("toraniko.warmup", ctx_->clock().now(), [this](core::UnixNanos) {
      set_state(State::kWarmingUp);
      warmup_started_ = std::chrono::steady_clock::now();
      jobs_.push_back({.kind = Job::kUniverse});
      pump();
    });
  }

  void add_routes(net::Router& r) override {
    r.get("/toraniko/factor_returns",
          [this](const net::Request& q) { return factor_returns_json(q); });
    r.get("/toraniko/exposures", [this](const net::Request&) { return exposures_json({}); });
    r.get("/toraniko/exposures/{symbol}",
          [this](const net::Request& q) { return exposures_json(q.param("symbol")); });
  }

  void add_metrics(net::PrometheusText& p) const override {
    const net::PrometheusText::Labels l = {{"engine", "toraniko"}};
    p.family("nautilus_toraniko_dates_total", "counter",
             "dates the model saw: fitted, or not (too few assets with every input)");
    p.sample("nautilus_toraniko_dates_total", {{"engine", "toraniko"}, {"outcome", "fitted"}},
             static_cast<double>(fitted_.load()));
    p.sample("nautilus_toraniko_dates_total", {{"engine", "toraniko"}, {"outcome", "skipped"}},
             static_cast<double>(skipped_.load()));
    p.family("nautilus_toraniko_requests_failed_total", "counter",
             "requests to the hub that failed or timed out (that symbol's data is missing)");
    p.sample("nautilus_toraniko_requests_failed_total", l,
             static_cast<double>(requests_failed_.load()));
    p.family("nautilus_toraniko_bars_rejected_total", "counter",
             "daily bars ignored (of a symbol outside the universe, or of a date already "
             "fitted), and dates the model refused");
    p.sample("nautilus_toraniko_bars_rejected_total", l, static_cast<double>(rejected_.count()));
    p.family("nautilus_toraniko_symbols", "gauge", "symbols of the universe");
    p.sample("nautilus_toraniko_symbols", l, static_cast<double>(symbol_count_.load()));
    p.family("nautilus_toraniko_warmup_seconds", "gauge",
             "how long fetching and fitting the history took");
    p.sample("nautilus_toraniko_warmup_seconds", l, warmup_seconds_.load());
  }

  void add_health_fields(json::object& out) const override {
    out["state"] = state_name(state_.load());
    out["symbols"] = symbol_count_.load();
    out["dates_fitted"] = fitted_.load();
    std::lock_guard lock(mu_);
    out["last_date"] =
        fitted_dates_.empty() ? json::value() : json::value(fitted_dates_.back().date);
  }

  engine::Health health() const override {
    if (state_.load() == State::kNoUniverse) {
      return {true,
              "no universe to fit yet: no hub answered marketdata.universe, or it has no "
              "reference data (asked again every retry_s)"};
    }
    return {};
  }

 private:
  // ---- requests ---------------------------------------------------------------------------

  // Issues queued jobs while the window has room. Engine thread.
  void pump() {
    while (in_flight_ < window_ && !jobs_.empty()) {
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      auto done = [inbox = inbox_, job](core::Result<bus::Envelope> r) {
        std::lock_guard lock(inbox->mu);
        if (inbox->closed) return;
        inbox->answers.push_back({job, std::move(r)});
        if (inbox->wake_pending) return;
        inbox->wake_pending = true;
        // Under the lock, so stop() cannot close the inbox and free the context meanwhile.
        (void)inbox->ctx->set_timer_at("toraniko.replies", inbox->ctx->clock().now(),
                                       [inbox](core::UnixNanos) { inbox->drain(); });
      };
      core::Result<bus::CorrelationId> sent = core::fail(core::ErrorCode::kInternal, "");
      // NOLINTBEGIN(bugprone-unchecked-optional-access): set in start()
      switch (job.kind) {
        case Job::kUniverse: {
          model::UniverseRequest q;
          q.after = *core::FixedString<64>::create(job.after);
          sent = publisher_->request(*universe_ep_, q, timeout_, done);
          break;
        }
        case Job::kHistory:
          sent = publisher_->request(*history_ep_,
                                     model::HistoryRequest{.symbol = symbol_of(job.symbol),
                                                           .interval_s = kDaily,
                                                           .start = job.start,
                                                           .limit = model::kMaxHistoryBars},
                                     timeout_, done);
          break;
        case Job::kFilings:
          sent = publisher_->request(
              *filings_ep_,
              model::FilingsRequest{
                  .symbol = symbol_of(job.symbol), .start = job.start, .end = job.end},
              timeout_, done);
          break;
      }
      // NOLINTEND(bugprone-unchecked-optional-access)
      if (!sent) {
        // Nobody serves the endpoint (no hub on this bus yet), or its queue is full.
        request_failed(job, sent.error().message);
        continue;
      }
      ++in_flight_;
    }
    if (in_flight_ == 0 && jobs_.empty() && batch_done_) {
      auto done = std::move(batch_done_);
      batch_done_ = nullptr;
      done();
    }
  }

  void drain_inbox() {
    std::deque<Answer> answers;
    {
      std::lock_guard lock(inbox_->mu);
      if (inbox_->closed) return;
      answers.swap(inbox_->answers);
      inbox_->wake_pending = false;
    }
    for (auto& a : answers) {
      --in_flight_;
      handle(a);
    }
    pump();
  }

  void request_failed(const Job& job, std::string_view why) {
    ++requests_failed_;
    if (requests_failed_.load() <= 10) {
      fmt::print(stderr, "toraniko: a request for {} failed: {}\n",
                 job.kind == Job::kUniverse ? std::string("the universe")
                                            : std::string(symbol_of(job.symbol).value()),
                 why);
    }
    // A universe read in part would be frozen in part: forget it and ask again later.
    if (job.kind == Job::kUniverse) forget_universe_and_retry();
  }

  void forget_universe_and_retry() {
    {
      std::lock_guard lock(mu_);
      histories_.clear();
      symbols_.clear();
      index_.clear();
      symbol_count_.store(0);
    }
    jobs_.clear();
    retry_universe_later();
  }

  // No universe yet (no hub answering, or one without reference data): ask again later, since
  // in separate processes the hub may simply not be up yet.
  void retry_universe_later() {
    set_state(State::kNoUniverse);
    (void)ctx_->set_timer_at("toraniko.universe_retry", ctx_->clock().now() + retry_.count(),
                             [this](core::UnixNanos) {
                               if (!histories_.empty() || !jobs_.empty()) return;
                               jobs_.push_back({.kind = Job::kUniverse});
                               pump();
                             });
  }

  void handle(const Answer& a) {
    if (!a.reply) return request_failed(a.job, a.reply.error().message);
    const bus::Envelope& e = *a.reply;
    if (const auto* f = e.get<model::RequestFailed>()) {
      // A symbol without filings, or without daily bars, is simply absent from the model.
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
    {
      std::lock_guard lock(mu_);
      for (std::size_t i = 0; i < u.symbols.size() && i < u.sectors.size(); ++i) {
        const std::string sym(u.symbols[i].value());
        if (index_.contains(sym)) continue;
        index_.emplace(sym, histories_.size());
        histories_.push_back({.symbol = sym, .sector = std::string(u.sectors[i].view())});
        symbols_.push_back(u.symbols[i]);
      }
      symbol_count_.store(histories_.size());
    }
    if (u.more && !u.symbols.empty()) {
      jobs_.push_back({.kind = Job::kUniverse, .after = std::string(u.symbols.back().value())});
      return;
    }
    universe_done();
  }

  // The universe is known: every symbol's bars and filings, then the fit.
  void universe_done() {
    if (histories_.empty()) return retry_universe_later();
    std::set<std::string> names;
    for (const auto& h : histories_) names.insert(h.sector);
    std::vector<std::string> sorted(names.begin(), names.end());  // toraniko sorts them
    for (std::size_t j = 0; j < sorted.size(); ++j) {
      sector_index_.emplace(sorted[j], static_cast<std::uint16_t>(j));
    }
    model_.emplace(FactorModelConfig{.sectors = sorted, .model = options_});
    {
      std::lock_guard lock(mu_);
      factor_names_ = model_->factor_names();
      for (const auto& n : factor_names_) {
        // Sector names can be longer than a wire Name: cut at its 23 bytes.
        wire_names_.push_back(*model::Name::create(n.substr(0, model::Name::kCapacity)));
      }
    }
    set_state(State::kWarmingUp);
    for (std::size_t i = 0; i < histories_.size(); ++i) {
      jobs_.push_back({.kind = Job::kHistory, .symbol = i});
      jobs_.push_back({.kind = Job::kFilings, .symbol = i});
    }
    batch_done_ = [this] { warmup_done(); };
  }

  void on_history(const Job& job, const model::BarHistory& h) {
    SymbolHistory& s = histories_[job.symbol];
    for (std::size_t k = 0; k < h.ts.size() && k < h.close.size(); ++k) {
      if (!s.ts.empty() && h.ts[k] <= s.ts.back()) continue;
      s.ts.push_back(h.ts[k]);
      s.close.push_back(h.close[k].as_double());
    }
    if (h.more)
      jobs_.push_back({.kind = Job::kHistory, .symbol = job.symbol, .start = h.next_start});
  }

  void on_filings(const Job& job, const model::ReferenceHistory& f) {
    SymbolHistory& s = histories_[job.symbol];
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
      jobs_.push_back({.kind = Job::kFilings,
                       .symbol = job.symbol,
                       .start = job.start,
                       .end = f.as_of.front() - 1});
    }
  }

  // ---- fitting ----------------------------------------------------------------------------

  void warmup_done() {
    // Bars of the dates the live stream has begun may be in some histories and not others:
    // those dates are completed by the live path, from the pending bars, not fitted here in part.
    if (!pending_.empty()) {
      const std::string cut = pending_.begin()->first;
      for (std::size_t i = 0; i < histories_.size(); ++i) {
        SymbolHistory& h = histories_[i];
        while (!h.ts.empty() && date_of(h.ts.back()) >= cut) {
          auto& slot = pending_[date_of(h.ts.back())];
          if (!slot.contains(i)) slot.emplace(i, PendingBar{h.ts.back(), h.close.back()});
          h.ts.pop_back();
          h.close.pop_back();
        }
      }
    }
    fit_new_rows(/*publish_exposures=*/true);
    warmup_seconds_.store(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - warmup_started_).count());
    set_state(State::kLive);
    close_complete_dates();
  }

  // Fits every bar not yet fitted, date by date, and publishes each date's factor returns.
  void fit_new_rows(bool publish_exposures) {
    std::size_t unknown = 0;
    auto dates = build_rows(histories_, sector_index_, &unknown);
    bool any = false;
    for (auto& d : dates) {
      if (!model_->last_date().empty() && d.date <= model_->last_date()) continue;
      auto fit = model_->add_date(d.date, d.rows);
      if (!fit) {
        rejected_.add(fit.error().message, d.date);
        continue;
      }
      if (!*fit) {
        ++skipped_;
        continue;
      }
      any = true;
      publish_date(d, **fit);
    }
    if (any && publish_exposures) publish_latest_exposures();
  }

  void publish_date(const PanelDate& d, const DatedFit& f) {
    FittedDate row{.date = d.date,
                   .ts = d.ts,
                   .assets = f.assets,
                   .r_squared = f.fit.r_squared,
                   .returns = f.fit.factor_returns};
    {
      std::lock_guard lock(mu_);
      fitted_dates_.push_back(row);
      latest_residuals_.clear();
      for (std::size_t i = 0; i < f.symbols.size(); ++i) {
        latest_residuals_[std::string(f.symbols[i])] = f.fit.residuals[i];
      }
    }
    ++fitted_;
    model::FactorReturns m{.model = wire_model_,
                           .ts_event = d.ts,
                           .assets = static_cast<std::uint32_t>(f.assets),
                           .r_squared = f.fit.r_squared,
                           .names = wire_names_,
                           .returns = f.fit.factor_returns};
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    (void)publisher_->publish(*returns_topic_, std::move(m), {.ts_event = d.ts});
  }

  void publish_latest_exposures() {
    auto latest = model_->latest_exposures();
    std::vector<model::Name> names;
    for (const auto& s : model_->style_names()) names.push_back(*model::Name::create(s));
    const core::UnixNanos ts = fitted_dates_.empty() ? 0 : fitted_dates_.back().ts;
    for (const auto& e : latest) {
      auto sym = core::Symbol::create(e.symbol);
      if (!sym) continue;
      // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
      (void)publisher_->publish(
          fmt::format("factor.model.{}.{}", model_name_, e.symbol),
          model::FactorExposures{
              .symbol = *sym, .ts_event = ts, .names = names, .values = e.values},
          {.ts_event = ts});
    }
    std::lock_guard lock(mu_);
    latest_exposures_ = std::move(latest);
  }

  // ---- live bars --------------------------------------------------------------------------

  void on_bar(const bus::Envelope& e) {
    const auto* bar = e.get<model::Bar>();
    if (bar == nullptr || bar->interval_s != kDaily) return;  // other engines' bars
    const auto it = index_.find(std::string(bar->symbol.value()));
    if (it == index_.end()) {
      rejected_.add("a daily bar of a symbol outside the universe", bar->symbol.value());
      return;
    }
    const std::string date = date_of(bar->ts_event);
    if (model_ && !model_->last_date().empty() && date <= model_->last_date()) {
      rejected_.add("a daily bar of a date already fitted", bar->symbol.value());
      return;
    }
    pending_[date][it->second] = PendingBar{bar->ts_event, bar->close.as_double()};
    if (state_.load() == State::kLive) close_complete_dates();
  }

  // A pending date is complete when every symbol has its bar, or a later date has begun. Its
  // filings are refreshed, then its bars join the histories and the date is fitted.
  void close_complete_dates() {
    if (refreshing_) return;
    // Dates at or before the last fitted one are late: drop them (counted).
    while (!pending_.empty() && model_ && !model_->last_date().empty() &&
           pending_.begin()->first <= model_->last_date()) {
      rejected_.add("daily bars of a date already fitted", pending_.begin()->first);
      pending_.erase(pending_.begin());
    }
    if (pending_.empty()) return;
    const auto first = pending_.begin();
    // Complete: every symbol that traded on the last fitted date has its bar (a symbol with no
    // bars, or delisted, is not waited for), or a later date has begun, or its deadline passed.
    const bool complete = first->second.size() >= active_symbols() || pending_.size() > 1 ||
                          expired_.contains(first->first);
    if (!complete) {
      arm_deadline(first->first, first->second.begin()->second.ts);
      return;
    }
    refreshing_ = true;
    const std::string date = first->first;
    for (std::size_t i = 0; i < histories_.size(); ++i) {
      const auto& s = histories_[i];
      jobs_.push_back(
          {.kind = Job::kFilings, .symbol = i, .start = s.as_of.empty() ? 0 : s.as_of.back() + 1});
    }
    batch_done_ = [this, date] {
      auto node = pending_.extract(date);
      expired_.erase(date);
      for (const auto& [i, bar] : node.mapped()) {
        SymbolHistory& s = histories_[i];
        if (!s.ts.empty() && bar.ts <= s.ts.back()) continue;
        s.ts.push_back(bar.ts);
        s.close.push_back(bar.close);
      }
      fit_new_rows(/*publish_exposures=*/true);
      refreshing_ = false;
      close_complete_dates();
    };
    pump();
  }

  // The symbols whose last bar is on the last fitted date.
  [[nodiscard]] std::size_t active_symbols() const {
    if (!model_ || model_->last_date().empty()) return histories_.size();
    std::size_t n = 0;
    for (const auto& h : histories_) {
      if (!h.ts.empty() && date_of(h.ts.back()) == model_->last_date()) ++n;
    }
    return n;
  }

  // A date whose bars stop short of every symbol is closed `date_close_s` after its first bar.
  void arm_deadline(const std::string& date, core::UnixNanos first_bar) {
    if (!armed_.insert(date).second) return;
    const auto at = std::max(first_bar, ctx_->clock().now()) + close_after_.count();
    (void)ctx_->set_timer_at("toraniko.date_deadline", at, [this, date](core::UnixNanos) {
      armed_.erase(date);
      if (!pending_.contains(date)) return;
      expired_.insert(date);
      close_complete_dates();
    });
  }

  // ---- REST -------------------------------------------------------------------------------

  net::Response factor_returns_json(const net::Request& q) const {
    const std::string start = q.query_param("start").value_or("");
    const std::string end = q.query_param("end").value_or("9999");
    std::size_t limit = 1000;
    if (auto l = q.query_param("limit")) {
      const auto r = std::from_chars(l->data(), l->data() + l->size(), limit);
      if (r.ec != std::errc{} || r.ptr != l->data() + l->size() || limit == 0) {
        return net::Response::error(400, fmt::format("limit '{}': want a positive integer", *l));
      }
    }
    std::lock_guard lock(mu_);
    json::array dates;
    std::size_t first = fitted_dates_.size();
    // The last `limit` dates within [start, end].
    while (first > 0 && dates.size() < limit) {
      const auto& d = fitted_dates_[first - 1];
      if (d.date < start) break;
      --first;
      if (d.date.substr(0, end.size()) > end) continue;
      json::object returns;
      for (std::size_t j = 0; j < d.returns.size() && j < factor_names_.size(); ++j) {
        returns[factor_names_[j]] = d.returns[j];
      }
      dates.push_back(json::object{{"date", d.date},
                                   {"assets", d.assets},
                                   {"r_squared", d.r_squared},
                                   {"returns", std::move(returns)}});
    }
    std::reverse(dates.begin(), dates.end());
    json::array names;
    for (const auto& n : factor_names_) names.emplace_back(n);
    return net::Response::json(json::object{{"model", model_name_},
                                            {"state", state_name(state_.load())},
                                            {"factors", std::move(names)},
                                            {"dates", std::move(dates)}});
  }

  net::Response exposures_json(std::string_view symbol) const {
    std::lock_guard lock(mu_);
    json::object symbols;
    for (const auto& e : latest_exposures_) {
      if (!symbol.empty() && e.symbol != symbol) continue;
      json::object values;
      for (std::size_t j = 0; j < e.values.size() && j < style_names_.size(); ++j) {
        values[style_names_[j]] = e.values[j];
      }
      const auto r = latest_residuals_.find(e.symbol);
      symbols[e.symbol] = json::object{
          {"exposures", std::move(values)},
          {"last_residual", r == latest_residuals_.end() ? json::value() : json::value(r->second)}};
    }
    if (!symbol.empty() && symbols.empty()) {
      return net::Response::error(404, fmt::format("no exposures for symbol '{}'", symbol));
    }
    return net::Response::json(json::object{
        {"model", model_name_},
        {"date", fitted_dates_.empty() ? json::value() : json::value(fitted_dates_.back().date)},
        {"symbols", std::move(symbols)}});
  }

  void set_state(State s) {
    state_.store(s);
    if (s == State::kLive && model_) {
      std::lock_guard lock(mu_);
      style_names_ = model_->style_names();
    }
  }

  [[nodiscard]] core::Symbol symbol_of(std::size_t i) const { return symbols_[i]; }

  const engine::EngineInfo& info_ = engine_info();
  engine::EngineContext* ctx_ = nullptr;
  std::string model_name_;
  model::Name wire_model_;
  ModelOptions options_;
  std::chrono::nanoseconds timeout_{std::chrono::seconds(10)};
  std::size_t window_ = 32;
  std::chrono::nanoseconds retry_{std::chrono::seconds(5)};
  std::optional<bus::Publisher> publisher_;
  std::optional<bus::TopicHandle> history_ep_, filings_ep_, universe_ep_, returns_topic_;

  // Engine thread only.
  std::deque<Job> jobs_;
  std::size_t in_flight_ = 0;
  std::function<void()> batch_done_;  // when the queued jobs have all been answered
  bool refreshing_ = false;
  std::set<std::string> armed_;    // dates with a deadline timer
  std::set<std::string> expired_;  // dates past their deadline
  std::chrono::nanoseconds close_after_{std::chrono::minutes(10)};
  std::deque<SymbolHistory> histories_;
  std::vector<core::Symbol> symbols_;
  std::unordered_map<std::string, std::size_t> index_;
  std::map<std::string, std::uint16_t> sector_index_;
  std::optional<FactorModel> model_;
  std::vector<model::Name> wire_names_;
  struct PendingBar {
    core::UnixNanos ts = 0;
    double close = 0;
  };
  std::map<std::string, std::map<std::size_t, PendingBar>> pending_;  // date -> symbol -> bar
  std::chrono::steady_clock::time_point warmup_started_;

  std::shared_ptr<Inbox> inbox_ = std::make_shared<Inbox>();

  // Read by REST.
  mutable std::mutex mu_;
  std::vector<std::string> factor_names_;
  std::vector<std::string> style_names_;
  std::vector<FittedDate> fitted_dates_;
  std::vector<SymbolExposures> latest_exposures_;
  std::unordered_map<std::string, double> latest_residuals_;
  std::atomic<State> state_{State::kIdle};
  std::atomic<std::uint64_t> fitted_{0};
  std::atomic<std::uint64_t> skipped_{0};
  std::atomic<std::uint64_t> requests_failed_{0};
  std::atomic<std::size_t> symbol_count_{0};
  std::atomic<double> warmup_seconds_{0};
  engine::Rejections rejected_{"toraniko"};
};

}  // namespace

const engine::EngineInfo& engine_info() {
  using engine::Setting;
  static const engine::EngineInfo info{
      .name = "toraniko",
      .default_port = 8950,
      .subscribes = {"market_data.*.bar"},
      .publishes = {"factor.return.*", "factor.model.*"},
      .description =
          "The toraniko factor model (market, sectors, momentum/size/value) on the "
          "hub's universe: factor and residual returns per date",
      .settings = {
          Setting::text("model", "toraniko",
                        "Model name: the topics are factor.return.<model> and "
                        "factor.model.<model>.<symbol>"),
          Setting::number("winsor", 0.05, 0, 0.49,
                          "Returns clipped to this percentile and its complement (0: off)"),
          Setting::boolean("residualize_styles", true,
                           "Fit the styles on the market + sector residuals (toraniko's default)"),
          Setting::number("request_timeout_s", 10, 0.001, 3600,
                          "How long a request to the hub may take"),
          Setting::integer("requests_in_flight", 32, 1, 1024,
                           "Requests to the hub outstanding at once while fetching history"),
          Setting::number("date_close_s", 600, 0.001, 86400 * 7,
                          "A date whose bars have not come for every symbol is fitted this long "
                          "after its first bar (clock time)"),
          Setting::number("retry_s", 5, 0.001, 86400,
                          "How long to wait before asking again for a universe the hub did not "
                          "give (no hub yet, or no reference data)"),
      }};
  return info;
}

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<ToranikoEngine>(); }

}  // namespace nautilus::toraniko
