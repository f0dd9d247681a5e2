// Paper execution, without the bus: orders that risk approved rest here and fill against the
// market data that comes after them, as a simulated venue would fill them.
//
// - An order is accepted at once and can fill from `latency` after the later of the symbol's
//   latest print and the order's own timestamp (the venue's time is the data's: a replay's
//   prints carry their own times, not the clock's), never on a print it has already seen.
// - A print at or before the symbol's latest is not traded against again (a print delivered
//   twice after a restart fills nothing twice).
// - A print (a trade, or a bar's close and volume) fills at most `participation` of its size
//   across the symbol's orders, oldest first, so a large order fills over several prints.
// - A market order fills at the print's price moved against it by `slippage_bps`; a limit order
//   when the print reaches its limit (buy: price <= limit), at that slipped price capped by the
//   limit. IOC fills what the first print allows and cancels the rest; FOK fills whole on one
//   print or is cancelled; DAY orders expire when the UTC date changes; GTC rest until filled
//   or cancelled.
// - Fees: `fee_bps` of the fill's notional, at least `min_fee` per fill.
// Everything is decided by the data and the settings (no randomness), so a backtest repeats.
//
//   portfolio::PaperExchange ex({.latency_ns = 1'000'000, .slippage_bps = 1, .fee_bps = 0.5});
//   auto ev = ex.submit(order, now);          // OrderAccepted, or OrderCancelled if unfillable
//   auto fills = ex.on_print(symbol, price, size, ts);   // Fills and OrderFilled updates
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/model/trading.hpp"

namespace nautilus::portfolio {

struct ExecutionSettings {
  std::int64_t latency_ns = 0;
  double slippage_bps = 0;
  double fee_bps = 0;
  double min_fee = 0;          // account currency per fill
  double participation = 1.0;  // of each print's size, in (0, 1]
};

// What execution says, in order. The exchange itself never makes an OrderModifyRejected (it
// answers a bad modify with an error); the engine publishes one for it, in the same batches.
using ExecutionEvent = std::variant<model::OrderAccepted, model::OrderFilled, model::OrderCancelled,
                                    model::OrderModified, model::OrderModifyRejected, model::Fill>;

struct RestingOrder {
  model::NewOrder order;
  core::UnixNanos active_from = 0;
  std::int64_t filled = 0;           // raw
  std::int64_t leaves = 0;           // raw
  std::int64_t filled_notional = 0;  // Money: the fills' price x quantity, for the average price
  std::uint64_t venue_order_id = 0;
};

// What a PaperExchange holds, for a snapshot.
struct ExchangeState {
  std::uint64_t next_trade_id = 1;
  std::uint64_t next_venue_id = 1;
  std::vector<RestingOrder> orders;  // in arrival order per symbol
  std::vector<std::pair<core::Symbol, core::UnixNanos>> last_print;
  // The latest ids submitted, oldest first: kSeenSaved of them, enough for a cancel racing
  // its order across a restart; the open orders' ids are always among those restored.
  std::vector<model::OrderId> seen_orders;
};

class PaperExchange {
 public:
  explicit PaperExchange(ExecutionSettings settings, std::uint64_t first_trade_id = 1);

  // kInvalidArgument for settings out of range (participation not in (0, 1], negative bps).
  [[nodiscard]] static core::Result<void> validate(const ExecutionSettings& s);

  // Accepts the order (OrderAccepted, stamped `now`); kAlreadyExists for an id submitted before
  // (open, filled or cancelled: an order delivered twice after a restart trades once).
  [[nodiscard]] core::Result<std::vector<ExecutionEvent>> submit(const model::NewOrder& order,
                                                                 core::UnixNanos now);
  // The order's new total quantity and limit (OrderModified, stamped `now`); kNotFound when it
  // is not open. A total at or below what filled is refused (kInvalidArgument): cancel
  // instead.
  [[nodiscard]] core::Result<std::vector<ExecutionEvent>> modify(const model::ModifyOrder& m,
                                                                 core::UnixNanos now);
  // OrderCancelled with what was open; kNotFound when it is not open.
  [[nodiscard]] core::Result<std::vector<ExecutionEvent>> cancel(model::OrderId id,
                                                                 model::CancelReason reason,
                                                                 core::UnixNanos now);
  // A print: fills for the symbol's orders it reaches; DAY orders of earlier dates expire first.
  void on_print(core::Symbol symbol, core::Price price, std::int64_t size_raw, core::UnixNanos ts,
                std::vector<ExecutionEvent>& out);

  [[nodiscard]] const std::map<model::OrderId, RestingOrder>& open_orders() const noexcept {
    return orders_;
  }
  [[nodiscard]] std::uint64_t next_trade_id() const noexcept { return next_trade_id_; }
  // Whether an order of this id was submitted (among the latest kept).
  [[nodiscard]] bool seen(model::OrderId id) const noexcept { return seen_.contains(id); }

  [[nodiscard]] ExchangeState state() const;
  [[nodiscard]] static PaperExchange from_state(ExecutionSettings settings, const ExchangeState& s);

 private:
  void fill(RestingOrder& r, core::Price px, std::int64_t qty, core::UnixNanos ts,
            std::vector<ExecutionEvent>& out);
  [[nodiscard]] core::Price fill_price(const RestingOrder& r, core::Price print) const noexcept;

  ExecutionSettings settings_;
  std::uint64_t next_trade_id_;
  std::uint64_t next_venue_id_ = 1;
  std::map<model::OrderId, RestingOrder> orders_;  // by id: oldest first within a symbol
  std::unordered_map<core::Symbol, std::vector<model::OrderId>> by_symbol_;  // in arrival order
  std::unordered_map<core::Symbol, core::UnixNanos> last_print_;
  std::unordered_set<model::OrderId> seen_;
  std::deque<model::OrderId> seen_order_;  // the same, oldest first, the latest kSeenKept
};

}  // namespace nautilus::portfolio
