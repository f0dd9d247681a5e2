// The enhanced VPIN engine's glue: trades and quotes in, an EnhancedVpin per symbol, vpin_update
// (one per horizon) and toxicity_alert out, REST. The algorithm is enhanced_vpin.hpp's.
//
// The first bucket size: `initial_bucket_volume` when it is > 0; otherwise the symbol's first
// completed UTC date's volume / buckets_per_day. Until that date completes its trades are held
// (up to `max_held_trades`) and then classified in order, so nothing is bucketed against a
// made-up V; from then on the calculator follows the rolling ADV itself.
#include <fmt/format.h>

#include <atomic>
#include <boost/json.hpp>
#include <charconv>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>

#include "nautilus/core/strings.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/engine/rejections.hpp"
#include "nautilus/engines/enhanced_vpin/engine.hpp"
#include "nautilus/engines/enhanced_vpin/enhanced_vpin.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/signals.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"

namespace nautilus::enhanced_vpin {
namespace {

namespace json = boost::json;

struct Quote {
  double bid = 0, ask = 0;
  UnixNanos ts = 0;  // 0: none yet
};

// A trade that arrived before V was known, with the quote in force when it arrived (quotes
// themselves are not held: Lee–Ready needs only the one in force at each trade).
struct Held {
  double price = 0, size = 0;
  AggressorSide side = AggressorSide::kNone;
  UnixNanos ts = 0;
  Quote quote;
};

struct SymbolState {
  std::optional<EnhancedVpin> calc;
  vpin::DailyVolume first_days;  // finds the first completed date while no V is known
  std::deque<Held> held;
  Quote last_quote;  // while holding
  std::optional<bus::TopicHandle> update_topic, alert_topic;
  std::uint64_t trades = 0;
};

std::optional<Mode> mode_of(std::string_view s) {
  if (s == "auto") return Mode::kAuto;
  if (s == "aggressor") return Mode::kAggressor;
  if (s == "tick") return Mode::kTickRule;
  if (s == "lee-ready") return Mode::kLeeReady;
  if (s == "bvc") return Mode::kBvc;
  return std::nullopt;
}

std::optional<std::string> check_horizon(std::string_view v) {
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || n == 0 || n > 1000000) {
    return fmt::format("'{}' is not a number of buckets in [1, 1000000]", v);
  }
  return std::nullopt;
}

class EnhancedVpinEngine final : public engine::Engine {
 public:
  const engine::EngineInfo& info() const override { return info_; }

  core::Result<void> start(engine::EngineContext& ctx) override {
    ctx_ = &ctx;
    const auto& cfg = ctx.settings();
    options_.mode = *mode_of(cfg.text("classify"));  // a choice: validated by the host
    options_.adv_days = static_cast<std::size_t>(cfg.integer("adv_days"));
    options_.buckets_per_day = static_cast<std::size_t>(cfg.integer("buckets_per_day"));
    options_.windows.clear();
    for (const auto& h : cfg.list("horizons")) options_.windows.push_back(std::stoul(h));
    options_.primary_window = static_cast<std::size_t>(cfg.integer("primary_window"));
    options_.bar_seconds = static_cast<std::uint32_t>(cfg.integer("bar_seconds"));
    options_.bvc.cdf =
        cfg.text("bar_cdf") == "normal" ? vpin::BarCdf::kNormal : vpin::BarCdf::kStudentT;
    options_.bvc.df = cfg.number("df");
    options_.toxicity.kind = cfg.text("vpin_cdf") == "lognormal" ? vpin::VpinCdfKind::kLognormal
                                                                 : vpin::VpinCdfKind::kEmpirical;
    options_.toxicity.history = static_cast<std::size_t>(cfg.integer("cdf_history"));
    options_.toxicity.min_history = static_cast<std::size_t>(cfg.integer("cdf_min_history"));
    options_.toxicity.threshold = cfg.number("threshold");
    initial_v_ = cfg.number("initial_bucket_volume");
    max_held_ = static_cast<std::size_t>(cfg.integer("max_held_trades"));
    min_first_date_hours_ = cfg.number("min_first_date_hours");
    // Build one calculator with a stand-in V: a bad combination stops start-up instead of
    // failing for each symbol later. The algorithm's "windows" are the `horizons` setting.
    EnhancedVpinOptions probe = options_;
    probe.initial_bucket_volume = 1;
    if (auto ok = EnhancedVpin::create(probe); !ok) {
      return core::fail(ok.error().code, "enhanced_vpin: " + ok.error().message +
                                             " (settings horizons, "
                                             "primary_window)");
    }
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    publisher_.emplace(std::move(*pub));
    auto trades = ctx.subscribe(
        "market_data.*.trade", [this](const bus::Envelope& e) { on_trade(e); },
        bus::OverflowPolicy::kBlock);  // a lost trade is a bucket short of volume
    if (!trades) return std::unexpected(trades.error());
    // Quotes are most of a feed and Lee–Ready needs only the one in force: under load they
    // may be dropped (counted by the bus) rather than hold the hub back.
    auto quotes =
        ctx.subscribe("market_data.*.quote", [this](const bus::Envelope& e) { on_quote(e); });
    if (!quotes) return std::unexpected(quotes.error());
    return {};
  }

