// A direct reader of MessagePack bytes for the streaming decoder (stream_decode.cpp) and the
// typed in-order payload decoders (described.hpp): no object tree, no visitor, no allocation.
// Every read returns false on malformed input or on a value it does not take (a container
// where a scalar is asked for), and the decoder then declines to the generic decoder.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "fields.hpp"

namespace nautilus::bus::codec::detail {

// The generic decoder's limits (it refuses longer arrays and larger maps).
inline constexpr std::uint32_t kMaxArray = 4096;
inline constexpr std::uint32_t kMaxMap = 1024;

// A big-endian integer of n = 1, 2, 4 or 8 bytes (MessagePack's byte order).
[[gnu::always_inline]] inline std::uint64_t load_be(const unsigned char* p, int n) noexcept {
  switch (n) {
    case 1:
      return p[0];
    case 2: {
      std::uint16_t v;
      std::memcpy(&v, p, 2);
      return __builtin_bswap16(v);
    }
    case 4: {
      std::uint32_t v;
      std::memcpy(&v, p, 4);
      return __builtin_bswap32(v);
    }
    default: {
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      return __builtin_bswap64(v);
    }
  }
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) noexcept
      : p_(reinterpret_cast<const unsigned char*>(bytes.data())), end_(p_ + bytes.size()) {}

  [[nodiscard]] bool at_end() const noexcept { return p_ == end_; }
  // Where reading stands, to come back to it (a fast path that gives up rewinds).
  [[nodiscard]] const unsigned char* position() const noexcept { return p_; }
  void rewind(const unsigned char* p) noexcept { p_ = p; }
  // The next value is the string `s` (a key); consumed only when it is.
  [[gnu::always_inline]] bool key(std::string_view s) noexcept {
    if (p_ >= end_ || *p_ != (0xa0 | s.size()) || s.size() > 31) return false;
    if (static_cast<std::size_t>(end_ - p_ - 1) < s.size()) return false;
    if (!same_bytes(reinterpret_cast<const char*>(p_ + 1), s.data(), s.size())) return false;
    p_ += 1 + s.size();
    return true;
  }

  // A map or array header; false if the next value is not one.
  bool map_header(std::uint32_t& n) noexcept { return container(n, 0x80, 0xde); }
  bool array_header(std::uint32_t& n) noexcept { return container(n, 0x90, 0xdc); }
  [[nodiscard]] bool next_is_array() const noexcept {
    return p_ < end_ && ((*p_ & 0xf0) == 0x90 || *p_ == 0xdc || *p_ == 0xdd);
  }

  [[gnu::always_inline]] bool str(std::string_view& s) noexcept {
    if (p_ >= end_) return false;
    const unsigned char b = *p_;
    std::size_t n = 0;
    int width = 0;
    if ((b & 0xe0) == 0xa0) {
      n = b & 0x1f;
    } else if (b == 0xd9) {
      width = 1;
    } else if (b == 0xda) {
      width = 2;
    } else if (b == 0xdb) {
      width = 4;
    } else {
      return false;
    }
    ++p_;
    if (width > 0) {
      if (end_ - p_ < width) return false;
      n = load_be(p_, width);
      p_ += width;
    }
    if (static_cast<std::size_t>(end_ - p_) < n) return false;
    s = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }

  // Any value but a map or an array; false if it is one, or the input is malformed. Inlined:
  // called out of line, its result went through memory and a 16-byte reload of the Value
  // stalled on store forwarding (half of the decode time, measured with perf).
  [[gnu::always_inline]] bool scalar(Value& v) noexcept {
    if (p_ >= end_) return false;
    const unsigned char b = *p_;
    if (b <= 0x7f) {
      ++p_;
      v = Value::unsigned_int(b);
      return true;
    }
    if (b >= 0xe0) {
      ++p_;
      v = Value::signed_int(static_cast<std::int8_t>(b));
      return true;
    }
    if ((b & 0xe0) == 0xa0 || b == 0xd9 || b == 0xda || b == 0xdb) {
      std::string_view s;
      if (!str(s)) return false;
      v = Value::string(s);
      return true;
    }
    ++p_;
    switch (b) {
      case 0xc0:
        v = Value::nil();
        return true;
      case 0xc2:
      case 0xc3:
        v = Value::boolean(b == 0xc3);
        return true;
      case 0xcc:
      case 0xcd:
      case 0xce:
      case 0xcf: {
        const int w = 1 << (b - 0xcc);
        if (end_ - p_ < w) return false;
        v = Value::unsigned_int(load_be(p_, w));
        p_ += w;
        return true;
      }
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3: {
        const int w = 1 << (b - 0xd0);
        if (end_ - p_ < w) return false;
        const std::uint64_t raw = load_be(p_, w);
        p_ += w;
        // Sign-extend from w bytes. msgpack-cxx reads a non-negative signed int as unsigned,
        // and so do we, so both decoders see the same kind.
        const int shift = 64 - 8 * w;
        const auto s = static_cast<std::int64_t>(raw << shift) >> shift;
        v = s >= 0 ? Value::unsigned_int(static_cast<std::uint64_t>(s)) : Value::signed_int(s);
        return true;
      }
      case 0xca: {
        if (end_ - p_ < 4) return false;
        const auto bits = static_cast<std::uint32_t>(load_be(p_, 4));
        p_ += 4;
        v = Value::float64(std::bit_cast<float>(bits));
        return true;
      }
      case 0xcb: {
        if (end_ - p_ < 8) return false;
        v = Value::float64(std::bit_cast<double>(load_be(p_, 8)));
        p_ += 8;
        return true;
      }
      case 0xc4:
      case 0xc5:
      case 0xc6:  // bin
        return skip_sized(1 << (b - 0xc4), 0, v);
      case 0xc7:
      case 0xc8:
      case 0xc9:  // ext: size, then a type byte
        return skip_sized(1 << (b - 0xc7), 1, v);
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:  // fixext: a type byte, then 1..16 bytes
        return skip(1 + (1 << (b - 0xd4)), v);
      default:
        --p_;
        return false;  // a container, or the never-used 0xc1
    }
  }

 private:
  bool container(std::uint32_t& n, unsigned char fix, unsigned char wide16) noexcept {
    if (p_ >= end_) return false;
    const unsigned char b = *p_;
    if ((b & 0xf0) == fix) {
      n = b & 0x0f;
      ++p_;
      return true;
    }
    if (b != wide16 && b != wide16 + 1) return false;
    const int w = b == wide16 ? 2 : 4;
    if (end_ - p_ < 1 + w) return false;
    n = static_cast<std::uint32_t>(load_be(p_ + 1, w));
    p_ += 1 + w;
    return true;
  }
  bool skip(std::size_t n, Value& v) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < n) return false;
    p_ += n;
    v = Value::other();
    return true;
  }
  bool skip_sized(int width, std::size_t extra, Value& v) noexcept {
    if (end_ - p_ < width) return false;
    const std::size_t n = load_be(p_, width);
    p_ += width;
    return skip(n + extra, v);
  }

  const unsigned char* p_;
  const unsigned char* end_;
};

}  // namespace nautilus::bus::codec::detail
