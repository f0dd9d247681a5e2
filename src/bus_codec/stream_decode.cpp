// The fast decoder: msgpack-cxx's streaming parser calls this visitor for each value, and the
// fields go straight into Fields, without building an object tree. It accepts only the common
// shape (a known payload type as a map whose `type` comes before it, arrays of scalars inside
// the payload, nothing unusual); for anything else it says so and decode() asks the generic
// decoder, which is the reference for results and errors.
#include <msgpack.hpp>

#include "decoders.hpp"
#include "payloads.hpp"

namespace nautilus::bus::codec::detail {
namespace {

class EnvelopeVisitor {
 public:
  // `batch`: the input is an array of envelopes, each appended to `out`; otherwise one
  // envelope, kept in `single`.
  EnvelopeVisitor(bool batch, std::vector<core::Result<Envelope>>* out)
      : batch_(batch), out_(out), base_(batch ? 2 : 1) {}

  [[nodiscard]] bool declined() const noexcept { return declined_; }
  std::optional<Envelope>& single() noexcept { return single_; }

  // Scalars.
  bool visit_nil() { return scalar(Value::nil()); }
  bool visit_boolean(bool v) { return scalar(Value::boolean(v)); }
  bool visit_positive_integer(std::uint64_t v) { return scalar(Value::unsigned_int(v)); }
  bool visit_negative_integer(std::int64_t v) { return scalar(Value::signed_int(v)); }
  bool visit_float32(float v) { return scalar(Value::float64(v)); }
  bool visit_float64(double v) { return scalar(Value::float64(v)); }
  bool visit_str(const char* v, std::uint32_t size) {
    if (in_key_) return key(std::string_view(v, size));
    return scalar(Value::string(std::string_view(v, size)));
  }
  bool visit_bin(const char* /*v*/, std::uint32_t /*size*/) { return scalar(Value::other()); }
  bool visit_ext(const char* /*v*/, std::uint32_t /*size*/) { return scalar(Value::other()); }

  // Containers: the batch array, envelope maps, each envelope's payload map, and arrays of
  // scalars as payload fields. Anything else (deeper nesting, a container as a key) is for
  // the generic decoder.
  bool start_array(std::uint32_t n) {
    ++depth_;
    if (n > kMaxArray || in_key_) return decline();
    if (batch_ && depth_ == 1) {
      out_->reserve(n);
      return true;
    }
    if (depth_ == base_ + 2 && payload_map_ && !in_array_) {
      in_array_ = true;
      array_first_ = payload_.item_count();
      return true;
    }
    return decline();
  }
  bool end_array() {
    if (in_array_ && depth_ == base_ + 2) {
      in_array_ = false;
      const Value v = Value::array(array_first_, payload_.item_count() - array_first_);
      if (field_ != kUnknown && !payload_.set(field_, v)) return decline();
    }
    --depth_;
    return true;
  }
  bool start_map(std::uint32_t n) {
    ++depth_;
    if (in_key_ || n > kMaxMap) return decline();
    if (depth_ == base_) {
      header_.reset(&header_table());
      payload_map_ = false;
      codec_ = nullptr;
      return true;
    }
    if (depth_ == base_ + 1 && !payload_map_ && field_ == static_cast<std::size_t>(Key::kPayload)) {
      // The payload's keys are resolved against its type's fields, so the type must be known
      // by now (encode() writes it first); otherwise the generic decoder takes the message.
      const Value* type = header_.find(Key::kType);
      if (type == nullptr || type->kind != Value::Kind::kStr) return decline();
      codec_ = find_codec(type->str());
      if (codec_ == nullptr) return decline();  // a raw payload: the generic decoder keeps it
      if (!header_.set(field_, Value::other())) return decline();
      payload_.reset(&codec_->fields);
      payload_map_ = true;
      return true;
    }
    return decline();
  }
  bool end_map() {
    if (depth_ == base_ && !finish()) return decline();
    --depth_;
    return true;
  }
  bool start_map_key() {
    in_key_ = true;
    return true;
  }
  bool end_map_key() {
    in_key_ = false;
    return true;
  }
  static bool start_array_item() { return true; }
  static bool end_array_item() { return true; }
  static bool start_map_value() { return true; }
  static bool end_map_value() { return true; }
  void parse_error(std::size_t /*parsed*/, std::size_t /*error*/) { declined_ = true; }
  void insufficient_bytes(std::size_t /*parsed*/, std::size_t /*error*/) { declined_ = true; }
  static bool referenced() { return false; }
  static void set_referenced(bool /*referenced*/) {}

