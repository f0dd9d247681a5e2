// The portfolio engine's glue: approved orders in (risk.order.*, risk.modify.*, risk.cancel.*),
// paper execution against market data (paper_exchange.hpp), the books (accounting::Account)
// marked on every price, and out: order events, fills, position changes and account
// snapshots; REST for positions, orders, fills and the account. The engine thread does all the
// work; REST reads under `mu_`.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cctype>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "nautilus/accounting/account.hpp"
#include "nautilus/bus/symbol_topics.hpp"
#include "nautilus/core/enum_names.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/engine/rejections.hpp"
#include "nautilus/engine/state_store.hpp"
#include "nautilus/engines/portfolio/engine.hpp"
#include "nautilus/engines/portfolio/paper_exchange.hpp"
#include "nautilus/engines/portfolio/snapshot.hpp"
#include "nautilus/model/json.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"

namespace nautilus::portfolio {
namespace {

namespace json = boost::json;

constexpr std::size_t kFillsKept = 10'000;               // for GET /portfolio/fills
constexpr std::string_view kStatePrefix = "portfolio:";  // + the account's name
constexpr std::string_view kLegacyKey = "portfolio";
constexpr std::size_t kEarlyCancelsKept = 100'000;

std::optional<std::string> check_fill_on(std::string_view v) {
  if (v == "bars" || v == "bar_open" || v == "trades") return std::nullopt;
  return fmt::format("'{}' is not bars, bar_open or trades", v);
}

// The account names the snapshot's key: two platforms on one Redis keep two sets of books.
std::optional<std::string> check_account(std::string_view v) {
  const bool ok = !v.empty() && v.size() <= 64 && std::all_of(v.begin(), v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
  });
  if (ok) return std::nullopt;
  return fmt::format("'{}' is not 1 to 64 letters, digits, '_' or '-'", v);
}

class PortfolioEngine final : public engine::Engine {
 public:
  const engine::EngineInfo& info() const override { return info_; }

