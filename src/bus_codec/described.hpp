// The wire codec of a described message type, generated from its BOOST_DESCRIBE_STRUCT: the
// MessagePack encoder, the decoder from Fields (by field name, never by position), and the
// field list the docs print. Nothing here is written per type; payloads.cpp instantiates it
// for every type of model::AllMessages.
//
// Field kinds (docs/WIRE_FORMAT.md): integers (range-checked to the member's type), doubles
// (MessagePack float64; nil reads as NaN), bools, enums (by name; v1's numbers still read),
// Price/Quantity (decimal strings), Symbol, FixedString<N> (at most N bytes), and std::vector
// of any of these (a MessagePack array).
#pragma once

#include <array>
#include <boost/describe/members.hpp>
#include <boost/mp11/algorithm.hpp>
#include <cmath>
#include <concepts>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "fields.hpp"
#include "nautilus/bus/payload.hpp"
#include "nautilus/core/enum_names.hpp"
#include "nautilus/core/fixed_point.hpp"
#include "nautilus/core/fixed_string.hpp"
#include "nautilus/core/identifiers.hpp"
#include "packing.hpp"
#include "reader.hpp"

namespace nautilus::bus::codec::detail {

template <class T>
using Members = boost::describe::describe_members<T, boost::describe::mod_public>;
template <class T>
inline constexpr std::size_t kMemberCount = boost::mp11::mp_size<Members<T>>::value;

// The members' names, as string_views known at compile time.
template <class T>
constexpr std::array<std::string_view, kMemberCount<T>> member_names() {
  std::array<std::string_view, kMemberCount<T>> names{};
  std::size_t i = 0;
  boost::mp11::mp_for_each<Members<T>>([&](auto d) { names[i++] = d.name; });
  return names;
}

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <class T>
struct IsFixedPoint : std::false_type {};
template <class Tag>
struct IsFixedPoint<core::FixedPoint<Tag>> : std::true_type {};
template <class T>
struct IsFixedString : std::false_type {};
template <std::size_t N>
struct IsFixedString<core::FixedString<N>> : std::true_type {};

// ---- encoding -------------------------------------------------------------------------------

template <class T>
void pack_value(Packer& pk, const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    v ? pk.pack_true() : pk.pack_false();
  } else if constexpr (core::DescribedEnum<T>) {
    pack_str(pk, core::enum_name(v));
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    pk.pack_int64(v);  // msgpack-cxx writes the shortest form
  } else if constexpr (std::is_integral_v<T>) {
    pk.pack_uint64(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    pk.pack_double(static_cast<double>(v));
  } else if constexpr (IsFixedPoint<T>::value) {
    pack_decimal(pk, v);
  } else if constexpr (std::is_same_v<T, core::Symbol>) {
    pack_str(pk, v.value());
  } else if constexpr (IsFixedString<T>::value) {
    pack_str(pk, v.view());
  } else if constexpr (IsVector<T>::value) {
    pk.pack_array(static_cast<std::uint32_t>(v.size()));
    for (const auto& item : v) pack_value(pk, item);
  } else {
    static_assert(sizeof(T) == 0, "a message field of a kind the wire format does not have");
  }
}

template <class T>
void encode_described(Packer& pk, const T& msg) {
  pk.pack_map(static_cast<std::uint32_t>(kMemberCount<T>));
  boost::mp11::mp_for_each<Members<T>>([&](auto d) {
    pack_str(pk, d.name);
    pack_value(pk, msg.*d.pointer);
  });
}

// ---- decoding -------------------------------------------------------------------------------

// Why `v` is not a valid T ("" when it is): either "is not <kind>" (wrong MessagePack type)
// or a reason of the value's own.
struct ReadError {
  bool wrong_kind = false;
  std::string text;
};

template <class T>
std::string kind_phrase() {
  if constexpr (std::is_same_v<T, bool>) {
    return "a bool";
  } else if constexpr (core::DescribedEnum<T>) {
    return "one of " + core::enum_choices<T>();
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    return "a signed 64-bit integer";
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return "a signed " + std::to_string(8 * sizeof(T)) + "-bit integer";
  } else if constexpr (std::is_same_v<T, std::uint64_t>) {
    return "an unsigned integer";
  } else if constexpr (std::is_integral_v<T>) {
    return "an unsigned " + std::to_string(8 * sizeof(T)) + "-bit integer";
  } else if constexpr (std::is_floating_point_v<T>) {
    return "a number";
  } else if constexpr (IsFixedPoint<T>::value || std::is_same_v<T, core::Symbol> ||
                       IsFixedString<T>::value) {
    return "a string";
  } else if constexpr (IsVector<T>::value) {
    return "an array";
  }
}

template <class T>
std::optional<ReadError> read_value(const Fields& f, const Value& v, T& out);

template <class T>
std::optional<ReadError> read_scalar(const Value& v, T& out) {
  using K = Value::Kind;
  const auto wrong = [] { return ReadError{true, kind_phrase<T>()}; };
  if constexpr (std::is_same_v<T, bool>) {
    if (v.kind != K::kBool) return wrong();
    out = v.u64() != 0;
  } else if constexpr (core::DescribedEnum<T>) {
    std::optional<T> e;
    if (v.kind == K::kStr) {
      e = core::enum_from_name<T>(v.str());
    } else if (v.kind == K::kUint) {
      e = core::enum_from_underlying<T>(v.u64());
    } else {
      return ReadError{true, "a string"};
    }
    if (!e) return ReadError{false, "must be one of " + core::enum_choices<T>()};
    out = *e;
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    if (v.kind == K::kInt) {
      if (v.i64() < std::numeric_limits<T>::min()) return wrong();
      out = static_cast<T>(v.i64());
    } else if (v.kind == K::kUint) {
      if (v.u64() > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return wrong();
      out = static_cast<T>(v.u64());
    } else {
      return wrong();
    }
  } else if constexpr (std::is_integral_v<T>) {
    if (v.kind != K::kUint || v.u64() > std::numeric_limits<T>::max()) return wrong();
    out = static_cast<T>(v.u64());
  } else if constexpr (std::is_floating_point_v<T>) {
    // Integers are numbers too (a JSON-minded writer sends 1 for 1.0); nil is "no value".
    if (v.kind == K::kDouble) {
      out = static_cast<T>(v.f64());
    } else if (v.kind == K::kUint) {
      out = static_cast<T>(v.u64());
    } else if (v.kind == K::kInt) {
      out = static_cast<T>(v.i64());
    } else if (v.kind == K::kNil) {
      out = std::numeric_limits<T>::quiet_NaN();
    } else {
      return wrong();
    }
  } else if constexpr (IsFixedPoint<T>::value) {
    if (v.kind != K::kStr) return wrong();
    auto d = T::from_string(v.str());
    if (!d) return ReadError{false, d.error().message};
    out = *d;
  } else if constexpr (std::is_same_v<T, core::Symbol>) {
    if (v.kind != K::kStr) return wrong();
    // Empty is the Symbol{} of a message about no instrument (a trading-state change, the kill
    // switch): what the encoder writes must come back, or such a message is lost over Redis.
    if (v.str().empty()) {
      out = core::Symbol{};
      return std::nullopt;
    }
    if (remembered_name(v.str(), out)) return std::nullopt;
    auto s = create_name<core::Symbol>(v.str());
    if (!s) return ReadError{false, s.error().message};
    out = *s;
  } else if constexpr (IsFixedString<T>::value) {
    if (v.kind != K::kStr) return wrong();
    auto s = T::create(v.str());
    if (!s) return ReadError{false, s.error().message};
    out = *s;
  } else {
    static_assert(sizeof(T) == 0, "a message field of a kind the wire format does not have");
  }
  return std::nullopt;
}

template <class T>
std::optional<ReadError> read_value(const Fields& f, const Value& v, T& out) {
  if constexpr (IsVector<T>::value) {
    if (v.kind != Value::Kind::kArray) return ReadError{true, "an array"};
    const auto items = f.items(v);
    out.clear();
    out.resize(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (auto e = read_scalar(items[i], out[i])) {
        return ReadError{
            false, "item " + std::to_string(i) + (e->wrong_kind ? " is not " : ": ") + e->text};
      }
    }
    return std::nullopt;
  } else {
    return read_scalar(v, out);
  }
}

// Members a type lists in `static constexpr std::string_view kOptionalFields[]` may be left
// out by a writer (they keep their default): that is how a field is added to a type without
// breaking older writers.
template <class T>
bool is_optional_field(std::string_view name) {
  if constexpr (requires { T::kOptionalFields; }) {
    for (std::string_view o : T::kOptionalFields) {
      if (o == name) return true;
    }
  }
  return false;
}

template <class T>
core::Result<Payload> decode_described(const Fields& f) {
  T msg{};
  std::optional<std::unexpected<core::Error>> error;
  std::size_t i = 0;
  boost::mp11::mp_for_each<Members<T>>([&](auto d) {
    const std::size_t index = i++;
    if (error) return;
    const Value* v = f.find(index);
    if (v == nullptr) {
      if (!is_optional_field<T>(d.name)) error = f.missing(index);
      return;
    }
    if (auto e = read_value(f, *v, msg.*d.pointer)) {
      error = e->wrong_kind ? f.wrong(index, e->text) : f.field_error(index, e->text);
    }
  });
  if (error) return *error;
  if constexpr (requires { msg.validate(); }) {
    if (auto ok = msg.validate(); !ok) {
      return decode_error(std::string(T::kTypeName) + ": " + ok.error().message);
    }
  }
  return Payload::make(std::move(msg));
}

// ---- decoding in the writer's order --------------------------------------------------------

// The payload straight from the bytes into T, when its keys come exactly in T's order (as
// encode() writes them): no Fields table, no key search. False for anything else (another
// order, a missing or extra key, a value that does not read), and the caller then reads the
// map the general way, which gives the same result or the error.
template <class M>
[[gnu::always_inline]] inline bool read_in_place(Reader& r, M& out) {
  if constexpr (IsVector<M>::value) {
    std::uint32_t n = 0;
    if (!r.array_header(n) || n > kMaxArray) return false;
    out.resize(n);
    for (auto& item : out) {
      Value v;
      if (!r.scalar(v) || read_scalar(v, item)) return false;
    }
    return true;
  } else {
    Value v;
    return r.scalar(v) && !read_scalar(v, out);
  }
}

template <class T>
bool decode_in_order(Reader& r, Payload& out) {
  std::uint32_t n = 0;
  if (!r.map_header(n) || n != kMemberCount<T>) return false;
  static constexpr auto kNames = member_names<T>();
  T msg{};
  bool ok = true;
  std::size_t i = 0;
  boost::mp11::mp_for_each<Members<T>>(
      [&](auto d) { ok = ok && r.key(kNames[i++]) && read_in_place(r, msg.*d.pointer); });
  if (!ok) return false;
  if constexpr (requires { msg.validate(); }) {
    if (!msg.validate()) return false;
  }
  out.emplace(std::move(msg));
  return true;
}

// ---- the field list -------------------------------------------------------------------------

template <class T>
std::string kind_text(std::string_view field) {
  if constexpr (std::is_same_v<T, bool>) {
    return "bool";
  } else if constexpr (core::DescribedEnum<T>) {
    std::string names;
    for (auto n : core::enum_names<T>()) names += (names.empty() ? "" : "/") + std::string(n);
    return "enum (" + names + ")";
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return field.starts_with("ts_") || field.starts_with("train_") ? "int (ns since epoch)" : "int";
  } else if constexpr (std::is_integral_v<T>) {
    return "uint";
  } else if constexpr (std::is_floating_point_v<T>) {
    return "f64";
  } else if constexpr (std::is_same_v<T, core::Price>) {
    return "dec";
  } else if constexpr (std::is_same_v<T, core::Quantity>) {
    return "dec (>= 0)";
  } else if constexpr (std::is_same_v<T, core::Symbol>) {
    return "str (symbol)";
  } else if constexpr (IsFixedString<T>::value) {
    return "str (<= " + std::to_string(T::kCapacity) + " bytes)";
  } else if constexpr (IsVector<T>::value) {
    return "array of " + kind_text<typename T::value_type>(field);
  }
}

}  // namespace nautilus::bus::codec::detail
