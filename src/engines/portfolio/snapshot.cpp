#include "nautilus/engines/portfolio/snapshot.hpp"

#include <fmt/format.h>

#include <boost/describe/enumerators.hpp>
#include <boost/describe/members.hpp>
#include <boost/json.hpp>
#include <boost/mp11/algorithm.hpp>
#include <optional>
#include <type_traits>

#include "nautilus/core/json.hpp"

namespace nautilus::portfolio {
namespace {

namespace json = boost::json;
constexpr int kVersion = 1;

json::array fixed(std::int64_t raw, std::uint8_t precision) { return {raw, precision}; }

template <class T>
T fixed_from(const json::value& v) {
  const auto& a = v.as_array();
  auto r = T::from_raw(a.at(0).to_number<std::int64_t>(), a.at(1).to_number<std::uint8_t>());
  if (!r) throw std::runtime_error(r.error().message);
  return *r;
}

core::Symbol symbol_from(const json::value& v) {
  auto s = core::Symbol::create(v.as_string());
  if (!s) throw std::runtime_error(s.error().message);
  return *s;
}

// The execution events of the unpublished batch, from their descriptions (model/trading.hpp):
// one member per field, money and quantities as [raw, precision], enums as their numbers, and
// "type" naming the event. A snapshot written before events other than fills were kept has no
// "type": its entries are fills.
template <class M>
json::value field_json(const M& v) {
  if constexpr (std::is_enum_v<M>) {
    return static_cast<int>(v);
  } else if constexpr (std::is_same_v<M, core::Symbol>) {
    return json::string(v.value());
  } else if constexpr (std::is_same_v<M, core::Price> || std::is_same_v<M, core::Quantity>) {
    return fixed(v.raw(), v.precision());
  } else {
    static_assert(std::is_integral_v<M>, "a snapshot event field of an unexpected kind");
    return v;
  }
}

template <class M>
void field_from(const json::value& j, M& out) {
  if constexpr (std::is_enum_v<M>) {
    const int n = j.to_number<int>();
    bool known = false;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<M>>(
        [&](auto e) { known = known || static_cast<int>(e.value) == n; });
    if (!known) throw std::runtime_error(fmt::format("{} is not a known enumerator", n));
    out = static_cast<M>(n);
  } else if constexpr (std::is_same_v<M, core::Symbol>) {
    out = symbol_from(j);
  } else if constexpr (std::is_same_v<M, core::Price> || std::is_same_v<M, core::Quantity>) {
    out = fixed_from<M>(j);
  } else {
    out = j.to_number<M>();
  }
}

template <class T>
json::object event_json(const T& m) {
  json::object o;
  o["type"] = T::kTypeName;
  boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
      [&](auto d) { o[d.name] = field_json(m.*d.pointer); });
  return o;
}

template <class T>
T event_from(const json::object& o) {
  T m{};
  boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
      [&](auto d) { field_from(o.at(d.name), m.*d.pointer); });
  return m;
}

ExecutionEvent execution_event_from(const json::object& o) {
  const auto* type = o.if_contains("type");
  if (type == nullptr) return event_from<model::Fill>(o);
  std::optional<ExecutionEvent> out;
  boost::mp11::mp_for_each<boost::mp11::mp_transform<std::add_pointer_t, ExecutionEvent>>(
      [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        if (!out && type->as_string() == T::kTypeName) out.emplace(event_from<T>(o));
      });
  if (!out) {
    throw std::runtime_error(fmt::format("unpublished event of type {} is not an execution event",
                                         json::serialize(*type)));
  }
  return *out;
}

json::object order_json(const RestingOrder& r) {
  const model::NewOrder& o = r.order;
  return {{"client_order_id", o.client_order_id},
          {"symbol", o.symbol.value()},
          {"strategy", o.strategy.view()},
          {"side", static_cast<int>(o.side)},
          {"type", static_cast<int>(o.type)},
          {"tif", static_cast<int>(o.tif)},
          {"reduce_only", o.reduce_only},
          {"quantity", fixed(o.quantity.raw(), o.quantity.precision())},
          {"price", fixed(o.price.raw(), o.price.precision())},
          {"ts_event", o.ts_event},
          {"active_from", r.active_from},
          {"filled", r.filled},
          {"leaves", r.leaves},
          {"filled_notional", r.filled_notional},
          {"venue_order_id", r.venue_order_id}};
}

RestingOrder order_from(const json::object& j) {
  auto strategy = model::Name::create(j.at("strategy").as_string());
  if (!strategy) throw std::runtime_error(strategy.error().message);
  const auto side = j.at("side").to_number<int>();
  const auto type = j.at("type").to_number<int>();
  const auto tif = j.at("tif").to_number<int>();
  if (side > 1 || type > 1 || tif > 3 || side < 0 || type < 0 || tif < 0) {
    throw std::runtime_error("an order's side, type or time in force is out of range");
  }
  RestingOrder r{.order = {.client_order_id = j.at("client_order_id").to_number<std::uint64_t>(),
                           .symbol = symbol_from(j.at("symbol")),
                           .strategy = *strategy,
                           .side = static_cast<model::OrderSide>(side),
                           .type = static_cast<model::OrderType>(type),
                           .tif = static_cast<model::TimeInForce>(tif),
                           .reduce_only = j.at("reduce_only").as_bool(),
                           .quantity = fixed_from<core::Quantity>(j.at("quantity")),
                           .price = fixed_from<core::Price>(j.at("price")),
                           .ts_event = j.at("ts_event").to_number<std::int64_t>()},
                 .active_from = j.at("active_from").to_number<std::int64_t>(),
                 .filled = j.at("filled").to_number<std::int64_t>(),
                 .leaves = j.at("leaves").to_number<std::int64_t>(),
                 .filled_notional = j.at("filled_notional").to_number<std::int64_t>(),
                 .venue_order_id = j.at("venue_order_id").to_number<std::uint64_t>()};
  if (r.leaves <= 0 || r.filled < 0) throw std::runtime_error("an open order with nothing open");
  return r;
}

}  // namespace

