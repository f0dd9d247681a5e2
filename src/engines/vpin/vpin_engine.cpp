// The VPIN engine's glue: bars (or trades) in, a VpinCalculator per symbol, vpin_update and
// toxicity_alert out, REST. The algorithm is in vpin.hpp and its parts; nothing here computes.
//
// The bucket size V: the `bucket_volume` setting when it is > 0; otherwise ELO's ADV / 50 from
// the symbol's own completed UTC dates (the last `adv_days`). Until a symbol's first date
// completes there is no ADV, so its bars are held (up to `max_held_bars`) and bucketed as soon
// as the date completes: nothing is classified against a made-up V.
#include <fmt/format.h>

#include <atomic>
#include <boost/json.hpp>
#include <charconv>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>

#include "nautilus/core/time.hpp"
#include "nautilus/engine/rejections.hpp"
#include "nautilus/engines/vpin/engine.hpp"
#include "nautilus/engines/vpin/vpin.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/signals.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"

namespace nautilus::vpin {
namespace {

namespace json = boost::json;

struct SymbolVpin {
  std::optional<VpinCalculator> calc;  // once V is known
  DailyVolume days;
  std::optional<TimeBarBuilder> builder;  // input = trades
  std::deque<TimeBar> held;               // bars before the first date completed
  std::optional<bus::TopicHandle> update_topic, alert_topic;
  UnixNanos last_ts = 0;
  std::uint64_t bars = 0;
};

json::object result_json(const BucketResult& r) {
  return {{"bucket", r.index},
          {"ts", core::format_timestamp(r.ts)},
          {"vpin", r.vpin},
          {"cdf", r.cdf},
          {"buy_volume", r.buy},
          {"sell_volume", r.sell},
          {"bucket_volume", r.bucket_volume},
          {"alert", r.alert}};
}

class VpinEngine final : public engine::Engine {
 public:
  const engine::EngineInfo& info() const override { return info_; }

  core::Result<void> start(engine::EngineContext& ctx) override {
    ctx_ = &ctx;
    const auto& cfg = ctx.settings();
    options_.window = static_cast<std::size_t>(cfg.integer("window"));
    options_.bvc.dp = cfg.text("dp") == "within" ? PriceChange::kWithin : PriceChange::kClose;
    options_.bvc.sigma =
        cfg.text("sigma") == "rolling"
            ? SigmaOptions::rolling(static_cast<std::size_t>(cfg.integer("sigma_window")))
            : SigmaOptions::sample();
    options_.bvc.cdf = cfg.text("bar_cdf") == "student-t" ? BarCdf::kStudentT : BarCdf::kNormal;
    options_.bvc.df = cfg.number("df");
    options_.toxicity.kind =
        cfg.text("vpin_cdf") == "lognormal" ? VpinCdfKind::kLognormal : VpinCdfKind::kEmpirical;
    options_.toxicity.history = static_cast<std::size_t>(cfg.integer("cdf_history"));
    options_.toxicity.min_history = static_cast<std::size_t>(cfg.integer("cdf_min_history"));
    options_.toxicity.threshold = cfg.number("threshold");
    fixed_v_ = cfg.number("bucket_volume");
    buckets_per_day_ = static_cast<std::size_t>(cfg.integer("buckets_per_day"));
    adv_days_ = static_cast<std::size_t>(cfg.integer("adv_days"));
    max_held_ = static_cast<std::size_t>(cfg.integer("max_held_bars"));
    from_trades_ = cfg.text("input") == "trades";
    bar_seconds_ = static_cast<std::uint32_t>(cfg.integer("bar_seconds"));
    min_first_date_hours_ = cfg.number("min_first_date_hours");
    // Check the combination once, with a stand-in V, so that a bad one stops start-up.
    // Check the combination once, building a calculator with a stand-in V: a bad one stops
    // start-up instead of failing for each symbol later.
    VpinOptions probe = options_;
    probe.bucket_volume = 1;
    if (auto ok = VpinCalculator::create(probe); !ok) {
      return core::fail(ok.error().code, "vpin: " + ok.error().message);
    }
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    publisher_.emplace(std::move(*pub));
    // Inputs wait for room (up to EngineContext::kEngineBlockBound) rather than being dropped
    // at once: a lost bar is volume missing from a bucket. A hub replaying at full speed is
    // held back to the engine's pace.
    auto sub = from_trades_
                   ? ctx.subscribe(
                         "market_data.*.trade", [this](const bus::Envelope& e) { on_trade(e); },
                         bus::OverflowPolicy::kBlock)
                   : ctx.subscribe(
                         "market_data.*.bar", [this](const bus::Envelope& e) { on_bar(e); },
                         bus::OverflowPolicy::kBlock);
    if (!sub) return std::unexpected(sub.error());
    return {};
  }

