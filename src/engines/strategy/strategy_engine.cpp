// The strategy engine's glue: one Strategy (strategy.hpp) fed with the bus's messages on the
// engine thread, its targets turned into orders, toxicity handled for every strategy alike.
//
// A target becomes one market order for the gap between it and the position plus what is
// already on its way; orders the other way are cancelled first. While a toxicity alert stands
// a symbol down (toxicity_cooldown_s), a target may only bring the position toward flat, and
// with flatten_on_toxicity the alert itself targets flat. Risk's trading state (from its
// alerts) is respected before risk has to deny: nothing is sent while HALTED, only reductions
// while REDUCING; after a denial the symbol waits retry_after_denial_s before another order.
// Time here is the data's (the latest bar's or trade's timestamp), so a replay of old data
// ages predictions and cooldowns as it would have live.
#include <fmt/format.h>

#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "nautilus/accounting/account.hpp"
#include "nautilus/bus/symbol_topics.hpp"
#include "nautilus/core/strings.hpp"
#include "nautilus/engine/rejections.hpp"
#include "nautilus/engines/strategy/engine.hpp"
#include "nautilus/engines/strategy/strategy.hpp"
#include "nautilus/model/json.hpp"
#include "nautilus/model/risk.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"

namespace nautilus::strategy {
namespace {

namespace json = boost::json;

std::optional<std::string> check_strategy(std::string_view v) {
  if (make_builtin(v)) return std::nullopt;
  return fmt::format("'{}' is not one of {}", v, fmt::join(builtin_names(), ", "));
}

// "AAPL:lookback=30" -> (AAPL, lookback, 30)
std::optional<std::string> check_override(std::string_view v) {
  const auto colon = v.find(':');
  const auto eq = v.find('=');
  if (colon == std::string_view::npos || eq == std::string_view::npos || eq < colon) {
    return fmt::format("'{}' is not SYMBOL:name=value, e.g. AAPL:lookback=30", v);
  }
  return std::nullopt;
}

struct PendingOrder {
  core::Symbol symbol;
  double units = 0;       // signed, still open
  bool accepted = false;  // by execution: a denial then is of a modify, and the order lives on
};

class StrategyEngine final : public engine::Engine, public StrategyContext {
 public:
  const engine::EngineInfo& info() const override { return info_; }

  core::Result<void> start(engine::EngineContext& ctx) override {
    const auto& cfg = ctx.settings();
    strategy_ = make_builtin(cfg.text("strategy"));
    if (!strategy_) return core::fail(core::ErrorCode::kInvalidArgument, "strategy.strategy");
    name_ = *model::Name::create(std::string(strategy_->name()).substr(0, 23));
    for (const char* key : {"lookback", "threshold", "entry_z", "exit_z", "notional",
                            "min_prediction", "prediction_ttl_s"}) {
      const double v = std::string_view(key) == "lookback" ? static_cast<double>(cfg.integer(key))
                                                           : cfg.number(key);
      if (auto ok = set_param(defaults_, key, v); !ok) {
        return core::fail(core::ErrorCode::kInvalidArgument,
                          fmt::format("strategy.{}", ok.error().message));
      }
    }
    for (const auto& o : cfg.list("overrides")) {
      const auto colon = o.find(':');
      const auto eq = o.find('=');
      auto sym = core::Symbol::create(o.substr(0, colon));
      double v = 0;
      const std::string value = o.substr(eq + 1);
      char* end = nullptr;
      v = std::strtod(value.c_str(), &end);
      if (!sym || end == value.c_str() || *end != '\0') {
        return core::fail(core::ErrorCode::kInvalidArgument,
                          fmt::format("strategy.overrides: '{}' is not SYMBOL:name=number", o));
      }
      auto [it, fresh] = overrides_.try_emplace(*sym, defaults_);
      if (auto ok = set_param(it->second, o.substr(colon + 1, eq - colon - 1), v); !ok) {
        return core::fail(core::ErrorCode::kInvalidArgument,
                          fmt::format("strategy.overrides '{}': {}", o, ok.error().message));
      }
    }
    for (const auto& s : cfg.list("symbols")) {
      auto sym = core::Symbol::create(s);
      if (!sym) {
        return core::fail(core::ErrorCode::kInvalidArgument,
                          fmt::format("strategy.symbols: {}", sym.error().message));
      }
      symbols_.insert(*sym);
    }
    cooldown_ns_ = static_cast<std::int64_t>(cfg.number("toxicity_cooldown_s") * 1e9);
    flatten_on_toxicity_ = cfg.boolean("flatten_on_toxicity");
    min_order_units_ = cfg.number("min_order_units");
    retry_after_denial_ns_ = static_cast<std::int64_t>(cfg.number("retry_after_denial_s") * 1e9);
    clock_ = &ctx.clock();
    next_order_id_ = static_cast<model::OrderId>(clock_->now()) + 1;
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    publisher_.emplace(std::move(*pub));
    topics_.emplace(Topics{.signal = {ctx.bus(), "strategy.signal"},
                           .rebalance = {ctx.bus(), "portfolio.rebalance"},
                           .cancel = {ctx.bus(), "order.cancel"},
                           .order = {ctx.bus(), "order.new"}});
    const std::pair<const char*, void (StrategyEngine::*)(const bus::Envelope&)> subs[] = {
        // Bars and trades, what on_market_data reads: market_data.* brought quotes too, a
        // delivery each for nothing.
        {"market_data.*.bar", &StrategyEngine::on_market_data},
        {"market_data.*.trade", &StrategyEngine::on_market_data},
        {"feature.update.*", &StrategyEngine::on_features},
        {"ml.prediction.*", &StrategyEngine::on_prediction},
        {"vpin.calculation.*", &StrategyEngine::on_vpin},
        {"toxicity.alert.*", &StrategyEngine::on_toxicity},
        {"portfolio.fill.*", &StrategyEngine::on_fill},
        {"order.event.*", &StrategyEngine::on_order_event},
        {"risk.alert.*", &StrategyEngine::on_risk_alert},
        {"portfolio.books", &StrategyEngine::on_books}};
    for (const auto& [pattern, fn] : subs) {
      if (fn == &StrategyEngine::on_features && !strategy_->reads_features()) continue;
      auto sub = ctx.subscribe(
          pattern, [this, fn](const bus::Envelope& e) { (this->*fn)(e); },
          bus::OverflowPolicy::kBlock);
      if (!sub) return std::unexpected(sub.error());
    }
    return {};
  }