std::string encode_state(const PortfolioState& s) {
  json::array positions;
  for (const auto& p : s.books.positions) {
    positions.push_back({{"symbol", p.symbol.value()},
                         {"quantity", p.quantity},
                         {"cost", p.cost},
                         {"realized", p.realized},
                         {"commissions", p.commissions}});
  }
  json::array marks;
  for (const auto& [sym, px] : s.books.marks) {
    marks.push_back({{"symbol", sym.value()}, {"price", fixed(px.raw(), px.precision())}});
  }
  json::array orders;
  for (const auto& r : s.exchange.orders) orders.push_back(order_json(r));
  json::array prints;
  for (const auto& [sym, ts] : s.exchange.last_print) {
    prints.push_back({{"symbol", sym.value()}, {"ts", ts}});
  }
  json::array seen(s.exchange.seen_orders.begin(), s.exchange.seen_orders.end());
  json::array unpublished;
  for (const auto& ev : s.unpublished) {
    unpublished.push_back(std::visit([](const auto& m) { return event_json(m); }, ev));
  }
  return core::to_json_text(json::object{{"version", kVersion},
                                         {"books",
                                          {{"initial_cash", s.books.initial_cash},
                                           {"cash", s.books.cash},
                                           {"realized", s.books.realized},
                                           {"commissions", s.books.commissions},
                                           {"fills", s.books.fills},
                                           {"last_trade_id", s.books.last_trade_id},
                                           {"positions", std::move(positions)},
                                           {"marks", std::move(marks)}}},
                                         {"exchange",
                                          {{"next_trade_id", s.exchange.next_trade_id},
                                           {"next_venue_id", s.exchange.next_venue_id},
                                           {"orders", std::move(orders)},
                                           {"last_print", std::move(prints)},
                                           {"seen_orders", std::move(seen)}}},
                                         {"unpublished", std::move(unpublished)}});
}

core::Result<PortfolioState> decode_state(std::string_view text) {
  json::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return core::fail(core::ErrorCode::kParse,
                      fmt::format("portfolio snapshot: not a JSON object ({})", ec.message()));
  }
  // The accessors throw on a missing or mistyped member; one message names what was wrong.
  try {
    const json::object& o = v.as_object();
    if (o.at("version").to_number<int>() != kVersion) {
      return core::fail(core::ErrorCode::kUnsupportedVersion,
                        fmt::format("portfolio snapshot: version {}, this build reads {}",
                                    json::serialize(o.at("version")), kVersion));
    }
    PortfolioState s;
    const json::object& b = o.at("books").as_object();
    s.books.initial_cash = b.at("initial_cash").to_number<std::int64_t>();
    s.books.cash = b.at("cash").to_number<std::int64_t>();
    s.books.realized = b.at("realized").to_number<std::int64_t>();
    s.books.commissions = b.at("commissions").to_number<std::int64_t>();
    s.books.fills = b.at("fills").to_number<std::uint64_t>();
    // Written since trade ids are kept as a watermark; before, every fill applied was numbered
    // below the exchange's next trade id (set below, once the exchange is read).
    const auto* last = b.if_contains("last_trade_id");
    if (last != nullptr) s.books.last_trade_id = last->to_number<std::uint64_t>();
    for (const auto& p : b.at("positions").as_array()) {
      const auto& j = p.as_object();
      s.books.positions.push_back({.symbol = symbol_from(j.at("symbol")),
                                   .quantity = j.at("quantity").to_number<std::int64_t>(),
                                   .cost = j.at("cost").to_number<std::int64_t>(),
                                   .realized = j.at("realized").to_number<std::int64_t>(),
                                   .commissions = j.at("commissions").to_number<std::int64_t>()});
    }
    for (const auto& m : b.at("marks").as_array()) {
      s.books.marks.emplace_back(symbol_from(m.at("symbol")),
                                 fixed_from<core::Price>(m.at("price")));
    }
    const json::object& e = o.at("exchange").as_object();
    s.exchange.next_trade_id = e.at("next_trade_id").to_number<std::uint64_t>();
    s.exchange.next_venue_id = e.at("next_venue_id").to_number<std::uint64_t>();
    if (last == nullptr && s.exchange.next_trade_id > 0) {
      s.books.last_trade_id = s.exchange.next_trade_id - 1;
    }
    for (const auto& r : e.at("orders").as_array())
      s.exchange.orders.push_back(order_from(r.as_object()));
    for (const auto& p : e.at("last_print").as_array()) {
      s.exchange.last_print.emplace_back(symbol_from(p.at("symbol")),
                                         p.at("ts").to_number<std::int64_t>());
    }
    for (const auto& id : e.at("seen_orders").as_array()) {
      s.exchange.seen_orders.push_back(id.to_number<std::uint64_t>());
    }
    for (const auto& ev : o.at("unpublished").as_array())
      s.unpublished.push_back(execution_event_from(ev.as_object()));
    return s;
  } catch (const std::exception& ex) {
    return core::fail(core::ErrorCode::kParse, fmt::format("portfolio snapshot: {}", ex.what()));
  }
}

}  // namespace nautilus::portfolio
