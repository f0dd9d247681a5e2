#include "fields.hpp"

#include <cstdint>
#include <cstring>

#include "nautilus/bus/topic.hpp"

namespace nautilus::bus::codec::detail {
namespace {

constexpr std::array<std::string_view, static_cast<std::size_t>(Key::kCount)> kHeaderNames = {
    "v",        "topic",  "type", "prio",     "src",    "seq",
    "ts_event", "ts_pub", "corr", "reply_to", "payload"};
constexpr FieldTable kHeader{"envelope", kHeaderNames};

std::string name_of(const FieldTable& t, std::size_t i) { return std::string(t.names[i]); }

}  // namespace

const FieldTable& header_table() noexcept { return kHeader; }

std::unexpected<core::Error> Fields::duplicate(std::size_t i) const {
  return decode_error(std::string(table_->what) + ": field '" + name_of(*table_, i) +
                      "' given twice");
}

std::unexpected<core::Error> Fields::missing(std::size_t i) const {
  return decode_error(std::string(table_->what) + ": missing field '" + name_of(*table_, i) + "'");
}

std::unexpected<core::Error> Fields::wrong(std::size_t i, std::string_view expected) const {
  return decode_error(std::string(table_->what) + ": field '" + name_of(*table_, i) + "' is not " +
                      std::string(expected));
}

std::unexpected<core::Error> Fields::field_error(std::size_t i, std::string_view why) const {
  return decode_error(std::string(table_->what) + "." + name_of(*table_, i) + ": " +
                      std::string(why));
}

core::Result<std::string_view> Fields::str(Key k) const {
  const auto i = static_cast<std::size_t>(k);
  const auto* v = find(i);
  if (!v) return missing(i);
  if (v->kind != Value::Kind::kStr) return wrong(i, "a string");
  return v->str();
}

core::Result<std::string_view> Fields::str_or_empty(Key k) const {
  if (!find(k)) return std::string_view{};
  return str(k);
}

core::Result<std::int64_t> Fields::i64(Key k) const {
  const auto i = static_cast<std::size_t>(k);
  const auto* v = find(i);
  if (!v) return missing(i);
  if (v->kind == Value::Kind::kInt) return v->i64();
  if (v->kind == Value::Kind::kUint && v->u64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v->u64());
  }
  return wrong(i, "a signed 64-bit integer");
}

core::Result<std::uint64_t> Fields::u64(Key k) const {
  const auto i = static_cast<std::size_t>(k);
  const auto* v = find(i);
  if (!v) return missing(i);
  if (v->kind != Value::Kind::kUint) return wrong(i, "an unsigned integer");
  return v->u64();
}

core::Result<std::uint64_t> Fields::u64_or(Key k, std::uint64_t dflt) const {
  if (!find(k)) return dflt;
  return u64(k);
}

namespace {

// Names up to this long are remembered (longer ones are rare and just created).
constexpr std::size_t kMemoLength = 47;

// The 8 bytes of `s` from `offset` (offset + 8 <= s.size()).
std::uint64_t load8(std::string_view s, std::size_t offset) noexcept {
  std::uint64_t v;
  std::memcpy(&v, s.substr(offset, 8).data(), 8);
  return v;
}

// Cheap, and good enough to spread a few hundred names over the slots.
std::size_t name_hash(std::string_view s) noexcept {
  std::uint64_t h = s.size();
  if (s.size() >= 8) {
    h ^= load8(s, 0) * 0x9e3779b97f4a7c15ULL;
    h ^= load8(s, s.size() - 8) * 0xc2b2ae3d27d4eb4fULL;
  } else {
    for (char c : s) h = h * 131 + static_cast<unsigned char>(c);
    h *= 0x9e3779b97f4a7c15ULL;
  }
  return static_cast<std::size_t>(h ^ (h >> 29));
}

template <class Id>
struct NameMemo {
  struct Slot {
    std::uint8_t len = 0xff;  // none
    std::array<char, kMemoLength> bytes;
    Id id;
  };
  std::array<Slot, 512> slots;
};

}  // namespace

template <class Id>
core::Result<Id> create_name(std::string_view s) {
  if (s.size() > kMemoLength) return Id::create(s);
  thread_local NameMemo<Id> memo;
  auto& slot = memo.slots[name_hash(s) % memo.slots.size()];
  if (slot.len == s.size() && std::memcmp(slot.bytes.data(), s.data(), s.size()) == 0) {
    return slot.id;
  }
  auto id = Id::create(s);
  if (!id) return id;
  slot.len = static_cast<std::uint8_t>(s.size());
  std::memcpy(slot.bytes.data(), s.data(), s.size());
  slot.id = *id;
  return id;
}

template core::Result<Topic> create_name<Topic>(std::string_view);
template core::Result<core::EngineId> create_name<core::EngineId>(std::string_view);
template core::Result<core::Symbol> create_name<core::Symbol>(std::string_view);

}  // namespace nautilus::bus::codec::detail
