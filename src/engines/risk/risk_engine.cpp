// The risk engine's glue: orders in (order.new.*, order.modify.*, order.cancel.*), through the
// pre-trade gate (pretrade.hpp), out to execution (risk.order.*, risk.modify.*, risk.cancel.*)
// or denied (order.event.*); the books rebuilt from the portfolio's fills, replaced by the
// portfolio's own (portfolio.books) when those hold at least as many fills, and marked by market
// data; post-trade limits (drawdown from the high-water mark, daily loss) that move the trading
// state by themselves; REST for limits, state and the kill switch. Every handler, the engine's
// and REST's alike, runs under `mu_`: REST changes the state the order path reads.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <mutex>

#include "nautilus/accounting/account.hpp"
#include "nautilus/bus/symbol_topics.hpp"
#include "nautilus/core/strings.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/engine/rejections.hpp"
#include "nautilus/engines/risk/book_risk.hpp"
#include "nautilus/engines/risk/engine.hpp"
#include "nautilus/engines/risk/pretrade.hpp"
#include "nautilus/model/json.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/risk.hpp"
#include "nautilus/model/trading.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"

namespace nautilus::risk {
namespace {

namespace json = boost::json;
using model::TradingState;

constexpr std::int64_t kNanosPerDay = 86'400'000'000'000;

std::int64_t raw_units(double v) { return static_cast<std::int64_t>(std::llround(v * 1e9)); }

std::string_view state_name(TradingState s) {
  return s == TradingState::kHalted     ? "halted"
         : s == TradingState::kReducing ? "reducing"
                                        : "active";
}
std::optional<TradingState> parse_state(std::string_view s) {
  if (s == "active") return TradingState::kActive;
  if (s == "reducing") return TradingState::kReducing;
  if (s == "halted") return TradingState::kHalted;
  return std::nullopt;
}

core::Result<Limits> limits_from(const engine::EngineSettings& cfg) {
  Limits l;
  l.max_order_quantity = raw_units(cfg.number("max_order_quantity"));
  l.max_order_notional = raw_units(cfg.number("max_order_notional"));
  l.max_position = raw_units(cfg.number("max_position"));
  l.max_gross_exposure = raw_units(cfg.number("max_gross_exposure"));
  l.max_net_exposure = raw_units(cfg.number("max_net_exposure"));
  l.collar = cfg.number("collar");
  l.orders_per_s = cfg.number("orders_per_s");
  l.modifies_per_s = cfg.number("modifies_per_s");
  for (const auto& s : cfg.list("restricted")) {
    auto sym = core::Symbol::create(s);
    if (!sym) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("risk.restricted: {}", sym.error().message));
    }
    l.restricted.insert(*sym);
  }
  if (auto ok = l.validate(); !ok) return std::unexpected(ok.error());
  return l;
}

json::object limits_json(const Limits& l) {
  json::array restricted;
  for (const auto s : l.restricted) restricted.emplace_back(s.value());
  return {{"max_order_quantity", accounting::to_double(l.max_order_quantity)},
          {"max_order_notional", accounting::to_double(l.max_order_notional)},
          {"max_position", accounting::to_double(l.max_position)},
          {"max_gross_exposure", accounting::to_double(l.max_gross_exposure)},
          {"max_net_exposure", accounting::to_double(l.max_net_exposure)},
          {"collar", l.collar},
          {"orders_per_s", l.orders_per_s},
          {"modifies_per_s", l.modifies_per_s},
          {"restricted", std::move(restricted)}};
}

class RiskEngine final : public engine::Engine {
 public:
  const engine::EngineInfo& info() const override { return info_; }

