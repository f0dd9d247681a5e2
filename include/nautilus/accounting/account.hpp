// An account's positions and cash, changed only by fills and marked to market by prices: the
// books the portfolio engine keeps, and that risk and collateral rebuild from the same fill
// events. Money is integer nanounits of the account currency (Money), so the identities hold
// exactly, not to a rounding: cash + positions at market == NAV, and NAV - initial cash ==
// realized + unrealized PnL. Average cost, as NautilusTrader's Position: a fill that adds to a
// position moves its average price; one that reduces it realizes (price - average) x quantity;
// one that crosses zero closes the position and opens the rest on the other side. Commissions
// are realized losses as they are paid.
//
//   accounting::Account acct(accounting::money(100'000));
//   auto effect = acct.apply(fill);          // kAlreadyExists: this trade id was applied before
//   acct.mark(symbol, last_price);
//   model::PortfolioSnapshot s = acct.snapshot(now);   // s.nav == cash + positions at market
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "nautilus/core/error.hpp"
#include "nautilus/core/fixed_point.hpp"
#include "nautilus/core/identifiers.hpp"
#include "nautilus/model/trading.hpp"

namespace nautilus::accounting {

using Money = std::int64_t;  // nanounits (1e-9) of the account currency, as Price's raw value

[[nodiscard]] constexpr Money money(std::int64_t units) noexcept {
  return units * core::kFixedScale;
}
[[nodiscard]] constexpr double to_double(Money m) noexcept {
  return static_cast<double>(m) / static_cast<double>(core::kFixedScale);
}
// price x quantity in Money, rounded half away from zero (to a nanounit); beyond +-2^62
// nanounits (4.6e9 of the currency) it saturates there.
[[nodiscard]] Money notional(core::Price price, std::int64_t quantity_raw) noexcept;
// A Money as a Price (precision 9) for the messages.
[[nodiscard]] core::Price as_price(Money m) noexcept;

class Position {
 public:
  [[nodiscard]] std::int64_t quantity_raw() const noexcept { return quantity_; }  // signed
  [[nodiscard]] Money cost() const noexcept { return cost_; }  // of the open quantity, signed
  [[nodiscard]] Money realized() const noexcept { return realized_; }  // net of commissions
  [[nodiscard]] Money commissions() const noexcept { return commissions_; }
  [[nodiscard]] model::PositionSide side() const noexcept {
    return quantity_ > 0   ? model::PositionSide::kLong
           : quantity_ < 0 ? model::PositionSide::kShort
                           : model::PositionSide::kFlat;
  }
  // cost / quantity, to the nanounit; 0 when flat.
  [[nodiscard]] core::Price average_price() const noexcept;
  [[nodiscard]] Money market_value(core::Price mark) const noexcept {
    return notional(mark, quantity_);
  }
  [[nodiscard]] Money unrealized(core::Price mark) const noexcept {
    return market_value(mark) - cost_;
  }

 private:
  friend class Account;
  std::int64_t quantity_ = 0;
  Money cost_ = 0;
  Money realized_ = 0;
  Money commissions_ = 0;
  Money value_ = 0;  // at the symbol's mark (at cost without one), kept by the Account
};

// What one fill did.
struct FillEffect {
  Money realized = 0;    // realized by this fill, commission included
  Money cash = 0;        // change of cash
  bool opened = false;   // the position was flat before
  bool closed = false;   // the position is flat after
  bool flipped = false;  // it crossed zero
};

// Everything an Account holds but its trade ids, for a snapshot (the portfolio's restart).
struct PositionState {
  core::Symbol symbol;
  std::int64_t quantity = 0;
  Money cost = 0;
  Money realized = 0;
  Money commissions = 0;
};
struct AccountState {
  Money initial_cash = 0;
  Money cash = 0;
  Money realized = 0;
  Money commissions = 0;
  std::uint64_t fills = 0;
  // Every fill whose trade id is at most this is in the books (the highest applied, or the
  // state's own when it came from one): apply() refuses such a fill as applied before.
  std::uint64_t last_trade_id = 0;
  std::vector<PositionState> positions;
  std::vector<std::pair<core::Symbol, core::Price>> marks;
};

// The books as the message the portfolio publishes on `portfolio.books`, and back (the open
// orders are the portfolio's to add, and stay in the message). from_books is kInvalidArgument
// when the arrays' lengths disagree, the open orders' included, (a Price's raw value is nanounits
// at any precision, so the money comes back exact).
[[nodiscard]] model::PortfolioBooks to_books(const AccountState& s, core::UnixNanos ts);
[[nodiscard]] core::Result<AccountState> from_books(const model::PortfolioBooks& b);

class Account {
 public:
  explicit Account(Money initial_cash = 0) : initial_cash_(initial_cash), cash_(initial_cash) {}

