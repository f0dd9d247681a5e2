// The public codec: encoding, and decoding by the streaming decoder with the generic one
// behind it for everything unusual (decoders.hpp).
#include "nautilus/bus/codec.hpp"

#include <algorithm>
#include <string>

#include "decoders.hpp"
#include "payloads.hpp"

namespace nautilus::bus::codec {

using core::ErrorCode;
using core::fail;
using core::Result;
using detail::decode_error;
using detail::Key;
using detail::pack_str;
using detail::Packer;

namespace detail {

Result<std::string_view> decode_header(const Fields& m, Envelope& env) {
  auto version = m.u64(Key::kV);
  if (!version) return std::unexpected(version.error());
  if (*version != kWireVersion) {
    return fail(ErrorCode::kUnsupportedVersion,
                "wire version " + std::to_string(*version) + " (this build reads 1)");
  }
  auto topic = m.str(Key::kTopic);
  if (!topic) return std::unexpected(topic.error());
  auto t = create_name<Topic>(*topic);
  if (!t) return decode_error("envelope.topic: " + t.error().message);
  env.topic = *t;
  auto prio = m.u64(Key::kPrio);
  if (!prio) return std::unexpected(prio.error());
  if (*prio >= kPriorityCount) return decode_error("envelope.prio must be 0..4");
  env.priority = static_cast<Priority>(*prio);
  auto src = m.str(Key::kSrc);
  if (!src) return std::unexpected(src.error());
  auto source = create_name<core::EngineId>(*src);
  if (!source) return decode_error("envelope.src: " + source.error().message);
  env.source = *source;
  auto seq = m.u64(Key::kSeq);
  if (!seq) return std::unexpected(seq.error());
  env.sequence = *seq;
  auto ts_event = m.i64(Key::kTsEvent);
  if (!ts_event) return std::unexpected(ts_event.error());
  env.ts_event = *ts_event;
  auto ts_pub = m.i64(Key::kTsPub);
  if (!ts_pub) return std::unexpected(ts_pub.error());
  env.ts_publish = *ts_pub;
  auto corr = m.u64_or(Key::kCorr, 0);
  if (!corr) return std::unexpected(corr.error());
  env.correlation_id = *corr;
  auto reply_to = m.str_or_empty(Key::kReplyTo);
  if (!reply_to) return std::unexpected(reply_to.error());
  if (!reply_to->empty()) {
    auto r = create_name<Topic>(*reply_to);
    if (!r) return decode_error("envelope.reply_to: " + r.error().message);
    env.reply_to = *r;
  }
  auto ep = m.bool_or(Key::kEp, false);
  if (!ep) return std::unexpected(ep.error());
  env.endpoint = *ep;
  auto type = m.str(Key::kType);
  if (!type) return std::unexpected(type.error());
  if (m.find(Key::kPayload) == nullptr) return m.missing(static_cast<std::size_t>(Key::kPayload));
  return *type;
}

}  // namespace detail

namespace {
void key(Packer& pk, Key k) {
  pack_str(pk, detail::header_table().names[static_cast<std::size_t>(k)]);
}
}  // namespace

std::vector<std::string_view> known_types() {
  std::vector<std::string_view> out;
  for (const auto& c : detail::all_codecs()) out.push_back(c.type);
  return out;
}

std::vector<TypeInfo> describe_types() {
  std::vector<TypeInfo> out;
  for (const auto& c : detail::all_codecs()) out.push_back(c.info());
  return out;
}

std::string wire_types_markdown() {
  std::string out = "| `type` | fields | in the Envelope |\n|---|---|---|\n";
  for (const auto& t : describe_types()) {
    out += "| `" + std::string(t.name) + "` | ";
    for (std::size_t i = 0; i < t.fields.size(); ++i) {
      const auto& f = t.fields[i];
      if (i > 0) out += ", ";
      out += "`" + std::string(f.name) + "` " + f.kind + (f.optional ? " (optional)" : "");
    }
    out += t.inline_size > 0 ? " | inline, " + std::to_string(t.inline_size) + " bytes |\n"
                             : " | heap (arrays) |\n";
  }
  return out;
}

Result<void> encode(const Envelope& env, std::string& out) {
  if (env.payload.empty()) return fail(ErrorCode::kInvalidArgument, "encode: empty payload");
  const auto* raw = env.get<RawMessage>();
  const std::string_view type = raw ? std::string_view(raw->type) : env.type_name();
  const std::size_t start = out.size();
  // A market-data message fits in 192 bytes: at most one allocation, growing geometrically
  // when many messages are appended to one buffer.
  if (out.capacity() - start < 192) out.reserve(std::max(start + 192, 2 * out.capacity()));
  detail::StringSink sink{&out};
  Packer pk(sink);
  const bool has_corr = env.correlation_id != 0;
  const bool has_reply = !env.reply_to.empty();
  pk.pack_map(9 + (has_corr ? 1 : 0) + (has_reply ? 1 : 0) + (env.endpoint ? 1 : 0));
  key(pk, Key::kV);
  pk.pack_uint64(kWireVersion);
  key(pk, Key::kTopic);
  pack_str(pk, env.topic.value());
  key(pk, Key::kType);
  pack_str(pk, type);
  key(pk, Key::kPrio);
  pk.pack_uint8(static_cast<std::uint8_t>(env.priority));
  key(pk, Key::kSrc);
  pack_str(pk, env.source.value());
  key(pk, Key::kSeq);
  pk.pack_uint64(env.sequence);
  key(pk, Key::kTsEvent);
  pk.pack_int64(env.ts_event);
  key(pk, Key::kTsPub);
  pk.pack_int64(env.ts_publish);
  if (has_corr) {
    key(pk, Key::kCorr);
    pk.pack_uint64(env.correlation_id);
  }
  if (has_reply) {
    key(pk, Key::kReplyTo);
    pack_str(pk, env.reply_to.value());
  }
  // Only requests and replies carry it, so the common envelope keeps the fast decode path.
  if (env.endpoint) {
    key(pk, Key::kEp);
    pk.pack_true();
  }
  key(pk, Key::kPayload);
  if (raw) {
    out.append(raw->msgpack);  // already one MessagePack value
    return {};
  }
  if (const auto* c = detail::codec_of(env.payload); c != nullptr && c->encode(pk, env.payload)) {
    return {};
  }
  out.resize(start);
  return fail(ErrorCode::kInvalidArgument,
              "encode: no wire codec for payload type '" + std::string(type) + "'");
}

Result<Envelope> decode(std::string_view bytes) {
  // Decoded in place: the Envelope is built once, inside the returned Result (one return
  // object, so it is not moved on the way out either).
  Result<Envelope> out{std::in_place};
  if (!detail::stream_decode(bytes, *out)) out = decode_generic(bytes);
  return out;
}

void encode_batch_header(std::size_t count, std::string& out) {
  detail::StringSink sink{&out};
  Packer pk(sink);
  pk.pack_array(static_cast<std::uint32_t>(count));
}

void encode_batch(std::span<const std::string> encoded, std::string& out) {
  encode_batch_header(encoded.size(), out);
  for (const auto& e : encoded) out.append(e);  // each is already one MessagePack value
}

Result<std::vector<Result<Envelope>>> decode_batch(std::string_view bytes) {
  std::vector<Result<Envelope>> out;
  if (detail::stream_decode_batch(bytes, out)) return out;
  return decode_batch_generic(bytes);
}

}  // namespace nautilus::bus::codec
