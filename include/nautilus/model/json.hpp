// Messages as JSON, from their descriptions: boost::json::value_from(msg) gives an object with
// one member per described field, the way REST resources, the codec's JSON lines and the
// WebSocket stream show them. Price and Quantity are decimal strings (exact), Symbol and
// FixedString are strings, enums are their wire names, timestamps integer nanoseconds, and a
// double that is NaN or infinite is null (JSON has no such numbers). Write the text with
// core::to_json_text.
//
//   #include "nautilus/model/json.hpp"
//   boost::json::value v = boost::json::value_from(vpin_update);
//   return net::Response::json(core::to_json_text(v));
//
// Include it only where JSON is written: Boost.JSON's headers are heavy.
#pragma once

#include <boost/describe/members.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/mp11/algorithm.hpp>
#include <cmath>
#include <type_traits>
#include <vector>

#include "nautilus/core/enum_names.hpp"
#include "nautilus/core/fixed_point.hpp"
#include "nautilus/core/fixed_string.hpp"
#include "nautilus/core/identifiers.hpp"

namespace nautilus::core {

template <class Tag>
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const FixedPoint<Tag>& v) {
  DecimalBuffer buf;
  jv = v.to_chars(buf);
}
template <class Tag>
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Identifier<Tag>& id) {
  jv = id.value();
}
template <std::size_t N>
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const FixedString<N>& s) {
  jv = s.view();
}

}  // namespace nautilus::core

namespace nautilus::model {

namespace json_detail {
inline boost::json::value number(double d) {
  if (!std::isfinite(d)) return nullptr;
  return d;
}
template <class M>
boost::json::value field(const M& v) {
  if constexpr (std::is_floating_point_v<M>) {
    return number(static_cast<double>(v));
  } else if constexpr (std::is_same_v<M, std::vector<double>>) {
    boost::json::array a;
    a.reserve(v.size());
    for (double d : v) a.push_back(number(d));
    return a;
  } else {
    return boost::json::value_from(v);
  }
}
}  // namespace json_detail

template <core::DescribedEnum E>
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, E e) {
  jv = core::enum_name(e);
}

// Every described message type (it has kTypeName) of this namespace.
template <class T>
  requires(boost::describe::has_describe_members<T>::value && requires { T::kTypeName; })
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const T& msg) {
  boost::json::object o;
  boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
      [&](auto d) { o.emplace(d.name, json_detail::field(msg.*d.pointer)); });
  jv = std::move(o);
}

}  // namespace nautilus::model
