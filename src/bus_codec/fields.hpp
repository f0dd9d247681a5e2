// The known fields of one MessagePack map, as both decoders see them: the streaming decoder
// (stream_decode.cpp) fills them while it parses, the generic one (generic_decode.cpp) fills
// them from an object tree. Everything that turns fields into an Envelope (envelope_fields.cpp,
// payloads.cpp) is written once, against this view, so the two decoders cannot drift apart.
//
// Keys are resolved to a Key once, when the map is read, so asking for a field is an index.
// Keys the format does not use are ignored (newer writers may add fields); a known key given
// twice makes the map ambiguous and is an error.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "nautilus/core/error.hpp"
#include "nautilus/core/identifiers.hpp"

namespace nautilus::bus::codec::detail {

// Every key of the format: the envelope's and all payload types'.
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
  kPayload,
  kSymbol,
  kBid,
  kAsk,
  kBidSize,
  kAskSize,
  kPrice,
  kSize,
  kAggressor,
  kTradeId,
  kOpen,
  kHigh,
  kLow,
  kClose,
  kVolume,
  kIntervalS,
  kSessionVolume,
  kCount
};
inline constexpr std::size_t kKeyCount = static_cast<std::size_t>(Key::kCount);

[[nodiscard]] std::string_view key_name(Key k) noexcept;
// The Key spelled `s`, if the format has one.
[[nodiscard]] std::optional<Key> key_of(std::string_view s) noexcept;

struct Value {
  // kOther: nil, bool, float, bin, ext, array or map (never what a scalar field wants).
  enum class Kind : std::uint8_t { kStr, kUint, kInt, kOther };
  Kind kind = Kind::kOther;
  std::string_view str;    // kStr: points into the decoded bytes
  std::uint64_t uint = 0;  // kUint
  std::int64_t sint = 0;   // kInt (always negative: MessagePack writes non-negatives as kUint)
};

// Id::create(s) (validate and intern), remembered per thread: the same few topics, sources and
// symbols arrive over and over, and a remembered name costs one comparison instead of a
// validation and a hash lookup. Defined for Topic, EngineId and Symbol.
template <class Id>
[[nodiscard]] core::Result<Id> create_name(std::string_view s);

[[nodiscard]] inline std::unexpected<core::Error> decode_error(std::string msg) {
  return core::fail(core::ErrorCode::kDecode, std::move(msg));
}

class Fields {
 public:
  explicit Fields(std::string_view what) : what_(what) {}

  // Records a field; false if the key was already given.
  bool set(Key k, const Value& v) noexcept {
    const auto bit = std::uint32_t{1} << static_cast<unsigned>(k);
    if (present_ & bit) return false;
    present_ |= bit;
    values_[static_cast<std::size_t>(k)] = v;
    return true;
  }
  void clear() noexcept { present_ = 0; }
  [[nodiscard]] std::unexpected<core::Error> duplicate(Key k) const;

  [[nodiscard]] const Value* find(Key k) const noexcept {
    return (present_ >> static_cast<unsigned>(k)) & 1U ? &values_[static_cast<std::size_t>(k)]
                                                       : nullptr;
  }
  [[nodiscard]] core::Result<const Value*> need(Key k) const {
    const auto* v = find(k);
    if (!v) return missing(k);
    return v;
  }
  [[nodiscard]] core::Result<std::string_view> str(Key k) const {
    const auto* v = find(k);
    if (!v) return missing(k);
    if (v->kind != Value::Kind::kStr) return wrong(k, "a string");
    return v->str;
  }
  [[nodiscard]] core::Result<std::string_view> str_or_empty(Key k) const {
    if (!find(k)) return std::string_view{};
    return str(k);
  }
  [[nodiscard]] core::Result<std::int64_t> i64(Key k) const {
    const auto* v = find(k);
    if (!v) return missing(k);
    if (v->kind == Value::Kind::kInt) return v->sint;
    if (v->kind == Value::Kind::kUint && v->uint <= static_cast<std::uint64_t>(INT64_MAX)) {
      return static_cast<std::int64_t>(v->uint);
    }
    return wrong(k, "a signed 64-bit integer");
  }
  [[nodiscard]] core::Result<std::uint64_t> u64(Key k) const {
    const auto* v = find(k);
    if (!v) return missing(k);
    if (v->kind != Value::Kind::kUint) return wrong(k, "an unsigned integer");
    return v->uint;
  }
  [[nodiscard]] core::Result<std::uint64_t> u64_or(Key k, std::uint64_t dflt) const {
    if (!find(k)) return dflt;
    return u64(k);
  }
  [[nodiscard]] core::Result<core::Symbol> symbol(Key k) const {
    auto s = str(k);
    if (!s) return std::unexpected(s.error());
    auto v = create_name<core::Symbol>(*s);
    if (!v) return field_error(k, v.error().message);
    return v;
  }
  template <class FP>
  [[nodiscard]] core::Result<FP> decimal(Key k) const {
    auto s = str(k);
    if (!s) return std::unexpected(s.error());
    auto v = FP::from_string(*s);
    if (!v) return field_error(k, v.error().message);
    return v;
  }

  void set_what(std::string_view what) noexcept { what_ = what; }

 private:
  [[nodiscard]] std::unexpected<core::Error> missing(Key k) const;
  [[nodiscard]] std::unexpected<core::Error> wrong(Key k, std::string_view expected) const;
  [[nodiscard]] std::unexpected<core::Error> field_error(Key k, std::string_view why) const;

  static_assert(kKeyCount <= 32, "present_ is a 32-bit set");
  std::uint32_t present_ = 0;
  std::array<Value, kKeyCount> values_;
  std::string_view what_;
};

}  // namespace nautilus::bus::codec::detail
