#include "nautilus/engines/risk/pretrade.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <utility>

namespace nautilus::risk {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double units(std::int64_t raw) noexcept { return accounting::to_double(raw); }

__extension__ using Wide = __int128;

Wide wabs(Wide v) noexcept { return v < 0 ? -v : v; }
double units(Wide v) noexcept {
  return static_cast<double>(v) / static_cast<double>(core::kFixedScale);
}
// A 128-bit sum back in the 64-bit range, saturated where a hostile order took it past.
std::int64_t narrow(Wide v) noexcept {
  return v > core::kMaxRaw    ? core::kMaxRaw
         : v < -core::kMaxRaw ? -core::kMaxRaw
                              : static_cast<std::int64_t>(v);
}

// What an order counts in the caps: the largest of its leaves and the leaves of every pending
// modify (and of `also`, one about to be), at the highest of their prices.
std::pair<std::int64_t, core::Price> envelope(const OpenOrder& o,
                                              const PendingModify* also = nullptr) noexcept {
  std::int64_t q = o.leaves;
  core::Price px = o.valued_at;
  const auto take = [&](const PendingModify& p) {
    q = std::max(q, p.quantity - o.filled);
    px = std::max(px, p.price);
  };
  for (const auto& p : o.pending) take(p);
  if (also != nullptr) take(*also);
  return {q, px};
}

}  // namespace

SeenIds::SeenIds(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {
  after_.reserve(capacity_ + 1);
}

// An unordered_map's move takes its entries with it, so newest_ stays right in the new owner.
SeenIds::SeenIds(SeenIds&& o) noexcept
    : capacity_(o.capacity_),
      after_(std::move(o.after_)),
      oldest_(o.oldest_),
      newest_(std::exchange(o.newest_, nullptr)) {
  o.after_.clear();
}

SeenIds& SeenIds::operator=(SeenIds&& o) noexcept {
  capacity_ = o.capacity_;
  after_ = std::move(o.after_);
  oldest_ = o.oldest_;
  newest_ = std::exchange(o.newest_, nullptr);
  o.after_.clear();
  return *this;
}

bool SeenIds::insert(std::uint64_t id) {
  const auto [it, fresh] = after_.try_emplace(id, 0);
  if (!fresh) return false;
  if (newest_ != nullptr) {
    *newest_ = id;
  } else {
    oldest_ = id;
  }
  newest_ = &it->second;  // an unordered_map's entries stay where they are
  if (after_.size() > capacity_) {
    const auto old = after_.find(oldest_);
    oldest_ = old->second;
    after_.erase(old);
  }
  return true;
}

core::Result<void> Limits::validate() const {
  const auto negative = [](const char* name, double v) -> core::Result<void> {
    if (v < 0 || std::isnan(v)) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("risk.{}: {} is negative (0 means no limit)", name, v));
    }
    return {};
  };
  if (auto ok = negative("max_order_quantity", units(max_order_quantity)); !ok) return ok;
  if (auto ok = negative("max_order_notional", units(max_order_notional)); !ok) return ok;
  if (auto ok = negative("max_position", units(max_position)); !ok) return ok;
  if (auto ok = negative("max_gross_exposure", units(max_gross_exposure)); !ok) return ok;
  if (auto ok = negative("max_net_exposure", units(max_net_exposure)); !ok) return ok;
  if (auto ok = negative("collar", collar); !ok) return ok;
  if (collar >= 1) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("risk.collar: {} lets any price through; want a fraction "
                                  "below 1, e.g. 0.05, or 0 for none",
                                  collar));
  }
  if (max_position > 0 && max_order_quantity > max_position) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("risk.max_position {} is below risk.max_order_quantity {}: "
                                  "no order of the largest allowed size could ever pass",
                                  units(max_position), units(max_order_quantity)));
  }
  if (max_gross_exposure > 0 && max_order_notional > max_gross_exposure) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("risk.max_gross_exposure {} is below risk.max_order_notional "
                                  "{}",
                                  units(max_gross_exposure), units(max_order_notional)));
  }
  if (max_gross_exposure > 0 && max_net_exposure > max_gross_exposure) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("risk.max_net_exposure {} is above risk.max_gross_exposure {}: "
                                  "|net| can never exceed gross",
                                  units(max_net_exposure), units(max_gross_exposure)));
  }
  if (!(orders_per_s > 0) || !(modifies_per_s > 0)) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("risk.orders_per_s and risk.modifies_per_s must be > 0, not "
                                  "{} and {}",
                                  orders_per_s, modifies_per_s));
  }
  return {};
}

PreTrade::PreTrade(Limits limits, const core::Clock& clock)
    : limits_(std::move(limits)), clock_(&clock) {
  submits_.emplace(clock, limits_.orders_per_s * 60, limits_.orders_per_s);
  modifies_.emplace(clock, limits_.modifies_per_s * 60, limits_.modifies_per_s);
}

