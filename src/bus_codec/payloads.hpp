// The payload types the wire format knows: how each is written and read (docs/WIRE_FORMAT.md).
#pragma once

#include <string_view>
#include <vector>

#include "fields.hpp"
#include "nautilus/bus/payload.hpp"
#include "packing.hpp"

namespace nautilus::bus::codec::detail {

// Writes the payload as its type's map; false if the type has no codec.
[[nodiscard]] bool encode_known_payload(Packer& pk, const Payload& p);

using PayloadDecoder = core::Result<Payload> (*)(const Fields& m);
// The decoder of a known type name; nullptr for any other (it then travels as a RawMessage).
[[nodiscard]] PayloadDecoder payload_decoder(std::string_view type) noexcept;

[[nodiscard]] std::vector<std::string_view> known_type_names();

}  // namespace nautilus::bus::codec::detail
