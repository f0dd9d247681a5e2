// The risk engine's pre-trade gate, without the bus: every order passes the trading state
// (ACTIVE, REDUCING: only orders that reduce a position, HALTED: none), then each check in a
// fixed order, a pure function of the order, the limits, the books and the open orders; the
// first failure is the denial, with the value that broke the limit (NautilusTrader's
// RiskEngine does the same). An order that passes takes a token from the submit throttle and
// becomes open until its fills or its cancel close it.
//
// Open orders count in the caps as the worst case of their fills, so that ten orders cannot
// each pass a limit that all ten together break, whatever symbols they are on. An open order
// is valued at its limit, a market order at the symbol's last price when risk passed it (a
// market order lives for a print or two; revaluing it on every tick would cost the market data
// path a look-up for nothing). For an order of value v on symbol s, with P the positions at
// their last prices and B_t, S_t the value of the open buys and sells on symbol t:
//   - position: |position + open orders on the order's side of s + the order| (quantities);
//   - net: |net of the positions + every open order on the order's side, on every symbol, + v|
//     (a buy: N + sum of B_t + v; a sell: N - sum of S_t - v). The sells cannot make a buy's
//     worst case worse, nor the buys a sell's;
//   - gross: the positions' gross with s's |P_s| replaced by |P_s + B_s + v| (a buy; a sell
//     |P_s - S_s - v|), plus max(B_t, S_t) for every other symbol t. Fills on t can add at
//     most max(B_t, S_t) to |P_t|, whatever t's position and price, so this bound needs no
//     update when prices move: it is kept as running totals changed only when an order opens,
//     fills, closes or is modified, and a check reads it in constant time (the pre-trade chain
//     is benchmarked at a median under 100 ns, `nautilus bench loop`). It counts an open order
//     that would reduce t's position as if it could add; that is the price of not valuing
//     every position on every check.
// An order that reduces its own position skips the exposure caps (it lowers the gross).
//
// Modifies: an approved modify is pending until execution answers it (on_modified,
// on_modify_rejected). Meanwhile the order counts the larger of its leaves and the modify's
// new leaves, at the higher of the two limits, since execution may hold either. Several may be
// pending at once: execution answers them in the order risk passed them (one sender, one
// topic), so each answer settles the oldest, and until then the order counts the largest of
// its state and every pending one. A second modify does not replace the first: execution may
// have applied the first already, and counting only the second would count less than
// execution holds until the second's answer.
//
//   risk::PreTrade gate(limits, clock);
//   if (auto denied = gate.check(order, books)) publish(*denied);  // model::OrderDenied
//   else forward(order);                                           // now open in `gate`
//   gate.on_fill(order_id, quantity_raw);  gate.on_closed(order_id);
//   gate.on_modified(order_modified);      gate.on_modify_rejected(rejected);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

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
  Money max_gross_exposure = 0;   // sum of |market value|, open orders included, after the order
  Money max_net_exposure = 0;     // |sum of market value|, open orders included, after the order
  double collar = 0;              // a limit price further than this fraction from the last trade
  double orders_per_s = 100;      // submit throttle (NautilusTrader's default)
  double modifies_per_s = 100;    // modify throttle
  std::unordered_set<core::Symbol> restricted;

  // A contradiction (a max position below a max order quantity, a negative cap, a collar not
  // below 1, a rate not positive) is kInvalidArgument naming the setting.
  [[nodiscard]] core::Result<void> validate() const;
};

// A modify risk approved and execution has not answered yet.
struct PendingModify {
  std::int64_t quantity = 0;  // the new total, filled included (raw)
  core::Price price;          // the new limit; a market order's last price at the modify
};

struct OpenOrder {
  core::Symbol symbol;
  model::Name strategy;
  model::OrderSide side = model::OrderSide::kBuy;
  bool reduce_only = false;
  std::int64_t quantity = 0;  // raw total, filled included, as execution last confirmed it
  std::int64_t leaves = 0;    // quantity - filled (at least 0): still open
  std::int64_t filled = 0;
  core::Price price;      // limit (0 for market)
  core::Price valued_at;  // the price of its value in the caps: the limit, or the last price
  std::vector<PendingModify> pending;  // oldest first
  // What the caps count for it: the largest of its leaves and every pending modify's, valued
  // at the highest of its price and theirs.
  std::int64_t counted = 0;
  Money counted_value = 0;
};

// The latest `capacity` ids, in FIFO order: the oldest is forgotten when a new one comes to a
// full window. The order is a list through the map's own entries (each holds the id that came
// after it), so remembering an id writes only to the entry made just before, still in cache. A
// queue beside a set (a deque, as the paper exchange keeps, or a ring) is memory of its own to
// write and cost the pre-trade check 5-10 ns of its median and 60-80 of its p99 (`bench loop`'s
// stream on a 2-core VM). The buckets are reserved at once, so that no check pays for a rehash
// of a million ids. Once the window is full, each new id forgets one made a million ids before,
// out of cache: about 10 ns more at the median and 120 at the p99 than an unbounded set.
class SeenIds {
 public:
  explicit SeenIds(std::size_t capacity);
  // Moves only: the list's end points into the map's own entries.
  SeenIds(const SeenIds&) = delete;
  SeenIds& operator=(const SeenIds&) = delete;
  SeenIds(SeenIds&& o) noexcept;
  SeenIds& operator=(SeenIds&& o) noexcept;
  ~SeenIds() = default;
  // false: `id` is in the window. Otherwise it is now, and the oldest may have gone.
  [[nodiscard]] bool insert(std::uint64_t id);
  [[nodiscard]] bool contains(std::uint64_t id) const noexcept { return after_.contains(id); }
  [[nodiscard]] std::size_t size() const noexcept { return after_.size(); }

