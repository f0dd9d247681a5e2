// Identifier<Tag>: a validated, interned name (engine, symbol, topic) that is 8 bytes,
// trivially copyable and compared by pointer, so it can sit inside hot-path messages.
//
//   auto id = EngineId::create("risk");       // Result<EngineId>
//   Symbol s = Symbol::from_trusted("AAPL");  // literals known to be valid
//   if (s == Symbol::from_trusted("AAPL")) ... // pointer compare
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <string>
#include <string_view>

#include "nautilus/core/error.hpp"

namespace nautilus::core {

// Returns a view of a process-lifetime copy of `s`; equal strings give the same pointer.
// Thread-safe. Interned strings are never freed, so intern names, not unbounded data.
[[nodiscard]] std::string_view intern(std::string_view s);

// Name rules shared by identifiers: 1..max_len characters from [A-Za-z0-9_.:/^=#@+-].
[[nodiscard]] Result<void> validate_name(std::string_view s, std::size_t max_len,
                                         std::string_view what);

struct EngineIdTag {
  static constexpr std::string_view kWhat = "engine id";
  static constexpr std::size_t kMaxLength = 64;
};
struct SymbolTag {
  static constexpr std::string_view kWhat = "symbol";
  static constexpr std::size_t kMaxLength = 64;
};

template <class Tag>
class Identifier {
 public:
  constexpr Identifier() noexcept = default;

  [[nodiscard]] static Result<Identifier> create(std::string_view s) {
    if (auto ok = validate_name(s, Tag::kMaxLength, Tag::kWhat); !ok) {
      return std::unexpected(ok.error());
    }
    return Identifier(intern(s));
  }
  // For names the program itself spells (literals); invalid input is a programmer error.
  [[nodiscard]] static Identifier from_trusted(std::string_view s) {
    auto r = create(s);
    if (!r) std::terminate();
    return *r;
  }

  [[nodiscard]] std::string_view value() const noexcept { return {data_, size_}; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] const char* data() const noexcept { return data_; }

  friend bool operator==(Identifier a, Identifier b) noexcept { return a.data_ == b.data_; }

 private:
  explicit Identifier(std::string_view interned) noexcept
      : data_(interned.data()), size_(static_cast<unsigned>(interned.size())) {}

  const char* data_ = "";
  unsigned size_ = 0;
};

using EngineId = Identifier<EngineIdTag>;
using Symbol = Identifier<SymbolTag>;

}  // namespace nautilus::core

template <class Tag>
struct std::hash<nautilus::core::Identifier<Tag>> {
  std::size_t operator()(nautilus::core::Identifier<Tag> id) const noexcept {
    return std::hash<const void*>{}(id.data());
  }
};