  void add_routes(net::Router& r) override {
    r.get("/enhanced_vpin/symbols", [this](const net::Request&) { return symbols_json(); });
    r.get("/enhanced_vpin/{symbol}",
          [this](const net::Request& q) { return symbol_json(q.param("symbol")); });
    r.get("/enhanced_vpin/{symbol}/buckets",
          [this](const net::Request& q) { return buckets_json(q.param("symbol"), q); });
  }

  void add_metrics(net::PrometheusText& p) const override {
    const auto counter = [&p](const char* name, const char* help, std::uint64_t v) {
      p.family(name, "counter", help);
      p.sample(name, {{"engine", "enhanced_vpin"}}, static_cast<double>(v));
    };
    counter("nautilus_enhanced_vpin_trades_total", "trades classified", trades_.load());
    counter("nautilus_enhanced_vpin_buckets_total", "volume buckets completed", buckets_.load());
    counter("nautilus_enhanced_vpin_alerts_total", "toxicity alerts published", alerts_.load());
    counter("nautilus_enhanced_vpin_rejected_total",
            "inputs ignored: bad values, or over max_held_trades", rejected_.count());
    counter("nautilus_enhanced_vpin_discarded_total",
            "trades of a partial first date, dropped (see min_first_date_hours)",
            discarded_.load());
  }

  void add_health_fields(json::object& out) const override {
    std::lock_guard lock(mu_);
    out["symbols"] = symbols_.size();
    out["buckets"] = buckets_.load();
    out["alerts"] = alerts_.load();
    out["rejected"] = rejected_.count();
    out["discarded"] = discarded_.load();
  }

 private:
  void on_trade(const bus::Envelope& e) {
    const auto* t = e.get<model::TradeTick>();
    if (t == nullptr) {
      return rejected_.add("a message on a trade topic that is not a trade", e.topic.value());
    }
    {
      std::lock_guard lock(mu_);
      SymbolState& s = state_for(t->symbol);
      ++trades_;
      ++s.trades;
      const Held h{.price = t->price.as_double(),
                   .size = t->size.as_double(),
                   .side = t->aggressor,
                   .ts = t->ts_event,
                   .quote = s.last_quote};
      if (s.calc) {
        trade(t->symbol, s, h);
      } else {
        on_trade_without_v(t->symbol, s, h);
      }
    }
    publish_pending();
  }