core::Result<void> PreTrade::set_limits(Limits limits) {
  if (auto ok = limits.validate(); !ok) return ok;
  if (limits.orders_per_s != limits_.orders_per_s) {
    submits_.emplace(*clock_, limits.orders_per_s * 60, limits.orders_per_s);
  }
  if (limits.modifies_per_s != limits_.modifies_per_s) {
    modifies_.emplace(*clock_, limits.modifies_per_s * 60, limits.modifies_per_s);
  }
  limits_ = std::move(limits);
  return {};
}

model::OrderDenied PreTrade::deny(model::OrderDenied d, model::DenyReason r, double value,
                                  double limit) noexcept {
  d.reason = r;
  d.value = value;
  d.limit = limit;
  // Stamped here, not when the check starts: an order that passes (most) needs no time, and a
  // clock read is a tenth of the check.
  d.ts_event = clock_->now();
  ++denied_;
  return d;
}

std::optional<model::OrderDenied> PreTrade::check(const model::NewOrder& o,
                                                  const accounting::Account& books) {
  const model::OrderDenied base{
      .client_order_id = o.client_order_id, .symbol = o.symbol, .value = kNaN, .limit = kNaN};
  using R = model::DenyReason;
  // The one gate for the trading state; REDUCING is decided with the position below.
  if (state_ == model::TradingState::kHalted) return deny(base, R::kTradingHalted, kNaN, kNaN);
  // An id is used once, whether its order passed or not (a resend is a new order). The window
  // forgets the oldest ids; one whose order is still open is refused when the order would
  // become open (below), without a look-up here for every order.
  if (!seen_.insert(o.client_order_id)) {
    return deny(base, R::kDuplicateOrderId, static_cast<double>(o.client_order_id), kNaN);
  }
  if (o.quantity.raw() <= 0) return deny(base, R::kInvalidQuantity, units(o.quantity.raw()), 0);
  const bool limit_order = o.type == model::OrderType::kLimit;
  if (limit_order && o.price.raw() <= 0) {
    return deny(base, R::kInvalidPrice, o.price.as_double(), 0);
  }
  if (limits_.restricted.contains(o.symbol)) return deny(base, R::kRestrictedSymbol, kNaN, kNaN);
  const auto last = books.mark_of(o.symbol);
  if (!last) return deny(base, R::kUnknownSymbol, kNaN, kNaN);
  const core::Price px = limit_order ? o.price : *last;
  if (limit_order && limits_.collar > 0) {
    const double off = std::abs(o.price.as_double() / last->as_double() - 1);
    if (off > limits_.collar) return deny(base, R::kPriceCollar, off, limits_.collar);
  }
  if (limits_.max_order_quantity > 0 && o.quantity.raw() > limits_.max_order_quantity) {
    return deny(base, R::kMaxOrderQuantity, units(o.quantity.raw()),
                units(limits_.max_order_quantity));
  }
  const Money notional = accounting::notional(px, o.quantity.raw());
  if (limits_.max_order_notional > 0 && notional > limits_.max_order_notional) {
    return deny(base, R::kMaxOrderNotional, units(notional), units(limits_.max_order_notional));
  }
  SymbolOpen& open = by_symbol_[o.symbol];
  if (auto d = check_books(base, open, o.symbol, o.side, o.quantity.raw(), notional, *last,
                           o.reduce_only, books)) {
    return d;
  }
  // Built in its node (a temporary moved in cost more than the rest of the pass). Taken: an id
  // the window forgot, of an order still open; a second order under it would lose what the
  // first counts.
  const auto [it, fresh] = open_.try_emplace(o.client_order_id);
  if (!fresh) return deny(base, R::kDuplicateOrderId, static_cast<double>(o.client_order_id), kNaN);
  // Last, so that a denied order spends no token.
  if (!submits_->try_acquire()) {
    open_.erase(it);
    return deny(base, R::kOrderRate, kNaN, limits_.orders_per_s);
  }
  OpenOrder& added = it->second;
  added.symbol = o.symbol;
  added.strategy = o.strategy;
  added.side = o.side;
  added.reduce_only = o.reduce_only;
  added.quantity = added.leaves = o.quantity.raw();
  added.price = limit_order ? o.price : core::Price{};
  added.valued_at = px;
  count(added, open, o.quantity.raw(), notional);
  ++passed_;
  return std::nullopt;
}

