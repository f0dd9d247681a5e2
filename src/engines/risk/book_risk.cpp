#include "nautilus/engines/risk/book_risk.hpp"

#include <fmt/format.h>

#include <cmath>

namespace nautilus::risk {

void CloseHistory::add(core::Symbol symbol, core::UnixNanos ts, double close) {
  if (!(close > 0) || !std::isfinite(close)) return;
  auto& m = closes_[symbol];
  m.insert_or_assign(ts, close);
  while (m.size() > keep_) m.erase(m.begin());
}

std::vector<double> CloseHistory::common_closes(const std::vector<core::Symbol>& symbols,
                                                std::size_t count, std::size_t& times) const {
  times = 0;
  std::vector<const std::map<core::UnixNanos, double>*> maps;
  for (const auto s : symbols) {
    const auto it = closes_.find(s);
    if (it == closes_.end()) return {};
    maps.push_back(&it->second);
  }
  if (maps.empty()) return {};
  // Newest first over the first symbol's times, keeping those every symbol has.
  std::vector<std::vector<double>> rows;
  for (auto it = maps[0]->rbegin(); it != maps[0]->rend() && rows.size() < count; ++it) {
    std::vector<double> row{it->second};
    for (std::size_t i = 1; i < maps.size(); ++i) {
      const auto f = maps[i]->find(it->first);
      if (f == maps[i]->end()) break;
      row.push_back(f->second);
    }
    if (row.size() == maps.size()) rows.push_back(std::move(row));
  }
  std::vector<double> out;
  out.reserve(rows.size() * maps.size());
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
  for (const double conf : options.confidences) {
    auto h = historical_var(v, panel, conf);
    auto p = parametric_var(v, panel, conf, {.zero_mean = true});
    auto m = monte_carlo_var(
        v, panel, conf, {.scenarios = options.scenarios, .seed = options.seed, .zero_mean = true});
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