  void add_routes(net::Router& r) override {
    r.get("/vpin/symbols", [this](const net::Request&) { return symbols_json(); });
    r.get("/vpin/{symbol}",
          [this](const net::Request& q) { return symbol_json(q.param("symbol")); });
    r.get("/vpin/{symbol}/buckets",
          [this](const net::Request& q) { return buckets_json(q.param("symbol"), q); });
  }

  void add_metrics(net::PrometheusText& p) const override {
    const auto counter = [&p](const char* name, const char* help, std::uint64_t v) {
      p.family(name, "counter", help);
      p.sample(name, {{"engine", "vpin"}}, static_cast<double>(v));
    };
    counter("nautilus_vpin_bars_total", "time bars received (or built from trades)", bars_.load());
    counter("nautilus_vpin_discarded_total",
            "bars of a partial first date, dropped (see min_first_date_hours)", discarded_.load());
    counter("nautilus_vpin_buckets_total", "volume buckets completed", buckets_.load());
    counter("nautilus_vpin_alerts_total", "toxicity alerts published", alerts_.load());
    counter("nautilus_vpin_rejected_total",
            "inputs ignored: out of order, bad values, another interval, or over max_held_bars",
            rejected_.count());
  }

  void add_health_fields(json::object& out) const override {
    std::lock_guard lock(mu_);
    out["symbols"] = symbols_.size();
    out["bars"] = bars_.load();
    out["buckets"] = buckets_.load();
    out["alerts"] = alerts_.load();
    out["rejected"] = rejected_.count();
    out["discarded"] = discarded_.load();
  }

 private:
  void on_bar(const bus::Envelope& e) {
    const auto* bar = e.get<model::Bar>();
    if (bar == nullptr)
      return rejected_.add("a message on a bar topic that is not a bar", e.topic.value());
    if (bar->interval_s != bar_seconds_) {
      return rejected_.add(
          fmt::format("a {} s bar (bar_seconds is {})", bar->interval_s, bar_seconds_),
          bar->symbol.value());
    }
    {
      std::lock_guard lock(mu_);
      SymbolVpin& s = state_for(bar->symbol);
      if (s.bars > 0 && bar->ts_event <= s.last_ts) {
        return rejected_.add("a bar not after the previous one", bar->symbol.value());
      }
      s.last_ts = bar->ts_event;
      process(bar->symbol, s, from_model(*bar));
    }
    publish_pending();
  }

  void on_trade(const bus::Envelope& e) {
    const auto* t = e.get<model::TradeTick>();
    if (t == nullptr)
      return rejected_.add("a message on a trade topic that is not a trade", e.topic.value());
    {
      std::lock_guard lock(mu_);
      SymbolVpin& s = state_for(t->symbol);
      if (!s.builder) s.builder = *TimeBarBuilder::create(bar_seconds_);
      const auto bar = s.builder->on_trade(t->price.as_double(), t->size.as_double(), t->ts_event);
      if (bar) process(t->symbol, s, *bar);
    }
    publish_pending();
  }

  // One time bar of a symbol: into the daily volume, then held or bucketed.
  void process(core::Symbol sym, SymbolVpin& s, const TimeBar& bar) {
    ++s.bars;
    ++bars_;
    const bool date_completed = bar.volume > 0 && s.days.add(bar);
    if (!s.calc && fixed_v_ > 0) s.calc = make_calculator(sym, fixed_v_);
    if (!s.calc && date_completed) {
      if (held_hours(s) < min_first_date_hours_) {
        // A partial first date (the stream began late in the session) would give a V far
        // too small: its bars are dropped (counted) and the next date is the first.
        discarded_ += s.held.size();
        s.held.clear();
        s.days = *DailyVolume::create(adv_days_);
        s.days.add(bar);
      } else {
        // The first completed date gives the first V; the held bars are that date's.
        s.calc = make_calculator(sym, *s.days.average() / static_cast<double>(buckets_per_day_));
        while (s.calc && !s.held.empty()) {
          bucket(sym, s, s.held.front());
          s.held.pop_front();
        }
      }
    } else if (s.calc && date_completed && fixed_v_ <= 0) {
      s.calc->set_bucket_volume(*s.days.average() / static_cast<double>(buckets_per_day_));
    }
    if (!s.calc) {
      if (s.held.size() >= max_held_) return rejected_.add("a bar over max_held_bars", sym.value());
      s.held.push_back(bar);
      return;
    }
    bucket(sym, s, bar);
  }

