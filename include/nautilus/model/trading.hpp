// Trading messages: strategy signals and targets, orders and their lifecycle, fills, positions
// and portfolio snapshots. Money is fixed-point (Price, Quantity); a strength or a score is a
// double. Every one is trivially copyable and at most 112 bytes, so it travels inside the
// Envelope (no allocation on the order path).
//
//   NewOrder o{.client_order_id = 17, .symbol = sym, .strategy = Name::from_trusted("mom"),
//              .side = OrderSide::kBuy, .type = OrderType::kLimit, .quantity = q, .price = px};
//   publisher.publish("order.new.AAPL", o);
//   // risk answers with order_accepted or order_denied{.reason = DenyReason::kMaxNotional}
#pragma once

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>
#include <cstdint>
#include <string_view>
#include <vector>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/fixed_point.hpp"
#include "nautilus/core/identifiers.hpp"
#include "nautilus/model/signals.hpp"

namespace nautilus::model {

using core::Price;
using core::Quantity;
using OrderId = std::uint64_t;  // the client's id, unique per strategy run

enum class SignalDirection : std::uint8_t { kFlat, kLong, kShort };
BOOST_DESCRIBE_ENUM(SignalDirection, kFlat, kLong, kShort)
enum class PositionSide : std::uint8_t { kFlat, kLong, kShort };
BOOST_DESCRIBE_ENUM(PositionSide, kFlat, kLong, kShort)
enum class OrderSide : std::uint8_t { kBuy, kSell };
BOOST_DESCRIBE_ENUM(OrderSide, kBuy, kSell)
enum class OrderType : std::uint8_t { kMarket, kLimit };
BOOST_DESCRIBE_ENUM(OrderType, kMarket, kLimit)
enum class TimeInForce : std::uint8_t { kDay, kGtc, kIoc, kFok };
BOOST_DESCRIBE_ENUM(TimeInForce, kDay, kGtc, kIoc, kFok)
enum class OrderStatus : std::uint8_t { kPartiallyFilled, kFilled };
BOOST_DESCRIBE_ENUM(OrderStatus, kPartiallyFilled, kFilled)
enum class Liquidity : std::uint8_t { kTaker, kMaker };
BOOST_DESCRIBE_ENUM(Liquidity, kTaker, kMaker)

// Why risk refused an order: one reason per pre-trade check.
enum class DenyReason : std::uint8_t {
  kInvalidQuantity,  // not positive (a modify: not above what filled)
  kInvalidPrice,     // not positive or missing for a limit order
  kUnknownSymbol,
  kMaxOrderQuantity,
  kMaxOrderNotional,
  kMaxPosition,
  kMaxGrossExposure,
  kOrderRate,      // the order-rate throttle
  kPriceCollar,    // too far from the last price
  kTradingHalted,  // trading state HALTED, or the kill switch
  kReducingOnly,   // trading state REDUCING and the order would add to a position
  kDrawdownLimit,
  kDailyLossLimit,
  kInsufficientMargin,
  kDuplicateOrderId,
  kRestrictedSymbol,  // on the restricted list
  kReduceOnly,        // a reduce-only order that would add to (or flip) the position
  kMaxNetExposure,
  kModifyRate,    // the modify-rate throttle
  kUnknownOrder,  // a modify or cancel of an order that is not open
};
BOOST_DESCRIBE_ENUM(DenyReason, kInvalidQuantity, kInvalidPrice, kUnknownSymbol, kMaxOrderQuantity,
                    kMaxOrderNotional, kMaxPosition, kMaxGrossExposure, kOrderRate, kPriceCollar,
                    kTradingHalted, kReducingOnly, kDrawdownLimit, kDailyLossLimit,
                    kInsufficientMargin, kDuplicateOrderId, kRestrictedSymbol, kReduceOnly,
                    kMaxNetExposure, kModifyRate, kUnknownOrder)

enum class CancelReason : std::uint8_t { kRequested, kExpired, kRisk, kUnfillable };
BOOST_DESCRIBE_ENUM(CancelReason, kRequested, kExpired, kRisk, kUnfillable)

// A strategy's view of a symbol: `strategy.signal.<symbol>`.
struct Signal {
  static constexpr std::string_view kTypeName = "signal";
  Symbol symbol;
  Name strategy;
  SignalDirection direction = SignalDirection::kFlat;
  double strength = 0;  // in [0, 1]
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(Signal, (), (symbol, strategy, direction, strength, ts_event))

// The position a strategy wants: `portfolio.rebalance.<symbol>`.
struct TargetPosition {
  static constexpr std::string_view kTypeName = "target_position";
  Symbol symbol;
  Name strategy;
  PositionSide side = PositionSide::kFlat;
  Quantity quantity;  // absolute; the side gives the sign
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(TargetPosition, (), (symbol, strategy, side, quantity, ts_event))

// A new order, from a strategy to risk: `order.new.<symbol>`.
struct NewOrder {
  static constexpr std::string_view kTypeName = "new_order";
  OrderId client_order_id = 0;
  Symbol symbol;
  Name strategy;
  OrderSide side = OrderSide::kBuy;
  OrderType type = OrderType::kMarket;
  TimeInForce tif = TimeInForce::kDay;
  bool reduce_only = false;  // may only reduce the position, never add to it or flip it
  Quantity quantity;
  Price price;  // the limit; ignored for market orders
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(NewOrder, (),
                      (client_order_id, symbol, strategy, side, type, tif, reduce_only, quantity,
                       price, ts_event))

// A new quantity and limit for an open order: `order.modify.<symbol>`. Risk checks it as it
// checks a new order (and throttles modifies on their own rate); the portfolio applies it to
// what is still open.
struct ModifyOrder {
  static constexpr std::string_view kTypeName = "modify_order";
  OrderId client_order_id = 0;
  Symbol symbol;
  Name strategy;
  Quantity quantity;  // the order's new total quantity (filled included)
  Price price;        // the new limit
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(ModifyOrder, (),
                      (client_order_id, symbol, strategy, quantity, price, ts_event))

// A request to cancel an open order: `order.cancel.<symbol>`.
struct CancelOrder {
  static constexpr std::string_view kTypeName = "cancel_order";
  OrderId client_order_id = 0;
  Symbol symbol;
  Name strategy;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(CancelOrder, (), (client_order_id, symbol, strategy, ts_event))

// Order events (`order.event.<symbol>`), in lifecycle order.
struct OrderAccepted {
  static constexpr std::string_view kTypeName = "order_accepted";
  OrderId client_order_id = 0;
  Symbol symbol;
  std::uint64_t venue_order_id = 0;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(OrderAccepted, (), (client_order_id, symbol, venue_order_id, ts_event))

// Refused by a pre-trade check; `value` broke `limit` (both NaN when no number applies).
// `modify`: a modify was refused, and the order it names lives on as it was (a denial may
// reach the order's sender before execution's acceptance of the order itself does).
struct OrderDenied {
  static constexpr std::string_view kTypeName = "order_denied";
  static constexpr std::string_view kOptionalFields[] = {"modify"};
  OrderId client_order_id = 0;
  Symbol symbol;
  DenyReason reason = DenyReason::kInvalidQuantity;
  double value = 0;
  double limit = 0;
  bool modify = false;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(OrderDenied, (),
                      (client_order_id, symbol, reason, value, limit, modify, ts_event))

// The order's state after a fill: partially_filled while leaves_quantity > 0, then filled.
// The execution itself is a `fill`.
struct OrderFilled {
  static constexpr std::string_view kTypeName = "order_filled";
  OrderId client_order_id = 0;
  Symbol symbol;
  OrderStatus status = OrderStatus::kFilled;
  OrderSide side = OrderSide::kBuy;
  Quantity filled_quantity;  // cumulative
  Quantity leaves_quantity;
  Price avg_price;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(OrderFilled, (),
                      (client_order_id, symbol, status, side, filled_quantity, leaves_quantity,
                       avg_price, ts_event))

struct OrderCancelled {
  static constexpr std::string_view kTypeName = "order_cancelled";
  OrderId client_order_id = 0;
  Symbol symbol;
  CancelReason reason = CancelReason::kRequested;
  Quantity leaves_quantity;  // what was still open
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(OrderCancelled, (),
                      (client_order_id, symbol, reason, leaves_quantity, ts_event))

// Execution applied a modify that risk approved: the order's new total quantity and limit,
// and what is open after it. Until this event, risk counts the larger of the old and the new.
struct OrderModified {
  static constexpr std::string_view kTypeName = "order_modified";
  OrderId client_order_id = 0;
  Symbol symbol;
  Quantity quantity;  // the new total, filled included
  Quantity leaves_quantity;
  Price price;  // the limit now (0 for a market order)
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(OrderModified, (),
                      (client_order_id, symbol, quantity, leaves_quantity, price, ts_event))

// Why execution could not apply an approved modify; the order stays as it was.
enum class ModifyRejectReason : std::uint8_t {
  kNotOpen,      // filled, cancelled or expired before the modify came
  kBelowFilled,  // the new total is not above what has filled meanwhile
};
BOOST_DESCRIBE_ENUM(ModifyRejectReason, kNotOpen, kBelowFilled)

// `quantity` and `price` are the refused modify's, so that a reader can tell which of several
// pending modifies this answers (and a repeat of an answer from one already settled).
struct OrderModifyRejected {
  static constexpr std::string_view kTypeName = "order_modify_rejected";
  OrderId client_order_id = 0;
  Symbol symbol;
  ModifyRejectReason reason = ModifyRejectReason::kNotOpen;
  Quantity quantity;
  Price price;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(OrderModifyRejected, (),
                      (client_order_id, symbol, reason, quantity, price, ts_event))

// One execution: `portfolio.fill.<symbol>`. trade_id is unique per venue, so a position can
// refuse to apply the same fill twice.
struct Fill {
  static constexpr std::string_view kTypeName = "fill";
  std::uint64_t trade_id = 0;
  OrderId client_order_id = 0;
  Symbol symbol;
  OrderSide side = OrderSide::kBuy;
  Liquidity liquidity = Liquidity::kTaker;
  Quantity quantity;
  Price price;
  Price commission;  // in the account currency, >= 0
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(Fill, (),
                      (trade_id, client_order_id, symbol, side, liquidity, quantity, price,
                       commission, ts_event))

// A position after a fill or a mark: `position.change.<symbol>`.
struct PositionChange {
  static constexpr std::string_view kTypeName = "position_change";
  Symbol symbol;
  PositionSide side = PositionSide::kFlat;
  Quantity quantity;  // absolute
  Price avg_price;
  Price realized_pnl;
  Price unrealized_pnl;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(PositionChange, (),
                      (symbol, side, quantity, avg_price, realized_pnl, unrealized_pnl, ts_event))

// The portfolio's books as they stand: `portfolio.books`, published when the portfolio begins
// (after restoring its snapshot) and every `portfolio.books_interval_s` after. The engines that
// keep their own books from fills (risk, strategy, collateral) take them in place of theirs when
// they hold at least as many fills, so a restarted engine, or a whole platform restarted on
// Redis, does not trade from empty books. Every fill whose trade id is at most `last_trade_id`
// is in them (the paper exchange numbers its trades in order): a reader that took them drops
// such a fill when it comes again. Money is exact: Price at nine places, quantities raw
// (1e-9 units, signed: short is negative). One entry per position, open or closed, and one per
// order resting in execution, so that a restarted risk counts them toward its limits and a
// restarted strategy does not order again what is already working.
struct PortfolioBooks {
  static constexpr std::string_view kTypeName = "portfolio_books";
  Price initial_cash;
  Price cash;
  Price realized_pnl;  // net of commissions
  Price commissions;
  std::uint64_t fills = 0;
  std::uint64_t last_trade_id = 0;
  std::vector<Symbol> symbols;
  std::vector<std::int64_t> quantity;  // raw, signed
  std::vector<Price> cost;             // of the open quantity, signed
  std::vector<Price> position_realized;
  std::vector<Price> position_commissions;
  std::vector<Symbol> mark_symbols;  // the last price of each symbol priced so far
  std::vector<Price> marks;
  std::vector<OrderId> order_ids;  // the open orders
  std::vector<Symbol> order_symbols;
  std::vector<Name> order_strategies;
  std::vector<std::int64_t> order_leaves;  // raw, signed: a sell is negative
  std::vector<std::int64_t> order_filled;  // raw, what has filled of it
  std::vector<Price> order_prices;         // the limit; 0 for a market order
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(PortfolioBooks, (),
                      (initial_cash, cash, realized_pnl, commissions, fills, last_trade_id, symbols,
                       quantity, cost, position_realized, position_commissions, mark_symbols, marks,
                       order_ids, order_symbols, order_strategies, order_leaves, order_filled,
                       order_prices, ts_event))

// The account marked to market: `portfolio.update.account`. nav = cash + positions at market.
struct PortfolioSnapshot {
  static constexpr std::string_view kTypeName = "portfolio_snapshot";
  Price cash;
  Price nav;
  Price gross_exposure;
  Price net_exposure;
  Price realized_pnl;
  Price unrealized_pnl;
  std::uint32_t open_positions = 0;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(PortfolioSnapshot, (),
                      (cash, nav, gross_exposure, net_exposure, realized_pnl, unrealized_pnl,
                       open_positions, ts_event))

}  // namespace nautilus::model
