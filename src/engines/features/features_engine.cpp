// The features engine's glue: bars in, a FeatureSet per symbol, feature_update out, REST.
// The indicator arithmetic is all in include/nautilus/engines/features/ (no bus there).
#include <fmt/format.h>

#include <array>
#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <unordered_map>

#include "nautilus/core/time.hpp"
#include "nautilus/engine/rejections.hpp"
#include "nautilus/engines/features/engine.hpp"
#include "nautilus/engines/features/feature_set.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/signals.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"

namespace nautilus::features {
namespace {

namespace json = boost::json;

// The settings that are periods, in the order FeaturePeriods lists them.
constexpr std::string_view kPeriodSettings[] = {
    "sma_period", "ema_period", "rsi_period", "macd_fast", "macd_slow",       "macd_signal",
    "bb_period",  "bb_k",       "atr_period", "rv_window", "rv_annualization"};

std::optional<std::string> check_override(std::string_view text) {
  auto o = parse_period_override(text);
  if (!o) return o.error().message;
  if (auto bad = engine::check_symbol(o->symbol)) return *bad;
  return std::nullopt;
}

json::object periods_json(const FeaturePeriods& p) {
  return {{"sma_period", p.sma},
          {"ema_period", p.ema},
          {"rsi_period", p.rsi},
          {"macd_fast", p.macd_fast},
          {"macd_slow", p.macd_slow},
          {"macd_signal", p.macd_signal},
          {"bb_period", p.bb},
          {"bb_k", p.bb_k},
          {"atr_period", p.atr},
          {"rv_window", p.rv},
          {"rv_annualization", p.rv_annualization}};
}

// One symbol's indicators. The engine's thread updates it under the engine's lock; REST reads
// it under the same lock.
struct SymbolFeatures {
  explicit SymbolFeatures(const FeaturePeriods& p) : set(p) {
    const auto names = feature_names(p);
    for (const auto& n : names) wire_names.push_back(model::Name::from_trusted(n));
  }
  FeatureSet set;
  std::vector<model::Name> wire_names;
  std::optional<bus::TopicHandle> topic;
  core::UnixNanos last_ts = 0;
};

class FeaturesEngine final : public engine::Engine {
 public:
  const engine::EngineInfo& info() const override { return info_; }

  core::Result<void> start(engine::EngineContext& ctx) override {
    ctx_ = &ctx;
    const auto& cfg = ctx.settings();
    for (const auto name : kPeriodSettings) {
      const double v = name == "bb_k" || name == "rv_annualization"
                           ? cfg.number(name)
                           : static_cast<double>(cfg.integer(name));
      if (auto ok = set_period(defaults_, name, v); !ok) return ok;
    }
    if (auto ok = defaults_.validate(); !ok) {
      return core::fail(ok.error().code, "features: " + ok.error().message);
    }
    for (const auto& text : cfg.list("symbol_periods")) {
      auto o = parse_period_override(text);
      if (!o) return std::unexpected(o.error());
      auto [it, fresh] = overrides_.try_emplace(o->symbol, defaults_);
      if (auto ok = set_period(it->second, o->name, o->value); !ok) return ok;
      if (auto ok = it->second.validate(); !ok) {
        return core::fail(ok.error().code, fmt::format("features.symbol_periods '{}': {}", text,
                                                       ok.error().message));
      }
    }
    interval_s_ = static_cast<std::uint32_t>(cfg.integer("bar_interval_s"));
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    publisher_.emplace(std::move(*pub));
    // Bars wait for room rather than being dropped: an indicator that misses a bar is wrong
    // from then on. A hub replaying at full speed is held back to the engine's pace.
    auto sub = ctx.subscribe(
        "market_data.*.bar", [this](const bus::Envelope& e) { on_bar(e); },
        bus::OverflowPolicy::kBlock);
    if (!sub) return std::unexpected(sub.error());
    return {};
  }

