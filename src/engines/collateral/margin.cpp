#include "nautilus/engines/collateral/margin.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace nautilus::collateral {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

core::Result<void> invalid(std::string message) {
  return core::fail(core::ErrorCode::kInvalidArgument, "collateral: " + std::move(message));
}

// `lo_open`/`hi_open`: whether the bound itself is excluded. NaN fails every comparison.
core::Result<void> check_rate(std::string_view name, double value, double lo, bool lo_open,
                              double hi, bool hi_open, std::string_view bounds) {
  const bool above = lo_open ? value > lo : value >= lo;
  const bool below = hi_open ? value < hi : value <= hi;
  if (std::isfinite(value) && above && below) return {};
  return invalid(fmt::format("{} {} is not in {}", name, value, bounds));
}

// Utilisation is a ratio to equity, which may be 0 or negative: see the header's conventions.
double utilisation(double equity, double maintenance) {
  if (equity > 0) return maintenance / equity;
  if (equity == 0 && maintenance == 0) return 0;
  return kInf;
}

AccountMargin account(double equity, double initial, double maintenance, double gross_value,
                      double warning) {
  AccountMargin a;
  a.initial = initial;
  a.maintenance = maintenance;
  a.excess_liquidity = equity - maintenance;
  a.utilisation = utilisation(equity, maintenance);
  a.call = margin_call(equity, maintenance, gross_value);
  a.level = a.call                     ? MarginLevel::kCall
            : a.utilisation >= warning ? MarginLevel::kWarning
                                       : MarginLevel::kOk;
  return a;
}

}  // namespace

std::string_view to_string(MarginMethod method) noexcept {
  return method == MarginMethod::kRegT ? "reg_t" : "portfolio";
}

std::string_view to_string(MarginLevel level) noexcept {
  switch (level) {
    case MarginLevel::kOk:
      return "ok";
    case MarginLevel::kWarning:
      return "warning";
    case MarginLevel::kCall:
      return "call";
  }
  return "ok";
}

core::Result<void> validate(const MarginSettings& s) {
  // Each check names the setting, so that a settings file's mistake reads as such.
  if (auto ok = check_rate("initial_long", s.initial_long, 0, true, 1, false, "(0, 1]"); !ok) {
    return ok;
  }
  if (auto ok = check_rate("maintenance_long", s.maintenance_long, 0, false, s.initial_long, false,
                           fmt::format("[0, initial_long {}]", s.initial_long));
      !ok) {
    return ok;
  }
  // Reg T's 150 % counts the short's own proceeds, so below 100 % it would lend the sale back.
  if (auto ok = check_rate("initial_short", s.initial_short, 1, false, 10, false, "[1, 10]"); !ok) {
    return ok;
  }
  if (auto ok = check_rate("maintenance_short", s.maintenance_short, 0, false, s.initial_short - 1,
                           false, fmt::format("[0, initial_short - 1 = {}]", s.initial_short - 1));
      !ok) {
    return ok;
  }
  if (auto ok = check_rate("pm_shock", s.pm_shock, 0, true, 1, false, "(0, 1]"); !ok) return ok;
  if (s.pm_scenarios < 2 || s.pm_scenarios > 1000) {
    return invalid(fmt::format("pm_scenarios {} is not in [2, 1000]", s.pm_scenarios));
  }
  if (auto ok = check_rate("pm_minimum_rate", s.pm_minimum_rate, 0, false, 1, false, "[0, 1]");
      !ok) {
    return ok;
  }
  return check_rate("warning_utilisation", s.warning_utilisation, 0, true, 1, false, "(0, 1]");
}

std::vector<double> shock_grid(double shock, std::size_t scenarios) {
  // numpy's linspace(start, stop, n): start + k * ((stop - start) / (n - 1)), the last point
  // set to stop. The same operations in the same order give the same doubles.
  std::vector<double> grid;
  grid.reserve(scenarios);
  if (scenarios == 1) grid.push_back(-shock);
  if (scenarios < 2) return grid;
  const double step = (shock - -shock) / static_cast<double>(scenarios - 1);
  for (std::size_t k = 0; k < scenarios; ++k)
    grid.push_back(static_cast<double>(k) * step + -shock);
  grid.back() = shock;
  return grid;
}

// Only this position's price moves, from P to P'. Its P&L moves equity, E' = E + q (P' - P)
// (the cash does not change); the requirement becomes M' = R + m |q| P' (R: the other
// positions', unchanged; P' >= 0). The boundary E' = M':
//   E - q P + q P' = R + m |q| P'   =>   P* = (R - E + q P) / (q - m |q|).
// Equivalently P* = P - L / (q - m |q|), L = E - M the excess today.
// - Long (q > 0): P* = (R - E + q P) / (q (1 - m)). The excess E' - M' rises with P' (slope
//   q (1 - m)), so the account is called below P*. One position bought with a loan D (E = q P -
//   D, R = 0): P* = D / (q (1 - m)), the textbook call price. At m = 1 the excess does not move
//   with the price: no boundary. P* <= 0 means the excess at P' = 0 is still >= 0: never called.
// - Short (q = -s): P* = (E - R + s P) / (s (1 + m)). The excess falls as P' rises (slope
//   -s (1 + m)): called above P*. One short with credit balance C (proceeds plus deposit, E =
//   C - s P): P* = C / (s (1 + m)). P* <= 0 means the excess is < 0 even at P' = 0: called at
//   every price, so no price is the boundary.
// The numerator is formed from R rather than from L: for one fully paid long (E = q P, R = 0)
// it is exactly 0, where P - L / (q (1 - m)) would leave a rounding error's worth of price.
std::optional<double> margin_call_price(double quantity, double price, double equity,
                                        double other_requirement, double rate) {
  const double denominator = quantity - rate * std::abs(quantity);
  if (quantity == 0 || denominator == 0) return std::nullopt;
  const double p = (other_requirement - equity + quantity * price) / denominator;
  if (!std::isfinite(p) || !(p > 0)) return std::nullopt;
  return p;
}