  void on_trade_without_v(core::Symbol sym, SymbolState& s, const Held& h) {
    const bool completed = h.size > 0 && s.first_days.add(h.ts, h.size);
    double v = initial_v_;
    if (v <= 0 && completed) {
      if (held_hours(s) < min_first_date_hours_) {
        // A partial first date (the stream began late in the session) would give a V far too
        // small: its trades are dropped (counted) and the next date is the first.
        discarded_ += s.held.size();
        s.held.clear();
        s.first_days = *vpin::DailyVolume::create(1);
        s.first_days.add(h.ts, h.size);
      } else {
        v = *s.first_days.average() / static_cast<double>(options_.buckets_per_day);
      }
    }
    if (v <= 0) {
      if (s.held.size() >= max_held_)
        return rejected_.add("a trade over max_held_trades", sym.value());
      s.held.push_back(h);
      return;
    }
    if (!start_symbol(sym, s, v)) return;
    UnixNanos fed_quote = 0;
    for (const Held& held : s.held) {
      if (held.quote.ts != 0 && held.quote.ts != fed_quote) {
        s.calc->on_quote(held.quote.bid, held.quote.ask, held.quote.ts);
        fed_quote = held.quote.ts;
      }
      trade(sym, s, held);
    }
    s.held.clear();
    if (h.quote.ts != 0 && h.quote.ts != fed_quote) {
      s.calc->on_quote(h.quote.bid, h.quote.ask, h.quote.ts);
    }
    trade(sym, s, h);
  }

  static double held_hours(const SymbolState& s) {
    if (s.held.empty()) return 0;
    return static_cast<double>(s.held.back().ts - s.held.front().ts) / 3.6e12;
  }

  void on_quote(const bus::Envelope& e) {
    const auto* q = e.get<model::QuoteTick>();
    if (q == nullptr) {
      return rejected_.add("a message on a quote topic that is not a quote", e.topic.value());
    }
    std::lock_guard lock(mu_);
    SymbolState& s = state_for(q->symbol);
    if (s.calc) {
      s.calc->on_quote(q->bid.as_double(), q->ask.as_double(), q->ts_event);
    } else {
      s.last_quote = {q->bid.as_double(), q->ask.as_double(), q->ts_event};
    }
  }

  bool start_symbol(core::Symbol sym, SymbolState& s, double v) {
    EnhancedVpinOptions o = options_;
    o.initial_bucket_volume = v;
    auto c = EnhancedVpin::create(o);
    if (!c) {
      rejected_.add("no usable bucket size: " + c.error().message, sym.value());
      return false;
    }
    s.calc.emplace(std::move(*c));
    return true;
  }

  void trade(core::Symbol sym, SymbolState& s, const Held& h) {
    const auto rejected_before = s.calc->rejected();
    s.calc->on_trade(h.price, h.size, h.side, h.ts,
                     [&](const EnhancedResult& r) { publish(sym, s, r); });
    if (s.calc->rejected() != rejected_before) {
      rejected_.add("a trade with a bad price or size", sym.value());
    }
  }

  // Under the lock: the result is queued, and published by publish_pending() once the lock is
  // released, so that a publisher waiting on a full subscriber never holds up REST.
  void publish(core::Symbol sym, SymbolState& s, const EnhancedResult& r) {
    ++buckets_;
    if (!s.update_topic) return;  // the symbol cannot be a topic token (counted)
    pending_.push_back({sym, *s.update_topic, *s.alert_topic, r});
  }

  void publish_pending() {
    for (auto& [sym, update, alert, r] : pending_) {
      for (std::size_t i = 0; i < r.horizons; ++i) {
        const std::size_t w = options_.windows[i];
        model::VpinUpdate u{.symbol = sym,
                            .method = model::VpinMethod::kEnhanced,
                            .window = static_cast<std::uint32_t>(w),
                            .bucket = r.index,
                            .vpin = r.vpin[i],
                            .cdf = w == options_.primary_window ? r.cdf : vpin::kNaN,
                            .buy_volume = r.buy,
                            .sell_volume = r.sell,
                            .bucket_volume = r.bucket_volume,
                            .ts_event = r.ts};
        // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
        publisher_->publish(update, u, {.ts_event = r.ts});
      }
      if (!r.alert) continue;
      ++alerts_;
      publisher_->publish(alert,
                          model::ToxicityAlert{.symbol = sym,
                                               .method = model::VpinMethod::kEnhanced,
                                               .vpin = r.primary_vpin,
                                               .cdf = r.cdf,
                                               .threshold = options_.toxicity.threshold,
                                               .ts_event = r.ts},
                          {.priority = bus::Priority::kHigh, .ts_event = r.ts});
    }
    pending_.clear();
  }

