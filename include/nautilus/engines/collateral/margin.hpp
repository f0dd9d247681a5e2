// The collateral engine's margin arithmetic, with no bus: Reg T and portfolio margin per position
// and for the account, excess liquidity, utilisation, the margin-call price of each position, the
// alert level, and in a call the liquidation that restores maintenance. Amounts are doubles in
// the account currency. tests/reference/margin_reference.py recomputes it with numpy.
//
//   std::vector<collateral::Position> book = {{"AAPL", 400, 50.0}, {"TSLA", -100, 50.0}};
//   auto m = collateral::compute_margin(book, /*equity=*/12'500);  // NAV: cash + book at market
//   if (!m) return std::unexpected(m.error());
//   use(m->reg_t.maintenance, m->reg_t.excess_liquidity, m->positions[0].call_price,
//       m->in_force().level);  // kOk, kWarning or kCall (with m->in_force().call)
//
// Conventions:
// - Equity E is the account's net liquidation value: cash (a debit balance negative, a short's
//   proceeds included) plus every position at market, q * P. A short therefore lowers E by its
//   market value, and its requirement is on the equity, like a long's.
// - Reg T (12 CFR 220.12) and FINRA Rule 4210(c), as rates of market value:
//   long:  initial 50 % (220.12(a)), maintenance 25 % (4210(c)(1)) of q P;
//   short: 220.12(c)(1) asks for 150 % of the short's market value in the account, which
//          includes the 100 % the sale itself brought in. On equity that is 150 % - 100 % = 50 %
//          of |q| P: `initial_short` is the 150 % as Reg T states it, and the requirement is
//          (initial_short - 1) |q| P. Maintenance is 4210(c)(2)(B)'s 30 % of |q| P
//          (`maintenance_short`), without its $5-a-share floor or (c)(2)(A)'s rules for shorts
//          under $5: prices carry no per-share minimums here.
//   Initial and maintenance requirements are summed over positions.
// - Portfolio margin (FINRA 4210(g), simplified; the rule values each position at 10
//   equidistant points across a +-15 % move of a stock): the account's P&L under `pm_scenarios`
//   price shocks s_k equidistant from -pm_shock to +pm_shock, both ends included (numpy's
//   linspace(-0.15, 0.15, 10): -15 %, -11.67 %, -8.33 %, -5 %, -1.67 %, +1.67 %, ..., +15 %;
//   an even count leaves 0 out). Every position moves by the same s_k at once: one market move,
//   as TIMS' class groups would be with one class and no offsets between classes. A long and a
//   short therefore offset in the same scenario. The requirement is the worst total loss over
//   the scenarios, at least 0 and at least `pm_minimum_rate` times the gross market value (0
//   by default, so a dollar-neutral book needs nothing: set a floor for that). Under 4210(g)
//   the initial and maintenance requirements are the same amount.
// - Excess liquidity L = E - maintenance. Utilisation U = maintenance / E for E > 0. For E <= 0
//   it is +inf, except 0 when the book needs nothing and E is 0 (a flat, empty account).
// - Level: kCall when E < maintenance (so U > 1), else kWarning when U >= warning_utilisation,
//   else kOk.
// - A call is cured by closing f of every position at market (pro rata; the book keeps its
//   shape). Closing at market leaves E unchanged (cash replaces the stock, or pays for the
//   cover; fees and slippage left out) and both methods' requirements scale by (1 - f), so
//   (1 - f) M = E gives f = 1 - E / M, and the market value to close is X = f G (G the gross
//   market value, sum of |q| P). For a long-only book at one rate m (M = m MV, G = MV) this is
//   the textbook X = MV - E / m. Mixed books are the same formula with m = M / G, the book's
//   blended rate. With E < 0 no liquidation is enough: f is capped at 1 and `restorable` is
//   false; `deficit` (M - E) is the deposit that would cure the call instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nautilus/core/error.hpp"

