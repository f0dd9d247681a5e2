// The collateral engine's glue: the books from the portfolio's fills, marked by market data;
// on every account snapshot the margin of the book against its NAV (margin.hpp), published as
// collateral.margin.account, with margin.alert.<level> when the level moves to a warning or a
// call (and while a call worsens). REST: GET /collateral/margin (the whole report).
#include <fmt/format.h>

#include <atomic>
#include <boost/json.hpp>
#include <mutex>

#include "nautilus/accounting/account.hpp"
#include "nautilus/engine/rejections.hpp"
#include "nautilus/engines/collateral/engine.hpp"
#include "nautilus/engines/collateral/margin.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/risk.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"

namespace nautilus::collateral {
namespace {

namespace json = boost::json;

std::optional<std::string> check_method(std::string_view v) {
  if (v == "reg_t" || v == "portfolio") return std::nullopt;
  return fmt::format("'{}' is not reg_t or portfolio", v);
}

core::Price money(double v) {
  auto p = core::Price::from_double(v, 2);
  return p ? *p : core::Price{};
}

json::object account_json(const AccountMargin& a) {
  json::object o{{"initial", a.initial},
                 {"maintenance", a.maintenance},
                 {"excess_liquidity", a.excess_liquidity},
                 {"utilisation", a.utilisation},
                 {"level", to_string(a.level)}};
  if (a.call) {
    o["call"] = {{"deficit", a.call->deficit},
                 {"fraction", a.call->fraction},
                 {"liquidation_value", a.call->liquidation_value},
                 {"restorable", a.call->restorable}};
  }
  return o;
}

class CollateralEngine final : public engine::Engine {
 public:
  const engine::EngineInfo& info() const override { return info_; }

  core::Result<void> start(engine::EngineContext& ctx) override {
    const auto& cfg = ctx.settings();
    settings_.method =
        cfg.text("method") == "portfolio" ? MarginMethod::kPortfolio : MarginMethod::kRegT;
    settings_.initial_long = cfg.number("initial_long");
    settings_.maintenance_long = cfg.number("maintenance_long");
    settings_.initial_short = cfg.number("initial_short");
    settings_.maintenance_short = cfg.number("maintenance_short");
    settings_.pm_shock = cfg.number("pm_shock");
    settings_.pm_scenarios = static_cast<std::size_t>(cfg.integer("pm_scenarios"));
    settings_.warning_utilisation = cfg.number("warning_utilisation");
    if (auto ok = validate(settings_); !ok) {
      return std::unexpected(ok.error());  // it names collateral.<setting>
    }
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    publisher_.emplace(std::move(*pub));
    const std::tuple<const char*, void (CollateralEngine::*)(const bus::Envelope&),
                     bus::OverflowPolicy>
        subs[] = {
            {"portfolio.fill.*", &CollateralEngine::on_fill, bus::OverflowPolicy::kBlock},
            {"portfolio.books", &CollateralEngine::on_books, bus::OverflowPolicy::kBlock},
            {"portfolio.update.account", &CollateralEngine::on_account,
             bus::OverflowPolicy::kConflate},
            {"market_data.*", &CollateralEngine::on_market_data, bus::OverflowPolicy::kConflate}};
    for (const auto& [pattern, fn, policy] : subs) {
      auto sub =
          ctx.subscribe(pattern, [this, fn](const bus::Envelope& e) { (this->*fn)(e); }, policy);
      if (!sub) return std::unexpected(sub.error());
    }
    return {};
  }

  void add_routes(net::Router& r) override {
    r.get("/collateral/margin", [this](const net::Request&) {
      std::lock_guard lock(mu_);
      if (!report_) return net::Response::error(404, "no account snapshot yet");
      json::array positions;
      for (const auto& p : report_->positions) {
        json::object o{{"symbol", p.symbol},
                       {"quantity", p.quantity},
                       {"price", p.price},
                       {"market_value", p.market_value},
                       {"initial", p.initial},
                       {"maintenance", p.maintenance},
                       {"pm_worst_loss", p.pm_worst_loss}};
        o["call_price"] = p.call_price ? json::value(*p.call_price) : json::value(nullptr);
        positions.push_back(std::move(o));
      }
      return net::Response::json(json::object{{"method", to_string(report_->method)},
                                              {"equity", report_->equity},
                                              {"gross_value", report_->gross_value},
                                              {"net_value", report_->net_value},
                                              {"buying_power", report_->buying_power},
                                              {"reg_t", account_json(report_->reg_t)},
                                              {"portfolio", account_json(report_->portfolio)},
                                              {"positions", std::move(positions)}});
    });
  }

  void add_metrics(net::PrometheusText& p) const override {
    std::lock_guard lock(mu_);
    const net::PrometheusText::Labels l = {{"engine", "collateral"}};
    p.family("nautilus_collateral_utilisation", "gauge", "maintenance margin / equity");
    p.sample("nautilus_collateral_utilisation", l, report_ ? report_->in_force().utilisation : 0);
    p.family("nautilus_collateral_alerts_total", "counter", "margin warnings and calls");
    p.sample("nautilus_collateral_alerts_total", l, static_cast<double>(alerts_.load()));
    p.family("nautilus_collateral_inputs_rejected_total", "counter",
             "fills or books it could not use");
    p.sample("nautilus_collateral_inputs_rejected_total", l,
             static_cast<double>(rejected_.count()));
  }

