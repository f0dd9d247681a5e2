#include "hub_panel.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "nautilus/core/time.hpp"

namespace nautilus::toraniko {

std::vector<PanelDate> build_rows(std::deque<SymbolHistory>& histories,
                                  const std::map<std::string, std::uint16_t>& sectors,
                                  std::size_t* unknown) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  std::map<core::UnixNanos, PanelDate> by_ts;
  for (SymbolHistory& h : histories) {
    const auto sector = sectors.find(h.sector);
    if (sector == sectors.end()) {
      if (unknown != nullptr && h.rows_built < h.ts.size()) ++*unknown;
      h.rows_built = h.ts.size();
      continue;
    }
    std::size_t filing = 0;
    for (std::size_t k = h.rows_built; k < h.ts.size(); ++k) {
      // The latest filing known at this close.
      while (filing < h.as_of.size() && h.as_of[filing] <= h.ts[k]) ++filing;
      Row r{.symbol = h.symbol, .sector = sector->second};
      const bool priced = h.close[k] > 0 && std::isfinite(h.close[k]);
      r.ret = k > 0 && priced && h.close[k - 1] > 0 ? h.close[k] / h.close[k - 1] - 1 : kNaN;
      if (filing == 0 || !priced || !(h.shares[filing - 1] > 0)) {
        r.market_cap = r.book_price = r.sales_price = r.cf_price = kNaN;
      } else {
        const std::size_t f = filing - 1;
        r.market_cap = h.shares[f] * h.close[k];
        r.book_price = h.book[f] / r.market_cap;
        r.sales_price = h.sales[f] / r.market_cap;
        r.cf_price = h.cash_flow[f] / r.market_cap;
      }
      auto& d = by_ts[h.ts[k]];
      if (d.rows.empty()) {
        d.ts = h.ts[k];
        d.date = date_of(h.ts[k]);
      }
      d.rows.push_back(r);
    }
    h.rows_built = h.ts.size();
  }
  // Closes on one date share a timestamp (16:00 New York); any that do not are merged by date.
  std::vector<PanelDate> out;
  for (auto& [ts, d] : by_ts) {
    if (!out.empty() && out.back().date == d.date) {
      out.back().rows.insert(out.back().rows.end(), d.rows.begin(), d.rows.end());
      out.back().ts = std::max(out.back().ts, d.ts);
    } else {
      out.push_back(std::move(d));
    }
  }
  return out;
}

}  // namespace nautilus::toraniko
