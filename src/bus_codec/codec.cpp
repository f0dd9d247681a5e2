#include "nautilus/bus/codec.hpp"

#include <cstdio>
#include <exception>
#include <msgpack.hpp>
#include <optional>
#include <string>

#include "nautilus/core/json.hpp"
#include "nautilus/model/market_data.hpp"

namespace nautilus::bus::codec {
namespace {

using core::ErrorCode;
using core::fail;
using core::Price;
using core::Quantity;
using core::Result;

struct StringSink {
  std::string* s;
  void write(const char* d, std::size_t n) { s->append(d, n); }
};
using Packer = msgpack::packer<StringSink>;

void pack_str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}
void pack_key(Packer& pk, std::string_view k) { pack_str(pk, k); }

// ---- reading --------------------------------------------------------------------------

std::unexpected<core::Error> decode_error(std::string msg) {
  return fail(ErrorCode::kDecode, std::move(msg));
}

class MapView {
 public:
  static Result<MapView> of(const msgpack::object& o, std::string_view what) {
    if (o.type != msgpack::type::MAP) return decode_error(std::string(what) + " is not a map");
    return MapView(o, what);
  }
  [[nodiscard]] const msgpack::object* find(std::string_view key) const {
    for (std::uint32_t i = 0; i < o_->via.map.size; ++i) {
      const auto& kv = o_->via.map.ptr[i];
      if (kv.key.type == msgpack::type::STR &&
          std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key) {
        return &kv.val;
      }
    }
    return nullptr;
  }
  [[nodiscard]] Result<const msgpack::object*> need(std::string_view key) const {
    const auto* v = find(key);
    if (!v) return decode_error(std::string(what_) + ": missing field '" + std::string(key) + "'");
    return v;
  }
  [[nodiscard]] Result<std::string_view> str(std::string_view key) const {
    auto v = need(key);
    if (!v) return std::unexpected(v.error());
    if ((*v)->type != msgpack::type::STR) return wrong(key, "a string");
    return std::string_view((*v)->via.str.ptr, (*v)->via.str.size);
  }
  [[nodiscard]] Result<std::string_view> str_or_empty(std::string_view key) const {
    if (!find(key)) return std::string_view{};
    return str(key);
  }
  [[nodiscard]] Result<std::int64_t> i64(std::string_view key) const {
    auto v = need(key);
    if (!v) return std::unexpected(v.error());
    if ((*v)->type == msgpack::type::NEGATIVE_INTEGER) return (*v)->via.i64;
    if ((*v)->type == msgpack::type::POSITIVE_INTEGER &&
        (*v)->via.u64 <= static_cast<std::uint64_t>(INT64_MAX)) {
      return static_cast<std::int64_t>((*v)->via.u64);
    }
    return wrong(key, "a signed 64-bit integer");
  }
  [[nodiscard]] Result<std::uint64_t> u64(std::string_view key) const {
    auto v = need(key);
    if (!v) return std::unexpected(v.error());
    if ((*v)->type != msgpack::type::POSITIVE_INTEGER) return wrong(key, "an unsigned integer");
    return (*v)->via.u64;
  }
  [[nodiscard]] Result<std::uint64_t> u64_or(std::string_view key, std::uint64_t dflt) const {
    if (!find(key)) return dflt;
    return u64(key);
  }
  template <class FP>
  [[nodiscard]] Result<FP> decimal(std::string_view key) const {
    auto s = str(key);
    if (!s) return std::unexpected(s.error());
    auto v = FP::from_string(*s);
    if (!v)
      return decode_error(std::string(what_) + "." + std::string(key) + ": " + v.error().message);
    return v;
  }
  [[nodiscard]] Result<core::Symbol> symbol(std::string_view key) const {
    auto s = str(key);
    if (!s) return std::unexpected(s.error());
    auto v = core::Symbol::create(*s);
    if (!v)
      return decode_error(std::string(what_) + "." + std::string(key) + ": " + v.error().message);
    return v;
  }

