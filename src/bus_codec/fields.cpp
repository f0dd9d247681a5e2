#include "fields.hpp"

#include <cstdint>
#include <cstring>

#include "nautilus/bus/topic.hpp"

namespace nautilus::bus::codec::detail {
namespace {

constexpr std::array<std::string_view, kKeyCount> kNames = {
    "v",        "topic",    "type",     "prio",    "src",        "seq",           "ts_event",
    "ts_pub",   "corr",     "reply_to", "payload", "symbol",     "bid",           "ask",
    "bid_size", "ask_size", "price",    "size",    "aggressor",  "trade_id",      "open",
    "high",     "low",      "close",    "volume",  "interval_s", "session_volume"};

}  // namespace

std::string_view key_name(Key k) noexcept { return kNames[static_cast<std::size_t>(k)]; }

namespace {

// Keys by length (the longest is 14): a lookup compares against at most six candidates.
constexpr std::size_t kMaxKeyLength = 14;
struct ByLength {
  std::array<std::array<std::uint8_t, 8>, kMaxKeyLength + 1> keys{};
  std::array<std::uint8_t, kMaxKeyLength + 1> count{};
};
constexpr ByLength kByLength = [] {
  ByLength t;
  for (std::size_t i = 0; i < kKeyCount; ++i) {
    const auto len = kNames[i].size();
    t.keys[len][t.count[len]++] = static_cast<std::uint8_t>(i);
  }
  return t;
}();

}  // namespace

std::optional<Key> key_of(std::string_view s) noexcept {
  if (s.empty() || s.size() > kMaxKeyLength) return std::nullopt;
  const auto len = s.size();
  for (std::size_t j = 0; j < kByLength.count[len]; ++j) {
    const auto i = kByLength.keys[len][j];
    const char* n = kNames[i].data();
    if (n[0] != s[0] || n[len - 1] != s[len - 1]) continue;
    bool same = true;
    for (std::size_t c = 1; c + 1 < len && same; ++c) same = n[c] == s[c];
    if (same) return static_cast<Key>(i);
  }
  return std::nullopt;
}

std::unexpected<core::Error> Fields::duplicate(Key k) const {
  return decode_error(std::string(what_) + ": field '" + std::string(key_name(k)) +
                      "' given twice");
}

std::unexpected<core::Error> Fields::missing(Key k) const {
  return decode_error(std::string(what_) + ": missing field '" + std::string(key_name(k)) + "'");
}

std::unexpected<core::Error> Fields::wrong(Key k, std::string_view expected) const {
  return decode_error(std::string(what_) + ": field '" + std::string(key_name(k)) + "' is not " +
                      std::string(expected));
}

std::unexpected<core::Error> Fields::field_error(Key k, std::string_view why) const {
  return decode_error(std::string(what_) + "." + std::string(key_name(k)) + ": " +
                      std::string(why));
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
