// The fast decoder: msgpack-cxx's streaming parser calls this visitor for each value, and the
// fields go straight into Fields, without building an object tree. It accepts only the common
// shape (a known payload type as a flat map, nothing unusual); for anything else it says so
// and decode() asks the generic decoder, which is the reference for results and errors.
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
  bool visit_nil() { return scalar({}); }
  bool visit_boolean(bool /*v*/) { return scalar({}); }
  bool visit_positive_integer(std::uint64_t v) {
    return scalar({.kind = Value::Kind::kUint, .uint = v});
  }
  bool visit_negative_integer(std::int64_t v) {
    return scalar({.kind = Value::Kind::kInt, .sint = v});
  }
  bool visit_float32(float /*v*/) { return scalar({}); }
  bool visit_float64(double /*v*/) { return scalar({}); }
  bool visit_str(const char* v, std::uint32_t size) {
    if (in_key_) return key(std::string_view(v, size));
    return scalar({.kind = Value::Kind::kStr, .str = std::string_view(v, size)});
  }
  bool visit_bin(const char* /*v*/, std::uint32_t /*size*/) { return scalar({}); }
  bool visit_ext(const char* /*v*/, std::uint32_t /*size*/) { return scalar({}); }

  // Containers: the batch array, envelope maps, and each envelope's payload map. Anything
  // else (deeper nesting, a container as a key) is for the generic decoder.
  bool start_array(std::uint32_t n) {
    ++depth_;
    if (!(batch_ && depth_ == 1) || n > kMaxBatch) return decline();
    out_->reserve(n);
    return true;
  }
  bool end_array() {
    --depth_;
    return true;
  }
  bool start_map(std::uint32_t n) {
    ++depth_;
    if (in_key_ || n > kMaxMap) return decline();
    if (depth_ == base_) {
      header_.clear();
      payload_.clear();
      payload_map_ = false;
      return true;
    }
    if (depth_ == base_ + 1 && field_ == Key::kPayload) {
      if (!header_.set(Key::kPayload, {})) return decline();
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
  static constexpr std::uint32_t kMaxBatch = 4096;
  static constexpr std::uint32_t kMaxMap = 1024;
  // No key of the format: the value that follows is ignored (unless it is a container).
  static constexpr Key kUnknown = Key::kCount;

  bool decline() {
    declined_ = true;
    return false;  // stops the parse
  }

  bool key(std::string_view k) {
    const auto known = key_of(k);
    field_ = known ? *known : kUnknown;
    return true;
  }

  bool scalar(const Value& v) {
    if (in_key_) return decline();  // a key that is not a string
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
    const auto decoder = payload_decoder(*type);
    if (!decoder) return false;  // a raw payload: the generic decoder keeps its bytes
    payload_.set_what(*type);
    auto payload = decoder(payload_);
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
  bool declined_ = false;
  bool payload_map_ = false;
  Key field_ = kUnknown;  // the key of the value being read
  Fields header_{"envelope"};
  Fields payload_{"payload"};
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