  void add_routes(net::Router& r) override {
    r.get("/features/symbols", [this](const net::Request&) { return symbols_json(); });
    r.get("/features/latest/{symbol}",
          [this](const net::Request& q) { return latest_json(q.param("symbol")); });
  }

  void add_metrics(net::PrometheusText& p) const override {
    p.family("nautilus_features_bars_total", "counter", "bars the indicators were updated with");
    p.sample("nautilus_features_bars_total", {{"engine", "features"}},
             static_cast<double>(bars_.load()));
    p.family("nautilus_features_bars_rejected_total", "counter",
             "bars ignored: out of time order for their symbol, or of another interval");
    p.sample("nautilus_features_bars_rejected_total", {{"engine", "features"}},
             static_cast<double>(rejected_.count()));
    p.family("nautilus_features_symbols", "gauge", "symbols with indicator state");
    p.sample("nautilus_features_symbols", {{"engine", "features"}},
             static_cast<double>(symbol_count_.load()));
  }

  void add_health_fields(json::object& out) const override {
    out["symbols"] = symbol_count_.load();
    out["bars"] = bars_.load();
    out["bars_rejected"] = rejected_.count();
  }

 private:
  void on_bar(const bus::Envelope& e) {
    const auto* bar = e.get<model::Bar>();
    if (bar == nullptr) {
      rejected_.add("a message on a bar topic that is not a bar", e.topic.value());
      return;
    }
    if (bar->interval_s != interval_s_) {
      rejected_.add(fmt::format("a {} s bar (the engine computes on {} s bars)", bar->interval_s,
                                interval_s_),
                    bar->symbol.value());
      return;
    }
    std::array<double, kFeatureCount> values{};
    const std::vector<model::Name>* names =
        nullptr;  // set at the symbol's first bar, never changed
    std::optional<bus::TopicHandle> topic;
    {
      std::lock_guard lock(mu_);
      SymbolFeatures& s = state_for(bar->symbol);
      if (s.set.bars() > 0 && bar->ts_event <= s.last_ts) {
        rejected_.add("a bar not after the previous one", bar->symbol.value());
        return;
      }
      s.last_ts = bar->ts_event;
      s.set.update({.open = bar->open.as_double(),
                    .high = bar->high.as_double(),
                    .low = bar->low.as_double(),
                    .close = bar->close.as_double(),
                    .volume = bar->volume.as_double(),
                    .session = utc_session(bar->ts_event, bar->interval_s)});
      ++bars_;
      if (!s.topic) return;  // the symbol is not a valid topic token: counted in state_for()
      values = s.set.values();
      names = &s.wire_names;
      topic = s.topic;
    }
    // Built only when somebody listens (no strategy that reads features, no ml engine, no
    // transport, no dashboard: nobody): its two vectors and their copies were a tenth of the
    // engine's time in a backtest (docs/PERFORMANCE.md, "Backtests").
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    publisher_->publish_made(*topic,
                             [&] {
                               return model::FeatureUpdate{
                                   .symbol = bar->symbol,
                                   .interval_s = bar->interval_s,
                                   .ts_event = bar->ts_event,
                                   .names = *names,
                                   .values = {values.begin(), values.end()}};
                             },
                             {.ts_event = bar->ts_event});
  }

  SymbolFeatures& state_for(core::Symbol sym) {
    auto it = symbols_.find(sym);
    if (it != symbols_.end()) return it->second;
    const auto o = overrides_.find(sym.value());
    const FeaturePeriods& p = o != overrides_.end() ? o->second : defaults_;
    it = symbols_.emplace(sym, SymbolFeatures(p)).first;
    auto topic = ctx_->bus().topic(fmt::format("feature.update.{}", sym.value()));
    if (topic) {
      it->second.topic = *topic;
    } else {
      rejected_.add("a symbol that cannot be a topic token", sym.value());
    }
    symbol_count_.store(symbols_.size());
    return it->second;
  }