namespace nautilus::collateral {

enum class MarginMethod : std::uint8_t { kRegT, kPortfolio };
enum class MarginLevel : std::uint8_t { kOk, kWarning, kCall };

[[nodiscard]] std::string_view to_string(MarginMethod method) noexcept;  // "reg_t", "portfolio"
[[nodiscard]] std::string_view to_string(MarginLevel level) noexcept;    // "ok", "warning", "call"

struct MarginSettings {
  MarginMethod method = MarginMethod::kRegT;  // the one in_force() reports; both are computed
  double initial_long = 0.50;                 // (0, 1]
  double maintenance_long = 0.25;             // [0, initial_long]
  double initial_short = 1.50;                // Reg T's 150 %, proceeds included: >= 1
  double maintenance_short = 0.30;            // [0, initial_short - 1]
  double pm_shock = 0.15;                     // (0, 1]: the scenarios span +-pm_shock
  std::size_t pm_scenarios = 10;              // [2, 1000], both ends included
  double pm_minimum_rate = 0;                 // [0, 1] of gross market value
  double warning_utilisation = 0.80;          // (0, 1]
};

// kInvalidArgument naming the first setting out of its range (or not finite).
[[nodiscard]] core::Result<void> validate(const MarginSettings& settings);

struct Position {
  std::string symbol;
  double quantity = 0;  // negative: short
  double price = 0;     // the last mark, >= 0
};

struct PositionMargin {
  std::string symbol;
  double quantity = 0;
  double price = 0;
  double market_value = 0;  // q P, negative for a short
  double initial = 0;       // Reg T, >= 0
  double maintenance = 0;   // Reg T, >= 0
  // Portfolio margin: the position's worst loss alone over the scenarios (>= 0), and its loss in
  // the account's worst scenario (negative: a gain that offsets the others).
  double pm_worst_loss = 0;
  double pm_scenario_loss = 0;
  // Reg T: the price at which, every other price held, E falls to the maintenance requirement
  // (margin_call_price). A long is called below it, a short above it; if the account is in
  // call already, it is the price that would lift the call (above today's for a long).
  std::optional<double> call_price;
};

struct MarginCall {
  double deficit = 0;            // maintenance - equity, > 0: the deposit that cures it
  double fraction = 0;           // f of every position to close, (0, 1]; 0 for an empty book
  double liquidation_value = 0;  // X = f G, market value to close
  bool restorable = false;       // closing f restores E >= maintenance (false when E < 0)
};

// One method's account totals.
struct AccountMargin {
  double initial = 0;
  double maintenance = 0;
  double excess_liquidity = 0;  // E - maintenance
  double utilisation = 0;       // maintenance / E (see the conventions for E <= 0)
  MarginLevel level = MarginLevel::kOk;
  std::optional<MarginCall> call;  // when level is kCall
};

struct MarginReport {
  double equity = 0;
  double long_value = 0;                  // sum of q P over longs
  double short_value = 0;                 // sum of |q| P over shorts, >= 0
  double gross_value = 0;                 // long_value + short_value
  double net_value = 0;                   // long_value - short_value
  std::vector<PositionMargin> positions;  // in the input's order
  AccountMargin reg_t;
  // Reg T buying power: the long market value the excess over initial margin would buy,
  // max(0, E - initial) / initial_long. Simplified: no SMA (Reg T's Special Memorandum Account,
  // which keeps past excess), so it is what a fresh account with this book could buy.
  double buying_power = 0;
  AccountMargin portfolio;
  std::vector<double> shocks;                 // the scenarios' price changes, -pm_shock first
  std::vector<double> scenario_pnl;           // the account's P&L in each
  std::size_t worst_scenario = 0;             // the index of the lowest P&L (the first, on a tie)
  MarginMethod method = MarginMethod::kRegT;  // settings.method

  [[nodiscard]] const AccountMargin& in_force(MarginMethod method) const {
    return method == MarginMethod::kRegT ? reg_t : portfolio;
  }
  [[nodiscard]] const AccountMargin& in_force() const { return in_force(method); }
};

// kInvalidArgument: settings out of range, a quantity, price or the equity not finite, a
// negative price, or a market value that overflows.
[[nodiscard]] core::Result<MarginReport> compute_margin(std::span<const Position> positions,
                                                        double equity,
                                                        const MarginSettings& settings = {});

// The scenarios' shocks, exactly as numpy's linspace(-shock, shock, scenarios) computes them:
// -shock + k * (2 shock / (scenarios - 1)), and the last one set to +shock.
[[nodiscard]] std::vector<double> shock_grid(double shock, std::size_t scenarios);

// The price P* of one position (quantity q, price P, maintenance rate m) at which equity meets
// maintenance, every other price held: E + q (P* - P) = R + m |q| P*, R the requirement of the
// other positions. nullopt when no positive price is that boundary: q is 0, a long at m = 1 (its
// excess does not move with its price), or P* <= 0 (a long never called, or a short called at
// every price). See margin.cpp for the derivation.
[[nodiscard]] std::optional<double> margin_call_price(double quantity, double price, double equity,
                                                      double other_requirement, double rate);

// The call, if equity < requirement, and the pro-rata liquidation that cures it (above).
[[nodiscard]] std::optional<MarginCall> margin_call(double equity, double requirement,
                                                    double gross_value);

}  // namespace nautilus::collateral