 private:
  MapView(const msgpack::object& o, std::string_view what) : o_(&o), what_(what) {}
  std::unexpected<core::Error> wrong(std::string_view key, std::string_view expected) const {
    return decode_error(std::string(what_) + ": field '" + std::string(key) + "' is not " +
                        std::string(expected));
  }
  const msgpack::object* o_;
  std::string_view what_;
};

// Unwraps a Result into `var` or returns its error from the enclosing function. (`var` is a
// name being declared, so it cannot be parenthesised.)
// NOLINTBEGIN(bugprone-macro-parentheses)
#define NAUTILUS_TRY(var, expr)                          \
  auto var##_r = (expr);                                 \
  if (!var##_r) return std::unexpected(var##_r.error()); \
  auto var = *var##_r
// NOLINTEND(bugprone-macro-parentheses)

// ---- payload types ----------------------------------------------------------------------

void encode_payload(Packer& pk, const model::QuoteTick& q) {
  pk.pack_map(6);
  pack_key(pk, "symbol");
  pack_str(pk, q.symbol.value());
  pack_key(pk, "bid");
  pack_str(pk, q.bid.to_string());
  pack_key(pk, "ask");
  pack_str(pk, q.ask.to_string());
  pack_key(pk, "bid_size");
  pack_str(pk, q.bid_size.to_string());
  pack_key(pk, "ask_size");
  pack_str(pk, q.ask_size.to_string());
  pack_key(pk, "ts_event");
  pk.pack_int64(q.ts_event);
}
Result<Payload> decode_quote(const MapView& m) {
  NAUTILUS_TRY(symbol, m.symbol("symbol"));
  NAUTILUS_TRY(bid, m.decimal<Price>("bid"));
  NAUTILUS_TRY(ask, m.decimal<Price>("ask"));
  NAUTILUS_TRY(bid_size, m.decimal<Quantity>("bid_size"));
  NAUTILUS_TRY(ask_size, m.decimal<Quantity>("ask_size"));
  NAUTILUS_TRY(ts, m.i64("ts_event"));
  return Payload::make(model::QuoteTick{symbol, bid, ask, bid_size, ask_size, ts});
}

void encode_payload(Packer& pk, const model::TradeTick& t) {
  pk.pack_map(6);
  pack_key(pk, "symbol");
  pack_str(pk, t.symbol.value());
  pack_key(pk, "price");
  pack_str(pk, t.price.to_string());
  pack_key(pk, "size");
  pack_str(pk, t.size.to_string());
  pack_key(pk, "aggressor");
  pk.pack_uint8(static_cast<std::uint8_t>(t.aggressor));
  pack_key(pk, "trade_id");
  pk.pack_uint64(t.trade_id);
  pack_key(pk, "ts_event");
  pk.pack_int64(t.ts_event);
}
Result<Payload> decode_trade(const MapView& m) {
  NAUTILUS_TRY(symbol, m.symbol("symbol"));
  NAUTILUS_TRY(price, m.decimal<Price>("price"));
  NAUTILUS_TRY(size, m.decimal<Quantity>("size"));
  NAUTILUS_TRY(aggressor, m.u64("aggressor"));
  if (aggressor > 2) return decode_error("trade_tick.aggressor must be 0, 1 or 2");
  NAUTILUS_TRY(trade_id, m.u64("trade_id"));
  NAUTILUS_TRY(ts, m.i64("ts_event"));
  return Payload::make(model::TradeTick{
      symbol, price, size, static_cast<model::AggressorSide>(aggressor), trade_id, ts});
}

void encode_payload(Packer& pk, const model::Bar& b) {
  pk.pack_map(8);
  pack_key(pk, "symbol");
  pack_str(pk, b.symbol.value());
  pack_key(pk, "open");
  pack_str(pk, b.open.to_string());
  pack_key(pk, "high");
  pack_str(pk, b.high.to_string());
  pack_key(pk, "low");
  pack_str(pk, b.low.to_string());
  pack_key(pk, "close");
  pack_str(pk, b.close.to_string());
  pack_key(pk, "volume");
  pack_str(pk, b.volume.to_string());
  pack_key(pk, "interval_s");
  pk.pack_uint32(b.interval_s);
  pack_key(pk, "ts_event");
  pk.pack_int64(b.ts_event);
}
Result<Payload> decode_bar(const MapView& m) {
  NAUTILUS_TRY(symbol, m.symbol("symbol"));
  NAUTILUS_TRY(open, m.decimal<Price>("open"));
  NAUTILUS_TRY(high, m.decimal<Price>("high"));
  NAUTILUS_TRY(low, m.decimal<Price>("low"));
  NAUTILUS_TRY(close, m.decimal<Price>("close"));
  NAUTILUS_TRY(volume, m.decimal<Quantity>("volume"));
  NAUTILUS_TRY(interval, m.u64("interval_s"));
  if (interval == 0 || interval > UINT32_MAX) return decode_error("bar.interval_s out of range");
  NAUTILUS_TRY(ts, m.i64("ts_event"));
  return Payload::make(
      model::Bar{symbol, open, high, low, close, volume, static_cast<std::uint32_t>(interval), ts});
}

void encode_payload(Packer& pk, const model::PriceUpdate& u) {
  pk.pack_map(3);
  pack_key(pk, "symbol");
  pack_str(pk, u.symbol.value());
  pack_key(pk, "price");
  pack_str(pk, u.price.to_string());
  pack_key(pk, "ts_event");
  pk.pack_int64(u.ts_event);
}
Result<Payload> decode_price_update(const MapView& m) {
  NAUTILUS_TRY(symbol, m.symbol("symbol"));
  NAUTILUS_TRY(price, m.decimal<Price>("price"));
  NAUTILUS_TRY(ts, m.i64("ts_event"));
  return Payload::make(model::PriceUpdate{symbol, price, ts});
}

void encode_payload(Packer& pk, const model::VolumeUpdate& u) {
  pk.pack_map(4);
  pack_key(pk, "symbol");
  pack_str(pk, u.symbol.value());
  pack_key(pk, "volume");
  pack_str(pk, u.volume.to_string());
  pack_key(pk, "session_volume");
  pack_str(pk, u.session_volume.to_string());
  pack_key(pk, "ts_event");
  pk.pack_int64(u.ts_event);
}
Result<Payload> decode_volume_update(const MapView& m) {
  NAUTILUS_TRY(symbol, m.symbol("symbol"));
  NAUTILUS_TRY(volume, m.decimal<Quantity>("volume"));
  NAUTILUS_TRY(session, m.decimal<Quantity>("session_volume"));
  NAUTILUS_TRY(ts, m.i64("ts_event"));
  return Payload::make(model::VolumeUpdate{symbol, volume, session, ts});
}

struct PayloadCodec {
  std::string_view type;
  bool (*encode)(Packer& pk, const Payload& p);
  Result<Payload> (*decode)(const MapView& m);
};

template <class T>
bool encode_if(Packer& pk, const Payload& p) {
  const T* v = p.get<T>();
  if (!v) return false;
  encode_payload(pk, *v);
  return true;
}

constexpr PayloadCodec kCodecs[] = {
    {model::QuoteTick::kTypeName, &encode_if<model::QuoteTick>, &decode_quote},
    {model::TradeTick::kTypeName, &encode_if<model::TradeTick>, &decode_trade},
    {model::Bar::kTypeName, &encode_if<model::Bar>, &decode_bar},
    {model::PriceUpdate::kTypeName, &encode_if<model::PriceUpdate>, &decode_price_update},
    {model::VolumeUpdate::kTypeName, &encode_if<model::VolumeUpdate>, &decode_volume_update},
};

const msgpack::unpack_limit kLimits(/*array=*/4096, /*map=*/1024, /*str=*/kMaxEncodedSize,
                                    /*bin=*/kMaxEncodedSize, /*ext=*/kMaxEncodedSize,
                                    /*depth=*/32);

}  // namespace

std::vector<std::string_view> known_types() {
  std::vector<std::string_view> out;
  for (const auto& c : kCodecs) out.push_back(c.type);
  return out;
}

Result<void> encode(const Envelope& env, std::string& out) {
  if (env.payload.empty()) return fail(ErrorCode::kInvalidArgument, "encode: empty payload");
  const auto* raw = env.get<RawMessage>();
  const std::string_view type = raw ? std::string_view(raw->type) : env.type_name();
  StringSink sink{&out};
  Packer pk(sink);
  const bool has_corr = env.correlation_id != 0;
  const bool has_reply = !env.reply_to.empty();
  pk.pack_map(9 + (has_corr ? 1 : 0) + (has_reply ? 1 : 0));
  pack_key(pk, "v");
  pk.pack_uint64(kWireVersion);
  pack_key(pk, "topic");
  pack_str(pk, env.topic.value());
  pack_key(pk, "type");
  pack_str(pk, type);
  pack_key(pk, "prio");
  pk.pack_uint8(static_cast<std::uint8_t>(env.priority));
  pack_key(pk, "src");
  pack_str(pk, env.source.value());
  pack_key(pk, "seq");
  pk.pack_uint64(env.sequence);
  pack_key(pk, "ts_event");
  pk.pack_int64(env.ts_event);
  pack_key(pk, "ts_pub");
  pk.pack_int64(env.ts_publish);
  if (has_corr) {
    pack_key(pk, "corr");
    pk.pack_uint64(env.correlation_id);
  }
  if (has_reply) {
    pack_key(pk, "reply_to");
    pack_str(pk, env.reply_to.value());
  }
  pack_key(pk, "payload");
  if (raw) {
    out.append(raw->msgpack);  // already one MessagePack value
    return {};
  }
  for (const auto& c : kCodecs) {
    if (c.encode(pk, env.payload)) return {};
  }
  return fail(ErrorCode::kInvalidArgument,
              "encode: no wire codec for payload type '" + std::string(type) + "'");
}

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

Result<Envelope> decode_object(const msgpack::object& obj) {
  NAUTILUS_TRY(m, MapView::of(obj, "envelope"));
  NAUTILUS_TRY(version, m.u64("v"));
  if (version != kWireVersion) {
    return fail(ErrorCode::kUnsupportedVersion,
                "wire version " + std::to_string(version) + " (this build reads 1)");
  }
  Envelope env;
  NAUTILUS_TRY(topic, m.str("topic"));
  auto t = Topic::create(topic);
  if (!t) return decode_error("envelope.topic: " + t.error().message);
  env.topic = *t;
  NAUTILUS_TRY(prio, m.u64("prio"));
  if (prio >= kPriorityCount) return decode_error("envelope.prio must be 0..4");
  env.priority = static_cast<Priority>(prio);
  NAUTILUS_TRY(src, m.str("src"));
  auto source = core::EngineId::create(src);
  if (!source) return decode_error("envelope.src: " + source.error().message);
  env.source = *source;
  NAUTILUS_TRY(seq, m.u64("seq"));
  env.sequence = seq;
  NAUTILUS_TRY(ts_event, m.i64("ts_event"));
  env.ts_event = ts_event;
  NAUTILUS_TRY(ts_pub, m.i64("ts_pub"));
  env.ts_publish = ts_pub;
  NAUTILUS_TRY(corr, m.u64_or("corr", 0));
  env.correlation_id = corr;
  NAUTILUS_TRY(reply_to, m.str_or_empty("reply_to"));
  if (!reply_to.empty()) {
    auto r = Topic::create(reply_to);
    if (!r) return decode_error("envelope.reply_to: " + r.error().message);
    env.reply_to = *r;
  }
  NAUTILUS_TRY(type, m.str("type"));
  NAUTILUS_TRY(payload_obj, m.need("payload"));
  for (const auto& c : kCodecs) {
    if (c.type != type) continue;
    NAUTILUS_TRY(pm, MapView::of(*payload_obj, c.type));
    NAUTILUS_TRY(payload, c.decode(pm));
    env.payload = std::move(payload);
    return env;
  }
  if (auto ok = core::validate_name(type, 64, "payload type"); !ok) {
    return decode_error("envelope.type: " + ok.error().message);
  }
  RawMessage raw{std::string(type), {}};
  StringSink sink{&raw.msgpack};
  Packer pk(sink);
  pk.pack(*payload_obj);
  env.payload = Payload::make(std::move(raw));
  return env;
}

Result<Envelope> decode(std::string_view bytes) {
  auto oh = parse(bytes);
  if (!oh) return std::unexpected(oh.error());
  return decode_object(oh->get());
}

void encode_batch(std::span<const std::string> encoded, std::string& out) {
  StringSink sink{&out};
  Packer pk(sink);
  pk.pack_array(static_cast<std::uint32_t>(encoded.size()));
  for (const auto& e : encoded) out.append(e);  // each is already one MessagePack value
}

Result<std::vector<Result<Envelope>>> decode_batch(std::string_view bytes) {
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

namespace {

void json_string(std::string_view s, std::string& out) { core::append_json_string(s, out); }

void json_value(const msgpack::object& o, std::string& out) {
  switch (o.type) {
    case msgpack::type::NIL:
      out += "null";
      break;
    case msgpack::type::BOOLEAN:
      out += o.via.boolean ? "true" : "false";
      break;
    case msgpack::type::POSITIVE_INTEGER:
      out += std::to_string(o.via.u64);
      break;
    case msgpack::type::NEGATIVE_INTEGER:
      out += std::to_string(o.via.i64);
      break;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", o.via.f64);
      out += buf;
      break;
    }
    case msgpack::type::STR:
      json_string(std::string_view(o.via.str.ptr, o.via.str.size), out);
      break;
    case msgpack::type::BIN: {
      constexpr char kHex[] = "0123456789abcdef";
      std::string hex;
      for (std::uint32_t i = 0; i < o.via.bin.size; ++i) {
        const auto b = static_cast<unsigned char>(o.via.bin.ptr[i]);
        hex += kHex[b >> 4];
        hex += kHex[b & 15];
      }
      json_string(hex, out);
      break;
    }
    case msgpack::type::ARRAY:
      out += '[';
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        if (i) out += ',';
        json_value(o.via.array.ptr[i], out);
      }
      out += ']';
      break;
    case msgpack::type::MAP:
      out += '{';
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        if (i) out += ',';
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type == msgpack::type::STR) {
          json_value(kv.key, out);
        } else {
          std::string k;
          json_value(kv.key, k);
          json_string(k, out);
        }
        out += ':';
        json_value(kv.val, out);
      }
      out += '}';
      break;
    default:
      out += "null";
      break;
  }
}

}  // namespace

Result<std::string> to_json(const Envelope& env) {
  std::string bytes;
  if (auto ok = encode(env, bytes); !ok) return std::unexpected(ok.error());
  auto oh = parse(bytes);
  if (!oh) return std::unexpected(oh.error());
  std::string out;
  json_value(oh->get(), out);
  return out;
}

}  // namespace nautilus::bus::codec
