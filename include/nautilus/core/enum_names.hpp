// Names of described enums (BOOST_DESCRIBE_ENUM) as they appear on the wire, in JSON and in
// settings: the enumerator without its `k` prefix, in snake_case (kPartiallyFilled ->
// "partially_filled"). One rule for every enum, so a new enum needs only its description.
//
//   enum class Side : std::uint8_t { kBuy, kSell };
//   BOOST_DESCRIBE_ENUM(Side, kBuy, kSell)
//   core::enum_name(Side::kSell);                 // "sell"
//   std::optional<Side> s = core::enum_from_name<Side>("buy");
//   core::enum_names<Side>();                     // {"buy", "sell"}
#pragma once

#include <array>
#include <boost/describe/enum.hpp>
#include <boost/describe/enumerators.hpp>
#include <boost/mp11/algorithm.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace nautilus::core {

namespace detail {
// "kPartiallyFilled" -> "partially_filled" (a leading k followed by a capital is dropped).
inline std::string wire_enum_name(std::string_view cpp) {
  if (cpp.size() > 1 && cpp[0] == 'k' && cpp[1] >= 'A' && cpp[1] <= 'Z') cpp.remove_prefix(1);
  std::string out;
  for (std::size_t i = 0; i < cpp.size(); ++i) {
    const char c = cpp[i];
    if (c >= 'A' && c <= 'Z') {
      if (i > 0) out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

template <class E>
struct EnumTable {
  using Ds = boost::describe::describe_enumerators<E>;
  static constexpr std::size_t kCount = boost::mp11::mp_size<Ds>::value;
  std::array<E, kCount> values{};
  std::array<std::string, kCount> names;
  std::array<std::string_view, kCount> views{};

  EnumTable() {
    std::size_t i = 0;
    boost::mp11::mp_for_each<Ds>([&](auto d) {
      values[i] = d.value;
      names[i] = wire_enum_name(d.name);
      ++i;
    });
    for (std::size_t j = 0; j < kCount; ++j) views[j] = names[j];
  }
  static const EnumTable& get() {
    static const EnumTable table;
    return table;
  }
};
}  // namespace detail

template <class E>
concept DescribedEnum = std::is_enum_v<E> && boost::describe::has_describe_enumerators<E>::value;

// The enumerator's wire name; "" for a value that is not an enumerator.
template <DescribedEnum E>
[[nodiscard]] std::string_view enum_name(E e) noexcept {
  const auto& t = detail::EnumTable<E>::get();
  for (std::size_t i = 0; i < t.kCount; ++i) {
    if (t.values[i] == e) return t.views[i];
  }
  return {};
}

template <DescribedEnum E>
[[nodiscard]] std::optional<E> enum_from_name(std::string_view name) noexcept {
  const auto& t = detail::EnumTable<E>::get();
  for (std::size_t i = 0; i < t.kCount; ++i) {
    if (t.views[i] == name) return t.values[i];
  }
  return std::nullopt;
}

// The enumerator whose underlying value is `v`, if there is one (wire v1 wrote some enums as
// numbers).
template <DescribedEnum E>
[[nodiscard]] std::optional<E> enum_from_underlying(std::uint64_t v) noexcept {
  const auto& t = detail::EnumTable<E>::get();
  for (std::size_t i = 0; i < t.kCount; ++i) {
    using U = std::underlying_type_t<E>;
    if (static_cast<std::uint64_t>(static_cast<U>(t.values[i])) == v) return t.values[i];
  }
  return std::nullopt;
}

template <DescribedEnum E>
[[nodiscard]] std::span<const std::string_view> enum_names() noexcept {
  const auto& t = detail::EnumTable<E>::get();
  return {t.views.data(), t.kCount};
}

// "a|b|c", for error messages and docs.
template <DescribedEnum E>
[[nodiscard]] std::string enum_choices() {
  std::string out;
  for (auto n : enum_names<E>()) {
    if (!out.empty()) out += '|';
    out += n;
  }
  return out;
}

}  // namespace nautilus::core
