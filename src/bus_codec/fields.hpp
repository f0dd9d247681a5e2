// The fields of one MessagePack map, as both decoders see them: the streaming decoder
// (stream_decode.cpp) fills them while it parses, the generic one (generic_decode.cpp) fills
// them from an object tree. Everything that turns fields into an Envelope (decode_header in
// codec.cpp, the described payload decoders in described.hpp) is written once, against this
// view, so the two decoders cannot drift apart.
//
// Each map has a FieldTable: the envelope's keys, or one message type's field names (from its
// description). Keys are resolved to an index once, when the map is read, so asking for a
// field is an array access. Keys the table does not have are ignored (newer writers may add
// fields); a known key given twice makes the map ambiguous and is an error.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nautilus/core/error.hpp"
#include "nautilus/core/identifiers.hpp"

namespace nautilus::bus::codec::detail {

// The envelope's keys, in the order of kHeaderNames (fields.cpp).
enum class Key : std::uint8_t {
  kV,
  kTopic,
  kType,
  kPrio,
  kSrc,
  kSeq,
  kTsEvent,
  kTsPub,
  kCorr,
  kReplyTo,
  kEp,
  kPayload,
  kCount
};

// A map's known keys: `what` names the map in errors ("envelope", "quote_tick").
// Equality of two strings of `n` bytes, inlined: keys and names are short, and a libc memcmp
// call per key was a sixth of decode time. Overlapping 8- or 4-byte loads cover any length.
[[gnu::always_inline]] inline bool same_bytes(const char* a, const char* b,
                                              std::size_t n) noexcept {
  const auto load8 = [](const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  const auto load4 = [](const char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  };
  if (n >= 8) {
    if (load8(a) != load8(b) || load8(a + n - 8) != load8(b + n - 8)) return false;
    return n <= 16 || std::memcmp(a + 8, b + 8, n - 16) == 0;
  }
  if (n >= 4) return load4(a) == load4(b) && load4(a + n - 4) == load4(b + n - 4);
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

struct FieldTable {
  std::string_view what;
  std::span<const std::string_view> names;

  // The index of `key` in names, if it has one. `hint` is tried first: writers keep a type's
  // field order, so the field after the last one found is usually the next.
  [[nodiscard]] std::optional<std::size_t> find(std::string_view key,
                                                std::size_t hint = 0) const noexcept {
    if (hint < names.size() && same(names[hint], key)) return hint;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (same(names[i], key)) return i;
    }
    return std::nullopt;
  }

 private:
  static bool same(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && same_bytes(a.data(), b.data(), a.size());
  }
};
[[nodiscard]] const FieldTable& header_table() noexcept;

// One decoded MessagePack value. Strings point into the decoded bytes; an array's items live
// in the owning Fields (items()). Trivial, so a Fields table costs nothing to set up.
struct Value {
  // kOther: bin, ext or map (never what a field wants).
  enum class Kind : std::uint8_t { kStr, kUint, kInt, kDouble, kBool, kNil, kArray, kOther };
  Kind kind;
  std::uint32_t count;  // kStr: length; kArray: number of items
  std::uint64_t bits;   // kUint/kInt/kDouble/kBool: the value's bits; kArray: first item
  const char* ptr;      // kStr

  static Value string(std::string_view s) noexcept {
    return {Kind::kStr, static_cast<std::uint32_t>(s.size()), 0, s.data()};
  }
  static Value unsigned_int(std::uint64_t v) noexcept { return {Kind::kUint, 0, v, nullptr}; }
  static Value signed_int(std::int64_t v) noexcept {
    return {Kind::kInt, 0, std::bit_cast<std::uint64_t>(v), nullptr};
  }
  static Value float64(double v) noexcept {
    return {Kind::kDouble, 0, std::bit_cast<std::uint64_t>(v), nullptr};
  }
  static Value boolean(bool v) noexcept { return {Kind::kBool, 0, v ? 1U : 0U, nullptr}; }
  static Value nil() noexcept { return {Kind::kNil, 0, 0, nullptr}; }
  static Value array(std::size_t first, std::size_t n) noexcept {
    return {Kind::kArray, static_cast<std::uint32_t>(n), first, nullptr};
  }
  static Value other() noexcept { return {Kind::kOther, 0, 0, nullptr}; }

  [[nodiscard]] std::string_view str() const noexcept { return {ptr, count}; }
  [[nodiscard]] std::uint64_t u64() const noexcept { return bits; }
  // kInt is always negative: MessagePack writes non-negative integers as kUint.
  [[nodiscard]] std::int64_t i64() const noexcept { return std::bit_cast<std::int64_t>(bits); }
  [[nodiscard]] double f64() const noexcept { return std::bit_cast<double>(bits); }
};

// Id::create(s) (validate and intern), remembered per thread: the same few topics, sources and
// symbols arrive over and over, and a remembered name costs a hash and one comparison instead
// of a validation and a lookup in the intern pool. Defined for Topic, EngineId and Symbol.
template <class Id>
[[nodiscard]] core::Result<Id> create_name(std::string_view s);

namespace names {
inline constexpr std::size_t kMemoLength = 47;  // longer names are rare, and just created

// Cheap, and good enough to spread a few hundred names over the slots.
[[gnu::always_inline]] inline std::size_t hash(std::string_view s) noexcept {
  std::uint64_t h = s.size();
  if (s.size() >= 8) {
    std::uint64_t a, b;
    std::memcpy(&a, s.data(), 8);
    std::memcpy(&b, s.data() + s.size() - 8, 8);
    h ^= a * 0x9e3779b97f4a7c15ULL;
    h ^= b * 0xc2b2ae3d27d4eb4fULL;
  } else if (s.size() >= 4) {  // two overlapping 4-byte loads: no loop over characters
    std::uint32_t a, b;
    std::memcpy(&a, s.data(), 4);
    std::memcpy(&b, s.data() + s.size() - 4, 4);
    h ^= ((std::uint64_t{a} << 32) | b) * 0x9e3779b97f4a7c15ULL;
  } else {
    for (char c : s) h = h * 131 + static_cast<unsigned char>(c);
    h *= 0x9e3779b97f4a7c15ULL;
  }
  return static_cast<std::size_t>(h ^ (h >> 29));
}

template <class Id>
struct Memo {
  struct Slot {
    std::uint8_t len_plus_one = 0;  // 0: empty (all zero bytes: no start-up code per thread)
    std::array<char, kMemoLength> bytes{};
    Id id;
  };
  std::array<Slot, 512> slots{};
};
template <class Id>
Memo<Id>& memo() noexcept {
  thread_local constinit Memo<Id> m{};
  return m;
}
}  // namespace names

// The remembered Id for `s`, if this thread has seen it: the inlined fast path of create_name.
template <class Id>
[[gnu::always_inline]] inline bool remembered_name(std::string_view s, Id& out) noexcept {
  if (s.size() > names::kMemoLength) return false;
  const auto& slot = names::memo<Id>().slots[names::hash(s) % 512];
  if (slot.len_plus_one != s.size() + 1 || !same_bytes(slot.bytes.data(), s.data(), s.size())) {
    return false;
  }
  out = slot.id;
  return true;
}

[[nodiscard]] inline std::unexpected<core::Error> decode_error(std::string msg) {
  return core::fail(core::ErrorCode::kDecode, std::move(msg));
}

class Fields {
 public:
  static constexpr std::size_t kMaxFields = 64;  // present_ is a 64-bit set

  explicit Fields(const FieldTable* table) noexcept : table_(table) {}
  Fields(const Fields&) = delete;
  Fields& operator=(const Fields&) = delete;

  // Starts a new map read against `table`.
  void reset(const FieldTable* table) noexcept {
    table_ = table;
    present_ = 0;
    items_.clear();
  }
  [[nodiscard]] const FieldTable& table() const noexcept { return *table_; }

  // Records field `i`; false if it was already given.
  bool set(std::size_t i, const Value& v) noexcept {
    const auto bit = std::uint64_t{1} << i;
    if (present_ & bit) return false;
    present_ |= bit;
    values_[i] = v;
    return true;
  }
  [[nodiscard]] const Value* find(std::size_t i) const noexcept {
    return (present_ >> i) & 1U ? &values_[i] : nullptr;
  }
  [[nodiscard]] const Value* find(Key k) const noexcept {
    return find(static_cast<std::size_t>(k));
  }
  // Array items: decoders append an array's items here, then set() a Value::array over them.
  [[nodiscard]] std::size_t item_count() const noexcept { return items_.size(); }
  void add_item(const Value& v) { items_.push_back(v); }
  [[nodiscard]] std::span<const Value> items(const Value& array) const noexcept {
    return {items_.data() + array.bits, array.count};
  }

  // Envelope accessors (decode_header).
  [[nodiscard]] core::Result<std::string_view> str(Key k) const;
  [[nodiscard]] core::Result<std::string_view> str_or_empty(Key k) const;
  [[nodiscard]] core::Result<std::int64_t> i64(Key k) const;
  [[nodiscard]] core::Result<std::uint64_t> u64(Key k) const;
  [[nodiscard]] core::Result<std::uint64_t> u64_or(Key k, std::uint64_t dflt) const;
  [[nodiscard]] core::Result<bool> bool_or(Key k, bool dflt) const;

  // Errors naming the map and the field, e.g. "bar: field 'open' is not a string".
  [[nodiscard]] std::unexpected<core::Error> duplicate(std::size_t i) const;
  [[nodiscard]] std::unexpected<core::Error> missing(std::size_t i) const;
  [[nodiscard]] std::unexpected<core::Error> wrong(std::size_t i, std::string_view expected) const;
  // "bar.open: <why>" (a value of the right kind that is not valid).
  [[nodiscard]] std::unexpected<core::Error> field_error(std::size_t i, std::string_view why) const;

 private:
  const FieldTable* table_;
  std::uint64_t present_ = 0;
  std::array<Value, kMaxFields> values_;  // only present ones are read; left uninitialised
  std::vector<Value> items_;
};

}  // namespace nautilus::bus::codec::detail