  core::Result<void> start(engine::EngineContext& ctx) override {
    const auto& cfg = ctx.settings();
    NAUTILUS_TRY(limits, limits_from(cfg));
    clock_ = &ctx.clock();
    gate_.emplace(std::move(limits), ctx.clock());
    drawdown_reduce_ = cfg.number("drawdown_reduce");
    drawdown_halt_ = cfg.number("drawdown_halt");
    daily_loss_reduce_ = cfg.number("daily_loss_reduce");
    daily_loss_halt_ = cfg.number("daily_loss_halt");
    if (drawdown_halt_ > 0 && drawdown_reduce_ > drawdown_halt_) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("risk.drawdown_reduce {} is above risk.drawdown_halt {}: "
                                    "trading would halt before it reduces",
                                    drawdown_reduce_, drawdown_halt_));
    }
    if (daily_loss_halt_ > 0 && daily_loss_reduce_ > daily_loss_halt_) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("risk.daily_loss_reduce {} is above risk.daily_loss_halt {}",
                                    daily_loss_reduce_, daily_loss_halt_));
    }
    if (auto s = parse_state(cfg.text("state")); s) gate_->set_state(*s);
    var_interval_s_ = cfg.number("var_interval_s");
    var_options_.window = static_cast<std::size_t>(cfg.integer("var_window"));
    var_options_.horizon_bars = cfg.number("var_horizon_bars");
    var_options_.scenarios = static_cast<std::size_t>(cfg.integer("var_scenarios"));
    closes_.emplace(var_options_.window + 1);
    ctx_ = &ctx;
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    publisher_.emplace(std::move(*pub));
    topics_.emplace(Topics{.order = {ctx.bus(), "risk.order"},
                           .modify = {ctx.bus(), "risk.modify"},
                           .cancel = {ctx.bus(), "risk.cancel"},
                           .event = {ctx.bus(), "order.event"}});
    const auto on = [&](const char* pattern, void (RiskEngine::*fn)(const bus::Envelope&),
                        bus::OverflowPolicy policy) -> core::Result<void> {
      auto sub = ctx.subscribe(
          pattern,
          [this, fn](const bus::Envelope& e) {
            std::lock_guard lock(mu_);
            (this->*fn)(e);
          },
          policy);
      if (!sub) return std::unexpected(sub.error());
      return {};
    };
    // Orders and fills must not be lost; prices may be (a later one replaces it).
    for (auto [pattern, fn, policy] :
         {std::tuple{"order.new.*", &RiskEngine::on_order, bus::OverflowPolicy::kBlock},
          std::tuple{"order.modify.*", &RiskEngine::on_modify, bus::OverflowPolicy::kBlock},
          std::tuple{"order.cancel.*", &RiskEngine::on_cancel, bus::OverflowPolicy::kBlock},
          std::tuple{"order.event.*", &RiskEngine::on_order_event, bus::OverflowPolicy::kBlock},
          std::tuple{"portfolio.fill.*", &RiskEngine::on_fill, bus::OverflowPolicy::kBlock},
          std::tuple{"portfolio.update.account", &RiskEngine::on_account,
                     bus::OverflowPolicy::kBlock},
          std::tuple{"portfolio.books", &RiskEngine::on_books, bus::OverflowPolicy::kBlock},
          std::tuple{"market_data.*.bar", &RiskEngine::on_market_data, bus::OverflowPolicy::kBlock},
          std::tuple{"market_data.*.trade", &RiskEngine::on_market_data,
                     bus::OverflowPolicy::kConflate}}) {
      if (auto ok = on(pattern, fn, policy); !ok) return ok;
    }
    return {};
  }

  // The trading state as the topic's first value (a dashboard that subscribes later gets it as
  // the latest), and the book's VaR on the clock's schedule (timers open from begin() on).
  void begin() override {
    (void)ctx_->set_timer_at("state", clock_->now(), [this](core::UnixNanos due) {
      std::lock_guard lock(mu_);
      publish_state(due);
    });
    if (var_interval_s_ <= 0) return;
    (void)ctx_->set_timer_every(
        "var", std::chrono::nanoseconds(static_cast<std::int64_t>(var_interval_s_ * 1e9)),
        [this](core::UnixNanos due) {
          std::lock_guard lock(mu_);
          compute_var(due);
        });
  }

  void add_routes(net::Router& r) override {
    r.get("/risk/metrics", [this](const net::Request&) {
      std::lock_guard lock(mu_);
      json::array out;
      for (const auto& m : var_) {
        out.push_back({{"method", to_string(m.method)},
                       {"confidence", m.confidence},
                       {"var", m.result.var},
                       {"expected_shortfall", m.result.expected_shortfall},
                       {"samples", m.result.samples}});
      }
      return net::Response::json(json::object{{"horizon_bars", var_options_.horizon_bars},
                                              {"window", var_options_.window},
                                              {"as_of", var_as_of_},
                                              {"status", var_status_},
                                              {"metrics", std::move(out)}});
    });
    r.get("/risk/limits", [this](const net::Request&) {
      std::lock_guard lock(mu_);
      return net::Response::json(limits_json(gate_->limits()));
    });
    r.put("/risk/limits", [this](const net::Request& q) { return put_limits(q); });
    r.get("/risk/state", [this](const net::Request&) {
      std::lock_guard lock(mu_);
      return net::Response::json(state_json());
    });
    r.post("/risk/state", [this](const net::Request& q) { return post_state(q); });
    r.post("/risk/kill", [this](const net::Request&) {
      std::lock_guard lock(mu_);
      kill_switch();
      return net::Response::json(state_json());
    });
    r.get("/risk/orders", [this](const net::Request&) {
      std::lock_guard lock(mu_);
      json::array out;
      for (const auto& [id, o] : gate_->open_orders()) {
        out.push_back({{"client_order_id", id},
                       {"symbol", o.symbol.value()},
                       {"strategy", o.strategy.view()},
                       {"side", o.side == model::OrderSide::kBuy ? "buy" : "sell"},
                       {"quantity", accounting::to_double(o.quantity)},
                       {"leaves", accounting::to_double(o.leaves)},
                       {"filled", accounting::to_double(o.filled)},
                       {"price", o.price.as_double()},
                       {"pending_modifies", o.pending.size()},
                       {"counted", accounting::to_double(o.counted)},
                       {"counted_value", accounting::to_double(o.counted_value)}});
      }
      return net::Response::json(out);
    });
  }

  void add_metrics(net::PrometheusText& p) const override {
    std::lock_guard lock(mu_);
    const net::PrometheusText::Labels l = {{"engine", "risk"}};
    p.family("nautilus_risk_orders_passed_total", "counter", "orders and modifies approved");
    p.sample("nautilus_risk_orders_passed_total", l, static_cast<double>(gate_->passed()));
    p.family("nautilus_risk_orders_denied_total", "counter",
             "orders and modifies denied, by reason");
    for (const auto& [reason, n] : denied_by_reason_) {
      p.sample("nautilus_risk_orders_denied_total", {{"engine", "risk"}, {"reason", reason}},
               static_cast<double>(n));
    }
    p.family("nautilus_risk_trading_state", "gauge", "0 active, 1 reducing, 2 halted");
    p.sample("nautilus_risk_trading_state", l, static_cast<double>(gate_->state()));
    p.family("nautilus_risk_drawdown", "gauge", "from the high-water mark of NAV, 0 to 1");
    p.sample("nautilus_risk_drawdown", l, drawdown_);
    p.family("nautilus_risk_inputs_rejected_total", "counter",
             "fills or messages risk could not use");
    p.sample("nautilus_risk_inputs_rejected_total", l, static_cast<double>(rejected_.count()));
  }

  void add_health_fields(json::object& out) const override {
    std::lock_guard lock(mu_);
    out["trading_state"] = state_name(gate_->state());
    out["open_orders"] = gate_->open_orders().size();
    out["rejected"] = rejected_.count();
  }

 private:
  // ---- the order path ----
  void on_order(const bus::Envelope& e) {
    const auto* o = e.get<model::NewOrder>();
    if (o == nullptr) return;
    // NOLINTBEGIN(bugprone-unchecked-optional-access): set in start()
    if (auto denied = gate_->check(*o, books_)) {
      publish_denied(*denied);
      return;
    }
    (void)topics_->order.publish(*publisher_, o->symbol, *o, {.ts_event = o->ts_event});
    // NOLINTEND(bugprone-unchecked-optional-access)
  }

  void on_modify(const bus::Envelope& e) {
    const auto* m = e.get<model::ModifyOrder>();
    if (m == nullptr) return;
    // NOLINTBEGIN(bugprone-unchecked-optional-access): set in start()
    if (auto denied = gate_->check_modify(*m, books_)) {
      publish_denied(*denied);
      return;
    }
    (void)topics_->modify.publish(*publisher_, m->symbol, *m, {.ts_event = m->ts_event});
    // NOLINTEND(bugprone-unchecked-optional-access)
  }

  // Cancels always pass, in every state: they only take risk away.
  void on_cancel(const bus::Envelope& e) {
    const auto* c = e.get<model::CancelOrder>();
    if (c == nullptr) return;
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    (void)topics_->cancel.publish(*publisher_, c->symbol, *c, {.ts_event = c->ts_event});
  }

  void publish_denied(const model::OrderDenied& d) {
    ++denied_by_reason_[std::string(core::enum_name(d.reason))];
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    (void)topics_->event.publish(*publisher_, d.symbol, d, {.ts_event = d.ts_event});
  }

  // NOLINTBEGIN(bugprone-unchecked-optional-access): set in start()
  void on_order_event(const bus::Envelope& e) {
    if (const auto* c = e.get<model::OrderCancelled>()) {
      gate_->on_closed(c->client_order_id);
    } else if (const auto* f = e.get<model::OrderFilled>()) {
      if (f->status == model::OrderStatus::kFilled) gate_->on_closed(f->client_order_id);
    } else if (const auto* m = e.get<model::OrderModified>()) {
      gate_->on_modified(*m);
    } else if (const auto* r = e.get<model::OrderModifyRejected>()) {
      gate_->on_modify_rejected(*r);
    }
  }
  // NOLINTEND(bugprone-unchecked-optional-access)

  // The portfolio's books, in place of risk's own when they hold at least as many fills: how a
  // restarted risk starts from the positions instead of empty books. Risk's marks are put back
  // on them: it sees the same market data, perhaps later than the portfolio published, and
  // every symbol it has priced (not only those with a position) must stay priced. The open
  // orders it lists that risk never saw (all of them after a restart, none once risk has seen
  // every order since) count from now on; see PreTrade::restore.
  void on_books(const bus::Envelope& e) {
    const auto* b = e.get<model::PortfolioBooks>();
    if (b == nullptr) return;
    auto taken = accounting::adopt_books(books_, *b);
    if (!taken) {
      rejected_.add(taken.error().message, "portfolio.books");
      return;
    }
    if (!*taken) return;  // behind risk's own
    const std::size_t n = b->order_ids.size();
    for (std::size_t i = 0; i < n; ++i) {
      const std::int64_t leaves = b->order_leaves[i];
      if (leaves == 0 || leaves > core::kMaxRaw || leaves < -core::kMaxRaw) {
        rejected_.add(fmt::format("portfolio_books: open order {} with leaves {} (raw)",
                                  b->order_ids[i], leaves),
                      "portfolio.books");
        continue;
      }
      const auto last = books_.mark_of(b->order_symbols[i]);
      if (b->order_prices[i].raw() <= 0 && !last) {
        // A market order with no price to value it by would count nothing toward the caps.
        rejected_.add(fmt::format("portfolio_books: open market order {} of {} has no price "
                                  "yet; not counted",
                                  b->order_ids[i], b->order_symbols[i].value()),
                      "portfolio.books");
        continue;
      }
      // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
      (void)gate_->restore(b->order_ids[i], b->order_symbols[i], b->order_strategies[i],
                           leaves < 0 ? model::OrderSide::kSell : model::OrderSide::kBuy,
                           leaves < 0 ? -leaves : leaves, b->order_filled[i], b->order_prices[i],
                           last ? *last : core::Price{});
    }
  }

  void on_fill(const bus::Envelope& e) {
    const auto* f = e.get<model::Fill>();
    if (f == nullptr) return;
    auto applied = books_.apply(*f);
    if (!applied) {
      // A fill seen twice (a replay) is not an error here; anything else is worth a count.
      if (applied.error().code != core::ErrorCode::kAlreadyExists) {
        rejected_.add(applied.error().message, f->symbol.value());
      }
      return;
    }
    gate_->on_fill(f->client_order_id, f->quantity.raw());
  }

  void on_market_data(const bus::Envelope& e) {
    if (const auto* t = e.get<model::TradeTick>()) {
      books_.mark(t->symbol, t->price);
    } else if (const auto* b = e.get<model::Bar>()) {
      books_.mark(b->symbol, b->close);
      closes_->add(b->symbol, b->ts_event, b->close.as_double());
    }
  }

  void compute_var(core::UnixNanos now) {
    std::vector<std::pair<core::Symbol, double>> values;
    double gross = 0;
    for (const auto s : books_.symbols()) {
      const std::int64_t q = books_.quantity_raw(s);
      const auto mark = books_.mark_of(s);
      if (q == 0 || !mark) continue;
      const double v = accounting::to_double(accounting::notional(*mark, q));
      values.emplace_back(s, v);
      gross += std::abs(v);
    }
    auto r = book_var(*closes_, values, var_options_);
    if (!r) {
      var_status_ = r.error().message;
      return;
    }
    var_status_ = values.empty() ? "flat" : "ok";
    var_ = std::move(*r);
    var_as_of_ = now;
    const double nav = last_nav_;
    for (const auto& m : var_) {
      const model::RiskMetrics rm{
          .method = m.method == Method::kHistorical   ? model::VarMethod::kHistorical
                    : m.method == Method::kParametric ? model::VarMethod::kParametric
                                                      : model::VarMethod::kMonteCarlo,
          .horizon_days = 1,
          .confidence = m.confidence,
          .var = m.result.var,
          .expected_shortfall = m.result.expected_shortfall,
          .gross_exposure = gross,
          .leverage = nav > 0 ? gross / nav : std::nan(""),
          .drawdown = drawdown_,
          .ts_event = now};
      // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
      (void)publisher_->publish("risk.metric.account", rm, {.ts_event = now});
    }
  }

  // ---- post-trade limits ----
  void on_account(const bus::Envelope& e) {
    const auto* s = e.get<model::PortfolioSnapshot>();
    if (s == nullptr) return;
    const double nav = s->nav.as_double();
    last_nav_ = nav;
    const std::int64_t day = s->ts_event / kNanosPerDay;
    if (day != day_) {  // the first snapshot of a UTC day sets its start
      day_ = day;
      day_start_nav_ = nav;
    }
    high_water_ = std::max(high_water_, nav);
    drawdown_ = high_water_ > 0 ? std::max(0.0, 1 - nav / high_water_) : 0;
    const double daily_loss = day_start_nav_ > 0 ? std::max(0.0, 1 - nav / day_start_nav_) : 0;
    escalate(drawdown_, drawdown_halt_, drawdown_reduce_, model::RiskAlertKind::kDrawdownLimit,
             s->ts_event);
    escalate(daily_loss, daily_loss_halt_, daily_loss_reduce_,
             model::RiskAlertKind::kDailyLossLimit, s->ts_event);
  }

  // Limits only ever tighten the state by themselves; loosening it is a person's decision
  // (POST /risk/state).
  void escalate(double value, double halt, double reduce, model::RiskAlertKind kind,
                core::UnixNanos ts) {
    TradingState target = gate_->state();
    double limit = 0;
    if (halt > 0 && value >= halt) {
      target = TradingState::kHalted;
      limit = halt;
    } else if (reduce > 0 && value >= reduce) {
      target = TradingState::kReducing;
      limit = reduce;
    }
    if (target <= gate_->state()) return;
    publish_alert(kind, target, value, limit, ts);
    change_state(target, ts);
  }

  void change_state(TradingState s, core::UnixNanos ts) {
    if (s == gate_->state()) return;
    gate_->set_state(s);
    publish_alert(model::RiskAlertKind::kStateChange, s, std::nan(""), std::nan(""), ts);
    publish_state(ts);
    if (s == TradingState::kHalted) cancel_all(ts);
  }

  // `risk.state`: the state in force, at start and after each change.
  void publish_state(core::UnixNanos ts) {
    const model::RiskAlert a{.kind = model::RiskAlertKind::kStateChange,
                             .state = gate_->state(),
                             .value = 0,
                             .limit = 0,
                             .ts_event = ts};
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    (void)publisher_->publish("risk.state", a, {.ts_event = ts});
  }

  void publish_alert(model::RiskAlertKind kind, TradingState state, double value, double limit,
                     core::UnixNanos ts) {
    model::RiskAlert a{
        .kind = kind, .state = state, .value = value, .limit = limit, .ts_event = ts};
    const auto name = core::enum_name(kind);
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    (void)publisher_->publish(fmt::format("risk.alert.{}", name), a,
                              {.priority = bus::Priority::kUrgent, .ts_event = ts});
  }

  // Every open order, cancelled at once: the strategy field says who asked.
  void cancel_all(core::UnixNanos ts) {
    for (const auto& [id, o] : gate_->open_orders()) {
      model::CancelOrder c{.client_order_id = id,
                           .symbol = o.symbol,
                           .strategy = model::Name::from_trusted("risk"),
                           .ts_event = ts};
      // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
      (void)topics_->cancel.publish(*publisher_, o.symbol, c,
                                    {.priority = bus::Priority::kUrgent, .ts_event = ts});
    }
  }

  void kill_switch() {
    const core::UnixNanos now = clock_->now();
    publish_alert(model::RiskAlertKind::kKillSwitch, TradingState::kHalted, std::nan(""),
                  std::nan(""), now);
    if (gate_->state() == TradingState::kHalted) {
      cancel_all(now);  // halted already: cancel what may still be open
    } else {
      change_state(TradingState::kHalted, now);
    }
  }

  // ---- REST ----
  json::object state_json() const {
    return {{"state", state_name(gate_->state())},
            {"open_orders", gate_->open_orders().size()},
            {"open_buy_value", accounting::to_double(gate_->open_buy_value())},
            {"open_sell_value", accounting::to_double(gate_->open_sell_value())},
            {"nav_high_water_mark", high_water_},
            {"drawdown", drawdown_},
            {"day_start_nav", day_start_nav_},
            {"limits",
             {{"drawdown_reduce", drawdown_reduce_},
              {"drawdown_halt", drawdown_halt_},
              {"daily_loss_reduce", daily_loss_reduce_},
              {"daily_loss_halt", daily_loss_halt_}}}};
  }

  net::Response post_state(const net::Request& q) {
    json::error_code ec;
    const json::value body = json::parse(q.body, ec);
    const json::string* s = ec || !body.is_object() ? nullptr
                            : body.as_object().if_contains("state")
                                ? body.as_object().at("state").if_string()
                                : nullptr;
    const auto state = s ? parse_state(*s) : std::nullopt;
    if (!state) {
      return net::Response::error(
          400, "want a JSON body {\"state\": \"active\" | \"reducing\" | \"halted\"}");
    }
    std::lock_guard lock(mu_);
    change_state(*state, clock_->now());
    return net::Response::json(state_json());
  }

  // The body is a JSON object of the limits to change (the names of GET /risk/limits); the
  // others keep their values. Refused whole if any is wrong, naming it.
  net::Response put_limits(const net::Request& q) {
    json::error_code ec;
    const json::value body = json::parse(q.body, ec);
    if (ec || !body.is_object()) {
      return net::Response::error(400,
                                  "want a JSON object of limits, e.g. {\"max_position\": 500}");
    }
    std::lock_guard lock(mu_);
    Limits l = gate_->limits();
    for (const auto& [key, v] : body.as_object()) {
      if (key == "restricted") {
        if (!v.is_array()) return net::Response::error(400, "restricted: want an array of symbols");
        l.restricted.clear();
        for (const auto& s : v.as_array()) {
          const auto sym = s.is_string()
                               ? core::Symbol::create(s.as_string())
                               : core::fail(core::ErrorCode::kInvalidArgument, "not a string");
          if (!sym) {
            return net::Response::error(400, fmt::format("restricted: {}", sym.error().message));
          }
          l.restricted.insert(*sym);
        }
        continue;
      }
      if (!v.is_number()) {
        return net::Response::error(400, fmt::format("{}: want a number", std::string(key)));
      }
      const double d = v.to_number<double>();
      if (key == "max_order_quantity") {
        l.max_order_quantity = raw_units(d);
      } else if (key == "max_order_notional") {
        l.max_order_notional = raw_units(d);
      } else if (key == "max_position") {
        l.max_position = raw_units(d);
      } else if (key == "max_gross_exposure") {
        l.max_gross_exposure = raw_units(d);
      } else if (key == "max_net_exposure") {
        l.max_net_exposure = raw_units(d);
      } else if (key == "collar") {
        l.collar = d;
      } else if (key == "orders_per_s") {
        l.orders_per_s = d;
      } else if (key == "modifies_per_s") {
        l.modifies_per_s = d;
      } else {
        return net::Response::error(400, fmt::format("{}: not a limit", std::string(key)));
      }
    }
    if (auto ok = gate_->set_limits(std::move(l)); !ok) {
      return net::Response::error(400, ok.error().message);
    }
    return net::Response::json(limits_json(gate_->limits()));
  }

  const engine::EngineInfo& info_ = engine_info();
  const core::Clock* clock_ = nullptr;
  mutable std::mutex mu_;  // everything below
  std::optional<PreTrade> gate_;
  accounting::Account books_;
  std::optional<bus::Publisher> publisher_;
  struct Topics {
    bus::SymbolTopics order, modify, cancel, event;
  };
  std::optional<Topics> topics_;  // engine thread, with publisher_
  std::map<std::string, std::uint64_t> denied_by_reason_;
  double drawdown_reduce_ = 0, drawdown_halt_ = 0;
  double daily_loss_reduce_ = 0, daily_loss_halt_ = 0;
  double high_water_ = 0;
  double drawdown_ = 0;
  std::int64_t day_ = -1;
  double day_start_nav_ = 0;
  engine::Rejections rejected_{"risk"};
  engine::EngineContext* ctx_ = nullptr;
  double var_interval_s_ = 60;
  BookRiskOptions var_options_;
  std::optional<CloseHistory> closes_;
  std::vector<BookRisk> var_;
  std::string var_status_ = "not computed yet";
  core::UnixNanos var_as_of_ = 0;
  double last_nav_ = 0;
};