  // How many hours the held bars span (first to last).
  static double held_hours(const SymbolVpin& s) {
    if (s.held.empty()) return 0;
    return static_cast<double>(s.held.back().ts_close - s.held.front().ts_close) / 3.6e12;
  }

  std::optional<VpinCalculator> make_calculator(core::Symbol sym, double v) {
    VpinOptions o = options_;
    o.bucket_volume = v;
    auto c = VpinCalculator::create(o);
    if (!c) {
      rejected_.add("no usable bucket size: " + c.error().message, sym.value());
      return std::nullopt;
    }
    return std::move(*c);
  }

  void bucket(core::Symbol sym, SymbolVpin& s, const TimeBar& bar) {
    const auto rejected_before = s.calc->rejected_bars();
    s.calc->on_bar(bar, [&](const BucketResult& r) { publish(sym, s, r); });
    if (s.calc->rejected_bars() != rejected_before)
      rejected_.add("a bar with a bad price or volume", sym.value());
  }

  // Under the lock: the result is queued, and published by publish_pending() once the lock is
  // released, so that a publisher waiting on a full subscriber never holds up REST.
  void publish(core::Symbol sym, SymbolVpin& s, const BucketResult& r) {
    ++buckets_;
    if (!s.update_topic) return;  // the symbol cannot be a topic token (counted)
    pending_.push_back({sym, *s.update_topic, *s.alert_topic, r});
  }

  void publish_pending() {
    for (auto& [sym, update, alert, r] : pending_) {
      model::VpinUpdate u{.symbol = sym,
                          .method = model::VpinMethod::kBvc,
                          .window = static_cast<std::uint32_t>(options_.window),
                          .bucket = r.index,
                          .vpin = r.vpin,
                          .cdf = r.cdf,
                          .buy_volume = r.buy,
                          .sell_volume = r.sell,
                          .bucket_volume = r.bucket_volume,
                          .ts_event = r.ts};
      // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
      publisher_->publish(update, u, {.ts_event = r.ts});
      if (!r.alert) continue;
      ++alerts_;
      publisher_->publish(alert,
                          model::ToxicityAlert{.symbol = sym,
                                               .method = model::VpinMethod::kBvc,
                                               .vpin = r.vpin,
                                               .cdf = r.cdf,
                                               .threshold = options_.toxicity.threshold,
                                               .ts_event = r.ts},
                          {.priority = bus::Priority::kHigh, .ts_event = r.ts});
    }
    pending_.clear();
  }

  SymbolVpin& state_for(core::Symbol sym) {
    auto it = symbols_.find(sym);
    if (it != symbols_.end()) return it->second;
    it = symbols_.emplace(sym, SymbolVpin{.days = *DailyVolume::create(adv_days_)}).first;
    auto update = ctx_->bus().topic(fmt::format("vpin.calculation.{}", sym.value()));
    auto alert = ctx_->bus().topic(fmt::format("toxicity.alert.{}", sym.value()));
    if (update && alert) {
      it->second.update_topic = *update;
      it->second.alert_topic = *alert;
    } else {
      rejected_.add("a symbol that cannot be a topic token", sym.value());
    }
    return it->second;
  }

  const SymbolVpin* find(std::string_view symbol) const {
    auto s = core::Symbol::create(symbol);
    if (!s) return nullptr;
    const auto it = symbols_.find(*s);
    return it == symbols_.end() ? nullptr : &it->second;
  }

  json::object state_json(core::Symbol sym, const SymbolVpin& s) const {
    json::object o{{"symbol", sym.value()}, {"bars", s.bars}, {"held_bars", s.held.size()}};
    if (!s.calc) {
      o["state"] = "waiting for the first completed date (no ADV yet)";
      return o;
    }
    o["state"] = "bucketing";
    o["vpin"] = s.calc->vpin();
    o["cdf"] = s.calc->cdf();
    o["sigma"] = s.calc->sigma();
    o["buckets"] = s.calc->buckets();
    o["bucket_volume"] = s.calc->bucket_volume();
    o["bucket_fill"] = s.calc->bucket_fill();
    o["window"] = options_.window;
    o["threshold"] = options_.toxicity.threshold;
    return o;
  }

  net::Response symbols_json() const {
    json::array a;
    std::lock_guard lock(mu_);
    std::map<std::string_view, const SymbolVpin*> sorted;
    for (const auto& [sym, s] : symbols_) sorted.emplace(sym.value(), &s);
    for (const auto& [name, s] : sorted) a.push_back(state_json(*core::Symbol::create(name), *s));
    return net::Response::json(json::object{{"symbols", std::move(a)}});
  }

  net::Response symbol_json(std::string_view symbol) const {
    std::lock_guard lock(mu_);
    const SymbolVpin* s = find(symbol);
    if (s == nullptr)
      return net::Response::error(404, fmt::format("no data for symbol '{}'", symbol));
    return net::Response::json(state_json(*core::Symbol::create(symbol), *s));
  }

