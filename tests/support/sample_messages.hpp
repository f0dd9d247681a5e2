// One sample value of any described message type, every field set to something other than its
// default (generated from the description, like the codec), and a field-by-field comparison
// that treats NaN as equal to NaN. Used by the vocabulary tests and to write the codec fuzz
// seeds, so both cover every type of model::AllMessages without naming them.
//
//   auto order = testing_support::sample<model::NewOrder>(3);
//   EXPECT_TRUE(testing_support::same(order, decoded));
#pragma once

#include <boost/describe/members.hpp>
#include <boost/mp11/algorithm.hpp>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "nautilus/core/enum_names.hpp"
#include "nautilus/core/fixed_point.hpp"
#include "nautilus/core/fixed_string.hpp"
#include "nautilus/core/identifiers.hpp"

namespace nautilus::testing_support {

template <class T>
struct IsVec : std::false_type {};
template <class T>
struct IsVec<std::vector<T>> : std::true_type {};

// A value for field number `i` of a message built with `seed`.
template <class M>
M sample_value(int i, int seed) {
  const int k = i + 7 * seed;
  if constexpr (std::is_same_v<M, bool>) {
    return (k % 2) == 0;
  } else if constexpr (core::DescribedEnum<M>) {
    const auto names = core::enum_names<M>();
    return *core::enum_from_name<M>(names[static_cast<std::size_t>(k) % names.size()]);
  } else if constexpr (std::is_same_v<M, std::int64_t>) {
    return 1'700'000'000'000'000'000LL + k;  // timestamps, mostly
  } else if constexpr (std::is_integral_v<M> && std::is_signed_v<M>) {
    return static_cast<M>(-1 - k);
  } else if constexpr (std::is_integral_v<M>) {
    return static_cast<M>(100 + k);
  } else if constexpr (std::is_floating_point_v<M>) {
    return static_cast<M>(0.125 + k / 3.0);
  } else if constexpr (std::is_same_v<M, core::Price>) {
    return *core::Price::from_string(std::to_string(-3 - k) + ".125");
  } else if constexpr (std::is_same_v<M, core::Quantity>) {
    return *core::Quantity::from_string(std::to_string(100 + k) + ".50");
  } else if constexpr (std::is_same_v<M, core::Symbol>) {
    return core::Symbol::from_trusted(k % 2 ? "BRK.B" : "AAPL");
  } else if constexpr (requires { M::kCapacity; }) {
    return M::from_trusted(("f" + std::to_string(k)).substr(0, M::kCapacity));
  } else if constexpr (IsVec<M>::value) {
    M v;
    for (int j = 0; j < 3 + seed; ++j) {
      v.push_back(sample_value<typename M::value_type>(i + j, seed));
    }
    return v;
  }
}

template <class T>
T sample(int seed = 0) {
  T msg{};
  int i = 0;
  boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
      [&](auto d) {
        using M = std::remove_cvref_t<decltype(msg.*d.pointer)>;
        msg.*d.pointer = sample_value<M>(i++, seed);
      });
  return msg;
}

template <class M>
bool same_value(const M& a, const M& b) {
  if constexpr (std::is_floating_point_v<M>) {
    return (std::isnan(a) && std::isnan(b)) || a == b;
  } else if constexpr (std::is_same_v<M, core::Price> || std::is_same_v<M, core::Quantity>) {
    return a == b && a.precision() == b.precision();
  } else if constexpr (IsVec<M>::value) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!same_value(a[i], b[i])) return false;
    }
    return true;
  } else {
    return a == b;
  }
}

template <class T>
bool same(const T& a, const T& b) {
  bool eq = true;
  boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
      [&](auto d) { eq = eq && same_value(a.*d.pointer, b.*d.pointer); });
  return eq;
}

}  // namespace nautilus::testing_support