 private:
  std::size_t capacity_;
  std::unordered_map<std::uint64_t, std::uint64_t> after_;  // id -> the id that came next
  std::uint64_t oldest_ = 0;
  std::uint64_t* newest_ = nullptr;  // the newest entry's "next", where the next id is linked
};

class PreTrade {
 public:
  // How many client order ids are remembered against a second use: the latest, in FIFO
  // order. An id the window forgot is still refused while its order is open.
  static constexpr std::size_t kSeenIdsKept = 1'000'000;

  PreTrade(Limits limits, const core::Clock& clock);

  // The denial, or nullopt when the order passes (it is then open here). `books` gives the
  // positions and the last prices (a symbol without one is unknown: nothing to price it by).
  [[nodiscard]] std::optional<model::OrderDenied> check(const model::NewOrder& order,
                                                        const accounting::Account& books);
  // A modify of an open order: the same checks on its new quantity and price, and the modify
  // throttle. Passing makes it pending (above); the order changes on on_modified.
  [[nodiscard]] std::optional<model::OrderDenied> check_modify(const model::ModifyOrder& modify,
                                                               const accounting::Account& books);

  void on_fill(model::OrderId id, std::int64_t quantity_raw) noexcept;
  void on_closed(model::OrderId id) noexcept;  // cancelled, expired, or filled
  // Execution applied a pending modify (the oldest of that total and limit; a repeat of an
  // answer settles none): the order takes its total and limit.
  void on_modified(const model::OrderModified& m) noexcept;
  // Execution refused a pending modify (matched as above): the order stays as it was.
  void on_modify_rejected(const model::OrderModifyRejected& r) noexcept;
  // An order open at execution that risk never saw (the portfolio's books list it after risk
  // restarted): it counts from now as if risk had passed it, valued at its limit or, for a
  // market order (limit 0), at `last`, and its id is taken. false, and nothing changes, when
  // risk has seen the id: it passed or denied that order itself, so its own state is the newer
  // (a books message can be older than a cancel risk has handled).
  bool restore(model::OrderId id, core::Symbol symbol, model::Name strategy, model::OrderSide side,
               std::int64_t leaves, std::int64_t filled, core::Price limit, core::Price last);

  [[nodiscard]] model::TradingState state() const noexcept { return state_; }
  void set_state(model::TradingState s) noexcept { state_ = s; }
  [[nodiscard]] const Limits& limits() const noexcept { return limits_; }
  // New limits (validated); a throttle whose rate changed starts again full.
  [[nodiscard]] core::Result<void> set_limits(Limits limits);
  [[nodiscard]] const std::unordered_map<model::OrderId, OpenOrder>& open_orders() const noexcept {
    return open_;
  }
  // The value the open orders count, by side, over every symbol (saturated to Money).
  [[nodiscard]] Money open_buy_value() const noexcept;
  [[nodiscard]] Money open_sell_value() const noexcept;
  [[nodiscard]] std::uint64_t passed() const noexcept { return passed_; }
  [[nodiscard]] std::uint64_t denied() const noexcept { return denied_; }

 private:
  // Sums of raw quantities and of Money: 128 bits, so that no number of orders can wrap them.
  __extension__ using Wide = __int128;
  struct SymbolOpen {
    Wide buys = 0;  // raw quantity the open buy orders count
    Wide sells = 0;
    Wide buy_value = 0;  // Money they count
    Wide sell_value = 0;
  };
  // The checks after the gate's state and the order's own fields: position, exposure, on the
  // `quantity` and `value` the order (or a modify) adds to what `open` counts.
  [[nodiscard]] std::optional<model::OrderDenied> check_books(
      const model::OrderDenied& base, const SymbolOpen& open, core::Symbol symbol,
      model::OrderSide side, std::int64_t quantity, Money value, core::Price last, bool reduce_only,
      const accounting::Account& books);
  [[nodiscard]] model::OrderDenied deny(model::OrderDenied d, model::DenyReason r, double value,
                                        double limit) noexcept;
  // Sets what `o` counts to `quantity` at `value` and moves the running totals by the change.
  void count(OpenOrder& o, SymbolOpen& s, std::int64_t quantity, Money value) noexcept;
  // Drops the pending modify an answer of this total and limit is about, if any.
  void settle(OpenOrder& o, std::int64_t quantity, core::Price price) noexcept;
  // What `o` counts from its state and its pending modifies, then count().
  void recount(OpenOrder& o) noexcept;

  Limits limits_;
  const core::Clock* clock_;
  std::optional<core::RateLimiter> submits_;  // optional: a new rate builds a new one
  std::optional<core::RateLimiter> modifies_;
  model::TradingState state_ = model::TradingState::kActive;
  std::unordered_map<model::OrderId, OpenOrder> open_;
  SeenIds seen_{kSeenIdsKept};
  std::unordered_map<core::Symbol, SymbolOpen> by_symbol_;
  Wide buy_value_ = 0;   // sum of B_t
  Wide sell_value_ = 0;  // sum of S_t
  Wide extra_ = 0;       // sum of max(B_t, S_t)
  std::uint64_t passed_ = 0;
  std::uint64_t denied_ = 0;
};

}  // namespace nautilus::risk