  core::Result<void> start(engine::EngineContext& ctx) override {
    const auto& cfg = ctx.settings();
    const ExecutionSettings exec{
        .latency_ns = static_cast<std::int64_t>(cfg.number("latency_ms") * 1e6),
        .slippage_bps = cfg.number("slippage_bps"),
        .fee_bps = cfg.number("fee_bps"),
        .min_fee = cfg.number("min_fee"),
        .participation = cfg.number("participation")};
    if (auto ok = PaperExchange::validate(exec); !ok) return ok;
    auto cash = core::Price::from_double(cfg.number("initial_cash"), 2);
    if (!cash) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("portfolio.initial_cash: {}", cash.error().message));
    }
    books_ = accounting::Account(cash->raw());
    exchange_.emplace(exec);
    store_ = ctx.state_store();
    state_key_ = fmt::format("{}{}", kStatePrefix, cfg.text("account"));
    if (store_ != nullptr) {
      // A snapshot that cannot be read stops the start: starting empty would count its fills
      // again from whatever replays.
      auto saved = store_->load(state_key_);
      // Before the key named the account, the one account's snapshot was "portfolio": read it
      // there once (the next save writes the new key), rather than start empty after an
      // upgrade while the other engines still hold its trade ids.
      if (saved && !*saved && cfg.text("account") == "paper") saved = store_->load(kLegacyKey);
      if (!saved) {
        return core::fail(saved.error().code, fmt::format("portfolio: loading its snapshot: {}",
                                                          saved.error().message));
      }
      if (*saved) {
        auto state = decode_state(**saved);
        if (!state) return std::unexpected(state.error());
        books_ = accounting::Account::from_state(state->books);
        exchange_.emplace(PaperExchange::from_state(exec, state->exchange));
        unpublished_ = std::move(state->unpublished);
        open_copy_ = exchange_->open_orders();
        fmt::print(stderr,
                   "portfolio: restored from its snapshot: {} fills, {} open orders, NAV {}\n",
                   books_.fills(), exchange_->open_orders().size(),
                   accounting::as_price(books_.nav()).to_string());
      }
    }
    fill_on_bars_ = cfg.text("fill_on") != "trades";
    fill_at_open_ = cfg.text("fill_on") == "bar_open";
    snapshot_interval_ns_ = static_cast<std::int64_t>(cfg.number("snapshot_interval_ms") * 1e6);
    books_interval_s_ = cfg.number("books_interval_s");
    if (books_interval_s_ > 0 && books_interval_s_ < 0.1) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("portfolio.books_interval_s: {} is below 0.1 s (0: only at "
                                    "start)",
                                    books_interval_s_));
    }
    clock_ = &ctx.clock();
    ctx_ = &ctx;
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    publisher_.emplace(std::move(*pub));
    topics_.emplace(Topics{.fill = {ctx.bus(), "portfolio.fill"},
                           .position = {ctx.bus(), "position.change"},
                           .order = {ctx.bus(), "order.event"}});
    const std::pair<const char*, void (PortfolioEngine::*)(const bus::Envelope&)> subs[] = {
        {"risk.order.*", &PortfolioEngine::on_order},
        {"risk.modify.*", &PortfolioEngine::on_modify},
        {"risk.cancel.*", &PortfolioEngine::on_cancel},
        // Bars and trades, the prints it fills against and marks with: market_data.* brought
        // quotes too, a delivery each for nothing.
        {"market_data.*.bar", &PortfolioEngine::on_market_data},
        {"market_data.*.trade", &PortfolioEngine::on_market_data}};
    for (const auto& [pattern, fn] : subs) {
      // Every one matters: a lost print is a fill that never happens.
      auto sub = ctx.subscribe(
          pattern, [this, fn](const bus::Envelope& e) { (this->*fn)(e); },
          bus::OverflowPolicy::kBlock);
      if (!sub) return std::unexpected(sub.error());
    }
    return {};
  }

  // The last batch of a snapshot, published again (readers drop the fills they had by trade
  // id), then the books, so that risk, strategy and collateral start from them; the books again
  // every books_interval_s. On the engine's thread (a timer due now), since the engine thread
  // may already be handling messages: its publisher and books are that thread's.
  void begin() override {
    (void)ctx_->set_timer_at("books", clock_->now(), [this](core::UnixNanos now) {
      if (!unpublished_.empty()) {
        emit(unpublished_);
        unpublished_.clear();
      }
      publish_books(now);
    });
    if (books_interval_s_ > 0) {
      (void)ctx_->set_timer_every(
          "books", std::chrono::nanoseconds(static_cast<std::int64_t>(books_interval_s_ * 1e9)),
          [this](core::UnixNanos now) {
            // A save that failed is tried again here too, so /health recovers (and Redis has
            // the books) on a quiet market, not only at the next fill.
            if (store_ != nullptr && save_failing()) save({});
            publish_books(now);
          });
    }
  }

  engine::Health health() const override {
    std::lock_guard lock(mu_);
    if (save_error_.empty()) return {};
    return {.healthy = false, .detail = "snapshot not saved: " + save_error_};
  }

  void add_routes(net::Router& r) override {
    r.get("/portfolio/account", [this](const net::Request&) {
      std::lock_guard lock(mu_);
      return net::Response::json(account_json());
    });
    r.get("/portfolio/positions", [this](const net::Request&) {
      std::lock_guard lock(mu_);
      json::array out;
      for (const auto s : books_.symbols()) {
        out.push_back(json::value_from(books_.position_change(s, clock_->now())));
      }
      return net::Response::json(out);
    });
    r.get("/portfolio/orders", [this](const net::Request&) {
      std::lock_guard lock(mu_);
      json::array out;
      for (const auto& [id, o] : open_copy_) {
        json::object j = json::value_from(o.order).as_object();
        j["filled"] = accounting::to_double(o.filled);
        j["leaves"] = accounting::to_double(o.leaves);
        j["venue_order_id"] = o.venue_order_id;
        out.push_back(std::move(j));
      }
      return net::Response::json(out);
    });
    r.get("/portfolio/fills", [this](const net::Request& q) {
      std::size_t limit = 100;
      if (auto l = q.query_param("limit")) limit = std::strtoull(l->c_str(), nullptr, 10);
      std::lock_guard lock(mu_);
      json::array out;
      const std::size_t n = std::min(limit, fills_.size());
      for (std::size_t i = fills_.size() - n; i < fills_.size(); ++i) {
        out.push_back(json::value_from(fills_[i]));
      }
      return net::Response::json(out);
    });
  }

  void add_metrics(net::PrometheusText& p) const override {
    std::lock_guard lock(mu_);
    const net::PrometheusText::Labels l = {{"engine", "portfolio"}};
    p.family("nautilus_portfolio_fills_total", "counter", "fills applied to the books");
    p.sample("nautilus_portfolio_fills_total", l, static_cast<double>(books_.fills()));
    p.family("nautilus_portfolio_nav", "gauge", "cash + positions at market");
    p.sample("nautilus_portfolio_nav", l, accounting::to_double(books_.nav()));
    p.family("nautilus_portfolio_open_orders", "gauge", "orders resting in paper execution");
    p.sample("nautilus_portfolio_open_orders", l, static_cast<double>(open_copy_.size()));
    p.family("nautilus_portfolio_snapshot_failures_total", "counter",
             "snapshots the state store refused (Redis away)");
    p.sample("nautilus_portfolio_snapshot_failures_total", l,
             static_cast<double>(save_failures_.load()));
    p.family("nautilus_portfolio_orders_rejected_total", "counter",
             "approved orders, modifies or cancels execution could not apply");
    p.sample("nautilus_portfolio_orders_rejected_total", l, static_cast<double>(rejected_.count()));
  }

  void add_health_fields(json::object& out) const override {
    std::lock_guard lock(mu_);
    out["nav"] = accounting::to_double(books_.nav());
    out["fills"] = books_.fills();
  }

 private:
  void on_order(const bus::Envelope& e) {
    const auto* o = e.get<model::NewOrder>();
    if (o == nullptr) return;
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    auto ev = exchange_->submit(*o, clock_->now());
    if (!ev) {
      rejected_.add(ev.error().message, o->symbol.value());
      return;
    }
    // A cancel that came first (risk's URGENT cancels overtake the orders they cancel):
    // accepted, then cancelled at once, before any print.
    if (const auto it = early_cancels_.find(o->client_order_id); it != early_cancels_.end()) {
      auto c = exchange_->cancel(o->client_order_id, it->second, clock_->now());
      early_cancels_.erase(it);
      if (c) ev->insert(ev->end(), c->begin(), c->end());
    }
    publish(*ev);
  }

  // Approved by risk, which counts the larger of the old and new order until it hears which
  // one execution kept: an order_modified or an order_modify_rejected.
  void on_modify(const bus::Envelope& e) {
    const auto* m = e.get<model::ModifyOrder>();
    if (m == nullptr) return;
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    auto ev = exchange_->modify(*m, clock_->now());
    if (!ev) {
      rejected_.add(ev.error().message, m->symbol.value());
      publish({model::OrderModifyRejected{.client_order_id = m->client_order_id,
                                          .symbol = m->symbol,
                                          .reason = ev.error().code == core::ErrorCode::kNotFound
                                                        ? model::ModifyRejectReason::kNotOpen
                                                        : model::ModifyRejectReason::kBelowFilled,
                                          .quantity = m->quantity,
                                          .price = m->price,
                                          .ts_event = clock_->now()}});
      return;
    }
    publish(*ev);
  }

  void on_cancel(const bus::Envelope& e) {
    const auto* c = e.get<model::CancelOrder>();
    if (c == nullptr) return;
    const auto reason =
        c->strategy.view() == "risk" ? model::CancelReason::kRisk : model::CancelReason::kRequested;
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    auto ev = exchange_->cancel(c->client_order_id, reason, clock_->now());
    if (!ev) {
      // Cancelling an order that just filled is a race, not a fault. One not seen yet is on its
      // way behind the cancel: it is cancelled when it comes.
      // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
      if (ev.error().code == core::ErrorCode::kNotFound && !exchange_->seen(c->client_order_id) &&
          early_cancels_.size() < kEarlyCancelsKept) {
        early_cancels_.emplace(c->client_order_id, reason);
      } else if (ev.error().code != core::ErrorCode::kNotFound) {
        rejected_.add(ev.error().message, c->symbol.value());
      }
      return;
    }
    publish(*ev);
  }

  void on_market_data(const bus::Envelope& e) {
    std::vector<ExecutionEvent> out;
    core::Symbol symbol;
    core::UnixNanos ts = 0;
    if (const auto* t = e.get<model::TradeTick>()) {
      symbol = t->symbol;
      ts = t->ts_event;
      mark(symbol, t->price);
      // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
      if (!fill_on_bars_) exchange_->on_print(symbol, t->price, t->size.raw(), ts, out);
    } else if (const auto* b = e.get<model::Bar>()) {
      symbol = b->symbol;
      ts = b->ts_event;
      mark(symbol, b->close);
      // bar_open: an order fills at the open of the first bar after it (the price when that
      // bar began, which is when the order arrived), stamped at the bar's close, its time.
      if (fill_on_bars_) {
        // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
        exchange_->on_print(symbol, fill_at_open_ ? b->open : b->close, b->volume.raw(), ts, out);
      }
    } else {
      return;
    }
    if (!out.empty()) {
      publish(out);
    } else if (ts - last_snapshot_ >= snapshot_interval_ns_) {
      publish_snapshot(ts);
    }
  }

  void mark(core::Symbol s, core::Price p) {
    std::lock_guard lock(mu_);
    books_.mark(s, p);
  }

  // The books first, then the snapshot (with the batch), then the messages: a crash between
  // the two last publishes the batch again at restart instead of losing it.
  void publish(const std::vector<ExecutionEvent>& events) {
    std::vector<ExecutionEvent> batch;  // every order event, and the fills the books took
    batch.reserve(events.size());
    {
      std::lock_guard lock(mu_);
      for (const auto& ev : events) {
        if (const auto* f = std::get_if<model::Fill>(&ev)) {
          auto applied = books_.apply(*f);
          if (!applied) {
            rejected_.add(applied.error().message, f->symbol.value());
            continue;
          }
          fills_.push_back(*f);
          if (fills_.size() > kFillsKept) fills_.pop_front();
        }
        batch.push_back(ev);
      }
      open_copy_ = exchange_->open_orders();
    }
    // The restored batch not yet published goes first: its events precede these, and the
    // snapshot below must keep it until it is out.
    if (!unpublished_.empty()) {
      batch.insert(batch.begin(), unpublished_.begin(), unpublished_.end());
      unpublished_.clear();
    }
    if (store_ != nullptr) save(batch);
    emit(batch);
  }

  bool save_failing() const {
    std::lock_guard lock(mu_);
    return !save_error_.empty();
  }

  void emit(const std::vector<ExecutionEvent>& batch) {
    core::UnixNanos last_ts = 0;
    bool filled = false;
    for (const auto& ev : batch) {
      std::visit(
          [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            last_ts = m.ts_event;
            if constexpr (std::is_same_v<T, model::Fill>) {
              filled = true;
              // NOLINTBEGIN(bugprone-unchecked-optional-access): set in start()
              (void)topics_->fill.publish(*publisher_, m.symbol, m, {.ts_event = m.ts_event});
              model::PositionChange pc;
              {
                std::lock_guard lock(mu_);
                pc = books_.position_change(m.symbol, m.ts_event);
              }
              (void)topics_->position.publish(*publisher_, m.symbol, pc, {.ts_event = m.ts_event});
            } else {
              (void)topics_->order.publish(*publisher_, m.symbol, m, {.ts_event = m.ts_event});
              // NOLINTEND(bugprone-unchecked-optional-access)
            }
          },
          ev);
    }
    if (filled) publish_snapshot(last_ts);
  }

  // A save that fails (the main Redis away) does not hold the batch back: the fills happened.
  // The engine reports itself degraded until a save succeeds, and the next one writes the
  // whole books again, so nothing is missing from Redis once it is back. Only a crash while
  // it is away loses what was published since the last save (docs/TRADING.md).
  void save(const std::vector<ExecutionEvent>& batch) {
    PortfolioState state;
    {
      std::lock_guard lock(mu_);
      state.books = books_.state();
    }
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    state.exchange = exchange_->state();
    state.unpublished = batch;
    auto ok = store_->save(state_key_, encode_state(state));
    std::lock_guard lock(mu_);
    if (!ok) {
      ++save_failures_;
      save_error_ = ok.error().message;
      rejected_.add(fmt::format("snapshot not saved: {}", ok.error().message), "state store");
    } else {
      save_error_.clear();
    }
  }

  void publish_books(core::UnixNanos ts) {
    model::PortfolioBooks b;
    {
      std::lock_guard lock(mu_);
      b = accounting::to_books(books_.state(), ts);
      // Only the marks of what the books hold: a reader keeps its own for the rest, and a
      // message stays far below the wire's 4,096 items an array as the symbols traded grow.
      std::unordered_set<core::Symbol> held;
      for (const auto& [id, r] : open_copy_) held.insert(r.order.symbol);
      std::vector<core::Symbol> ms;
      std::vector<core::Price> mp;
      for (std::size_t i = 0; i < b.mark_symbols.size(); ++i) {
        const auto sym = b.mark_symbols[i];
        if (books_.quantity_raw(sym) != 0 || held.contains(sym)) {
          ms.push_back(sym);
          mp.push_back(b.marks[i]);
        }
      }
      b.mark_symbols = std::move(ms);
      b.marks = std::move(mp);
      for (const auto& [id, r] : open_copy_) {
        b.order_ids.push_back(id);
        b.order_symbols.push_back(r.order.symbol);
        b.order_strategies.push_back(r.order.strategy);
        b.order_leaves.push_back(r.order.side == model::OrderSide::kBuy ? r.leaves : -r.leaves);
        b.order_filled.push_back(r.filled);
        b.order_prices.push_back(r.order.type == model::OrderType::kLimit ? r.order.price
                                                                          : core::Price{});
      }
    }
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    (void)publisher_->publish("portfolio.books", std::move(b), {.ts_event = ts});
  }

  void publish_snapshot(core::UnixNanos ts) {
    model::PortfolioSnapshot s;
    {
      std::lock_guard lock(mu_);
      s = books_.snapshot(ts);
    }
    last_snapshot_ = ts;
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    (void)publisher_->publish("portfolio.update.account", s, {.ts_event = ts});
  }

  json::object account_json() const {
    const auto s = books_.snapshot(clock_->now());
    json::object o = json::value_from(s).as_object();
    o["initial_cash"] = accounting::to_double(books_.initial_cash());
    o["commissions"] = accounting::to_double(books_.commissions());
    o["fills"] = books_.fills();
    return o;
  }

  const engine::EngineInfo& info_ = engine_info();
  const core::Clock* clock_ = nullptr;
  std::optional<PaperExchange> exchange_;  // engine thread
  std::optional<bus::Publisher> publisher_;
  struct Topics {
    bus::SymbolTopics fill, position, order;
  };
  std::optional<Topics> topics_;  // engine thread, with publisher_
  bool fill_on_bars_ = true;
  bool fill_at_open_ = false;  // fill_on = bar_open
  std::int64_t snapshot_interval_ns_ = 0;
  engine::StateStore* store_ = nullptr;
  engine::EngineContext* ctx_ = nullptr;
  std::unordered_map<model::OrderId, model::CancelReason> early_cancels_;
  std::vector<ExecutionEvent> unpublished_;  // from the snapshot, for begin()
  std::string state_key_;
  double books_interval_s_ = 0;
  std::atomic<std::uint64_t> save_failures_{0};
  core::UnixNanos last_snapshot_ = 0;

  mutable std::mutex mu_;  // the books and what REST reads
  accounting::Account books_;
  std::map<model::OrderId, RestingOrder> open_copy_;
  std::deque<model::Fill> fills_;
  std::string save_error_;  // the last save's, "" once one succeeds
  engine::Rejections rejected_{"portfolio"};
};

}  // namespace