  SymbolState& state_for(core::Symbol sym) {
    auto it = symbols_.find(sym);
    if (it != symbols_.end()) return it->second;
    it = symbols_.emplace(sym, SymbolState{.first_days = *vpin::DailyVolume::create(1)}).first;
    auto update = ctx_->bus().topic(fmt::format("vpin.enhanced.{}", sym.value()));
    auto alert = ctx_->bus().topic(fmt::format("toxicity.alert.{}", sym.value()));
    if (update && alert) {
      it->second.update_topic = *update;
      it->second.alert_topic = *alert;
    } else {
      rejected_.add("a symbol that cannot be a topic token", sym.value());
    }
    return it->second;
  }

  const SymbolState* find(std::string_view symbol) const {
    auto s = core::Symbol::create(symbol);
    if (!s) return nullptr;
    const auto it = symbols_.find(*s);
    return it == symbols_.end() ? nullptr : &it->second;
  }

  json::object state_json(std::string_view sym, const SymbolState& s) const {
    json::object o{{"symbol", sym}, {"trades", s.trades}, {"held", s.held.size()}};
    if (!s.calc) {
      o["state"] = "waiting for the first completed date (no ADV yet)";
      return o;
    }
    const EnhancedVpin& c = *s.calc;
    o["state"] = "bucketing";
    json::object horizons;
    for (std::size_t i = 0; i < c.horizons(); ++i) {
      horizons[fmt::format("vpin{}", c.window(i))] = c.vpin(i);
    }
    o["vpin"] = std::move(horizons);
    o["primary_window"] = options_.primary_window;
    o["cdf"] = c.cdf();
    o["buckets"] = c.buckets();
    o["bucket_volume"] = c.bucket_volume();
    o["next_bucket_volume"] = c.next_bucket_volume();
    o["bucket_fill"] = c.bucket_fill();
    if (const auto adv = c.average_daily_volume()) o["average_daily_volume"] = *adv;
    o["threshold"] = options_.toxicity.threshold;
    return o;
  }

  net::Response symbols_json() const {
    json::array a;
    std::lock_guard lock(mu_);
    std::map<std::string_view, const SymbolState*> sorted;
    for (const auto& [sym, s] : symbols_) sorted.emplace(sym.value(), &s);
    for (const auto& [name, s] : sorted) a.push_back(state_json(name, *s));
    return net::Response::json(json::object{{"symbols", std::move(a)}});
  }

  net::Response symbol_json(std::string_view symbol) const {
    std::lock_guard lock(mu_);
    const SymbolState* s = find(symbol);
    if (s == nullptr) {
      return net::Response::error(404, fmt::format("no data for symbol '{}'", symbol));
    }
    return net::Response::json(state_json(symbol, *s));
  }

  net::Response buckets_json(std::string_view symbol, const net::Request& q) const {
    const auto limit = q.query_count("limit", 50, 250);  // 250: the history kept
    if (!limit) return net::Response::error(400, limit.error().message);
    std::lock_guard lock(mu_);
    const SymbolState* s = find(symbol);
    if (s == nullptr) {
      return net::Response::error(404, fmt::format("no data for symbol '{}'", symbol));
    }
    json::array a;
    if (s->calc) {
      for (const auto& r : s->calc->recent(*limit)) {
        json::object vp;
        for (std::size_t i = 0; i < r.horizons; ++i) {
          vp[fmt::format("vpin{}", options_.windows[i])] = r.vpin[i];
        }
        a.push_back(json::object{{"bucket", r.index},
                                 {"ts", core::format_timestamp(r.ts)},
                                 {"vpin", std::move(vp)},
                                 {"cdf", r.cdf},
                                 {"buy_volume", r.buy},
                                 {"sell_volume", r.sell},
                                 {"bucket_volume", r.bucket_volume},
                                 {"alert", r.alert}});
      }
    }
    return net::Response::json(json::object{{"symbol", symbol}, {"buckets", std::move(a)}});
  }

