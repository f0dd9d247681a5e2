#include "collector.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>

#include "nautilus/core/enum_names.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/engines/analytics/metrics_json.hpp"

namespace nautilus::backtest {
namespace {

namespace json = boost::json;

analytics::Date date_of(core::UnixNanos ts) {
  return std::chrono::floor<std::chrono::days>(
      std::chrono::sys_time<std::chrono::nanoseconds>(std::chrono::nanoseconds(ts)));
}

json::value number(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

json::array numbers(const std::vector<double>& v, const json::storage_ptr& sp) {
  json::array a(sp);
  a.reserve(v.size());
  for (double d : v) a.push_back(number(d));
  return a;
}

std::string side_name(model::OrderSide s) { return s == model::OrderSide::kBuy ? "buy" : "sell"; }

}  // namespace

Collector::Collector(const BacktestSpec& spec) : spec_(spec) {
  if (!spec.chart_symbol.empty()) {
    if (auto s = core::Symbol::create(spec.chart_symbol)) chart_ = *s;
  }
}

core::Result<void> Collector::subscribe(bus::MessageBus& bus) {
  const auto on = [&](const char* pattern, auto fn) -> core::Result<void> {
    auto sub = bus.subscribe(pattern, fn, {.owner = "backtest"});
    if (!sub) return std::unexpected(sub.error());
    return {};
  };
  if (auto ok = on("portfolio.books",
                   [this](const bus::Envelope& e) {
                     // The first books: the account as the run begins.
                     if (const auto* b = e.get<model::PortfolioBooks>(); b && !initial_known_) {
                       initial_cash_ = b->initial_cash.as_double();
                       initial_known_ = true;
                     }
                   });
      !ok) {
    return ok;
  }
  if (auto ok = on("portfolio.update.account",
                   [this](const bus::Envelope& e) {
                     if (const auto* s = e.get<model::PortfolioSnapshot>()) on_account(*s);
                   });
      !ok) {
    return ok;
  }
  if (auto ok = on("portfolio.fill.*",
                   [this](const bus::Envelope& e) {
                     if (const auto* f = e.get<model::Fill>()) on_fill(*f);
                   });
      !ok) {
    return ok;
  }
  if (auto ok = on("order.new.*", [this](const bus::Envelope&) { ++submitted_; }); !ok) return ok;
  if (auto ok = on("order.event.*", [this](const bus::Envelope& e) { on_event(e); }); !ok) {
    return ok;
  }
  if (auto ok = on("market_data.*.bar",
                   [this](const bus::Envelope& e) {
                     if (const auto* b = e.get<model::Bar>()) on_bar(*b);
                   });
      !ok) {
    return ok;
  }
  if (auto ok = on("vpin.calculation.*",
                   [this](const bus::Envelope& e) {
                     const auto* v = e.get<model::VpinUpdate>();
                     if (v == nullptr || v->symbol != chart_) return;
                     // Every vpin_every_-th update; halve when full, as the bars.
                     vpin_last_ = VpinPoint{v->ts_event, v->vpin, v->cdf};
                     if (vpin_seen_++ % vpin_every_ != 0) return;
                     vpin_.push_back({v->ts_event, v->vpin, v->cdf});
                     if (vpin_.size() >= kMaxPoints) {
                       std::vector<VpinPoint> half;
                       half.reserve(kMaxPoints / 2);
                       for (std::size_t i = 0; i < vpin_.size(); i += 2) half.push_back(vpin_[i]);
                       vpin_ = std::move(half);
                       vpin_every_ *= 2;
                     }
                   });
      !ok) {
    return ok;
  }
  return on("toxicity.alert.*", [this](const bus::Envelope& e) {
    const auto* a = e.get<model::ToxicityAlert>();
    // The VPIN engine's alerts, on the series drawn (enhanced VPIN's have VPINs of their own).
    if (a != nullptr && a->symbol == chart_ && a->method == model::VpinMethod::kBvc &&
        alerts_.size() < kMaxTrades) {
      alerts_.push_back({a->ts_event, a->vpin, a->cdf});
    }
  });
}

// The last snapshot of each UTC date is that date's equity (as the analytics engine counts it).
void Collector::on_account(const model::PortfolioSnapshot& s) {
  const Day d{.date = date_of(s.ts_event),
              .nav = s.nav.as_double(),
              .cash = s.cash.as_double(),
              .gross = s.gross_exposure.as_double(),
              .net = s.net_exposure.as_double()};
  if (!equity_.empty() && equity_.back().date == d.date) {
    equity_.back() = d;
  } else if (equity_.empty() || equity_.back().date < d.date) {
    equity_.push_back(d);
  }
}

void Collector::on_bar(const model::Bar& b) {
  if (!spec_.benchmark.empty() && b.symbol.value() == spec_.benchmark) {
    if (!benchmark_first_open_) benchmark_first_open_ = b.open.as_double();
    benchmark_close_[date_of(b.ts_event)] = b.close.as_double();
  }
  if (chart_.value().empty()) {
    if (spec_.chart_symbol.empty() || spec_.chart_symbol == b.symbol.value()) chart_ = b.symbol;
  }
  if (b.symbol != chart_) return;
  const Point p{.ts = b.ts_event,
                .open = b.open.as_double(),
                .high = b.high.as_double(),
                .low = b.low.as_double(),
                .close = b.close.as_double(),
                .volume = b.volume.as_double()};
  if (bars_pending_ > 0 && bars_pending_ < bars_merge_) {
    Point& last = bars_.back();
    last.ts = p.ts;
    last.high = std::max(last.high, p.high);
    last.low = std::min(last.low, p.low);
    last.close = p.close;
    last.volume += p.volume;
    ++bars_pending_;
    return;
  }
  if (bars_.size() >= kMaxPoints) {
    // Full, and every point whole: each two become one, and each point takes twice the bars.
    std::vector<Point> half;
    half.reserve(kMaxPoints / 2);
    for (std::size_t i = 0; i + 1 < bars_.size(); i += 2) {
      Point m = bars_[i];
      const Point& n = bars_[i + 1];
      m.ts = n.ts;
      m.high = std::max(m.high, n.high);
      m.low = std::min(m.low, n.low);
      m.close = n.close;
      m.volume += n.volume;
      half.push_back(m);
    }
    bars_ = std::move(half);
    bars_merge_ *= 2;
  }
  bars_.push_back(p);
  bars_pending_ = 1;
}

void Collector::on_fill(const model::Fill& f) {
  ++fills_;
  if (trades_.size() < kMaxTrades) trades_.push_back(f);
  if (f.symbol == chart_ && chart_fills_.size() < kMaxTrades) chart_fills_.push_back(f);
}

void Collector::on_event(const bus::Envelope& e) {
  if (const auto* d = e.get<model::OrderDenied>()) {
    ++denied_;
    ++denied_by_reason_[std::string(core::enum_name(d->reason))];
  } else if (e.get<model::OrderCancelled>() != nullptr) {
    ++cancelled_;
  } else if (const auto* f = e.get<model::OrderFilled>()) {
    if (f->status == model::OrderStatus::kFilled) ++filled_;
  }
}

core::Result<json::object> Collector::report(json::object meta, json::storage_ptr sp) const {
  // Daily returns of the equity: the first day's against the starting cash.
  std::vector<analytics::Date> dates;
  std::vector<double> returns;
  std::vector<double> bench;
  dates.reserve(equity_.size());
  returns.reserve(equity_.size());
  double prev = initial_cash_;
  // The benchmark's first day, as the strategy's, from where the run began: its first open.
  std::optional<double> prev_close = benchmark_first_open_;
  for (const auto& d : equity_) {
    dates.push_back(d.date);
    returns.push_back(prev > 0 ? d.nav / prev - 1 : analytics::kNaN);
    prev = d.nav;
    double b = analytics::kNaN;
    if (const auto it = benchmark_close_.find(d.date); it != benchmark_close_.end()) {
      if (prev_close && *prev_close > 0) b = it->second / *prev_close - 1;
      prev_close = it->second;
    }
    bench.push_back(b);
  }
  auto metrics = spec_.benchmark.empty() ? analytics::compute_metrics(dates, returns)
                                         : analytics::compute_metrics(dates, returns, bench);
  if (!metrics) return std::unexpected(metrics.error());
  json::object out(sp);
  out["version"] = 1;
  meta["initial_cash"] = initial_cash_;
  meta["benchmark"] = spec_.benchmark.empty() ? json::value(nullptr) : json::value(spec_.benchmark);
  out["backtest"] = std::move(meta);
  out["metrics"] = analytics::to_json(*metrics);

  json::array equity(sp);
  equity.reserve(equity_.size());
  for (std::size_t i = 0; i < equity_.size(); ++i) {
    const auto& d = equity_[i];
    equity.emplace_back(json::object(
        {{"date", analytics::format_date(d.date)},
         {"nav", d.nav},
         {"cash", d.cash},
         {"gross_exposure", d.gross},
         {"net_exposure", d.net},
         {"return", i == 0 && initial_cash_ <= 0 ? json::value(nullptr) : number(returns[i])},
         {"benchmark_return", number(bench[i])}},
        sp));
  }
  out["equity"] = std::move(equity);

  const std::size_t window = spec_.rolling_window;
  json::object rolling({{"window", window}}, sp);
  json::array rdates(sp);
  rdates.reserve(dates.size());
  for (const auto d : dates) rdates.emplace_back(analytics::format_date(d));
  rolling["dates"] = std::move(rdates);
  if (window >= 2) {
    auto sharpe = analytics::rolling_sharpe(returns, window);
    if (!sharpe) return std::unexpected(sharpe.error());
    rolling["sharpe"] = numbers(*sharpe, sp);
    auto vol = analytics::rolling_volatility(returns, window);
    if (!vol) return std::unexpected(vol.error());
    rolling["volatility"] = numbers(*vol, sp);
  }
  out["rolling"] = std::move(rolling);

  json::array trades(sp);
  trades.reserve(trades_.size());
  for (const auto& f : trades_) {
    trades.emplace_back(json::object({{"trade_id", f.trade_id},
                                      {"ts", core::format_timestamp(f.ts_event)},
                                      {"symbol", f.symbol.value()},
                                      {"side", side_name(f.side)},
                                      {"quantity", f.quantity.as_double()},
                                      {"price", f.price.as_double()},
                                      {"commission", f.commission.as_double()},
                                      {"client_order_id", f.client_order_id}},
                                     sp));
  }
  out["trades"] = std::move(trades);
  out["trades_total"] = fills_;

  json::object reasons(sp);
  for (const auto& [r, n] : denied_by_reason_) reasons[r] = n;
  out["orders"] = {{"submitted", submitted_},
                   {"filled", filled_},
                   {"denied", denied_},
                   {"cancelled", cancelled_},
                   {"denied_by_reason", std::move(reasons)}};

  const json::value chart =
      chart_.value().empty() ? json::value(nullptr) : json::value(chart_.value());
  json::array vpin(sp);
  auto points = vpin_;
  if (vpin_last_ && (points.empty() || points.back().ts != vpin_last_->ts)) {
    points.push_back(*vpin_last_);
  }
  const auto vpin_point = [&](const VpinPoint& v) {
    return json::object(
        {{"ts", core::format_timestamp(v.ts)}, {"vpin", number(v.vpin)}, {"cdf", number(v.cdf)}},
        sp);
  };
  for (const auto& v : points) vpin.emplace_back(vpin_point(v));
  json::array alerts(sp);
  for (const auto& v : alerts_) alerts.emplace_back(vpin_point(v));
  out["vpin"] = {{"symbol", chart}, {"points", std::move(vpin)}, {"alerts", std::move(alerts)}};

  json::array bars(sp);
  bars.reserve(bars_.size());
  for (const auto& b : bars_) {
    bars.emplace_back(json::object({{"ts", core::format_timestamp(b.ts)},
                                    {"open", b.open},
                                    {"high", b.high},
                                    {"low", b.low},
                                    {"close", b.close},
                                    {"volume", b.volume}},
                                   sp));
  }
  json::array fills(sp);
  for (const auto& f : chart_fills_) {
    fills.emplace_back(json::object({{"ts", core::format_timestamp(f.ts_event)},
                                     {"side", side_name(f.side)},
                                     {"price", f.price.as_double()},
                                     {"quantity", f.quantity.as_double()}},
                                    sp));
  }
  // What the config asked for that the data never had: said, rather than left as nulls.
  json::array warnings(sp);
  if (!spec_.benchmark.empty() && benchmark_close_.empty()) {
    warnings.emplace_back(
        fmt::format("backtest.benchmark {}: no bar of it in the data; alpha, "
                    "beta and the benchmark's returns are null",
                    spec_.benchmark));
  }
  if (!spec_.chart_symbol.empty() && bars_.empty()) {
    warnings.emplace_back(
        fmt::format("backtest.chart_symbol {}: no bar of it in the data", spec_.chart_symbol));
  }
  out["warnings"] = std::move(warnings);
  out["bars"] = {{"symbol", chart},
                 {"bars_per_point", bars_merge_},
                 {"points", std::move(bars)},
                 {"fills", std::move(fills)}};
  return out;
}

}  // namespace nautilus::backtest