  void add_routes(net::Router& r) override {
    r.get("/strategy/state", [this](const net::Request&) {
      std::lock_guard lock(mu_);
      json::object symbols;
      for (const auto& [s, t] : targets_) {
        symbols[s.value()] =
            json::object{{"target", t},
                         {"position", accounting::to_double(books_.quantity_raw(s))},
                         {"standing_down", standing_down(s)}};
      }
      return net::Response::json(json::object{{"strategy", strategy_->name()},
                                              {"orders_sent", orders_sent_},
                                              {"signals", signals_},
                                              {"symbols", std::move(symbols)}});
    });
  }

  void add_metrics(net::PrometheusText& p) const override {
    const net::PrometheusText::Labels l = {{"engine", "strategy"}};
    std::lock_guard lock(mu_);
    p.family("nautilus_strategy_orders_total", "counter", "orders sent to risk");
    p.sample("nautilus_strategy_orders_total", l, static_cast<double>(orders_sent_));
    p.family("nautilus_strategy_signals_total", "counter", "signals published");
    p.sample("nautilus_strategy_signals_total", l, static_cast<double>(signals_));
    p.family("nautilus_strategy_denied_total", "counter", "orders risk denied");
    p.sample("nautilus_strategy_denied_total", l, static_cast<double>(denied_));
    p.family("nautilus_strategy_toxicity_stand_downs_total", "counter",
             "toxicity alerts that stood a symbol down");
    p.sample("nautilus_strategy_toxicity_stand_downs_total", l, static_cast<double>(stand_downs_));
  }

