// The wire codec: an Envelope as one versioned MessagePack map (docs/WIRE_FORMAT.md), readable
// and writable by any MessagePack client (Python: `msgpack.unpackb(data)`). In process the bus
// never serializes; this is for Redis Streams, replay files and tools.
//
//   std::string bytes;
//   if (auto ok = codec::encode(env, bytes); !ok) ...;
//   core::Result<Envelope> back = codec::decode(bytes);   // never throws, never crashes
//
// Payload types the codec knows are decoded to their C++ type; any other type name is kept as
// a RawMessage (its MessagePack bytes), so an engine can forward messages it does not model.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nautilus/bus/envelope.hpp"
#include "nautilus/core/error.hpp"

namespace nautilus::bus::codec {

inline constexpr std::uint64_t kWireVersion = 1;
// Decoder limits: larger input is refused before it is parsed further.
inline constexpr std::size_t kMaxEncodedSize = 1 << 20;

// A payload of a type this build does not model: its type name and MessagePack bytes.
struct RawMessage {
  static constexpr std::string_view kTypeName = "raw";
  std::string type;
  std::string msgpack;
};

// Appends the encoding of `env` to `out`.
[[nodiscard]] core::Result<void> encode(const Envelope& env, std::string& out);
[[nodiscard]] core::Result<Envelope> decode(std::string_view bytes);

// A batch: one MessagePack array whose elements are encoded envelopes (one stream entry can
// carry many messages). `encoded` are outputs of encode(); decode_batch fails as a whole only
// when the input is not an array, and reports each element's own result.
void encode_batch(std::span<const std::string> encoded, std::string& out);
// The same batch written piecewise: this header for `count` elements, then each element's
// encode() output appended as it is.
void encode_batch_header(std::size_t count, std::string& out);
[[nodiscard]] core::Result<std::vector<core::Result<Envelope>>> decode_batch(
    std::string_view bytes);

// decode() reads the usual messages with a streaming parser and hands anything else (raw
// payloads, errors, unusual layouts) to this generic decoder, which builds a MessagePack object
// tree. Exposed so tests and the fuzz target can check that both always agree.
[[nodiscard]] core::Result<Envelope> decode_generic(std::string_view bytes);
[[nodiscard]] core::Result<std::vector<core::Result<Envelope>>> decode_batch_generic(
    std::string_view bytes);

// One line of JSON with the wire format's fields (`nautilus replay` and the deterministic
// recorder write these): the envelope's keys as on the wire, the payload from its type's
// description (Price/Quantity as decimal strings, enums by name, timestamps as integer ns,
// NaN and infinities as null). Works for raw payloads too (their MessagePack as JSON).
[[nodiscard]] core::Result<std::string> to_json(const Envelope& env);

// Type names the codec maps to C++ types.
[[nodiscard]] std::vector<std::string_view> known_types();

// A message type as the wire format sees it, from its description: `nautilus messages`
// prints these, and docs/WIRE_FORMAT.md's tables are checked against them by a test.
struct FieldInfo {
  std::string_view name;
  std::string kind;  // "dec", "str (symbol)", "array of f64", "enum (buy/sell)", ...
  bool optional = false;
};
struct TypeInfo {
  std::string_view name;
  std::size_t inline_size = 0;  // bytes inside the Envelope; 0: held on the heap
  std::vector<FieldInfo> fields;
};
[[nodiscard]] std::vector<TypeInfo> describe_types();
// The payload-types table of docs/WIRE_FORMAT.md, as Markdown.
[[nodiscard]] std::string wire_types_markdown();

}  // namespace nautilus::bus::codec
