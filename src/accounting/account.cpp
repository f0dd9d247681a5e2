#include "nautilus/accounting/account.hpp"

#include <fmt/format.h>

#include <cstdlib>

namespace nautilus::accounting {

__extension__ using Int128 = __int128;  // products of two raw values need 128 bits
namespace {

// a x b / d rounded half away from zero, in 128 bits (a x b overflows 64).
std::int64_t mul_div(std::int64_t a, std::int64_t b, std::int64_t d) noexcept {
  const Int128 p = static_cast<Int128>(a) * b;
  const Int128 q = p / d;
  const Int128 r = p % d;
  const Int128 twice = (r < 0 ? -r : r) * 2;
  if (twice >= (d < 0 ? -d : d))
    return static_cast<std::int64_t>(q + ((p < 0) != (d < 0) ? -1 : 1));
  return static_cast<std::int64_t>(q);
}

}  // namespace

// price x quantity / 1e9 without a 128-bit division (the slow libgcc routine, a third of a
// risk check's time when it was one): with a = a1 S + a0 and b = b1 S + b0 (S = 1e9),
// a b / S = a1 b + a0 b1 + a0 b0 / S, where only the last term has a fraction and a0 b0 < 1e18
// fits 64 bits. Rounded half away from zero, as mul_div.
Money notional(core::Price price, std::int64_t quantity_raw) noexcept {
  constexpr std::uint64_t kS = core::kFixedScale;
  const std::int64_t p = price.raw();
  const bool negative = (p < 0) != (quantity_raw < 0);
  const std::uint64_t a = p < 0 ? -static_cast<std::uint64_t>(p) : static_cast<std::uint64_t>(p);
  const std::uint64_t b = quantity_raw < 0 ? -static_cast<std::uint64_t>(quantity_raw)
                                           : static_cast<std::uint64_t>(quantity_raw);
  const std::uint64_t a1 = a / kS, a0 = a % kS, b1 = b / kS, b0 = b % kS;
  const std::uint64_t low = a0 * b0;
  // A product beyond Money's range saturates at it (a hostile quantity must not wrap past a
  // cap); a0 b1 cannot overflow (a0 < 1e9, b1 < 2^34).
  std::uint64_t r = 0;
  std::uint64_t hi = 0;
  const bool over =
      __builtin_mul_overflow(a1, b, &hi) ||
      __builtin_add_overflow(hi, a0 * b1 + low / kS + ((low % kS) * 2 >= kS ? 1 : 0), &r) ||
      r > static_cast<std::uint64_t>(core::kMaxRaw);
  if (over) r = static_cast<std::uint64_t>(core::kMaxRaw);
  return negative ? -static_cast<std::int64_t>(r) : static_cast<std::int64_t>(r);
}

core::Price as_price(Money m) noexcept {
  auto p = core::Price::from_raw(m, core::kMaxPrecision);
  return p ? *p : core::Price{};
}

core::Price Position::average_price() const noexcept {
  if (quantity_ == 0) return core::Price{};
  return as_price(mul_div(cost_, core::kFixedScale, quantity_));
}

core::Result<FillEffect> Account::apply(const model::Fill& fill) {
  if (fill.quantity.raw() <= 0) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("fill {}: quantity {} is not positive", fill.trade_id,
                                  fill.quantity.to_string()));
  }
  if (fill.price.raw() <= 0) {
    return core::fail(
        core::ErrorCode::kInvalidArgument,
        fmt::format("fill {}: price {} is not positive", fill.trade_id, fill.price.to_string()));
  }
  if (fill.commission.raw() < 0) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("fill {}: commission {} is negative", fill.trade_id,
                                  fill.commission.to_string()));
  }
  if (fill.trade_id <= applied_through_ || !trade_ids_.insert(fill.trade_id).second) {
    return core::fail(core::ErrorCode::kAlreadyExists,
                      fmt::format("fill {} was applied before", fill.trade_id));
  }
  last_trade_id_ = std::max(last_trade_id_, fill.trade_id);
  Position& p = positions_[fill.symbol];
  FillEffect e{.opened = p.quantity_ == 0};
  const std::int64_t q = p.quantity_;
  const Money cost_before = p.cost_;
  std::int64_t left =
      fill.side == model::OrderSide::kBuy ? fill.quantity.raw() : -fill.quantity.raw();
  // Reducing first: the part of the fill against the open quantity realizes against cost.
  if (q != 0 && (q > 0) != (left > 0)) {
    const std::int64_t closed = std::min(std::abs(left), std::abs(q));  // > 0
    const Money removed = closed == std::abs(q) ? p.cost_ : mul_div(p.cost_, closed, std::abs(q));
    const Money value = notional(fill.price, closed);
    const Money realized = (q > 0 ? value : -value) - removed;
    e.realized += realized;
    e.cash += q > 0 ? value : -value;  // a long sold brings cash, a short bought back costs it
    p.cost_ -= removed;
    const std::int64_t signed_closed = q > 0 ? -closed : closed;
    p.quantity_ += signed_closed;
    left -= signed_closed;
    e.closed = p.quantity_ == 0;
  }
  // The rest opens or adds, at the fill's price.
  if (left != 0) {
    e.flipped = q != 0 && e.closed;
    e.closed = false;
    const Money value = notional(fill.price, left);  // signed
    p.cost_ += value;
    p.quantity_ += left;
    e.cash -= value;
  }
  const Money commission = fill.commission.raw();
  open_cost_ += p.cost_ - cost_before;
  if (q == 0 && p.quantity_ != 0) ++open_positions_;
  if (q != 0 && p.quantity_ == 0) --open_positions_;
  e.realized -= commission;
  e.cash -= commission;
  p.realized_ += e.realized;
  p.commissions_ += commission;
  realized_ += e.realized;
  commissions_ += commission;
  cash_ += e.cash;
  ++fills_;
  marks_.try_emplace(fill.symbol, fill.price);
  revalue(fill.symbol, p);
  return e;
}

