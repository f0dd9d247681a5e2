// The analytics engine's glue: the account's marked-to-market NAV at the end of each UTC date
// (the last snapshot of the date), its daily returns, and their metrics (metrics.hpp) since
// inception and over a rolling window, against a benchmark symbol's daily closes; turnover
// from the fills; and the factor attribution of those returns to the factor model's exposures
// (toraniko's, when it publishes them). performance.metric.account and
// analytics.result.attribution are published as each date completes; REST computes on demand,
// the current date included as it stands.
#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <unordered_map>

#include "nautilus/accounting/account.hpp"
#include "nautilus/engines/analytics/attribution.hpp"
#include "nautilus/engines/analytics/engine.hpp"
#include "nautilus/engines/analytics/metrics.hpp"
#include "nautilus/engines/analytics/metrics_json.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/risk.hpp"
#include "nautilus/model/trading.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"

namespace nautilus::analytics {
namespace {

namespace json = boost::json;
constexpr std::int64_t kNanosPerDay = 86'400'000'000'000;

struct Day {
  double nav = 0;     // the last snapshot's
  double traded = 0;  // fill notional
  double benchmark_close = std::nan("");
};

class AnalyticsEngine final : public engine::Engine {
 public:
  const engine::EngineInfo& info() const override { return info_; }

  core::Result<void> start(engine::EngineContext& ctx) override {
    const auto& cfg = ctx.settings();
    rolling_days_ = static_cast<std::size_t>(cfg.integer("rolling_days"));
    options_.annualization = cfg.number("annualization");
    options_.risk_free = cfg.number("risk_free");
    const std::string& model = cfg.text("factor_model");
    const std::string& benchmark = cfg.text("benchmark");
    if (!benchmark.empty()) {
      auto sym = core::Symbol::create(benchmark);
      if (!sym) {
        return core::fail(core::ErrorCode::kInvalidArgument,
                          fmt::format("analytics.benchmark: {}", sym.error().message));
      }
      benchmark_ = *sym;
    }
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    publisher_.emplace(std::move(*pub));
    std::vector<std::pair<std::string, void (AnalyticsEngine::*)(const bus::Envelope&)>> subs = {
        {"portfolio.update.account", &AnalyticsEngine::on_account},
        {"portfolio.fill.*", &AnalyticsEngine::on_fill},
        {"market_data.*", &AnalyticsEngine::on_market_data}};
    if (!model.empty()) {
      subs.emplace_back(fmt::format("factor.model.{}.*", model), &AnalyticsEngine::on_exposures);
      subs.emplace_back(fmt::format("factor.return.{}", model),
                        &AnalyticsEngine::on_factor_returns);
    }
    for (const auto& [pattern, fn] : subs) {
      auto sub = ctx.subscribe(
          pattern, [this, fn](const bus::Envelope& e) { (this->*fn)(e); },
          bus::OverflowPolicy::kBlock);
      if (!sub) return std::unexpected(sub.error());
    }
    return {};
  }

  void add_routes(net::Router& r) override {
    r.get("/analytics/metrics", [this](const net::Request&) {
      std::lock_guard lock(mu_);
      return metrics_response(0);
    });
    r.get("/analytics/rolling", [this](const net::Request& q) {
      std::size_t days = rolling_days_;
      if (auto d = q.query_param("days")) days = std::strtoull(d->c_str(), nullptr, 10);
      if (days < 2) return net::Response::error(400, "days: want a whole number >= 2");
      std::lock_guard lock(mu_);
      return metrics_response(days);
    });
    r.get("/analytics/attribution", [this](const net::Request&) {
      std::lock_guard lock(mu_);
      const Attribution a = attribution();
      json::object totals;
      for (std::size_t i = 0; i < a.factors.size(); ++i) totals[a.factors[i]] = a.total[i];
      json::array days;
      for (const auto& d : a.days) {
        json::object c;
        for (std::size_t i = 0; i < a.factors.size(); ++i) c[a.factors[i]] = d.contributions[i];
        days.push_back({{"date", format_date(Date(std::chrono::days(d.date)))},
                        {"return", d.portfolio_return},
                        {"contributions", std::move(c)},
                        {"residual", d.residual}});
      }
      return net::Response::json(json::object{{"factors", std::move(totals)},
                                              {"portfolio", a.portfolio},
                                              {"residual", a.residual},
                                              {"days", a.days.size()},
                                              {"by_date", std::move(days)}});
    });
    r.get("/analytics/equity", [this](const net::Request&) {
      std::lock_guard lock(mu_);
      json::array out;
      for (const auto& [d, day] : days_) {
        out.push_back({{"date", format_date(Date(std::chrono::days(d)))}, {"nav", day.nav}});
      }
      return net::Response::json(out);
    });
  }

