// FixedString<N>: a bounded string of at most N bytes stored inline, trivially copyable, so a
// message that carries a short name (a strategy, a model, an engine) stays inside a bus
// Envelope with no heap allocation. Unlike an Identifier it is not interned: use it for names
// that are many, free-form or short-lived.
//
//   auto s = FixedString<24>::create("momentum_fast");   // Result: refuses more than 24 bytes
//   std::string_view v = s->view();
//   FixedString<24> lit = FixedString<24>::from_trusted("mean_reversion");
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "nautilus/core/error.hpp"

namespace nautilus::core {

template <std::size_t N>
class FixedString {
  static_assert(N > 0 && N < 256, "the length is kept in one byte");

 public:
  static constexpr std::size_t kCapacity = N;

  constexpr FixedString() noexcept = default;

  // Any bytes up to N (the wire carries UTF-8; control characters are the writer's business).
  [[nodiscard]] static Result<FixedString> create(std::string_view s) {
    if (s.size() > N) {
      return fail(ErrorCode::kOutOfRange, "string of " + std::to_string(s.size()) +
                                              " bytes is longer than " + std::to_string(N));
    }
    FixedString f;
    std::memcpy(f.bytes_.data(), s.data(), s.size());
    f.size_ = static_cast<std::uint8_t>(s.size());
    return f;
  }
  // For literals the program itself spells: throws std::invalid_argument when too long.
  [[nodiscard]] static FixedString from_trusted(std::string_view s) {
    auto r = create(s);
    if (!r) throw std::invalid_argument(r.error().message);
    return *r;
  }

  [[nodiscard]] constexpr std::string_view view() const noexcept { return {bytes_.data(), size_}; }
  [[nodiscard]] constexpr std::size_t size() const noexcept { return size_; }
  [[nodiscard]] constexpr bool empty() const noexcept { return size_ == 0; }

  friend constexpr bool operator==(const FixedString& a, const FixedString& b) noexcept {
    return a.view() == b.view();
  }

 private:
  std::array<char, N> bytes_{};
  std::uint8_t size_ = 0;
};

}  // namespace nautilus::core
