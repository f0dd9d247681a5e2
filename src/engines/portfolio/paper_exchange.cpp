#include "nautilus/engines/portfolio/paper_exchange.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "nautilus/accounting/account.hpp"

namespace nautilus::portfolio {

__extension__ using Int128 = __int128;  // products of two raw values need 128 bits
namespace {

constexpr std::int64_t kNanosPerDay = 86'400'000'000'000;
constexpr std::size_t kSeenKept = 1'000'000;  // order ids remembered against a second delivery
// Of those, the latest a snapshot keeps: every fill batch saves one, so a million ids there
// would cost megabytes per save. Only an order delivered again across a restart, after four
// thousand newer ones, could trade twice; the transport redelivers within seconds.
constexpr std::size_t kSeenSaved = 4'096;

}  // namespace

PaperExchange::PaperExchange(ExecutionSettings settings, std::uint64_t first_trade_id)
    : settings_(settings), next_trade_id_(std::max<std::uint64_t>(first_trade_id, 1)) {}

core::Result<void> PaperExchange::validate(const ExecutionSettings& s) {
  if (!(s.participation > 0 && s.participation <= 1)) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("portfolio.participation: {} is not in (0, 1]", s.participation));
  }
  if (!(s.slippage_bps >= 0) || !(s.fee_bps >= 0) || !(s.min_fee >= 0) || s.latency_ns < 0) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      "portfolio: latency, slippage_bps, fee_bps and min_fee must be >= 0");
  }
  return {};
}

core::Result<std::vector<ExecutionEvent>> PaperExchange::submit(const model::NewOrder& order,
                                                                core::UnixNanos now) {
  if (seen_.contains(order.client_order_id)) {
    return core::fail(core::ErrorCode::kAlreadyExists,
                      fmt::format("order {} was submitted before", order.client_order_id));
  }
  if (order.quantity.raw() <= 0) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("order {}: quantity not positive", order.client_order_id));
  }
  // After the latest print and after the order's own time (the data's time the strategy acted
  // on: an order can reach execution before the print it reacted to does, over Redis); with
  // neither, from the clock.
  const auto last = last_print_.find(order.symbol);
  core::UnixNanos from = order.ts_event > 0 ? order.ts_event + 1 : 0;
  if (last != last_print_.end()) from = std::max(from, last->second + 1);
  if (from == 0) from = now;
  RestingOrder r{.order = order,
                 .active_from = from + settings_.latency_ns,
                 .leaves = order.quantity.raw(),
                 .venue_order_id = next_venue_id_++};
  std::vector<ExecutionEvent> out;
  out.emplace_back(model::OrderAccepted{.client_order_id = order.client_order_id,
                                        .symbol = order.symbol,
                                        .venue_order_id = r.venue_order_id,
                                        .ts_event = now});
  by_symbol_[order.symbol].push_back(order.client_order_id);
  orders_.emplace(order.client_order_id, r);
  seen_.insert(order.client_order_id);
  seen_order_.push_back(order.client_order_id);
  if (seen_order_.size() > kSeenKept) {
    seen_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
  return out;
}

core::Result<std::vector<ExecutionEvent>> PaperExchange::modify(const model::ModifyOrder& m,
                                                                core::UnixNanos now) {
  const auto it = orders_.find(m.client_order_id);
  if (it == orders_.end()) {
    return core::fail(core::ErrorCode::kNotFound,
                      fmt::format("order {} is not open", m.client_order_id));
  }
  RestingOrder& r = it->second;
  if (m.quantity.raw() <= r.filled) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("order {}: a total of {} is not above what filled",
                                  m.client_order_id, m.quantity.to_string()));
  }
  r.leaves = m.quantity.raw() - r.filled;
  r.order.quantity = m.quantity;
  if (r.order.type == model::OrderType::kLimit && m.price.raw() > 0) r.order.price = m.price;
  std::vector<ExecutionEvent> out;
  out.emplace_back(model::OrderModified{
      .client_order_id = m.client_order_id,
      .symbol = r.order.symbol,
      .quantity = r.order.quantity,
      .leaves_quantity = *core::Quantity::from_raw(r.leaves, core::kMaxPrecision),
      .price = r.order.type == model::OrderType::kLimit ? r.order.price : core::Price{},
      .ts_event = now});
  return out;
}

core::Result<std::vector<ExecutionEvent>> PaperExchange::cancel(model::OrderId id,
                                                                model::CancelReason reason,
                                                                core::UnixNanos now) {
  const auto it = orders_.find(id);
  if (it == orders_.end()) {
    return core::fail(core::ErrorCode::kNotFound, fmt::format("order {} is not open", id));
  }
  std::vector<ExecutionEvent> out;
  out.emplace_back(model::OrderCancelled{
      .client_order_id = id,
      .symbol = it->second.order.symbol,
      .reason = reason,
      .leaves_quantity = *core::Quantity::from_raw(it->second.leaves, core::kMaxPrecision),
      .ts_event = now});
  auto& ids = by_symbol_[it->second.order.symbol];
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  orders_.erase(it);
  return out;
}

core::Price PaperExchange::fill_price(const RestingOrder& r, core::Price print) const noexcept {
  const bool buy = r.order.side == model::OrderSide::kBuy;
  const double slip = settings_.slippage_bps / 1e4;
  const double px = print.as_double() * (buy ? 1 + slip : 1 - slip);
  const auto precision =
      static_cast<std::uint8_t>(std::min<int>(core::kMaxPrecision, print.precision() + 4));
  auto p = slip == 0 ? core::Result<core::Price>(print) : core::Price::from_double(px, precision);
  core::Price out = p ? *p : print;
  if (r.order.type == model::OrderType::kLimit) {
    out = buy ? std::min(out, r.order.price) : std::max(out, r.order.price);
  }
  return out;
}

