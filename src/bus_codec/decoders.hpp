// The codec's two decoders and what they share (see fields.hpp).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "fields.hpp"
#include "nautilus/bus/codec.hpp"

namespace nautilus::bus::codec::detail {

// The envelope's own fields into `env` (all but the payload); returns the payload's type name.
[[nodiscard]] core::Result<std::string_view> decode_header(const Fields& m, Envelope& env);

// The streaming decoder (stream_decode.cpp): nullopt / false when the input is anything but
// the common shape, which then goes to the generic decoder.
[[nodiscard]] bool stream_decode(std::string_view bytes, Envelope& out);
[[nodiscard]] bool stream_decode_batch(std::string_view bytes,
                                       std::vector<core::Result<Envelope>>& out);

}  // namespace nautilus::bus::codec::detail
