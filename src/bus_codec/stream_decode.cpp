// The fast decoder: a direct reader of the MessagePack bytes (no object tree, no generic
// visitor), written for the shape encode() produces and the usual variations of other writers
// (fields in any order, any integer or string width, unknown keys, arrays of scalars in a
// payload). Fields land straight in Fields tables, keys resolved with a guess at the next
// field first (writers keep a type's field order). It accepts only what it fully understands
// and never words an error: for anything else (a raw payload, a nested container, a duplicate
// key, any error) it declines and decode() asks the generic decoder, which is the reference
// for results and errors (tests and the fuzz target check that both agree).
#include <cstring>

#include "decoders.hpp"
#include "payloads.hpp"
#include "reader.hpp"

namespace nautilus::bus::codec::detail {
namespace {

class EnvelopeDecoder {
 public:
  // One envelope map into `env`; false: not the common shape, ask the generic decoder.
  bool decode(Reader& r, Envelope& env) {
    const auto* start = r.position();
    if (in_order(r, env)) return true;
    r.rewind(start);
    env = Envelope{};  // nothing the fast path set may leak into the general read
    return any_order(r, env);
  }

 private:
  // The envelope exactly as encode() writes it: keys in its order, values read straight into
  // the Envelope. False for anything else; any_order() then reads it the general way.
  static bool in_order(Reader& r, Envelope& env) {
    using namespace std::string_view_literals;  // keys known at compile time: no strlen
    std::uint32_t n = 0;
    if (!r.map_header(n) || n < 9 || n > 11) return false;
    std::uint64_t version = 0, prio = 0;
    std::string_view type;
    if (!uint_field(r, "v"sv, version) || version != kWireVersion) return false;
    if (!name_field(r, "topic"sv, env.topic)) return false;
    if (!r.key("type"sv) || !r.str(type)) return false;
    if (!uint_field(r, "prio"sv, prio) || prio >= kPriorityCount) return false;
    env.priority = static_cast<Priority>(prio);
    if (!name_field(r, "src"sv, env.source) || !uint_field(r, "seq"sv, env.sequence)) return false;
    if (!time_field(r, "ts_event"sv, env.ts_event) || !time_field(r, "ts_pub"sv, env.ts_publish)) {
      return false;
    }
    std::uint32_t left = n - 8;
    if (left > 1 && uint_field(r, "corr"sv, env.correlation_id)) --left;
    if (left > 1) {
      std::string_view s;
      if (!r.key("reply_to"sv) || !r.str(s)) return false;
      if (!s.empty()) {
        auto t = create_name<Topic>(s);
        if (!t) return false;
        env.reply_to = *t;
      }
      --left;
    }
    if (left != 1 || !r.key("payload"sv)) return false;
    const MessageCodec* codec = find_codec(type);
    return codec != nullptr && codec->decode_in_order(r, env.payload);
  }

  [[gnu::always_inline]] static bool uint_field(Reader& r, std::string_view k, std::uint64_t& out) {
    Value v;
    if (!r.key(k) || !r.scalar(v) || v.kind != Value::Kind::kUint) return false;
    out = v.u64();
    return true;
  }
  [[gnu::always_inline]] static bool time_field(Reader& r, std::string_view k,
                                                core::UnixNanos& out) {
    Value v;
    if (!r.key(k) || !r.scalar(v)) return false;
    if (v.kind == Value::Kind::kInt) {
      out = v.i64();
    } else if (v.kind == Value::Kind::kUint && v.u64() <= static_cast<std::uint64_t>(INT64_MAX)) {
      out = static_cast<core::UnixNanos>(v.u64());
    } else {
      return false;
    }
    return true;
  }
  template <class Id>
  [[gnu::always_inline]] static bool name_field(Reader& r, std::string_view k, Id& out) {
    std::string_view s;
    if (!r.key(k) || !r.str(s)) return false;
    if (remembered_name(s, out)) return true;
    auto id = create_name<Id>(s);
    if (!id) return false;
    out = *id;
    return true;
  }

  // Keys in any order, unknown keys skipped, through Fields tables.
  bool any_order(Reader& r, Envelope& env) {
    std::uint32_t n = 0;
    if (!r.map_header(n) || n > kMaxMap) return false;
    header_.reset(&header_table());
    const MessageCodec* codec = nullptr;
    std::size_t hint = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
      std::string_view key;
      if (!r.str(key)) return false;
      const auto k = header_table().find(key, hint);
      if (k && *k == static_cast<std::size_t>(Key::kPayload)) {
        // The payload's keys are resolved against its type's fields, so the type must be
        // known by now (encode() writes it first).
        const Value* type = header_.find(Key::kType);
        if (type == nullptr || type->kind != Value::Kind::kStr) return false;
        codec = find_codec(type->str());
        if (codec == nullptr || !payload(r, *codec)) return false;  // a raw payload: generic
        if (!header_.set(*k, Value::other())) return false;
        continue;
      }
      Value v;
      if (!r.scalar(v)) return false;  // a container where the envelope has none
      if (k) {
        if (!header_.set(*k, v)) return false;
        hint = *k + 1;
      }
    }
    auto type = decode_header(header_, env);
    if (!type || codec == nullptr) return false;
    auto p = codec->decode(payload_);
    if (!p) return false;
    env.payload = std::move(*p);
    return true;
  }

  bool payload(Reader& r, const MessageCodec& codec) {
    std::uint32_t n = 0;
    if (!r.map_header(n) || n > kMaxMap) return false;
    payload_.reset(&codec.fields);
    std::size_t hint = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
      std::string_view key;
      if (!r.str(key)) return false;
      const auto k = codec.fields.find(key, hint);
      Value v;
      if (r.next_is_array()) {
        std::uint32_t items = 0;
        if (!r.array_header(items) || items > kMaxArray) return false;
        const std::size_t first = payload_.item_count();
        for (std::uint32_t j = 0; j < items; ++j) {
          Value item;
          if (!r.scalar(item)) return false;  // nested containers: generic
          if (k) payload_.add_item(item);
        }
        v = Value::array(first, k ? items : 0);
      } else if (!r.scalar(v)) {
        return false;
      }
      if (k) {
        if (!payload_.set(*k, v)) return false;
        hint = *k + 1;
      }
    }
    return true;
  }

  Fields header_{&header_table()};
  Fields payload_{&header_table()};
};

}  // namespace

bool stream_decode(std::string_view bytes, Envelope& out) {
  if (bytes.size() > kMaxEncodedSize) return false;
  Reader r(bytes);
  EnvelopeDecoder d;
  return d.decode(r, out) && r.at_end();
}

bool stream_decode_batch(std::string_view bytes, std::vector<core::Result<Envelope>>& out) {
  if (bytes.size() > kMaxEncodedSize) return false;
  Reader r(bytes);
  std::uint32_t n = 0;
  if (!r.array_header(n) || n > kMaxArray) return false;
  out.reserve(n);
  EnvelopeDecoder d;
  for (std::uint32_t i = 0; i < n; ++i) {
    Envelope env;
    if (!d.decode(r, env)) {
      out.clear();
      return false;
    }
    out.emplace_back(std::move(env));
  }
  if (!r.at_end()) {
    out.clear();
    return false;
  }
  return true;
}

}  // namespace nautilus::bus::codec::detail