void PaperExchange::fill(RestingOrder& r, core::Price px, std::int64_t qty, core::UnixNanos ts,
                         std::vector<ExecutionEvent>& out) {
  const double notional = px.as_double() * static_cast<double>(qty) / 1e9;
  const double fee = std::max(settings_.min_fee, notional * settings_.fee_bps / 1e4);
  auto commission = core::Price::from_double(fee, 6);
  r.filled += qty;
  r.leaves -= qty;
  r.filled_notional += accounting::notional(px, qty);
  out.emplace_back(model::Fill{.trade_id = next_trade_id_++,
                               .client_order_id = r.order.client_order_id,
                               .symbol = r.order.symbol,
                               .side = r.order.side,
                               .liquidity = r.order.type == model::OrderType::kLimit
                                                ? model::Liquidity::kMaker
                                                : model::Liquidity::kTaker,
                               .quantity = *core::Quantity::from_raw(qty, core::kMaxPrecision),
                               .price = px,
                               .commission = commission ? *commission : core::Price{},
                               .ts_event = ts});
  const auto avg = static_cast<std::int64_t>(static_cast<Int128>(r.filled_notional) *
                                             core::kFixedScale / r.filled);
  out.emplace_back(model::OrderFilled{
      .client_order_id = r.order.client_order_id,
      .symbol = r.order.symbol,
      .status = r.leaves == 0 ? model::OrderStatus::kFilled : model::OrderStatus::kPartiallyFilled,
      .side = r.order.side,
      .filled_quantity = *core::Quantity::from_raw(r.filled, core::kMaxPrecision),
      .leaves_quantity = *core::Quantity::from_raw(r.leaves, core::kMaxPrecision),
      .avg_price = *core::Price::from_raw(avg, core::kMaxPrecision),
      .ts_event = ts});
}

void PaperExchange::on_print(core::Symbol symbol, core::Price price, std::int64_t size_raw,
                             core::UnixNanos ts, std::vector<ExecutionEvent>& out) {
  if (price.raw() <= 0) return;
  const auto seen = last_print_.find(symbol);
  if (seen != last_print_.end() && ts <= seen->second) return;
  last_print_.insert_or_assign(symbol, ts);
  const auto sit = by_symbol_.find(symbol);
  if (sit == by_symbol_.end() || sit->second.empty()) return;
  // A copy: filling and cancelling below change the list.
  const std::vector<model::OrderId> ids = sit->second;
  std::int64_t available =
      settings_.participation >= 1
          ? size_raw
          : static_cast<std::int64_t>(static_cast<double>(size_raw) * settings_.participation);
  for (const model::OrderId id : ids) {
    auto it = orders_.find(id);
    if (it == orders_.end()) continue;
    RestingOrder& r = it->second;
    if (r.order.tif == model::TimeInForce::kDay &&
        ts / kNanosPerDay > r.active_from / kNanosPerDay) {
      auto c = cancel(id, model::CancelReason::kExpired, ts);
      if (c) out.insert(out.end(), c->begin(), c->end());
      continue;
    }
    if (ts < r.active_from) continue;
    const bool buy = r.order.side == model::OrderSide::kBuy;
    const bool reached = r.order.type == model::OrderType::kMarket ||
                         (buy ? price <= r.order.price : price >= r.order.price);
    const bool immediate =
        r.order.tif == model::TimeInForce::kIoc || r.order.tif == model::TimeInForce::kFok;
    std::int64_t qty = reached ? std::min(r.leaves, available) : 0;
    if (r.order.tif == model::TimeInForce::kFok && qty < r.leaves) qty = 0;  // whole or nothing
    if (qty > 0) {
      available -= qty;
      fill(r, fill_price(r, price), qty, ts, out);
    }
    if (r.leaves == 0) {
      auto& list = by_symbol_[symbol];
      list.erase(std::remove(list.begin(), list.end(), id), list.end());
      orders_.erase(it);
    } else if (immediate) {
      auto c = cancel(id, model::CancelReason::kUnfillable, ts);
      if (c) out.insert(out.end(), c->begin(), c->end());
    }
  }
}

ExchangeState PaperExchange::state() const {
  ExchangeState s{.next_trade_id = next_trade_id_, .next_venue_id = next_venue_id_};
  for (const auto& [sym, ids] : by_symbol_) {
    for (const auto id : ids) s.orders.push_back(orders_.at(id));
  }
  for (const auto& [sym, ts] : last_print_) s.last_print.emplace_back(sym, ts);
  const auto n = std::min(seen_order_.size(), kSeenSaved);
  s.seen_orders.assign(seen_order_.end() - static_cast<std::ptrdiff_t>(n), seen_order_.end());
  return s;
}

PaperExchange PaperExchange::from_state(ExecutionSettings settings, const ExchangeState& s) {
  PaperExchange ex(settings, s.next_trade_id);
  ex.next_venue_id_ = s.next_venue_id;
  for (const auto& r : s.orders) {
    ex.by_symbol_[r.order.symbol].push_back(r.order.client_order_id);
    ex.orders_.insert_or_assign(r.order.client_order_id, r);
  }
  for (const auto& [sym, ts] : s.last_print) ex.last_print_.insert_or_assign(sym, ts);
  for (const auto id : s.seen_orders) {
    if (ex.seen_.insert(id).second) ex.seen_order_.push_back(id);
  }
  for (const auto& r : s.orders) {
    if (ex.seen_.insert(r.order.client_order_id).second) {
      ex.seen_order_.push_back(r.order.client_order_id);
    }
  }
  return ex;
}

}  // namespace nautilus::portfolio
