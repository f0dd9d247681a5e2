#include "nautilus/engines/risk/book_risk.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace nautilus::risk {

void CloseHistory::add(core::Symbol symbol, core::UnixNanos ts, double close) {
  if (!(close > 0) || !std::isfinite(close)) return;
  auto& m = closes_[symbol];
  if (m.ts.empty() || ts > m.ts.back()) {
    m.ts.push_back(ts);
    m.close.push_back(close);
  } else {  // a time seen before (replaced) or, rarely, an earlier one (inserted in order)
    const auto it = std::lower_bound(m.ts.begin(), m.ts.end(), ts);
    const auto i = it - m.ts.begin();
    if (*it == ts) {
      m.close[static_cast<std::size_t>(i)] = close;
    } else {
      m.ts.insert(it, ts);
      m.close.insert(m.close.begin() + i, close);
    }
  }
  while (m.ts.size() > keep_) {
    m.ts.pop_front();
    m.close.pop_front();
  }
}

const double* CloseHistory::Series::find(core::UnixNanos t) const {
  const auto it = std::lower_bound(ts.begin(), ts.end(), t);
  if (it == ts.end() || *it != t) return nullptr;
  return &close[static_cast<std::size_t>(it - ts.begin())];
}

std::vector<double> CloseHistory::common_closes(const std::vector<core::Symbol>& symbols,
                                                std::size_t count, std::size_t& times) const {
  times = 0;
  std::vector<const Series*> series;
  for (const auto s : symbols) {
    const auto it = closes_.find(s);
    if (it == closes_.end()) return {};
    series.push_back(&it->second);
  }
  if (series.empty()) return {};
  // Newest first over the first symbol's times, keeping those every symbol has.
  std::vector<std::vector<double>> rows;
  const Series& first = *series[0];
  for (std::size_t k = first.ts.size(); k-- > 0 && rows.size() < count;) {
    std::vector<double> row{first.close[k]};
    for (std::size_t i = 1; i < series.size(); ++i) {
      const double* f = series[i]->find(first.ts[k]);
      if (f == nullptr) break;
      row.push_back(*f);
    }
    if (row.size() == series.size()) rows.push_back(std::move(row));
  }
  std::vector<double> out;
  out.reserve(rows.size() * series.size());
  for (auto r = rows.rbegin(); r != rows.rend(); ++r) out.insert(out.end(), r->begin(), r->end());
  times = rows.size();
  return out;
}

core::Result<std::vector<BookRisk>> book_var(
    const CloseHistory& closes, const std::vector<std::pair<core::Symbol, double>>& values,
    const BookRiskOptions& options) {
  std::vector<core::Symbol> symbols;
  std::vector<double> v;
  for (const auto& [s, value] : values) {
    if (value == 0) continue;
    symbols.push_back(s);
    v.push_back(value);
  }
  if (symbols.empty()) return std::vector<BookRisk>{};
  std::size_t times = 0;
  const auto c = closes.common_closes(symbols, options.window + 1, times);
  const std::size_t n = symbols.size();
  if (times < 21) {
    return core::fail(core::ErrorCode::kOutOfRange,
                      fmt::format("{} bar times common to the {} held symbols; want 21", times, n));
  }
  std::vector<double> returns((times - 1) * n);
  for (std::size_t t = 1; t < times; ++t) {
    for (std::size_t i = 0; i < n; ++i) {
      returns[(t - 1) * n + i] = c[t * n + i] / c[(t - 1) * n + i] - 1;
    }
  }
  const ReturnsPanel panel{.values = returns, .days = times - 1, .instruments = n};
  const double scale = std::sqrt(options.horizon_bars);
  std::vector<BookRisk> out;
  // One simulation for every confidence (the scenarios do not depend on it).
  auto sims =
      monte_carlo_var(v, panel, options.confidences,
                      {.scenarios = options.scenarios, .seed = options.seed, .zero_mean = true});
  if (!sims) return std::unexpected(sims.error());
  for (std::size_t k = 0; k < options.confidences.size(); ++k) {
    const double conf = options.confidences[k];
    auto h = historical_var(v, panel, conf);
    auto p = parametric_var(v, panel, conf, {.zero_mean = true});
    core::Result<VarResult> m = (*sims)[k];
    for (auto* r : {&h, &p, &m}) {
      if (!*r) return std::unexpected(r->error());
      (*r)->var *= scale;
      (*r)->expected_shortfall *= scale;
    }
    out.push_back({Method::kHistorical, conf, *h});
    out.push_back({Method::kParametric, conf, *p});
    out.push_back({Method::kMonteCarlo, conf, *m});
  }
  return out;
}

}  // namespace nautilus::risk
