#include "nautilus/engines/risk/pretrade.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <limits>

namespace nautilus::risk {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double units(std::int64_t raw) noexcept { return accounting::to_double(raw); }

// `a + b` for raw quantities that stay far below 2^62 in practice; saturates instead of
// wrapping if a hostile order tries.
std::int64_t add(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) return b > 0 ? core::kMaxRaw : -core::kMaxRaw;
  return out;
}

}  // namespace

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
  ++denied_;
  return d;
}

std::optional<model::OrderDenied> PreTrade::check(const model::NewOrder& o,
                                                  const accounting::Account& books) {
  const model::OrderDenied base{.client_order_id = o.client_order_id,
                                .symbol = o.symbol,
                                .value = kNaN,
                                .limit = kNaN,
                                .ts_event = clock_->now()};
  using R = model::DenyReason;
  // The one gate for the trading state; REDUCING is decided with the position below.
  if (state_ == model::TradingState::kHalted) return deny(base, R::kTradingHalted, kNaN, kNaN);
  // An id is used once, whether its order passed or not (a resend is a new order).
  if (!seen_ids_.insert(o.client_order_id).second) {
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
  if (auto d = check_books(base, o.symbol, o.side, o.quantity.raw(), *last, o.reduce_only, books)) {
    return d;
  }
  // Last, so that a denied order spends no token.
  if (!submits_->try_acquire()) return deny(base, R::kOrderRate, kNaN, limits_.orders_per_s);
  open_.insert_or_assign(o.client_order_id,
                         OpenOrder{.symbol = o.symbol,
                                   .strategy = o.strategy,
                                   .side = o.side,
                                   .leaves = o.quantity.raw(),
                                   .price = limit_order ? o.price : core::Price{},
                                   .reduce_only = o.reduce_only});
  Exposure& e = pending_[o.symbol];
  (o.side == model::OrderSide::kBuy ? e.buys : e.sells) += o.quantity.raw();
  ++passed_;
  return std::nullopt;
}

std::optional<model::OrderDenied> PreTrade::check_books(const model::OrderDenied& base,
                                                        core::Symbol symbol, model::OrderSide side,
                                                        std::int64_t quantity, core::Price last,
                                                        bool reduce_only,
                                                        const accounting::Account& books) {
  using R = model::DenyReason;
  const std::int64_t pos = books.quantity_raw(symbol);
  const auto it = pending_.find(symbol);
  const Exposure open = it == pending_.end() ? Exposure{} : it->second;
  // The position if this order and the open ones on its side all fill.
  const bool buy = side == model::OrderSide::kBuy;
  const std::int64_t after =
      buy ? add(pos, add(open.buys, quantity)) : add(pos, -add(open.sells, quantity));
  const bool reduces = buy ? (pos < 0 && after <= 0) : (pos > 0 && after >= 0);
  if (limits_.max_position > 0 && std::abs(after) > limits_.max_position && !reduces) {
    return deny(base, R::kMaxPosition, units(std::abs(after)), units(limits_.max_position));
  }
  if (reduce_only && !reduces) return deny(base, R::kReduceOnly, units(after), units(pos));
  if (state_ == model::TradingState::kReducing && !reduces) {
    return deny(base, R::kReducingOnly, units(after), units(pos));
  }
  if (reduces) return std::nullopt;  // less exposure: the caps cannot be broken further
  const Money now_value = accounting::notional(last, pos);
  const Money after_value = accounting::notional(last, after);
  if (limits_.max_gross_exposure > 0) {
    const Money gross = books.gross_exposure() - std::abs(now_value) + std::abs(after_value);
    if (gross > limits_.max_gross_exposure) {
      return deny(base, R::kMaxGrossExposure, units(gross), units(limits_.max_gross_exposure));
    }
  }
  if (limits_.max_net_exposure > 0) {
    const Money net = books.net_exposure() - now_value + after_value;
    if (std::abs(net) > limits_.max_net_exposure) {
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
                                .ts_event = clock_->now()};
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
  const std::int64_t new_leaves = m.quantity.raw() - o.filled;
  const std::int64_t more = new_leaves - o.leaves;
  if (more > 0) {  // a larger order: the books' checks on the extra
    if (auto d = check_books(base, m.symbol, o.side, more, *last, o.reduce_only, books)) return d;
  }
  if (!modifies_->try_acquire()) return deny(base, R::kModifyRate, kNaN, limits_.modifies_per_s);
  Exposure& e = pending_[m.symbol];
  (o.side == model::OrderSide::kBuy ? e.buys : e.sells) += more;
  o.leaves = new_leaves;
  if (limit_order) o.price = m.price;
  ++passed_;
  return std::nullopt;
}

void PreTrade::on_fill(model::OrderId id, std::int64_t quantity_raw) noexcept {
  const auto it = open_.find(id);
  if (it == open_.end()) return;
  OpenOrder& o = it->second;
  const std::int64_t q = std::min(quantity_raw, o.leaves);
  o.leaves -= q;
  o.filled += q;
  Exposure& e = pending_[o.symbol];
  (o.side == model::OrderSide::kBuy ? e.buys : e.sells) -= q;
  if (o.leaves == 0) open_.erase(it);
}

void PreTrade::on_closed(model::OrderId id) noexcept {
  const auto it = open_.find(id);
  if (it == open_.end()) return;
  Exposure& e = pending_[it->second.symbol];
  (it->second.side == model::OrderSide::kBuy ? e.buys : e.sells) -= it->second.leaves;
  open_.erase(it);
}

}  // namespace nautilus::risk