  void add_metrics(net::PrometheusText& p) const override {
    std::lock_guard lock(mu_);
    const net::PrometheusText::Labels l = {{"engine", "analytics"}};
    p.family("nautilus_analytics_days", "gauge", "dates of equity history");
    p.sample("nautilus_analytics_days", l, static_cast<double>(days_.size()));
  }

 private:
  void on_account(const bus::Envelope& e) {
    const auto* s = e.get<model::PortfolioSnapshot>();
    if (s == nullptr) return;
    const std::int64_t d = s->ts_event / kNanosPerDay;
    std::lock_guard lock(mu_);
    if (inception_nav_ == 0) inception_nav_ = s->nav.as_double();
    // A date is done when a snapshot of a later date comes (fills or benchmark bars may have
    // opened the later date's entry already).
    if (last_snapshot_day_ >= 0 && d > last_snapshot_day_) publish_metrics(s->ts_event);
    last_snapshot_day_ = std::max(last_snapshot_day_, d);
    days_[d].nav = s->nav.as_double();
    record_exposures(d, s->nav.as_double());
  }

  void on_fill(const bus::Envelope& e) {
    const auto* f = e.get<model::Fill>();
    if (f == nullptr) return;
    std::lock_guard lock(mu_);
    if (!books_.apply(*f)) return;  // a fill seen before changes nothing, turnover included
    days_[f->ts_event / kNanosPerDay].traded += f->price.as_double() * f->quantity.as_double();
  }

  void on_market_data(const bus::Envelope& e) {
    std::lock_guard lock(mu_);
    if (const auto* t = e.get<model::TradeTick>()) books_.mark(t->symbol, t->price);
    const auto* b = e.get<model::Bar>();
    if (b == nullptr) return;
    books_.mark(b->symbol, b->close);
    if (benchmark_ && b->symbol == *benchmark_) {
      days_[b->ts_event / kNanosPerDay].benchmark_close = b->close.as_double();
    }
  }

  // A symbol's latest style exposures. The first message names the styles.
  void on_exposures(const bus::Envelope& e) {
    const auto* x = e.get<model::FactorExposures>();
    if (x == nullptr) return;
    std::lock_guard lock(mu_);
    if (styles_.empty()) {
      for (const auto& n : x->names) styles_.emplace_back(n.view());
    }
    std::vector<double> v(styles_.size(), 0.0);
    for (std::size_t i = 0; i < x->names.size() && i < x->values.size(); ++i) {
      for (std::size_t k = 0; k < styles_.size(); ++k) {
        if (x->names[i].view() == styles_[k] && std::isfinite(x->values[i])) v[k] = x->values[i];
      }
    }
    exposures_[x->symbol] = std::move(v);
  }