  // ---- StrategyContext ----
  // The data's time: the latest market data timestamp seen (the clock's before any).
  core::UnixNanos now() const override {
    const core::UnixNanos t = data_now_.load(std::memory_order_relaxed);
    return t > 0 ? t : clock_->now();
  }
  const Params& params(core::Symbol s) const override {
    const auto it = overrides_.find(s);
    return it == overrides_.end() ? defaults_ : it->second;
  }
  double position(core::Symbol s) const override {
    return accounting::to_double(books_.quantity_raw(s));
  }
  std::optional<model::Prediction> prediction(core::Symbol s) const override {
    const auto it = predictions_.find(s);
    if (it == predictions_.end()) return std::nullopt;
    const auto ttl = static_cast<core::UnixNanos>(params(s).prediction_ttl_s * 1e9);
    if (now() - it->second.ts_event > ttl) return std::nullopt;
    return it->second;
  }
  bool standing_down(core::Symbol s) const override {
    const auto it = stand_down_until_.find(s);
    return it != stand_down_until_.end() && now() < it->second;
  }
  void signal(core::Symbol s, model::SignalDirection d, double strength) override {
    const model::Signal sig{
        .symbol = s, .strategy = name_, .direction = d, .strength = strength, .ts_event = now()};
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    (void)topics_->signal.publish(*publisher_, s, sig, {.ts_event = sig.ts_event});
    std::lock_guard lock(mu_);
    ++signals_;
  }
  void target(core::Symbol s, double units) override {
    if (!std::isfinite(units)) return;
    const double held = position(s);
    if (standing_down(s)) {  // toward flat only
      units = held > 0 ? std::clamp(units, 0.0, held) : held < 0 ? std::clamp(units, held, 0.0) : 0;
    }
    {
      std::lock_guard lock(mu_);
      targets_[s] = units;
    }
    const auto side = units > 0   ? model::PositionSide::kLong
                      : units < 0 ? model::PositionSide::kShort
                                  : model::PositionSide::kFlat;
    auto qty = core::Quantity::from_double(std::abs(units), 0);
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    (void)topics_->rebalance.publish(
        *publisher_, s,
        model::TargetPosition{.symbol = s,
                              .strategy = name_,
                              .side = side,
                              .quantity = qty ? *qty : core::Quantity{},
                              .ts_event = now()},
        {.ts_event = now()});
    rebalance(s, units, held);
  }

 private:
  void rebalance(core::Symbol s, double units, double held) {
    if (risk_state_ == model::TradingState::kHalted) return;
    if (const auto it = retry_at_.find(s); it != retry_at_.end() && now() < it->second) return;
    double pending = 0;
    if (const auto n = pending_count_.find(s); n != pending_count_.end() && n->second > 0) {
      for (const auto& [id, o] : pending_) {
        if (o.symbol == s) pending += o.units;
      }
    }
    double gap = units - held - pending;
    if (std::abs(gap) < min_order_units_) return;
    // Orders going the other way are withdrawn, and the gap counted without them (they leave
    // `pending_` now: what fills before the cancel lands comes as fills, into the position).
    if (pending != 0 && (pending > 0) != (gap > 0)) {
      for (auto it = pending_.begin(); it != pending_.end();) {
        const auto& [id, o] = *it;
        if (o.symbol != s) {
          ++it;
          continue;
        }
        // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
        (void)topics_->cancel.publish(
            *publisher_, s,
            model::CancelOrder{
                .client_order_id = id, .symbol = s, .strategy = name_, .ts_event = now()},
            {.ts_event = now()});
        it = erase_pending(it);
      }
      gap = units - held;
      if (std::abs(gap) < min_order_units_) return;
    }
    // REDUCING: only toward flat, at most down to it.
    if (risk_state_ == model::TradingState::kReducing) {
      if (held == 0 || (gap > 0) == (held > 0)) return;
      gap = gap > 0 ? std::min(gap, -held) : std::max(gap, -held);
    }
    auto qty = core::Quantity::from_double(std::floor(std::abs(gap)), 0);
    if (!qty || qty->raw() == 0) return;
    const model::OrderId id = next_order_id_++;
    const model::NewOrder o{.client_order_id = id,
                            .symbol = s,
                            .strategy = name_,
                            .side = gap > 0 ? model::OrderSide::kBuy : model::OrderSide::kSell,
                            .type = model::OrderType::kMarket,
                            .tif = model::TimeInForce::kDay,
                            .quantity = *qty,
                            .ts_event = now()};
    add_pending(id, {s, gap > 0 ? qty->as_double() : -qty->as_double()});
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    (void)topics_->order.publish(*publisher_, s, o, {.ts_event = now()});
    std::lock_guard lock(mu_);
    ++orders_sent_;
  }

  // pending_ changes only through these, so that pending_count_ stays its count per symbol.
  void add_pending(model::OrderId id, PendingOrder o) {
    ++pending_count_[o.symbol];
    pending_[id] = o;
  }
  std::map<model::OrderId, PendingOrder>::iterator erase_pending(
      std::map<model::OrderId, PendingOrder>::iterator it) {
    --pending_count_[it->second.symbol];
    return pending_.erase(it);
  }
  void erase_pending(model::OrderId id) {
    if (const auto it = pending_.find(id); it != pending_.end()) erase_pending(it);
  }