bool Account::mark(core::Symbol symbol, core::Price price) noexcept {
  if (price.raw() <= 0) return false;
  marks_.insert_or_assign(symbol, price);
  // At the price just given: revalue() would look the mark up again (three engines mark every
  // bar of a backtest).
  if (const auto it = positions_.find(symbol); it != positions_.end()) {
    Position& p = it->second;
    revalue_to(p, p.quantity_ == 0 ? 0 : p.market_value(price));
  }
  return true;
}

void Account::revalue(core::Symbol s, Position& p) noexcept {
  revalue_to(p, p.quantity_ == 0 ? 0 : value_at_mark(s, p));
}

void Account::revalue_to(Position& p, Money v) noexcept {
  net_value_ += v - p.value_;
  gross_value_ += std::abs(v) - std::abs(p.value_);
  p.value_ = v;
}

const Position* Account::position(core::Symbol symbol) const noexcept {
  const auto it = positions_.find(symbol);
  return it == positions_.end() ? nullptr : &it->second;
}

std::int64_t Account::quantity_raw(core::Symbol symbol) const noexcept {
  const Position* p = position(symbol);
  return p == nullptr ? 0 : p->quantity_raw();
}

std::optional<core::Price> Account::mark_of(core::Symbol symbol) const noexcept {
  const auto it = marks_.find(symbol);
  if (it == marks_.end()) return std::nullopt;
  return it->second;
}

Money Account::value_at_mark(core::Symbol s, const Position& p) const noexcept {
  const auto it = marks_.find(s);
  return it == marks_.end() ? p.cost_ : p.market_value(it->second);
}

// From the running totals (kept exact by apply() and mark(), and checked against a from-scratch
// sum in the tests), not a pass over the positions: a backtest snapshots after every fill.
model::PortfolioSnapshot Account::snapshot(core::UnixNanos ts) const {
  return {.cash = as_price(cash_),
          .nav = as_price(nav()),
          .gross_exposure = as_price(gross_value_),
          .net_exposure = as_price(net_value_),
          .realized_pnl = as_price(realized_),
          .unrealized_pnl = as_price(unrealized()),
          .open_positions = static_cast<std::uint32_t>(open_positions_),
          .ts_event = ts};
}

model::PositionChange Account::position_change(core::Symbol symbol, core::UnixNanos ts) const {
  model::PositionChange c{.symbol = symbol, .ts_event = ts};
  const Position* p = position(symbol);
  if (p == nullptr) return c;
  c.side = p->side();
  c.quantity = *core::Quantity::from_raw(std::abs(p->quantity_raw()), core::kMaxPrecision);
  c.avg_price = p->average_price();
  c.realized_pnl = as_price(p->realized());
  const auto m = mark_of(symbol);
  c.unrealized_pnl = as_price(m ? p->unrealized(*m) : 0);
  return c;
}

std::vector<core::Symbol> Account::symbols() const {
  std::vector<core::Symbol> out;
  out.reserve(positions_.size());
  for (const auto& [s, p] : positions_) out.push_back(s);
  return out;
}