std::optional<model::OrderDenied> PreTrade::check_books(const model::OrderDenied& base,
                                                        const SymbolOpen& open, core::Symbol symbol,
                                                        model::OrderSide side,
                                                        std::int64_t quantity, Money value,
                                                        core::Price last, bool reduce_only,
                                                        const accounting::Account& books) {
  using R = model::DenyReason;
  const std::int64_t pos = books.quantity_raw(symbol);
  // The position if this order and the open ones on its side all fill.
  const bool buy = side == model::OrderSide::kBuy;
  const std::int64_t after =
      narrow(buy ? Wide{pos} + open.buys + quantity : Wide{pos} - open.sells - quantity);
  const bool reduces = buy ? (pos < 0 && after <= 0) : (pos > 0 && after >= 0);
  // A modify that only raises its limit adds no quantity: the position cap is not its business.
  if (limits_.max_position > 0 && quantity > 0 && std::abs(after) > limits_.max_position &&
      !reduces) {
    return deny(base, R::kMaxPosition, units(std::abs(after)), units(limits_.max_position));
  }
  if (reduce_only && !reduces) return deny(base, R::kReduceOnly, units(after), units(pos));
  if (state_ == model::TradingState::kReducing && !reduces) {
    return deny(base, R::kReducingOnly, units(after), units(pos));
  }
  if (reduces) return std::nullopt;  // less gross: the caps cannot be broken further by it
  // The worst cases of the header's comment: this symbol's side in full, the others' bound.
  const Money now_value = accounting::notional(last, pos);
  if (limits_.max_gross_exposure > 0) {
    const Wide own =
        buy ? Wide{now_value} + open.buy_value + value : Wide{now_value} - open.sell_value - value;
    const Wide others = extra_ - std::max(open.buy_value, open.sell_value);
    const Wide gross = Wide{books.gross_exposure()} - wabs(now_value) + wabs(own) + others;
    if (gross > limits_.max_gross_exposure) {
      return deny(base, R::kMaxGrossExposure, units(gross), units(limits_.max_gross_exposure));
    }
  }
  if (limits_.max_net_exposure > 0) {
    const Wide net = buy ? Wide{books.net_exposure()} + buy_value_ + value
                         : Wide{books.net_exposure()} - sell_value_ - value;
    if (wabs(net) > limits_.max_net_exposure) {
      return deny(base, R::kMaxNetExposure, units(net), units(limits_.max_net_exposure));
    }
  }
  return std::nullopt;
}

std::optional<model::OrderDenied> PreTrade::check_modify(const model::ModifyOrder& m,
                                                         const accounting::Account& books) {
  const model::OrderDenied base{.client_order_id = m.client_order_id,
                                .symbol = m.symbol,
                                .value = kNaN,
                                .limit = kNaN,
                                .modify = true};
  using R = model::DenyReason;
  if (state_ == model::TradingState::kHalted) return deny(base, R::kTradingHalted, kNaN, kNaN);
  const auto it = open_.find(m.client_order_id);
  if (it == open_.end() || it->second.symbol != m.symbol) {
    return deny(base, R::kUnknownOrder, static_cast<double>(m.client_order_id), kNaN);
  }
  OpenOrder& o = it->second;
  // The new total must leave something open: at or below what filled is a cancel, not a modify.
  if (m.quantity.raw() <= o.filled) {
    return deny(base, R::kInvalidQuantity, units(m.quantity.raw()), units(o.filled));
  }
  const bool limit_order = o.price.raw() > 0;
  if (limit_order && m.price.raw() <= 0)
    return deny(base, R::kInvalidPrice, m.price.as_double(), 0);
  const auto last = books.mark_of(m.symbol);
  if (!last) return deny(base, R::kUnknownSymbol, kNaN, kNaN);
  if (limit_order && limits_.collar > 0) {
    const double off = std::abs(m.price.as_double() / last->as_double() - 1);
    if (off > limits_.collar) return deny(base, R::kPriceCollar, off, limits_.collar);
  }
  if (limits_.max_order_quantity > 0 && m.quantity.raw() > limits_.max_order_quantity) {
    return deny(base, R::kMaxOrderQuantity, units(m.quantity.raw()),
                units(limits_.max_order_quantity));
  }
  const core::Price px = limit_order ? m.price : *last;
  const Money notional = accounting::notional(px, m.quantity.raw());
  if (limits_.max_order_notional > 0 && notional > limits_.max_order_notional) {
    return deny(base, R::kMaxOrderNotional, units(notional), units(limits_.max_order_notional));
  }
  // What the order counts once this one is pending too; never less than it counts now.
  const PendingModify next{.quantity = m.quantity.raw(), .price = px};
  const auto [quantity, at] = envelope(o, &next);
  const Money value = accounting::notional(at, quantity);
  SymbolOpen& open = by_symbol_[m.symbol];
  const std::int64_t more = quantity - o.counted;
  const Money more_value = value - o.counted_value;
  if (more > 0 || more_value > 0) {  // a larger order: the books' checks on the extra
    if (auto d = check_books(base, open, m.symbol, o.side, more, more_value, *last, o.reduce_only,
                             books)) {
      return d;
    }
  }
  if (!modifies_->try_acquire()) return deny(base, R::kModifyRate, kNaN, limits_.modifies_per_s);
  o.pending.push_back(next);
  count(o, open, quantity, value);
  ++passed_;
  return std::nullopt;
}

