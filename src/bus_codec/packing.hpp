// MessagePack writing shared by the codec's files (msgpack-cxx stays inside bus_codec).
#pragma once

#include <msgpack.hpp>
#include <string>
#include <string_view>

#include "nautilus/core/fixed_point.hpp"

namespace nautilus::bus::codec::detail {

struct StringSink {
  std::string* s;
  void write(const char* d, std::size_t n) { s->append(d, n); }
};
using Packer = msgpack::packer<StringSink>;

inline void pack_str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

// Prices and quantities travel as decimal strings (exact, and readable by any client).
template <class Tag>
void pack_decimal(Packer& pk, core::FixedPoint<Tag> v) {
  core::DecimalBuffer buf;
  pack_str(pk, v.to_chars(buf));
}

}  // namespace nautilus::bus::codec::detail