  // kAlreadyExists: the fill's trade id was applied before (a replay, a restart), or is at
  // most the last_trade_id of the state these books were made from; nothing changes.
  // kInvalidArgument: a quantity not positive, a price not positive, a commission below 0. The
  // fill's price becomes the symbol's mark when it has none yet.
  [[nodiscard]] core::Result<FillEffect> apply(const model::Fill& fill);
  // The symbol's latest price, for its market value. Not positive: ignored (false).
  bool mark(core::Symbol symbol, core::Price price) noexcept;

  [[nodiscard]] const Position* position(core::Symbol symbol) const noexcept;
  [[nodiscard]] std::int64_t quantity_raw(core::Symbol symbol) const noexcept;
  [[nodiscard]] std::optional<core::Price> mark_of(core::Symbol symbol) const noexcept;

  [[nodiscard]] Money initial_cash() const noexcept { return initial_cash_; }
  [[nodiscard]] Money cash() const noexcept { return cash_; }
  [[nodiscard]] Money realized() const noexcept { return realized_; }
  [[nodiscard]] Money commissions() const noexcept { return commissions_; }
  // Over the open positions, at their marks (a position without one counts at cost). Kept as
  // running totals by apply() and mark(), so reading them costs nothing: risk reads them for
  // every order.
  [[nodiscard]] Money market_value() const noexcept { return net_value_; }
  [[nodiscard]] Money unrealized() const noexcept { return net_value_ - open_cost_; }
  [[nodiscard]] Money gross_exposure() const noexcept { return gross_value_; }  // sum of |value|
  [[nodiscard]] Money net_exposure() const noexcept { return net_value_; }
  [[nodiscard]] Money nav() const noexcept { return cash_ + net_value_; }
  [[nodiscard]] std::size_t open_positions() const noexcept { return open_positions_; }
  [[nodiscard]] std::uint64_t fills() const noexcept { return fills_; }
  [[nodiscard]] bool seen(std::uint64_t trade_id) const noexcept {
    return trade_ids_.contains(trade_id);
  }

  [[nodiscard]] model::PortfolioSnapshot snapshot(core::UnixNanos ts) const;
  [[nodiscard]] model::PositionChange position_change(core::Symbol symbol,
                                                      core::UnixNanos ts) const;
  // Every symbol with a position (open or closed), in no particular order.
  [[nodiscard]] std::vector<core::Symbol> symbols() const;

  [[nodiscard]] AccountState state() const;
  // The books a state describes. Its trade ids are not kept one by one: every fill up to its
  // last_trade_id counts as applied (a snapshot's owner numbers its new fills after them).
  [[nodiscard]] static Account from_state(const AccountState& s);
  [[nodiscard]] std::uint64_t last_trade_id() const noexcept { return last_trade_id_; }

 private:
  [[nodiscard]] Money value_at_mark(core::Symbol s, const Position& p) const noexcept;
  // Recomputes p's value at its mark and moves the totals by the difference.
  void revalue(core::Symbol s, Position& p) noexcept;
  void revalue_to(Position& p, Money value) noexcept;  // the running totals follow p's new value

  Money initial_cash_;
  Money cash_;
  Money realized_ = 0;
  Money commissions_ = 0;
  std::uint64_t fills_ = 0;
  Money net_value_ = 0;
  Money gross_value_ = 0;
  Money open_cost_ = 0;
  std::size_t open_positions_ = 0;
  std::unordered_map<core::Symbol, Position> positions_;
  std::unordered_map<core::Symbol, core::Price> marks_;
  std::unordered_set<std::uint64_t> trade_ids_;
  std::uint64_t last_trade_id_ = 0;    // the highest applied
  std::uint64_t applied_through_ = 0;  // from_state: every trade id up to it is in the books
};

// For an engine that keeps its own books from the portfolio's fills (risk, strategy,
// collateral): takes `b` in place of `books` when it holds at least as many fills, keeping the
// marks `books` has (the engine sees the same prices, perhaps later ones). false: `books` was
// ahead and stays. kInvalidArgument: `b`'s arrays disagree; `books` stays.
[[nodiscard]] core::Result<bool> adopt_books(Account& books, const model::PortfolioBooks& b);

}  // namespace nautilus::accounting
