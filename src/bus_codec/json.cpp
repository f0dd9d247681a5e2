// Envelopes as JSON lines (codec::to_json): the header's wire keys, then the payload from its
// type's description (model/json.hpp), or, for a raw payload, its MessagePack as JSON.
#include "nautilus/core/json.hpp"

#include <boost/mp11/algorithm.hpp>
#include <msgpack.hpp>

#include "nautilus/bus/codec.hpp"
#include "nautilus/model/json.hpp"
#include "nautilus/model/messages.hpp"

namespace nautilus::bus::codec {
namespace {

using core::append_json_string;

// Appends the payload of type T; false if the payload is another type.
using PayloadJson = bool (*)(const Payload& p, std::string& out);

template <class T>
bool payload_json(const Payload& p, std::string& out) {
  const T* msg = p.get<T>();
  if (msg == nullptr) return false;
  core::append_json(boost::json::value_from(*msg), out);
  return true;
}

template <class List>
struct JsonTable;
template <class... Ts>
struct JsonTable<boost::mp11::mp_list<Ts...>> {
  static constexpr std::array<std::pair<const void*, PayloadJson>, sizeof...(Ts)> kAll = {
      std::pair<const void*, PayloadJson>{Payload::type_id<Ts>(), &payload_json<Ts>}...};
};

void append_int(std::int64_t v, std::string& out) { out += std::to_string(v); }
void append_uint(std::uint64_t v, std::string& out) { out += std::to_string(v); }

void msgpack_json(const msgpack::object& o, std::string& out) {
  switch (o.type) {
    case msgpack::type::NIL:
      out += "null";
      break;
    case msgpack::type::BOOLEAN:
      out += o.via.boolean ? "true" : "false";
      break;
    case msgpack::type::POSITIVE_INTEGER:
      append_uint(o.via.u64, out);
      break;
    case msgpack::type::NEGATIVE_INTEGER:
      append_int(o.via.i64, out);
      break;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      core::append_json_number(o.via.f64, out);
      break;
    case msgpack::type::STR:
      append_json_string(std::string_view(o.via.str.ptr, o.via.str.size), out);
      break;
    case msgpack::type::BIN: {
      constexpr char kHex[] = "0123456789abcdef";
      std::string hex;
      for (std::uint32_t i = 0; i < o.via.bin.size; ++i) {
        const auto b = static_cast<unsigned char>(o.via.bin.ptr[i]);
        hex += kHex[b >> 4];
        hex += kHex[b & 15];
      }
      append_json_string(hex, out);
      break;
    }
    case msgpack::type::ARRAY:
      out += '[';
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        if (i) out += ',';
        msgpack_json(o.via.array.ptr[i], out);
      }
      out += ']';
      break;
    case msgpack::type::MAP:
      out += '{';
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        if (i) out += ',';
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type == msgpack::type::STR) {
          msgpack_json(kv.key, out);
        } else {
          std::string k;
          msgpack_json(kv.key, k);
          append_json_string(k, out);
        }
        out += ':';
        msgpack_json(kv.val, out);
      }
      out += '}';
      break;
    default:
      out += "null";
      break;
  }
}

core::Result<void> raw_json(const RawMessage& raw, std::string& out) {
  try {
    // The decoder's own limits, and the bytes must be exactly one value.
    const msgpack::unpack_limit limits(4096, 1024, kMaxEncodedSize, kMaxEncodedSize,
                                       kMaxEncodedSize, 32);
    std::size_t offset = 0;
    const auto oh =
        msgpack::unpack(raw.msgpack.data(), raw.msgpack.size(), offset, nullptr, nullptr, limits);
    if (offset != raw.msgpack.size()) {
      return core::fail(core::ErrorCode::kDecode,
                        "to_json: raw payload '" + raw.type + "' has trailing bytes");
    }
    msgpack_json(oh.get(), out);
  } catch (const std::exception& e) {
    return core::fail(core::ErrorCode::kDecode,
                      "to_json: raw payload '" + raw.type + "' is not MessagePack: " + e.what());
  }
  return {};
}

}  // namespace

core::Result<std::string> to_json(const Envelope& env) {
  if (env.payload.empty())
    return core::fail(core::ErrorCode::kInvalidArgument, "to_json: empty payload");
  const auto* raw = env.get<RawMessage>();
  std::string out = "{\"v\":";
  append_uint(kWireVersion, out);
  out += ",\"topic\":";
  append_json_string(env.topic.value(), out);
  out += ",\"type\":";
  append_json_string(raw ? std::string_view(raw->type) : env.type_name(), out);
  out += ",\"prio\":";
  append_uint(static_cast<std::uint8_t>(env.priority), out);
  out += ",\"src\":";
  append_json_string(env.source.value(), out);
  out += ",\"seq\":";
  append_uint(env.sequence, out);
  out += ",\"ts_event\":";
  append_int(env.ts_event, out);
  out += ",\"ts_pub\":";
  append_int(env.ts_publish, out);
  if (env.correlation_id != 0) {
    out += ",\"corr\":";
    append_uint(env.correlation_id, out);
  }
  if (!env.reply_to.empty()) {
    out += ",\"reply_to\":";
    append_json_string(env.reply_to.value(), out);
  }
  out += ",\"payload\":";
  if (raw) {
    if (auto ok = raw_json(*raw, out); !ok) return std::unexpected(ok.error());
  } else {
    const void* id = env.payload.type_id();
    bool done = false;
    for (const auto& [type, write] : JsonTable<model::AllMessages>::kAll) {
      if (type == id) {
        done = write(env.payload, out);
        break;
      }
    }
    if (!done) {
      return core::fail(
          core::ErrorCode::kInvalidArgument,
          "to_json: no description for payload type '" + std::string(env.type_name()) + "'");
    }
  }
  out += '}';
  return out;
}

}  // namespace nautilus::bus::codec