const engine::EngineInfo& engine_info() {
  using engine::Setting;
  static const engine::EngineInfo info{
      .name = "portfolio",
      .default_port = 8900,
      .subscribes = {"risk.order.*", "risk.modify.*", "risk.cancel.*", "market_data.*.bar",
                     "market_data.*.trade"},
      .publishes = {"order.event.*", "portfolio.fill.*", "position.change.*",
                    "portfolio.update.account", "portfolio.books"},
      .description =
          "Paper execution of approved orders against market data; positions, "
          "cash, PnL and NAV marked to market",
      .settings = {
          Setting::number("initial_cash", 1'000'000, 0, 1e12, "Starting cash, account currency"),
          Setting::text("fill_on", "bars",
                        "Which prints fill orders: bars (close and volume), bar_open (the "
                        "next bar's open and volume) or trades",
                        &check_fill_on),
          Setting::number("latency_ms", 1, 0, 3.6e6,
                          "From submit to the first print that may fill the order"),
          Setting::number("slippage_bps", 1, 0, 10'000,
                          "A fill's price moved against the order, basis points"),
          Setting::number("fee_bps", 0.5, 0, 10'000, "Commission, basis points of notional"),
          Setting::number("min_fee", 0, 0, {}, "Least commission per fill"),
          Setting::number("participation", 0.1, 1e-9, 1,
                          "Share of each print's volume the orders may fill"),
          Setting::text("account", "paper",
                        "The account's name; on the Redis bus its snapshot is the main Redis key "
                        "nautilus:state:portfolio:<account>",
                        &check_account),
          Setting::number("books_interval_s", 5, 0, 86'400,
                          "How often the whole books are published on portfolio.books (also "
                          "once at start), on the engine's clock; 0: only at start"),
          Setting::number("snapshot_interval_ms", 1000, 0, {},
                          "Least time between account snapshots on prices alone, on the prices' "
                          "own timestamps (every fill publishes one)"),
      }};
  return info;
}

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<PortfolioEngine>(); }

}  // namespace nautilus::portfolio