  bool trades(core::Symbol s) const { return symbols_.empty() || symbols_.contains(s); }

  void on_market_data(const bus::Envelope& e) {
    if (const auto* b = e.get<model::Bar>()) {
      if (b->ts_event > data_now_.load(std::memory_order_relaxed)) data_now_.store(b->ts_event);
      books_.mark(b->symbol, b->close);
      if (trades(b->symbol)) strategy_->on_bar(*this, *b);
    } else if (const auto* t = e.get<model::TradeTick>()) {
      if (t->ts_event > data_now_.load(std::memory_order_relaxed)) data_now_.store(t->ts_event);
      books_.mark(t->symbol, t->price);
      if (trades(t->symbol)) strategy_->on_trade(*this, *t);
    }
  }
  void on_features(const bus::Envelope& e) {
    if (const auto* f = e.get<model::FeatureUpdate>(); f && trades(f->symbol)) {
      strategy_->on_features(*this, *f);
    }
  }
  void on_prediction(const bus::Envelope& e) {
    const auto* p = e.get<model::Prediction>();
    if (p == nullptr) return;
    predictions_[p->symbol] = *p;
    if (trades(p->symbol)) strategy_->on_prediction(*this, *p);
  }
  void on_vpin(const bus::Envelope& e) {
    if (const auto* v = e.get<model::VpinUpdate>(); v && trades(v->symbol)) {
      strategy_->on_vpin(*this, *v);
    }
  }
  void on_toxicity(const bus::Envelope& e) {
    const auto* a = e.get<model::ToxicityAlert>();
    if (a == nullptr || !trades(a->symbol)) return;
    {
      std::lock_guard lock(mu_);  // REST reads it
      stand_down_until_[a->symbol] = std::max(now(), a->ts_event) + cooldown_ns_;
      ++stand_downs_;
    }
    strategy_->on_toxicity(*this, *a);
    if (flatten_on_toxicity_) target(a->symbol, 0);
  }
  void on_risk_alert(const bus::Envelope& e) {
    if (const auto* a = e.get<model::RiskAlert>()) risk_state_ = a->state;
  }
  void on_fill(const bus::Envelope& e) {
    const auto* f = e.get<model::Fill>();
    if (f == nullptr) return;
    {
      std::lock_guard lock(mu_);
      if (!books_.apply(*f)) return;  // seen before, or not a fill to count
    }
    const auto it = pending_.find(f->client_order_id);
    if (it == pending_.end()) return;
    const double q = f->quantity.as_double();
    it->second.units += it->second.units > 0 ? -q : q;
    if (std::abs(it->second.units) < 1e-9) erase_pending(it);
  }
  // The portfolio's books, at its start and every few seconds: taken in place of ours when
  // they hold at least as many fills (a strategy restarted beside a running portfolio, or a
  // whole platform restarted from its snapshot), with our own marks kept, and its open
  // orders of this strategy become pending again, so their quantity is not ordered twice.
  void on_books(const bus::Envelope& e) {
    const auto* b = e.get<model::PortfolioBooks>();
    if (b == nullptr) return;
    {
      std::lock_guard lock(mu_);
      auto taken = accounting::adopt_books(books_, *b);
      if (!taken || !*taken) return;
    }
    for (std::size_t i = 0; i < b->order_ids.size(); ++i) {
      if (b->order_strategies[i] != name_) continue;
      erase_pending(b->order_ids[i]);
      add_pending(b->order_ids[i], {.symbol = b->order_symbols[i],
                                    .units = accounting::to_double(b->order_leaves[i]),
                                    .accepted = true});
    }
  }

  void on_order_event(const bus::Envelope& e) {
    if (const auto* a = e.get<model::OrderAccepted>()) {
      if (const auto it = pending_.find(a->client_order_id); it != pending_.end()) {
        it->second.accepted = true;
      }
    } else if (const auto* d = e.get<model::OrderDenied>()) {
      // A modify's denial, or one of an order execution has accepted: the order lives on.
      const auto it = pending_.find(d->client_order_id);
      if (it != pending_.end() && !d->modify && !it->second.accepted) {
        erase_pending(it);
        retry_at_[d->symbol] = now() + retry_after_denial_ns_;
        std::lock_guard lock(mu_);
        ++denied_;
      }
    } else if (const auto* c = e.get<model::OrderCancelled>()) {
      erase_pending(c->client_order_id);
    } else if (const auto* f = e.get<model::OrderFilled>()) {
      if (f->status == model::OrderStatus::kFilled) erase_pending(f->client_order_id);
    }
  }

