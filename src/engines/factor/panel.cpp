#include "nautilus/engines/factor/panel.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace nautilus::factor {

std::vector<DateExposures> exposures_by_date(std::deque<universe_feed::SymbolHistory>& histories,
                                             const StyleConfig& config,
                                             const std::function<bool()>& cancelled) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  std::map<std::string, DateExposures> by_date;
  std::vector<double> shares;
  for (auto& h : histories) {
    if (cancelled && cancelled()) return {};
    const std::size_t n = std::min({h.ts.size(), h.close.size(), h.volume.size()});
    if (h.rows_built >= n) continue;
    // The shares outstanding and book value known at each close.
    shares.assign(n, kNaN);
    std::vector<double> book(n, kNaN);
    std::size_t f = 0;
    for (std::size_t k = 0; k < n; ++k) {
      while (f < h.as_of.size() && h.as_of[f] <= h.ts[k]) ++f;
      if (f > 0) {
        shares[k] = h.shares[f - 1];
        book[k] = h.book[f - 1];
      }
    }
    const std::span<const double> close(h.close.data(), n);
    const std::span<const double> volume(h.volume.data(), n);
    for (std::size_t t = h.rows_built; t < n; ++t) {
      auto& d = by_date[universe_feed::date_of(h.ts[t])];
      if (d.date.empty()) d.date = universe_feed::date_of(h.ts[t]);
      d.ts = std::max(d.ts, h.ts[t]);
      d.symbols.push_back(h.symbol);
      d.raw.push_back(raw_styles(close.first(t + 1), volume.first(t + 1),
                                 std::span<const double>(shares).first(t + 1), book[t], config));
    }
    h.rows_built = n;
  }
  std::vector<DateExposures> out;
  out.reserve(by_date.size());
  for (auto& [date, d] : by_date) {
    // Symbols in name order (the histories are in the hub's order, which is the same, but a
    // file read in another order must not change the output).
    std::vector<std::size_t> order(d.symbols.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return d.symbols[a] < d.symbols[b]; });
    DateExposures sorted{.date = d.date, .ts = d.ts};
    for (const auto i : order) {
      sorted.symbols.push_back(d.symbols[i]);
      sorted.raw.push_back(d.raw[i]);
    }
    sorted.cross = standardize(sorted.raw, config.winsor);
    out.push_back(std::move(sorted));
  }
  return out;
}

}  // namespace nautilus::factor