  // A date's factor returns, by the factors attributed: market, then the styles.
  void on_factor_returns(const bus::Envelope& e) {
    const auto* f = e.get<model::FactorReturns>();
    if (f == nullptr) return;
    std::lock_guard lock(mu_);
    if (styles_.empty()) return;  // no exposures yet: nothing to attribute to
    const auto names = factor_names();
    std::vector<double> r(names.size(), std::nan(""));
    for (std::size_t i = 0; i < f->names.size() && i < f->returns.size(); ++i) {
      for (std::size_t k = 0; k < names.size(); ++k) {
        if (f->names[i].view() == names[k]) r[k] = f->returns[i];
      }
    }
    if (std::all_of(r.begin(), r.end(), [](double v) { return std::isfinite(v); })) {
      factor_returns_[f->ts_event / kNanosPerDay] = std::move(r);
    }
  }

  std::vector<std::string> factor_names() const {
    std::vector<std::string> n{"market"};
    n.insert(n.end(), styles_.begin(), styles_.end());
    return n;
  }

  // The portfolio's exposures at this snapshot, the date's latest: market sum(w), each style
  // sum(w e) over the positions with exposures (w = market value / NAV).
  void record_exposures(std::int64_t day, double nav) {
    if (styles_.empty() || !(nav > 0)) return;
    std::vector<double> x(styles_.size() + 1, 0.0);
    for (const auto s : books_.symbols()) {
      const std::int64_t q = books_.quantity_raw(s);
      const auto mark = books_.mark_of(s);
      if (q == 0 || !mark) continue;
      const double w = accounting::to_double(accounting::notional(*mark, q)) / nav;
      x[0] += w;
      const auto it = exposures_.find(s);
      if (it == exposures_.end()) continue;
      for (std::size_t k = 0; k < styles_.size(); ++k) x[k + 1] += w * it->second[k];
    }
    portfolio_exposures_[day] = std::move(x);
  }

  Attribution attribution() const {
    const Series s = series(0);
    std::map<DayNumber, double> returns;
    for (std::size_t i = 0; i < s.dates.size(); ++i) {
      if (std::isfinite(s.returns[i])) {
        returns[s.dates[i].time_since_epoch().count()] = s.returns[i];
      }
    }
    return attribute(factor_names(), portfolio_exposures_, factor_returns_, returns);
  }

  // The daily series of the dates with a NAV; the last `window` of them when window > 0.
  struct Series {
    std::vector<Date> dates;
    std::vector<double> returns, benchmark;
    double turnover = std::nan("");
  };
  Series series(std::size_t window) const {
    Series s;
    double prev_nav = inception_nav_;
    double prev_close = std::nan("");
    double turnover_sum = 0;
    std::size_t turnover_days = 0;
    for (const auto& [d, day] : days_) {
      if (day.nav <= 0) continue;
      s.dates.emplace_back(std::chrono::days(d));
      s.returns.push_back(prev_nav > 0 ? day.nav / prev_nav - 1 : std::nan(""));
      s.benchmark.push_back(day.benchmark_close / prev_close - 1);  // NaN without both closes
      // pyfolio's turnover: half the traded value over the day's NAV (buys and sells count once)
      turnover_sum += day.traded / 2 / day.nav;
      ++turnover_days;
      prev_nav = day.nav;
      if (std::isfinite(day.benchmark_close)) prev_close = day.benchmark_close;
    }
    if (turnover_days > 0) s.turnover = turnover_sum / static_cast<double>(turnover_days);
    if (window > 0 && s.dates.size() > window) {
      const auto cut = static_cast<std::ptrdiff_t>(s.dates.size() - window);
      s.dates.erase(s.dates.begin(), s.dates.begin() + cut);
      s.returns.erase(s.returns.begin(), s.returns.begin() + cut);
      s.benchmark.erase(s.benchmark.begin(), s.benchmark.begin() + cut);
    }
    return s;
  }

  core::Result<Metrics> compute(const Series& s) const {
    if (benchmark_) return compute_metrics(s.dates, s.returns, s.benchmark, options_);
    return compute_metrics(s.dates, s.returns, options_);
  }