  const engine::EngineInfo& info_ = engine_info();
  engine::EngineContext* ctx_ = nullptr;
  EnhancedVpinOptions options_;
  double initial_v_ = 0;
  std::size_t max_held_ = 2'000'000;
  double min_first_date_hours_ = 3;
  std::optional<bus::Publisher> publisher_;
  struct Pending {
    core::Symbol symbol;
    bus::TopicHandle update, alert;
    EnhancedResult result;
  };
  std::vector<Pending> pending_;  // the engine's thread: results not yet published

  mutable std::mutex mu_;  // the engine's thread updates, REST reads
  std::unordered_map<core::Symbol, SymbolState> symbols_;
  std::atomic<std::uint64_t> trades_{0}, buckets_{0}, alerts_{0}, discarded_{0};
  engine::Rejections rejected_{"enhanced_vpin"};
};

}  // namespace

const engine::EngineInfo& engine_info() {
  using engine::Setting;
  static const engine::EngineInfo info{
      .name = "enhanced_vpin",
      .default_port = 10001,
      .subscribes = {"market_data.*.trade", "market_data.*.quote"},
      .publishes = {"vpin.enhanced.*", "toxicity.alert.*"},
      .description = "VPIN from trade-level classification, adaptive buckets, several horizons",
      .settings = {
          Setting::choice("classify", "auto", {"auto", "aggressor", "tick", "lee-ready", "bvc"},
                          "How trades are signed: the feed's aggressor side, else Lee-Ready, else "
                          "the tick rule (auto); one rule alone; or bulk BVC on time bars"),
          Setting::number("initial_bucket_volume", 0, 0, {},
                          "V until the first date completes; 0: that date's volume / "
                          "buckets_per_day (its trades are held until then)"),
          Setting::integer("adv_days", 20, 1, 10000,
                           "Completed dates in the rolling average daily volume"),
          Setting::integer("buckets_per_day", 50, 1, 100000, "Buckets an average day fills"),
          Setting::list("horizons", {"10", "50", "250"}, "VPIN windows, in buckets",
                        &check_horizon),
          Setting::integer("primary_window", 50, 1, 1000000,
                           "The horizon whose CDF raises alerts (one of horizons)"),
          Setting::integer("bar_seconds", 60, 1, 86400, "classify = bvc: time bar length"),
          Setting::choice("bar_cdf", "student-t", {"student-t", "normal"},
                          "classify = bvc: F in V_B = V·F(ΔP/σ)"),
          Setting::number("df", 0.25, 1e-9, {},
                          "classify = bvc: Student-t degrees of freedom (0.25 as ELO 2016)"),
          Setting::choice("vpin_cdf", "empirical", {"empirical", "lognormal"},
                          "VPIN's own CDF: empirical over the history, or a fitted lognormal"),
          Setting::integer("cdf_history", 1000, 0, 1000000,
                           "VPIN values the CDF is estimated from (0: all)"),
          Setting::integer("cdf_min_history", 50, 1, 1000000, "Values before the CDF is given"),
          Setting::number("threshold", 0.9, 1e-9, 1, "Alert when the CDF crosses this upwards"),
          Setting::number(
              "min_first_date_hours", 3, 0, 24,
              "A first date whose trades span less is partial: dropped, not used for V"),
          Setting::integer("max_held_trades", 2000000, 1, 100000000,
                           "Trades held per symbol while no V is known yet"),
      }};
  return info;
}

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<EnhancedVpinEngine>(); }

}  // namespace nautilus::enhanced_vpin