 private:
  void on_fill(const bus::Envelope& e) {
    const auto* f = e.get<model::Fill>();
    if (f == nullptr) return;
    auto ok = books_.apply(*f);
    if (!ok && ok.error().code != core::ErrorCode::kAlreadyExists) {
      rejected_.add(ok.error().message, f->symbol.value());
    }
  }

  // The portfolio's books (at its start, then every few seconds): a collateral engine
  // restarted beside it, or a platform restarted from its snapshot, margins the real positions.
  void on_books(const bus::Envelope& e) {
    const auto* b = e.get<model::PortfolioBooks>();
    if (b == nullptr) return;
    if (auto taken = accounting::adopt_books(books_, *b); !taken) {
      rejected_.add(taken.error().message, "portfolio.books");
    }
  }

  void on_market_data(const bus::Envelope& e) {
    if (const auto* t = e.get<model::TradeTick>()) books_.mark(t->symbol, t->price);
    if (const auto* b = e.get<model::Bar>()) books_.mark(b->symbol, b->close);
  }

  void on_account(const bus::Envelope& e) {
    const auto* s = e.get<model::PortfolioSnapshot>();
    if (s == nullptr) return;
    std::vector<Position> positions;
    for (const auto sym : books_.symbols()) {
      const std::int64_t q = books_.quantity_raw(sym);
      if (q == 0) continue;
      const auto mark = books_.mark_of(sym);
      positions.push_back({.symbol = std::string(sym.value()),
                           .quantity = accounting::to_double(q),
                           .price = mark ? mark->as_double() : 0});
    }
    auto report = compute_margin(positions, s->nav.as_double(), settings_);
    if (!report) {
      rejected_.add(report.error().message, "account");
      return;
    }
    const AccountMargin& m = report->in_force();
    const model::MarginMethod method = settings_.method == MarginMethod::kPortfolio
                                           ? model::MarginMethod::kPortfolio
                                           : model::MarginMethod::kRegT;
    // NOLINTBEGIN(bugprone-unchecked-optional-access): set in start()
    (void)publisher_->publish("collateral.margin.account",
                              model::MarginUpdate{.method = method,
                                                  .equity = s->nav,
                                                  .initial_margin = money(m.initial),
                                                  .maintenance_margin = money(m.maintenance),
                                                  .excess_liquidity = money(m.excess_liquidity),
                                                  .utilisation = m.utilisation,
                                                  .ts_event = s->ts_event},
                              {.ts_event = s->ts_event});
    const bool worse_call =
        m.level == MarginLevel::kCall && m.call && m.call->deficit > last_deficit_ * 1.1;
    if ((m.level != MarginLevel::kOk && m.level != last_level_) || worse_call) {
      const bool call = m.level == MarginLevel::kCall;
      (void)publisher_->publish(
          call ? "margin.alert.call" : "margin.alert.warning",
          model::MarginAlert{
              .level = call ? model::MarginAlertLevel::kCall : model::MarginAlertLevel::kWarning,
              .equity = s->nav,
              .maintenance_margin = money(m.maintenance),
              .liquidation_amount = money(m.call ? m.call->liquidation_value : 0),
              .utilisation = m.utilisation,
              .ts_event = s->ts_event},
          {.priority = bus::Priority::kUrgent, .ts_event = s->ts_event});
      ++alerts_;
    }
    // NOLINTEND(bugprone-unchecked-optional-access)
    last_level_ = m.level;
    last_deficit_ = m.call ? m.call->deficit : 0;
    std::lock_guard lock(mu_);
    report_ = std::move(*report);
  }

  const engine::EngineInfo& info_ = engine_info();
  MarginSettings settings_;
  accounting::Account books_;  // engine thread
  std::optional<bus::Publisher> publisher_;
  MarginLevel last_level_ = MarginLevel::kOk;
  double last_deficit_ = 0;
  mutable std::mutex mu_;
  std::optional<MarginReport> report_;
  std::atomic<std::uint64_t> alerts_{0};
  engine::Rejections rejected_{"collateral"};
};

}  // namespace

const engine::EngineInfo& engine_info() {
  using engine::Setting;
  static const engine::EngineInfo info{
      .name = "collateral",
      .default_port = 9000,
      .subscribes = {"portfolio.fill.*", "portfolio.books", "portfolio.update.account",
                     "market_data.*"},
      .publishes = {"collateral.margin.account", "margin.alert.*"},
      .description =
          "Reg T and portfolio margin of the account, utilisation, excess liquidity, "
          "margin-call prices, warnings and calls",
      .settings = {
          Setting::text("method", "reg_t", "The margin in force: reg_t or portfolio",
                        &check_method),
          Setting::number("initial_long", 0.50, 1e-9, 1, "Reg T initial margin, longs"),
          Setting::number("maintenance_long", 0.25, 0, 1, "Maintenance margin, longs"),
          Setting::number("initial_short", 1.50, 1, 10,
                          "Reg T initial requirement of a short, proceeds included (150 %)"),
          Setting::number("maintenance_short", 0.30, 0, 9, "Maintenance margin, shorts"),
          Setting::number("pm_shock", 0.15, 1e-9, 1,
                          "Portfolio margin: the price shocks span +-this"),
          Setting::integer("pm_scenarios", 10, 2, 1000, "Portfolio margin: shocks, ends included"),
          Setting::number("warning_utilisation", 0.80, 1e-9, 1,
                          "Maintenance / equity that raises a warning"),
      }};
  return info;
}

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<CollateralEngine>(); }

}  // namespace nautilus::collateral
