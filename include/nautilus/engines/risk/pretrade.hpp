// The risk engine's pre-trade gate, without the bus: every order passes the trading state
// (ACTIVE, REDUCING: only orders that reduce a position, HALTED: none), then each check in a
// fixed order, a pure function of the order, the limits, the books and the open orders; the
// first failure is the denial, with the value that broke the limit (NautilusTrader's
// RiskEngine does the same). An order that passes takes a token from the submit throttle and
// becomes open until its fills or its cancel close it. Positions count their open orders on
// the same side, so ten orders cannot each pass a limit that all ten together break.
//
//   risk::PreTrade gate(limits, clock);
//   if (auto denied = gate.check(order, books)) publish(*denied);  // model::OrderDenied
//   else forward(order);                                           // now open in `gate`
//   gate.on_fill(order_id, quantity_raw);  gate.on_closed(order_id);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "nautilus/accounting/account.hpp"
#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/core/rate_limiter.hpp"
#include "nautilus/model/risk.hpp"
#include "nautilus/model/trading.hpp"

namespace nautilus::risk {

using accounting::Money;

// 0 means "no limit" for every cap. Quantities are raw (1e-9 units), money is Money.
struct Limits {
  std::int64_t max_order_quantity = 0;
  Money max_order_notional = 0;
  std::int64_t max_position = 0;  // |quantity| per instrument, open orders included
  Money max_gross_exposure = 0;   // sum of |market value|, after the order
  Money max_net_exposure = 0;     // |sum of market value|, after the order
  double collar = 0;              // a limit price further than this fraction from the last trade
  double orders_per_s = 100;      // submit throttle (NautilusTrader's default)
  double modifies_per_s = 100;    // modify throttle
  std::unordered_set<core::Symbol> restricted;

  // A contradiction (a max position below a max order quantity, a negative cap, a collar not
  // below 1, a rate not positive) is kInvalidArgument naming the setting.
  [[nodiscard]] core::Result<void> validate() const;
};

struct OpenOrder {
  core::Symbol symbol;
  model::Name strategy;
  model::OrderSide side = model::OrderSide::kBuy;
  std::int64_t leaves = 0;  // raw quantity still open
  std::int64_t filled = 0;
  core::Price price;  // limit (0 for market)
  bool reduce_only = false;
};

class PreTrade {
 public:
  PreTrade(Limits limits, const core::Clock& clock);

  // The denial, or nullopt when the order passes (it is then open here). `books` gives the
  // positions and the last prices (a symbol without one is unknown: nothing to price it by).
  [[nodiscard]] std::optional<model::OrderDenied> check(const model::NewOrder& order,
                                                        const accounting::Account& books);
  // A modify of an open order: the same checks on its new quantity and price, and the modify
  // throttle. Passing updates the open order.
  [[nodiscard]] std::optional<model::OrderDenied> check_modify(const model::ModifyOrder& modify,
                                                               const accounting::Account& books);

  void on_fill(model::OrderId id, std::int64_t quantity_raw) noexcept;
  void on_closed(model::OrderId id) noexcept;  // cancelled, expired, or filled

  [[nodiscard]] model::TradingState state() const noexcept { return state_; }
  void set_state(model::TradingState s) noexcept { state_ = s; }
  [[nodiscard]] const Limits& limits() const noexcept { return limits_; }
  // New limits (validated); a throttle whose rate changed starts again full.
  [[nodiscard]] core::Result<void> set_limits(Limits limits);
  [[nodiscard]] const std::unordered_map<model::OrderId, OpenOrder>& open_orders() const noexcept {
    return open_;
  }
  [[nodiscard]] std::uint64_t passed() const noexcept { return passed_; }
  [[nodiscard]] std::uint64_t denied() const noexcept { return denied_; }

 private:
  struct Exposure {
    std::int64_t buys = 0;  // raw quantity of open buy orders
    std::int64_t sells = 0;
  };
  // The checks after the gate's state and the order's own fields: position, exposure.
  [[nodiscard]] std::optional<model::OrderDenied> check_books(
      const model::OrderDenied& base, core::Symbol symbol, model::OrderSide side,
      std::int64_t quantity, core::Price price, bool reduce_only, const accounting::Account& books);
  [[nodiscard]] model::OrderDenied deny(model::OrderDenied d, model::DenyReason r, double value,
                                        double limit) noexcept;

  Limits limits_;
  const core::Clock* clock_;
  std::optional<core::RateLimiter> submits_;  // optional: a new rate builds a new one
  std::optional<core::RateLimiter> modifies_;
  model::TradingState state_ = model::TradingState::kActive;
  std::unordered_map<model::OrderId, OpenOrder> open_;
  std::unordered_set<model::OrderId> seen_ids_;
  std::unordered_map<core::Symbol, Exposure> pending_;
  std::uint64_t passed_ = 0;
  std::uint64_t denied_ = 0;
};

}  // namespace nautilus::risk