 private:
  // The generic decoder's limits (it refuses longer arrays and larger maps).
  static constexpr std::uint32_t kMaxArray = 4096;
  static constexpr std::uint32_t kMaxMap = 1024;
  // No field of the map being read: the value that follows is ignored.
  static constexpr std::size_t kUnknown = SIZE_MAX;

  bool decline() {
    declined_ = true;
    return false;  // stops the parse
  }

  bool key(std::string_view k) {
    std::optional<std::size_t> known;
    if (depth_ == base_) {
      known = header_table().find(k);
    } else if (depth_ == base_ + 1 && payload_map_) {
      known = codec_->fields.find(k);
    } else {
      return decline();
    }
    field_ = known ? *known : kUnknown;
    return true;
  }

  bool scalar(const Value& v) {
    if (in_key_) return decline();  // a key that is not a string
    if (in_array_) {
      if (depth_ != base_ + 2) return decline();
      if (field_ != kUnknown) payload_.add_item(v);
      return true;
    }
    Fields* into = nullptr;
    if (depth_ == base_) {
      into = &header_;
    } else if (depth_ == base_ + 1 && payload_map_) {
      into = &payload_;
    } else {
      return decline();  // a lone scalar, or one in the batch array
    }
    if (field_ == kUnknown) return true;
    return into->set(field_, v) || decline();
  }

  // One envelope's map has ended: everything must decode, or the generic decoder decides.
  bool finish() {
    Envelope env;
    auto type = decode_header(header_, env);
    if (!type || !payload_map_) return false;
    auto payload = codec_->decode(payload_);
    if (!payload) return false;
    env.payload = std::move(*payload);
    if (batch_) {
      out_->emplace_back(std::move(env));
    } else {
      single_.emplace(std::move(env));
    }
    return true;
  }

  bool batch_;
  std::vector<core::Result<Envelope>>* out_;
  int base_;  // the depth of an envelope's fields
  int depth_ = 0;
  bool in_key_ = false;
  bool in_array_ = false;
  bool declined_ = false;
  bool payload_map_ = false;
  std::size_t array_first_ = 0;
  std::size_t field_ = kUnknown;  // the field of the value being read
  const MessageCodec* codec_ = nullptr;
  Fields header_{&header_table()};
  Fields payload_{&header_table()};
  std::optional<Envelope> single_;
};

bool run(std::string_view bytes, EnvelopeVisitor& v) {
  if (bytes.size() > kMaxEncodedSize) return false;
  try {
    std::size_t offset = 0;
    const bool ok = msgpack::parse(bytes.data(), bytes.size(), offset, v);
    return ok && !v.declined() && offset == bytes.size();
  } catch (const std::exception&) {
    return false;  // the generic decoder reports it
  }
}

}  // namespace

std::optional<Envelope> stream_decode(std::string_view bytes) {
  EnvelopeVisitor v(false, nullptr);
  if (!run(bytes, v) || !v.single()) return std::nullopt;
  return std::move(v.single());
}

bool stream_decode_batch(std::string_view bytes, std::vector<core::Result<Envelope>>& out) {
  EnvelopeVisitor v(true, &out);
  if (run(bytes, v)) return true;
  out.clear();
  return false;
}

}  // namespace nautilus::bus::codec::detail