std::optional<std::string> check_state(std::string_view v) {
  if (parse_state(v)) return std::nullopt;
  return fmt::format("'{}' is not active, reducing or halted", v);
}

}  // namespace

const engine::EngineInfo& engine_info() {
  using engine::Setting;
  static const engine::EngineInfo info{
      .name = "risk",
      .default_port = 8200,
      .subscribes = {"order.new.*", "order.modify.*", "order.cancel.*", "order.event.*",
                     "portfolio.fill.*", "portfolio.update.account", "portfolio.books",
                     "market_data.*.bar", "market_data.*.trade"},
      .publishes = {"risk.order.*", "risk.modify.*", "risk.cancel.*", "order.event.*",
                    "risk.alert.*", "risk.state", "risk.metric.account"},
      .description =
          "Pre-trade checks on every order (trading state, limits, collar, throttles), "
          "post-trade drawdown and daily-loss limits, the kill switch",
      .settings = {
          Setting::number("max_order_quantity", 10'000, 0, {}, "Units per order (0: no limit)"),
          Setting::number("max_order_notional", 250'000, 0, {},
                          "Quantity x price per order, account currency (0: no limit)"),
          Setting::number("max_position", 20'000, 0, {},
                          "|Units| per instrument, open orders included (0: no limit)"),
          Setting::number("max_gross_exposure", 2'000'000, 0, {},
                          "Sum of |market value| after the order (0: no limit)"),
          Setting::number("max_net_exposure", 1'000'000, 0, {},
                          "|Sum of market value| after the order (0: no limit)"),
          Setting::number("collar", 0.05, 0, 0.999,
                          "Limit prices further than this fraction from the last price (a trade "
                          "or a bar's close) are denied (0: no collar)"),
          Setting::number("orders_per_s", 100, 1e-6, {}, "Order submit throttle"),
          Setting::number("modifies_per_s", 100, 1e-6, {}, "Order modify throttle"),
          Setting::list("restricted", {}, "Symbols no order may trade"),
          Setting::text("state", "active", "Trading state at start: active, reducing, halted",
                        &check_state),
          Setting::number("drawdown_reduce", 0.10, 0, 1,
                          "Drawdown of NAV from its high-water mark that moves the state to "
                          "reducing (0: off)"),
          Setting::number("drawdown_halt", 0.20, 0, 1, "... and to halted (0: off)"),
          Setting::number("daily_loss_reduce", 0.05, 0, 1,
                          "Loss of NAV since the UTC day's first snapshot that moves the state "
                          "to reducing (0: off)"),
          Setting::number("daily_loss_halt", 0.08, 0, 1, "... and to halted (0: off)"),
          Setting::number("var_interval_s", 60, 0, {},
                          "Clock seconds between VaR computations of the book (0: off)"),
          Setting::integer("var_window", 250, 20, 100'000,
                           "Bar returns (common to the held symbols) the VaR is estimated from"),
          Setting::number("var_horizon_bars", 390, 1, {},
                          "Bars the VaR horizon spans (square-root-of-time; 390 one-minute bars "
                          "are a US trading day)"),
          Setting::integer("var_scenarios", 10'000, 100, 10'000'000, "Monte Carlo scenarios"),
      }};
  return info;
}

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<RiskEngine>(); }

}  // namespace nautilus::risk
