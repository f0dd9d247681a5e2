// The generic decoder: msgpack-cxx builds the object tree, which handles every input the
// format allows (raw payloads of types this build does not model, fields in any order, extra
// nesting) and words every error. decode() only comes here when the streaming decoder
// declines, so this is also the reference the streaming decoder is tested against.
#include <exception>
#include <msgpack.hpp>
#include <string>

#include "decoders.hpp"
#include "payloads.hpp"

namespace nautilus::bus::codec {
namespace {

using core::Result;
using detail::decode_error;
using detail::Fields;
using detail::Key;
using detail::Value;

const msgpack::unpack_limit kLimits(/*array=*/4096, /*map=*/1024, /*str=*/kMaxEncodedSize,
                                    /*bin=*/kMaxEncodedSize, /*ext=*/kMaxEncodedSize,
                                    /*depth=*/32);

// Parses one MessagePack value that must span all of `bytes`.
Result<msgpack::object_handle> parse(std::string_view bytes) {
  if (bytes.size() > kMaxEncodedSize) return decode_error("message larger than 1 MiB");
  msgpack::object_handle oh;
  try {
    std::size_t offset = 0;
    // Strings and binaries point into `bytes` instead of being copied: every decoded value is
    // copied out (or interned) before `bytes` goes away.
    const auto by_reference = [](msgpack::type::object_type, std::size_t, void*) { return true; };
    oh = msgpack::unpack(bytes.data(), bytes.size(), offset, by_reference, nullptr, kLimits);
    if (offset != bytes.size()) return decode_error("trailing bytes after the message");
  } catch (const std::exception& e) {
    return decode_error(std::string("not valid MessagePack: ") + e.what());
  }
  return oh;
}

Value scalar_of(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::STR:
      return Value::string(std::string_view(o.via.str.ptr, o.via.str.size));
    case msgpack::type::POSITIVE_INTEGER:
      return Value::unsigned_int(o.via.u64);
    case msgpack::type::NEGATIVE_INTEGER:
      return Value::signed_int(o.via.i64);
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return Value::float64(o.via.f64);
    case msgpack::type::BOOLEAN:
      return Value::boolean(o.via.boolean);
    case msgpack::type::NIL:
      return Value::nil();
    default:
      return Value::other();  // bin, ext, map, and an array inside an array
  }
}

// A field's value; an array's items go into `f` first.
Value value_of(const msgpack::object& o, Fields& f) {
  if (o.type != msgpack::type::ARRAY) return scalar_of(o);
  const std::size_t first = f.item_count();
  for (std::uint32_t i = 0; i < o.via.array.size; ++i) f.add_item(scalar_of(o.via.array.ptr[i]));
  return Value::array(first, o.via.array.size);
}

// The map's known fields into `f` (`o` is a map).
Result<void> flatten(const msgpack::object& o, Fields& f) {
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) continue;
    const auto k = f.table().find(std::string_view(kv.key.via.str.ptr, kv.key.via.str.size));
    if (!k) continue;
    if (!f.set(*k, value_of(kv.val, f))) return f.duplicate(*k);
  }
  return {};
}

const msgpack::object* payload_of(const msgpack::object& o) {
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (kv.key.type == msgpack::type::STR &&
        std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == "payload") {
      return &kv.val;
    }
  }
  return nullptr;
}

Result<Envelope> decode_object(const msgpack::object& obj) {
  if (obj.type != msgpack::type::MAP) return decode_error("envelope is not a map");
  Fields header(&detail::header_table());
  if (auto ok = flatten(obj, header); !ok) return std::unexpected(ok.error());
  Envelope env;
  auto type = detail::decode_header(header, env);
  if (!type) return std::unexpected(type.error());
  const msgpack::object& payload = *payload_of(obj);  // decode_header checked it is there
  if (const auto* codec = detail::find_codec(*type)) {
    if (payload.type != msgpack::type::MAP) {
      return decode_error(std::string(*type) + " is not a map");
    }
    Fields fields(&codec->fields);
    if (auto ok = flatten(payload, fields); !ok) return std::unexpected(ok.error());
    auto p = codec->decode(fields);
    if (!p) return std::unexpected(p.error());
    env.payload = std::move(*p);
    return env;
  }
  if (auto ok = core::validate_name(*type, 64, "payload type"); !ok) {
    return decode_error("envelope.type: " + ok.error().message);
  }
  RawMessage raw{std::string(*type), {}};
  detail::StringSink sink{&raw.msgpack};
  detail::Packer pk(sink);
  pk.pack(payload);
  env.payload = Payload::make(std::move(raw));
  return env;
}

}  // namespace

Result<Envelope> decode_generic(std::string_view bytes) {
  auto oh = parse(bytes);
  if (!oh) return std::unexpected(oh.error());
  return decode_object(oh->get());
}

Result<std::vector<Result<Envelope>>> decode_batch_generic(std::string_view bytes) {
  auto oh = parse(bytes);
  if (!oh) return std::unexpected(oh.error());
  const msgpack::object& obj = oh->get();
  if (obj.type != msgpack::type::ARRAY) return decode_error("batch is not an array");
  std::vector<Result<Envelope>> out;
  out.reserve(obj.via.array.size);
  for (std::uint32_t i = 0; i < obj.via.array.size; ++i) {
    out.push_back(decode_object(obj.via.array.ptr[i]));
  }
  return out;
}

}  // namespace nautilus::bus::codec