  net::Response metrics_response(std::size_t window) const {
    const Series s = series(window);
    auto m = compute(s);
    if (!m) return net::Response::error(500, m.error().message);
    json::object o = to_json(*m);
    o["turnover"] = s.turnover;
    o["window_days"] = window;
    o["inception_nav"] = inception_nav_;
    if (!s.dates.empty()) {
      o["start"] = format_date(s.dates.front());
      o["end"] = format_date(s.dates.back());
    }
    return net::Response::json(o);
  }

  void publish_metrics(core::UnixNanos ts) {
    if (!styles_.empty()) {
      const Attribution a = attribution();
      std::vector<model::Name> names;
      std::vector<double> values;
      for (std::size_t i = 0; i < a.factors.size(); ++i) {
        auto n = model::Name::create(a.factors[i].substr(0, 23));
        if (!n) continue;
        names.push_back(*n);
        values.push_back(a.total[i]);
      }
      names.push_back(model::Name::from_trusted("residual"));
      values.push_back(a.residual);
      // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
      (void)publisher_->publish(
          "analytics.result.attribution",
          model::FactorReturns{.model = model::Name::from_trusted("attribution"),
                               .ts_event = ts,
                               .assets = static_cast<std::uint32_t>(a.days.size()),
                               .r_squared = std::nan(""),
                               .names = std::move(names),
                               .returns = std::move(values)},
          {.ts_event = ts});
    }
    auto m = compute(series(0));
    if (!m) return;
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    (void)publisher_->publish("performance.metric.account",
                              model::PerformanceMetrics{.days = static_cast<std::uint32_t>(m->days),
                                                        .total_return = m->cum_returns_final,
                                                        .cagr = m->annual_return,
                                                        .volatility = m->annual_volatility,
                                                        .sharpe = m->sharpe_ratio,
                                                        .sortino = m->sortino_ratio,
                                                        .max_drawdown = m->drawdown.depth,
                                                        .calmar = m->calmar_ratio,
                                                        .hit_rate = m->hit_rate,
                                                        .var_95 = m->value_at_risk,
                                                        .ts_event = ts},
                              {.ts_event = ts});
  }

  const engine::EngineInfo& info_ = engine_info();
  std::size_t rolling_days_ = 63;
  MetricsOptions options_;
  std::optional<core::Symbol> benchmark_;
  std::optional<bus::Publisher> publisher_;
  mutable std::mutex mu_;
  std::map<std::int64_t, Day> days_;  // by days since the epoch (UTC)
  double inception_nav_ = 0;
  std::int64_t last_snapshot_day_ = -1;
  accounting::Account books_;  // positions and marks, for the exposures
  std::vector<std::string> styles_;
  std::unordered_map<core::Symbol, std::vector<double>> exposures_;
  Exposures portfolio_exposures_;
  FactorSeries factor_returns_;
};

}  // namespace

const engine::EngineInfo& engine_info() {
  using engine::Setting;
  static const engine::EngineInfo info{
      .name = "analytics",
      .default_port = 8100,
      .subscribes = {"portfolio.update.account", "portfolio.fill.*", "market_data.*",
                     "factor.model.*", "factor.return.*"},
      .publishes = {"performance.metric.account", "analytics.result.attribution"},
      .description =
          "Performance of the account's daily marked-to-market equity: empyrical's "
          "and QuantStats' metrics since inception and rolling, against a benchmark",
      .settings = {
          Setting::text("benchmark", "SPY",
                        "Symbol whose daily closes alpha and beta are measured against (empty: "
                        "none)"),
          Setting::integer("rolling_days", 63, 2, 100'000, "GET /analytics/rolling's window"),
          Setting::text("factor_model", "toraniko",
                        "Factor model attributed to: factor.model.<model>.* (exposures) and "
                        "factor.return.<model> (empty: none)"),
          Setting::number("annualization", 252, 1, 366, "Trading days a year"),
          Setting::number("risk_free", 0, -1, 1, "Risk-free return per day"),
      }};
  return info;
}

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<AnalyticsEngine>(); }

}  // namespace nautilus::analytics
