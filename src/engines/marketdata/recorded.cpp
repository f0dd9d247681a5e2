// parse_recorded_line (marketdata/csv.hpp): a JSON line's payload back into the message it was
// written from, field by field from the type's description (model/market_data.hpp), reading
// what model/json.hpp writes: prices and quantities as decimal strings, enums by their wire
// names, times as integer nanoseconds.
#include <fmt/format.h>

#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <boost/mp11.hpp>
#include <type_traits>

#include "nautilus/core/enum_names.hpp"
#include "nautilus/marketdata/csv.hpp"

namespace nautilus::marketdata {
namespace {

namespace json = boost::json;

template <class M>
core::Result<void> field_from(const json::value& v, std::string_view name, M& out) {
  const auto bad = [&](std::string_view why) {
    return core::fail(core::ErrorCode::kParse, fmt::format("payload.{}: {}", name, why));
  };
  if constexpr (std::is_enum_v<M>) {
    if (!v.is_string()) return bad("must be a string (the enumerator's name)");
    const auto e = core::enum_from_name<M>(v.as_string());
    if (!e) return bad(fmt::format("'{}' is not a known name", std::string_view(v.as_string())));
    out = *e;
  } else if constexpr (std::is_same_v<M, core::Symbol>) {
    if (!v.is_string()) return bad("must be a string (a symbol)");
    auto s = core::Symbol::create(v.as_string());
    if (!s) return bad(s.error().message);
    out = *s;
  } else if constexpr (std::is_same_v<M, core::Price> || std::is_same_v<M, core::Quantity>) {
    if (!v.is_string()) return bad("must be a decimal string");
    auto d = M::from_string(v.as_string());
    if (!d) return bad(d.error().message);
    out = *d;
  } else {
    static_assert(std::is_integral_v<M>, "a market data field of an unexpected kind");
    std::error_code ec;
    const auto n = v.to_number<M>(ec);
    if (ec) return bad("must be an integer in range");
    out = n;
  }
  return {};
}

template <class T>
core::Result<Record> message_from(const json::object& payload) {
  T m{};
  core::Result<void> ok;
  boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
      [&](auto d) {
        if (!ok) return;
        const auto* v = payload.if_contains(d.name);
        if (v == nullptr) {
          ok = core::fail(core::ErrorCode::kParse, fmt::format("payload.{}: missing", d.name));
          return;
        }
        ok = field_from(*v, d.name, m.*d.pointer);
      });
  if (!ok) return std::unexpected(ok.error());
  return Record(m);
}

// What the CSV reader checks of a row, checked of a recorded message too: a recording may come
// from anywhere.
core::Result<void> check(const Record& r) {
  const auto bad = [](std::string_view why) {
    return core::fail(core::ErrorCode::kOutOfRange, std::string(why));
  };
  const core::Price zero;
  if (const auto* b = std::get_if<model::Bar>(&r)) {
    if (!(b->low > zero)) return bad("payload: a bar's prices must be positive");
    if (b->high < b->low || b->high < b->open || b->high < b->close || b->low > b->open ||
        b->low > b->close) {
      return bad("payload: a bar must have low <= open, close <= high");
    }
    if (b->volume.raw() < 0) return bad("payload.volume: must not be negative");
    if (auto ok = b->validate(); !ok) return bad(fmt::format("payload: {}", ok.error().message));
  } else if (const auto* t = std::get_if<model::TradeTick>(&r)) {
    if (!(t->price > zero)) return bad("payload.price: must be positive");
    if (t->size.raw() < 0) return bad("payload.size: must not be negative");
  } else if (const auto* q = std::get_if<model::QuoteTick>(&r)) {
    if (!(q->bid > zero) || !(q->ask > zero)) return bad("payload: bid and ask must be positive");
    if (q->ask < q->bid) return bad("payload: quote has bid > ask (crossed)");
    if (q->bid_size.raw() < 0 || q->ask_size.raw() < 0) {
      return bad("payload: sizes must not be negative");
    }
  }
  return {};
}

}  // namespace

core::Result<std::optional<Record>> parse_recorded_line(std::string_view line) {
  std::error_code ec;
  const json::value doc = json::parse(line, ec);
  if (ec || !doc.is_object()) {
    return core::fail(core::ErrorCode::kParse,
                      fmt::format("not a JSON object ({})", ec ? ec.message() : "another value"));
  }
  // `nautilus replay` wraps each envelope with its stream and entry id; a recording does not.
  const json::object* env = &doc.as_object();
  if (const auto* e = env->if_contains("envelope"); e != nullptr && e->is_object()) {
    env = &e->as_object();
  }
  const auto* type = env->if_contains("type");
  if (type == nullptr || !type->is_string()) {
    return core::fail(core::ErrorCode::kParse, "no \"type\": not a recorded bus message");
  }
  const std::string_view t = type->as_string();
  if (t != model::Bar::kTypeName && t != model::TradeTick::kTypeName &&
      t != model::QuoteTick::kTypeName) {
    return std::optional<Record>{};
  }
  const auto* payload = env->if_contains("payload");
  if (payload == nullptr || !payload->is_object()) {
    return core::fail(core::ErrorCode::kParse, "payload: missing or not an object");
  }
  const auto& p = payload->as_object();
  auto rec = t == model::Bar::kTypeName         ? message_from<model::Bar>(p)
             : t == model::TradeTick::kTypeName ? message_from<model::TradeTick>(p)
                                                : message_from<model::QuoteTick>(p);
  if (!rec) return std::unexpected(rec.error());
  if (auto ok = check(*rec); !ok) return std::unexpected(ok.error());
  return std::optional<Record>(std::move(*rec));
}

}  // namespace nautilus::marketdata