// Closing f of every position at market leaves E unchanged and scales the requirement by
// (1 - f) (both methods are positively homogeneous in the book): (1 - f) M = E gives
// f = (M - E) / M, and X = f G. See the header for the long-only X = MV - E / m.
std::optional<MarginCall> margin_call(double equity, double requirement, double gross_value) {
  if (!(equity < requirement)) return std::nullopt;
  MarginCall c;
  c.deficit = requirement - equity;
  if (requirement <= 0) {
    // No position needs margin (an empty book with negative equity): nothing to close; only a
    // deposit cures it.
    return c;
  }
  c.fraction = c.deficit / requirement;
  c.restorable = c.fraction <= 1;  // E >= 0: closing everything at most, E = 0 = M'
  c.fraction = std::min(c.fraction, 1.0);
  c.liquidation_value = c.fraction * gross_value;
  return c;
}

core::Result<MarginReport> compute_margin(std::span<const Position> positions, double equity,
                                          const MarginSettings& settings) {
  if (auto ok = validate(settings); !ok) return std::unexpected(ok.error());
  if (!std::isfinite(equity)) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("collateral: equity {} is not finite", equity));
  }
  MarginReport r;
  r.equity = equity;
  r.method = settings.method;
  r.positions.reserve(positions.size());
  double initial = 0;
  double maintenance = 0;
  for (std::size_t i = 0; i < positions.size(); ++i) {
    const Position& p = positions[i];
    if (!std::isfinite(p.quantity) || !std::isfinite(p.price) || p.price < 0) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("collateral: position {} ({}) has quantity {} and price {} "
                                    "(finite, and the price >= 0)",
                                    i, p.symbol, p.quantity, p.price));
    }
    PositionMargin m{.symbol = p.symbol, .quantity = p.quantity, .price = p.price};
    m.market_value = p.quantity * p.price;
    if (!std::isfinite(m.market_value)) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("collateral: position {} ({}) market value {} * {} overflows",
                                    i, p.symbol, p.quantity, p.price));
    }
    const double value = std::abs(m.market_value);
    if (p.quantity > 0) {
      m.initial = settings.initial_long * value;
      m.maintenance = settings.maintenance_long * value;
      r.long_value += value;
    } else if (p.quantity < 0) {
      // On equity, Reg T's 150 % less the 100 % the sale brought in (see the header).
      m.initial = (settings.initial_short - 1) * value;
      m.maintenance = settings.maintenance_short * value;
      r.short_value += value;
    }
    initial += m.initial;
    maintenance += m.maintenance;
    r.positions.push_back(std::move(m));
  }
  r.gross_value = r.long_value + r.short_value;
  r.net_value = r.long_value - r.short_value;
  if (!std::isfinite(r.gross_value)) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      "collateral: the book's gross market value overflows");
  }
  r.reg_t = account(equity, initial, maintenance, r.gross_value, settings.warning_utilisation);
  r.buying_power = std::max(0.0, equity - initial) / settings.initial_long;

  // Portfolio margin: one market move s_k for every position at once.
  r.shocks = shock_grid(settings.pm_shock, settings.pm_scenarios);
  r.scenario_pnl.assign(r.shocks.size(), 0.0);
  for (std::size_t k = 0; k < r.shocks.size(); ++k) {
    for (const PositionMargin& m : r.positions) r.scenario_pnl[k] += m.market_value * r.shocks[k];
    if (r.scenario_pnl[k] < r.scenario_pnl[r.worst_scenario]) r.worst_scenario = k;
  }
  for (PositionMargin& m : r.positions) {
    for (const double s : r.shocks)
      m.pm_worst_loss = std::max(m.pm_worst_loss, -m.market_value * s);
    m.pm_scenario_loss = -m.market_value * r.shocks[r.worst_scenario];
  }
  const double pm =
      std::max({0.0, -r.scenario_pnl[r.worst_scenario], settings.pm_minimum_rate * r.gross_value});
  // 4210(g) has one requirement: initial and maintenance alike.
  r.portfolio = account(equity, pm, pm, r.gross_value, settings.warning_utilisation);

  // Reg T call prices, every other position's requirement held.
  for (PositionMargin& m : r.positions) {
    const double rate = m.quantity > 0 ? settings.maintenance_long : settings.maintenance_short;
    m.call_price =
        margin_call_price(m.quantity, m.price, equity, maintenance - m.maintenance, rate);
  }
  return r;
}

}  // namespace nautilus::collateral
