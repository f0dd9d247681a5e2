#include "distributor.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cmath>

#include "nautilus/core/time.hpp"
#include "nautilus/model/json.hpp"

namespace nautilus::marketdata {
namespace json = boost::json;
namespace {
constexpr std::int64_t kDayNs = 86'400 * 1'000'000'000LL;
}

Outlet::Outlet(Distributor& d, bus::Publisher pub, std::string source, QualitySettings q, bool live)
    : d_(d), pub_(std::move(pub)), quality_(std::move(source), q, &d.bus_.clock(), live) {}

Outlet* Distributor::outlet(bus::Publisher pub, std::string source, QualitySettings q, bool live) {
  auto o = std::unique_ptr<Outlet>(new Outlet(*this, std::move(pub), std::move(source), q, live));
  std::lock_guard lock(mu_);
  outlets_.push_back(std::move(o));
  return outlets_.back().get();
}

// Topic handles per symbol, resolved once: publishing does no string work.
Outlet::SymbolTopics* Outlet::topics_for(core::Symbol s) {
  auto it = topics_.find(s);
  if (it != topics_.end()) return &it->second;
  const std::string_view sym = s.value();
  auto& b = d_.bus_;
  auto bar = b.topic(fmt::format("market_data.{}.bar", sym));
  auto trade = b.topic(fmt::format("market_data.{}.trade", sym));
  auto quote = b.topic(fmt::format("market_data.{}.quote", sym));
  auto price = b.topic(fmt::format("price.update.{}", sym));
  auto volume = b.topic(fmt::format("volume.update.{}", sym));
  if (!bar || !trade || !quote || !price || !volume) return nullptr;  // symbol not a topic token
  return &topics_.emplace(s, SymbolTopics{*bar, *trade, *quote, *price, *volume}).first->second;
}

double Distributor::update(const Record& r) {
  const core::Symbol sym = record_symbol(r);
  const core::UnixNanos ts = record_ts(r);
  std::lock_guard lock(mu_);
  auto known = by_symbol_.find(sym);
  if (known == by_symbol_.end()) {
    auto it = symbols_.find(sym.value());
    if (it == symbols_.end()) it = symbols_.emplace(std::string(sym.value()), SymbolState{}).first;
    known = by_symbol_.emplace(sym, &it->second).first;
  }
  SymbolState& s = *known->second;
  const std::int64_t day = ts / kDayNs;
  if (day != s.session_day) {
    s.session_day = day;
    s.session_volume = 0;
  }
  s.last_ts = ts;
  if (const auto* bar = std::get_if<model::Bar>(&r)) {
    s.session_volume += bar->volume.as_double();
    s.last_bar = *bar;
    s.last_price = bar->close;
    ++s.bars;
  } else if (const auto* trade = std::get_if<model::TradeTick>(&r)) {
    s.last_price = trade->price;
    ++s.trades;
  } else {
    ++s.quotes;
  }
  return s.session_volume;
}

bool Outlet::publish(const Record& r) {
  if (!quality_.admit(r)) return false;
  const core::Symbol sym = record_symbol(r);
  SymbolTopics* t = topics_for(sym);
  if (t == nullptr) {
    d_.errors_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const core::UnixNanos ts = record_ts(r);
  const bus::PublishOptions o{.ts_event = ts};
  // State for the REST resources is updated under the lock; publishing happens after it,
  // so a subscriber applying back-pressure never holds up /health or /marketdata/*.
  const double session_volume = d_.update(r);
  if (const auto* bar = std::get_if<model::Bar>(&r)) {
    pub_.publish(t->bar, *bar, o);
    pub_.publish_made(t->price, [&] { return model::PriceUpdate{sym, bar->close, ts}; }, o);
    pub_.publish_made(
        t->volume,
        [&] {
          return model::VolumeUpdate{sym, bar->volume,
                                     *core::Quantity::from_double(session_volume, 0), ts};
        },
        o);
    d_.published_.fetch_add(3, std::memory_order_relaxed);
  } else if (const auto* trade = std::get_if<model::TradeTick>(&r)) {
    pub_.publish(t->trade, *trade, o);
    pub_.publish_made(t->price, [&] { return model::PriceUpdate{sym, trade->price, ts}; }, o);
    d_.published_.fetch_add(2, std::memory_order_relaxed);
  } else if (const auto* quote = std::get_if<model::QuoteTick>(&r)) {
    pub_.publish(t->quote, *quote, o);
    d_.published_.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

std::size_t Distributor::symbol_count() const {
  std::lock_guard lock(mu_);
  return symbols_.size();
}

net::Response Distributor::symbols_json() const {
  json::array a;
  std::lock_guard lock(mu_);
  for (const auto& [name, s] : symbols_) {
    a.push_back(json::object{{"symbol", name},
                             {"last_price", s.last_price.to_string()},
                             {"ts", core::format_timestamp(s.last_ts)},
                             {"bars", s.bars},
                             {"trades", s.trades},
                             {"quotes", s.quotes}});
  }
  return net::Response::json(json::object{{"symbols", std::move(a)}});
}

net::Response Distributor::latest_json(std::string_view symbol) const {
  std::lock_guard lock(mu_);
  auto it = symbols_.find(symbol);
  if (it == symbols_.end()) {
    return net::Response::error(404, fmt::format("no data for symbol '{}'", symbol));
  }
  const auto& s = it->second;
  json::object o{{"symbol", it->first},
                 {"last_price", s.last_price.to_string()},
                 {"ts", core::format_timestamp(s.last_ts)},
                 {"session_volume", std::llround(s.session_volume)}};
  if (s.last_bar) {
    // The bar as its description writes it (decimals as strings), plus a readable time.
    json::value bar = json::value_from(*s.last_bar);
    bar.as_object()["ts"] = core::format_timestamp(s.last_bar->ts_event);
    o["bar"] = std::move(bar);
  }
  return net::Response::json(o);
}

void Distributor::add_quality_metrics(net::PrometheusText& p) const {
  p.family("nautilus_marketdata_quality_total", "counter",
           "records that failed a data-quality check, by source, symbol and check (dropped, "
           "except stale)");
  std::lock_guard lock(mu_);
  for (const auto& o : outlets_) o->quality().add_samples(p);
}

}  // namespace nautilus::marketdata