void PreTrade::count(OpenOrder& o, SymbolOpen& s, std::int64_t quantity, Money value) noexcept {
  const Wide dq = Wide{quantity} - o.counted;
  const Wide dv = Wide{value} - o.counted_value;
  const Wide before = std::max(s.buy_value, s.sell_value);
  if (o.side == model::OrderSide::kBuy) {
    s.buys += dq;
    s.buy_value += dv;
    buy_value_ += dv;
  } else {
    s.sells += dq;
    s.sell_value += dv;
    sell_value_ += dv;
  }
  extra_ += std::max(s.buy_value, s.sell_value) - before;
  o.counted = quantity;
  o.counted_value = value;
}

void PreTrade::recount(OpenOrder& o) noexcept {
  const auto [quantity, at] = envelope(o);
  count(o, by_symbol_[o.symbol], quantity, accounting::notional(at, quantity));
}

void PreTrade::on_fill(model::OrderId id, std::int64_t quantity_raw) noexcept {
  const auto it = open_.find(id);
  if (it == open_.end() || quantity_raw <= 0) return;
  OpenOrder& o = it->second;
  // With a larger modify pending, a fill may be beyond the leaves risk knows of: execution
  // applied the modify and its answer is on the way. More than the order counts cannot fill.
  o.filled += std::min(quantity_raw, o.counted);
  o.leaves = std::max<std::int64_t>(0, o.quantity - o.filled);
  recount(o);
  // Nothing left to fill whatever execution holds (a pending larger total keeps it open).
  if (o.counted == 0) open_.erase(it);
}

void PreTrade::on_closed(model::OrderId id) noexcept {
  const auto it = open_.find(id);
  if (it == open_.end()) return;
  count(it->second, by_symbol_[it->second.symbol], 0, 0);
  open_.erase(it);
}

void PreTrade::on_modified(const model::OrderModified& m) noexcept {
  const auto it = open_.find(m.client_order_id);
  if (it == open_.end() || it->second.symbol != m.symbol) return;
  OpenOrder& o = it->second;
  o.quantity = m.quantity.raw();
  // The leaves from risk's own fills, not the message's: a fill execution counted before this
  // answer but risk has not seen yet is taken off when it comes, and must not be twice.
  o.leaves = std::max<std::int64_t>(0, o.quantity - o.filled);
  if (o.price.raw() > 0 && m.price.raw() > 0) o.price = o.valued_at = m.price;
  settle(o, m.quantity.raw(), m.price);
  recount(o);
  if (o.counted == 0) open_.erase(it);
}

// The pending modify an answer is about: the oldest of that total (and limit, for a limit
// order). None: a repeat of an answer already settled (a restarted portfolio publishes its
// last batch again), which must not settle a later modify.
void PreTrade::settle(OpenOrder& o, std::int64_t quantity, core::Price price) noexcept {
  const bool limit = o.price.raw() > 0;
  const auto it = std::find_if(o.pending.begin(), o.pending.end(), [&](const PendingModify& p) {
    return p.quantity == quantity && (!limit || p.price == price);
  });
  if (it != o.pending.end()) o.pending.erase(it);
}

void PreTrade::on_modify_rejected(const model::OrderModifyRejected& r) noexcept {
  const auto it = open_.find(r.client_order_id);
  if (it == open_.end() || it->second.symbol != r.symbol) return;
  OpenOrder& o = it->second;
  settle(o, r.quantity.raw(), r.price);
  recount(o);
  // A larger modify was all that kept a filled order open (it filled before the modify came).
  if (o.counted == 0) open_.erase(it);
}

bool PreTrade::restore(model::OrderId id, core::Symbol symbol, model::Name strategy,
                       model::OrderSide side, std::int64_t leaves, std::int64_t filled,
                       core::Price limit, core::Price last) {
  if (leaves <= 0 || filled < 0 || seen_.contains(id) || open_.contains(id)) return false;
  (void)seen_.insert(id);
  OpenOrder& o = open_[id];
  o.symbol = symbol;
  o.strategy = strategy;
  o.side = side;
  o.leaves = leaves;
  o.filled = filled;  // so that a modify's total is checked against it, as for any order
  o.quantity = leaves + filled;
  o.price = limit.raw() > 0 ? limit : core::Price{};
  o.valued_at = limit.raw() > 0 ? limit : last;
  recount(o);
  return true;
}

Money PreTrade::open_buy_value() const noexcept { return narrow(buy_value_); }
Money PreTrade::open_sell_value() const noexcept { return narrow(sell_value_); }

}  // namespace nautilus::risk
