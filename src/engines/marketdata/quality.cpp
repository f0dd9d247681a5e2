#include "quality.hpp"

#include <cmath>

namespace nautilus::marketdata {

std::string_view to_string(QualityCheck c) noexcept {
  switch (c) {
    case QualityCheck::kOutOfOrder:
      return "out_of_order";
    case QualityCheck::kDuplicate:
      return "duplicate";
    case QualityCheck::kCrossed:
      return "crossed";
    case QualityCheck::kSpike:
      return "spike";
    case QualityCheck::kStale:
      return "stale";
  }
  return "?";
}

QualityFilter::QualityFilter(std::string source, QualitySettings settings, const core::Clock* clock,
                             bool live)
    : source_(std::move(source)), settings_(settings), clock_(clock), live_(live) {}

QualityFilter::SymbolQuality& QualityFilter::state_for(core::Symbol s) {
  std::lock_guard lock(mu_);
  auto it = by_symbol_.find(s.data());
  if (it != by_symbol_.end()) return *it->second;
  auto& slot = symbols_[std::string(s.value())];
  if (!slot) slot = std::make_unique<SymbolQuality>();
  by_symbol_.emplace(s.data(), slot.get());
  return *slot;
}

bool QualityFilter::flag(SymbolQuality& q, QualityCheck c) {
  q.counts[static_cast<std::size_t>(c)].fetch_add(1, std::memory_order_relaxed);
  return false;
}

// True when `price` is a spike to drop. A move beyond the band starts a candidate level; the
// record that makes `spike_confirm` in a row near that level is accepted, and with it the level.
bool QualityFilter::spike(SymbolQuality& q, double price) {
  if (settings_.spike_band <= 0 || q.last_price <= 0) {
    q.last_price = price;
    return false;
  }
  const auto beyond = [&](double ref) {
    return std::abs(price / ref - 1.0) > settings_.spike_band;
  };
  if (!beyond(q.last_price)) {
    q.last_price = price;
    q.candidate_count = 0;
    return false;
  }
  if (q.candidate_count > 0 && !beyond(q.candidate)) {
    ++q.candidate_count;
  } else {
    q.candidate = price;
    q.candidate_count = 1;
  }
  if (q.candidate_count >= settings_.spike_confirm) {
    q.last_price = price;
    q.candidate_count = 0;
    return false;
  }
  return true;
}

bool QualityFilter::admit(const Record& r) {
  const core::Symbol sym = record_symbol(r);
  SymbolQuality& q = state_for(sym);
  const core::UnixNanos ts = record_ts(r);
  const auto kind = static_cast<std::size_t>(r.index());
  // Bars of different intervals (minute and daily files replayed together) are ordered apart.
  core::UnixNanos* last = &q.last_ts[kind];
  if (const auto* b = std::get_if<model::Bar>(&r)) last = &q.bar_ts(b->interval_s);
  if (ts < *last) return flag(q, QualityCheck::kOutOfOrder);
  // A spike in a live feed is a bad print and dropped; in recorded data (a replay) it is what
  // happened, so it is counted and published, and the new level taken at once.
  const auto spiked = [&](double price) {
    if (!spike(q, price)) return false;
    if (live_) return true;
    (void)flag(q, QualityCheck::kSpike);
    q.last_price = price;
    q.candidate_count = 0;
    return false;
  };
  if (const auto* t = std::get_if<model::TradeTick>(&r)) {
    if (t->trade_id != 0 && t->trade_id == q.last_trade_id)
      return flag(q, QualityCheck::kDuplicate);
    if (spiked(t->price.as_double())) return flag(q, QualityCheck::kSpike);
    q.last_trade_id = t->trade_id;
  } else if (const auto* b = std::get_if<model::Bar>(&r)) {
    if (ts == *last && *last != 0) return flag(q, QualityCheck::kDuplicate);
    if (spiked(b->close.as_double())) return flag(q, QualityCheck::kSpike);
  } else if (const auto* x = std::get_if<model::QuoteTick>(&r)) {
    if (x->bid > x->ask) return flag(q, QualityCheck::kCrossed);
    if (q.last_quote && *q.last_quote == *x) return flag(q, QualityCheck::kDuplicate);
    q.last_quote = *x;
  }
  *last = ts;
  if (live_ && clock_ != nullptr &&
      clock_->now() - ts >
          std::chrono::duration_cast<std::chrono::nanoseconds>(settings_.stale_after).count()) {
    (void)flag(q, QualityCheck::kStale);  // published all the same: late is not wrong
  }
  return true;
}

std::uint64_t QualityFilter::count(std::string_view symbol, QualityCheck c) const {
  std::lock_guard lock(mu_);
  auto it = symbols_.find(symbol);
  if (it == symbols_.end()) return 0;
  return it->second->counts[static_cast<std::size_t>(c)].load(std::memory_order_relaxed);
}

std::uint64_t QualityFilter::total(QualityCheck c) const {
  std::lock_guard lock(mu_);
  std::uint64_t n = 0;
  for (const auto& [name, q] : symbols_) {
    n += q->counts[static_cast<std::size_t>(c)].load(std::memory_order_relaxed);
  }
  return n;
}

void QualityFilter::add_samples(net::PrometheusText& p) const {
  std::lock_guard lock(mu_);
  for (const auto& [name, q] : symbols_) {
    for (std::size_t c = 0; c < kQualityChecks; ++c) {
      const auto n = q->counts[c].load(std::memory_order_relaxed);
      if (n == 0) continue;  // a family per symbol and check would be mostly zeros
      p.sample("nautilus_marketdata_quality_total",
               {{"source", source_},
                {"symbol", name},
                {"check", to_string(static_cast<QualityCheck>(c))}},
               static_cast<double>(n));
    }
  }
}

}  // namespace nautilus::marketdata