  net::Response symbols_json() const {
    std::lock_guard lock(mu_);
    std::map<std::string_view, const SymbolFeatures*> sorted;
    for (const auto& [sym, s] : symbols_) sorted.emplace(sym.value(), &s);
    json::array a;
    for (const auto& [name, s] : sorted) {
      a.push_back(json::object{
          {"symbol", name}, {"bars", s->set.bars()}, {"ts", core::format_timestamp(s->last_ts)}});
    }
    return net::Response::json(json::object{{"symbols", std::move(a)}});
  }

  net::Response latest_json(std::string_view symbol) const {
    const auto sym = core::Symbol::create(symbol);
    std::lock_guard lock(mu_);
    const auto it = sym ? symbols_.find(*sym) : symbols_.end();
    if (it == symbols_.end()) {
      return net::Response::error(404, fmt::format("no bars yet for symbol '{}'", symbol));
    }
    const SymbolFeatures& s = it->second;
    const auto values = s.set.values();
    json::object out;
    for (std::size_t i = 0; i < kFeatureCount; ++i) {
      // NaN (still warming up) is written as null by the JSON writer.
      out[s.wire_names[i].view()] = values[i];
    }
    return net::Response::json(json::object{{"symbol", symbol},
                                            {"ts", core::format_timestamp(s.last_ts)},
                                            {"bars", s.set.bars()},
                                            {"values", std::move(out)},
                                            {"periods", periods_json(s.set.periods())}});
  }

  const engine::EngineInfo& info_ = engine_info();
  engine::EngineContext* ctx_ = nullptr;
  FeaturePeriods defaults_;
  std::map<std::string, FeaturePeriods, std::less<>> overrides_;
  std::uint32_t interval_s_ = 60;
  std::optional<bus::Publisher> publisher_;

  mutable std::mutex mu_;
  std::unordered_map<core::Symbol, SymbolFeatures> symbols_;
  std::atomic<std::uint64_t> bars_{0};
  engine::Rejections rejected_{"features"};
  std::atomic<std::size_t> symbol_count_{0};
};

}  // namespace

const engine::EngineInfo& engine_info() {
  using engine::Setting;
  static const engine::EngineInfo info{
      .name = "features",
      .default_port = 8500,
      .subscribes = {"market_data.*.bar"},
      .publishes = {"feature.update.*"},
      .description =
          "Streaming indicators per symbol (TA-Lib conventions): SMA, EMA, RSI, "
          "MACD, Bollinger, ATR, OBV, VWAP, returns, realized vol",
      .settings = {
          Setting::integer("sma_period", 20, 2, 100000, "Simple moving average period"),
          Setting::integer("ema_period", 20, 2, 100000,
                           "Exponential moving average period (k = 2/(n+1), SMA seed)"),
          Setting::integer("rsi_period", 14, 2, 100000, "RSI period (Wilder smoothing)"),
          Setting::integer("macd_fast", 12, 2, 100000, "MACD fast EMA period"),
          Setting::integer("macd_slow", 26, 2, 100000, "MACD slow EMA period"),
          Setting::integer("macd_signal", 9, 1, 100000, "MACD signal EMA period"),
          Setting::integer("bb_period", 20, 2, 100000, "Bollinger bands: SMA period"),
          Setting::number("bb_k", 2.0, 0.001, {},
                          "Bollinger bands: width in population standard deviations"),
          Setting::integer("atr_period", 14, 1, 100000, "Average true range period (Wilder)"),
          Setting::integer("rv_window", 20, 2, 100000,
                           "Realized volatility: log returns in the window"),
          Setting::number("rv_annualization", 252.0 * 390.0, 1e-9, {},
                          "Realized volatility: bars per year (252 sessions of 390 minutes)"),
          Setting::list("symbol_periods", {},
                        "Per-symbol periods, SYMBOL.setting=value (e.g. AAPL.rsi_period=9)",
                        &check_override),
          Setting::integer("bar_interval_s", 60, 1, 86400,
                           "Bar length the indicators run on; bars of other lengths are ignored "
                           "(and counted)"),
      }};
  return info;
}

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<FeaturesEngine>(); }

}  // namespace nautilus::features