  net::Response buckets_json(std::string_view symbol, const net::Request& q) const {
    const auto limit = q.query_count("limit", 50, 250);  // 250: the history kept
    if (!limit) return net::Response::error(400, limit.error().message);
    std::lock_guard lock(mu_);
    const SymbolVpin* s = find(symbol);
    if (s == nullptr)
      return net::Response::error(404, fmt::format("no data for symbol '{}'", symbol));
    json::array a;
    if (s->calc) {
      for (const auto& r : s->calc->recent(*limit)) a.push_back(result_json(r));
    }
    return net::Response::json(json::object{{"symbol", symbol}, {"buckets", std::move(a)}});
  }

  const engine::EngineInfo& info_ = engine_info();
  engine::EngineContext* ctx_ = nullptr;
  VpinOptions options_;
  double fixed_v_ = 0;
  std::size_t buckets_per_day_ = 50;
  std::size_t adv_days_ = 20;
  std::size_t max_held_ = 100'000;
  bool from_trades_ = false;
  std::uint32_t bar_seconds_ = 60;
  std::optional<bus::Publisher> publisher_;
  double min_first_date_hours_ = 3;
  struct Pending {
    core::Symbol symbol;
    bus::TopicHandle update, alert;
    BucketResult result;
  };
  std::vector<Pending> pending_;  // the engine's thread: results not yet published

  // The engine's thread updates, REST reads: one lock, held briefly per bar.
  mutable std::mutex mu_;
  std::unordered_map<core::Symbol, SymbolVpin> symbols_;
  std::atomic<std::uint64_t> bars_{0}, buckets_{0}, alerts_{0}, discarded_{0};
  engine::Rejections rejected_{"vpin"};
};

}  // namespace

const engine::EngineInfo& engine_info() {
  using engine::Setting;
  static const engine::EngineInfo info{
      .name = "vpin",
      .default_port = 10000,
      .subscribes = {"market_data.*.bar"},
      .publishes = {"vpin.calculation.*", "toxicity.alert.*"},
      .description =
          "BVC-VPIN per symbol (Easley, Lopez de Prado & O'Hara 2012) and toxicity "
          "alerts",
      .settings = {
          Setting::choice("input", "bars", {"bars", "trades"},
                          "The hub's bars (market_data.*.bar), or time bars built here from "
                          "market_data.*.trade"),
          Setting::integer("bar_seconds", 60, 1, 86400,
                           "Time bar length; bars of another length are ignored (and counted)"),
          Setting::number("bucket_volume", 0, 0, {},
                          "V, the bucket size; 0: average daily volume / buckets_per_day from the "
                          "symbol's previous dates"),
          Setting::integer("buckets_per_day", 50, 1, 100000, "Buckets an average day fills"),
          Setting::integer("adv_days", 20, 1, 10000, "Completed dates in the average daily volume"),
          Setting::number("min_first_date_hours", 3, 0, 24,
                          "A first date whose bars span less is partial: dropped, not used for V"),
          Setting::integer("max_held_bars", 100000, 1, 10000000,
                           "Bars held per symbol while no V is known yet (the first date)"),
          Setting::integer("window", 50, 1, 100000, "n, the buckets VPIN averages"),
          Setting::choice("dp", "close", {"close", "within"},
                          "ΔP: close to close of consecutive bars, or close - open within a bar"),
          Setting::choice("sigma", "sample", {"sample", "rolling"},
                          "σ_ΔP: sample std (ddof 1) of every ΔP so far, or over the last "
                          "sigma_window bars"),
          Setting::integer("sigma_window", 1950, 2, 1000000,
                           "Bars in the rolling σ (five sessions)"),
          Setting::choice("bar_cdf", "normal", {"normal", "student-t"},
                          "F in V_B = V·F(ΔP/σ): the normal CDF, or Student-t with df"),
          Setting::number("df", 0.25, 1e-9, {}, "Student-t degrees of freedom"),
          Setting::choice("vpin_cdf", "empirical", {"empirical", "lognormal"},
                          "VPIN's own CDF: empirical over the history, or a fitted lognormal"),
          Setting::integer("cdf_history", 1000, 0, 1000000,
                           "VPIN values the CDF is estimated from (0: all)"),
          Setting::integer("cdf_min_history", 50, 1, 1000000, "Values before the CDF is given"),
          Setting::number("threshold", 0.9, 1e-9, 1, "Alert when the CDF crosses this upwards"),
      }};
  return info;
}

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<VpinEngine>(); }

}  // namespace nautilus::vpin
