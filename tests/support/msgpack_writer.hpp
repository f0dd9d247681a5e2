// A few MessagePack bytes by hand, for layouts our encoder never writes (fields in another
// order, missing or mistyped fields, unknown keys), as another writer may send them.
//
//   Mp m;
//   m.map(2).str("symbol").str("AAPL").str("vpin").f64(0.3);
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

namespace nautilus::testing_support {

struct Mp {
  std::string b;
  Mp& map(unsigned n) { return b += static_cast<char>(0x80 | n), *this; }
  Mp& arr(unsigned n) { return b += static_cast<char>(0x90 | n), *this; }
  Mp& str(std::string_view s) {
    b += static_cast<char>(0xa0 | s.size());
    b += s;
    return *this;
  }
  Mp& uint(std::uint64_t v) {
    b += '\xcf';
    for (int i = 7; i >= 0; --i) b += static_cast<char>(v >> (8 * i));
    return *this;
  }
  Mp& f64(double d) {
    b += '\xcb';
    const auto v = std::bit_cast<std::uint64_t>(d);
    for (int i = 7; i >= 0; --i) b += static_cast<char>(v >> (8 * i));
    return *this;
  }
  Mp& boolean(bool v) { return b += v ? '\xc3' : '\xc2', *this; }
  Mp& nil() { return b += '\xc0', *this; }
  Mp& raw(std::string_view bytes) { return b += bytes, *this; }
};

// An envelope map around a payload written by hand: `payload` must be one MessagePack value.
inline std::string envelope_with(std::string_view type, std::string_view payload) {
  Mp m;
  m.map(9).str("v").uint(1).str("topic").str("test.topic").str("type").str(type);
  m.str("prio").uint(1).str("src").str("py").str("seq").uint(1).str("ts_event").uint(1);
  m.str("ts_pub").uint(2).str("payload").raw(payload);
  return m.b;
}

}  // namespace nautilus::testing_support
