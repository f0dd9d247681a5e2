// The payload types the wire format knows, one entry per type of model::AllMessages, each
// generated from the type's description (described.hpp): how it is written and read, and the
// field table both decoders resolve its keys against.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "fields.hpp"
#include "nautilus/bus/codec.hpp"
#include "nautilus/bus/payload.hpp"
#include "packing.hpp"
#include "reader.hpp"

namespace nautilus::bus::codec::detail {

struct MessageCodec {
  std::string_view type;
  const void* type_id;  // Payload::type_id<T>()
  FieldTable fields;
  bool (*encode)(Packer& pk, const Payload& p);  // false if p is not this type
  core::Result<Payload> (*decode)(const Fields& m);
  bool (*decode_in_order)(Reader& r, Payload& out);  // the fast path (described.hpp)
  TypeInfo (*info)();
};

// The codec of a known type name; nullptr for any other (it then travels as a RawMessage).
[[nodiscard]] const MessageCodec* find_codec(std::string_view type) noexcept;
// The codec of the payload's type; nullptr if it has none.
[[nodiscard]] const MessageCodec* codec_of(const Payload& p) noexcept;
[[nodiscard]] std::span<const MessageCodec> all_codecs() noexcept;

}  // namespace nautilus::bus::codec::detail