AccountState Account::state() const {
  AccountState s{.initial_cash = initial_cash_,
                 .cash = cash_,
                 .realized = realized_,
                 .commissions = commissions_,
                 .fills = fills_,
                 .last_trade_id = std::max(last_trade_id_, applied_through_)};
  for (const auto& [sym, p] : positions_) {
    s.positions.push_back({.symbol = sym,
                           .quantity = p.quantity_,
                           .cost = p.cost_,
                           .realized = p.realized_,
                           .commissions = p.commissions_});
  }
  for (const auto& [sym, px] : marks_) s.marks.emplace_back(sym, px);
  return s;
}

Account Account::from_state(const AccountState& s) {
  Account a(s.initial_cash);
  a.cash_ = s.cash;
  a.realized_ = s.realized;
  a.commissions_ = s.commissions;
  a.fills_ = s.fills;
  a.applied_through_ = s.last_trade_id;
  a.last_trade_id_ = s.last_trade_id;
  for (const auto& p : s.positions) {
    Position& q = a.positions_[p.symbol];
    q.quantity_ = p.quantity;
    q.cost_ = p.cost;
    q.realized_ = p.realized;
    q.commissions_ = p.commissions;
  }
  for (const auto& [sym, px] : s.marks) a.marks_.insert_or_assign(sym, px);
  for (auto& [sym, p] : a.positions_) {
    if (p.quantity_ != 0) {  // a flat position's cost is 0 unless the state says otherwise
      a.open_cost_ += p.cost_;
      ++a.open_positions_;
    }
    a.revalue(sym, p);
  }
  return a;
}

model::PortfolioBooks to_books(const AccountState& s, core::UnixNanos ts) {
  model::PortfolioBooks b{.initial_cash = as_price(s.initial_cash),
                          .cash = as_price(s.cash),
                          .realized_pnl = as_price(s.realized),
                          .commissions = as_price(s.commissions),
                          .fills = s.fills,
                          .last_trade_id = s.last_trade_id,
                          .ts_event = ts};
  for (const auto& p : s.positions) {
    b.symbols.push_back(p.symbol);
    b.quantity.push_back(p.quantity);
    b.cost.push_back(as_price(p.cost));
    b.position_realized.push_back(as_price(p.realized));
    b.position_commissions.push_back(as_price(p.commissions));
  }
  for (const auto& [sym, px] : s.marks) {
    b.mark_symbols.push_back(sym);
    b.marks.push_back(px);
  }
  return b;
}

core::Result<AccountState> from_books(const model::PortfolioBooks& b) {
  const auto n = b.symbols.size();
  if (b.quantity.size() != n || b.cost.size() != n || b.position_realized.size() != n ||
      b.position_commissions.size() != n || b.mark_symbols.size() != b.marks.size()) {
    return core::fail(
        core::ErrorCode::kInvalidArgument,
        fmt::format("portfolio_books: {} symbols but {} quantities, {} costs, {} "
                    "realized, {} commissions; {} mark symbols but {} marks",
                    n, b.quantity.size(), b.cost.size(), b.position_realized.size(),
                    b.position_commissions.size(), b.mark_symbols.size(), b.marks.size()));
  }
  const auto orders = b.order_ids.size();
  if (b.order_symbols.size() != orders || b.order_strategies.size() != orders ||
      b.order_leaves.size() != orders || b.order_filled.size() != orders ||
      b.order_prices.size() != orders) {
    return core::fail(
        core::ErrorCode::kInvalidArgument,
        fmt::format("portfolio_books: {} open order ids but {} symbols, {} "
                    "strategies, {} leaves, {} filled, {} prices",
                    orders, b.order_symbols.size(), b.order_strategies.size(),
                    b.order_leaves.size(), b.order_filled.size(), b.order_prices.size()));
  }
  AccountState s{.initial_cash = b.initial_cash.raw(),
                 .cash = b.cash.raw(),
                 .realized = b.realized_pnl.raw(),
                 .commissions = b.commissions.raw(),
                 .fills = b.fills,
                 .last_trade_id = b.last_trade_id};
  for (std::size_t i = 0; i < n; ++i) {
    s.positions.push_back({.symbol = b.symbols[i],
                           .quantity = b.quantity[i],
                           .cost = b.cost[i].raw(),
                           .realized = b.position_realized[i].raw(),
                           .commissions = b.position_commissions[i].raw()});
  }
  for (std::size_t i = 0; i < b.marks.size(); ++i)
    s.marks.emplace_back(b.mark_symbols[i], b.marks[i]);
  return s;
}

core::Result<bool> adopt_books(Account& books, const model::PortfolioBooks& b) {
  if (b.fills < books.fills()) return false;
  NAUTILUS_TRY(state, from_books(b));
  const auto marks = books.state().marks;
  books = Account::from_state(state);
  for (const auto& [s, px] : marks) books.mark(s, px);
  return true;
}

}  // namespace nautilus::accounting