  const engine::EngineInfo& info_ = engine_info();
  const core::Clock* clock_ = nullptr;
  std::unique_ptr<Strategy> strategy_;
  model::Name name_;
  Params defaults_;
  std::unordered_map<core::Symbol, Params> overrides_;
  std::unordered_set<core::Symbol> symbols_;
  std::int64_t cooldown_ns_ = 0;
  bool flatten_on_toxicity_ = false;
  double min_order_units_ = 1;
  std::int64_t retry_after_denial_ns_ = 0;
  std::atomic<core::UnixNanos> data_now_{0};  // REST reads it through standing_down()
  model::TradingState risk_state_ = model::TradingState::kActive;
  std::unordered_map<core::Symbol, core::UnixNanos> retry_at_;
  std::optional<bus::Publisher> publisher_;
  struct Topics {
    bus::SymbolTopics signal, rebalance, cancel, order;
  };
  std::optional<Topics> topics_;  // engine thread, with publisher_
  model::OrderId next_order_id_ = 1;
  std::map<model::OrderId, PendingOrder> pending_;
  // How many of pending_ are of each symbol: rebalance() scans pending_ only for a symbol
  // with some (the scan of every bar was a few per cent of a backtest).
  std::unordered_map<core::Symbol, std::size_t> pending_count_;
  std::unordered_map<core::Symbol, model::Prediction> predictions_;
  std::unordered_map<core::Symbol, core::UnixNanos> stand_down_until_;

  mutable std::mutex mu_;  // what REST and /metrics read
  accounting::Account books_;
  std::unordered_map<core::Symbol, double> targets_;
  std::uint64_t orders_sent_ = 0, signals_ = 0, denied_ = 0, stand_downs_ = 0;
};

}  // namespace

const engine::EngineInfo& engine_info() {
  using engine::Setting;
  static const engine::EngineInfo info{
      .name = "strategy",
      .default_port = 8700,
      .subscribes = {"market_data.*.bar", "market_data.*.trade", "feature.update.*",
                     "ml.prediction.*", "vpin.calculation.*", "toxicity.alert.*",
                     "portfolio.fill.*", "order.event.*", "risk.alert.*", "portfolio.books"},
      .publishes = {"strategy.signal.*", "portfolio.rebalance.*", "order.new.*", "order.cancel.*"},
      .description =
          "A strategy (momentum or mean reversion, following ml predictions) whose "
          "target positions become orders; stands down on toxicity",
      .settings = {
          Setting::text("strategy", "momentum", "momentum or mean_reversion", &check_strategy),
          Setting::list("symbols", {}, "Symbols it trades (empty: every symbol with bars)"),
          Setting::integer("lookback", 20, 2, 100'000, "Bars of history the signal looks at"),
          Setting::number("threshold", 0.002, 1e-12, {},
                          "momentum: the lookback return that opens a position"),
          Setting::number("entry_z", 2.0, 1e-12, {}, "mean_reversion: |z| that opens"),
          Setting::number("exit_z", 0.5, 0, {}, "mean_reversion: |z| that closes"),
          Setting::number("notional", 50'000, 1e-9, {},
                          "A full position's market value, account currency"),
          Setting::number("min_prediction", 0, 0, {},
                          "|ml prediction| (a classifier: |probability - 0.5|) that counts"),
          Setting::number("prediction_ttl_s", 300, 1e-9, {},
                          "Predictions older than this are ignored"),
          Setting::list("overrides", {},
                        "Per-symbol parameters, SYMBOL:name=value (AAPL:lookback=30)",
                        &check_override),
          Setting::number("toxicity_cooldown_s", 1800, 0, {},
                          "How long a toxicity alert stands a symbol down"),
          Setting::boolean("flatten_on_toxicity", false,
                           "Also close the position when a toxicity alert comes"),
          Setting::number("min_order_units", 1, 1e-9, {}, "Gaps smaller than this send no order"),
          Setting::number("retry_after_denial_s", 60, 0, {},
                          "After risk denies an order, seconds before the symbol sends another"),
      }};
  return info;
}

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<StrategyEngine>(); }

}  // namespace nautilus::strategy
