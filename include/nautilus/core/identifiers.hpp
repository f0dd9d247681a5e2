// Identifier<Tag>: a validated, interned name (engine, symbol, topic) that is 8 bytes,
// trivially copyable and compared by pointer, so it can sit inside hot-path messages.
//
//   auto id = EngineId::create("risk");       // Result<EngineId>
//   Symbol s = Symbol::from_trusted("AAPL");  // literals known to be valid
//   if (s == Symbol::from_trusted("AAPL")) ... // pointer compare
#pragma once

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "nautilus/core/error.hpp"

namespace nautilus::core {

// Interned strings are never freed, so the pool is bounded: names (engines, symbols, topics)
// are a finite vocabulary, and a peer sending endless new names must not grow memory forever.
inline constexpr std::size_t kMaxInternedStrings = 1'000'000;

// Returns a view of a process-lifetime copy of `s`; equal strings give the same pointer.
// Thread-safe. kCapacity once kMaxInternedStrings distinct strings exist.
[[nodiscard]] Result<std::string_view> intern(std::string_view s);
[[nodiscard]] std::size_t interned_count();

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

// The one empty name: string literals may have a different address per translation unit,
// and identifiers compare by address. (An inline variable has one address program-wide.)
inline constexpr char kEmptyName[1] = {'\0'};

template <class Tag>
class Identifier {
 public:
  constexpr Identifier() noexcept = default;

  [[nodiscard]] static Result<Identifier> create(std::string_view s) {
    if (auto ok = validate_name(s, Tag::kMaxLength, Tag::kWhat); !ok) {
      return std::unexpected(ok.error());
    }
    auto interned = intern(s);
    if (!interned) return std::unexpected(interned.error());
    return Identifier(*interned);
  }
  // For names the program itself spells, at start-up: throws std::invalid_argument.
  [[nodiscard]] static Identifier from_trusted(std::string_view s) {
    auto r = create(s);
    if (!r) throw std::invalid_argument(r.error().message);
    return *r;
  }

  [[nodiscard]] std::string_view value() const noexcept { return {data_, size_}; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] const char* data() const noexcept { return data_; }

  friend bool operator==(Identifier a, Identifier b) noexcept { return a.data_ == b.data_; }

 private:
  explicit Identifier(std::string_view interned) noexcept
      : data_(interned.data()), size_(static_cast<unsigned>(interned.size())) {}

  const char* data_ = kEmptyName;
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
