// The streaming sources' frame decoders (streaming.hpp). Both services send small flat JSON
// objects at high rates, so they are read by one strict scanner, in one pass, with no tree and
// no allocation: keys are matched as they come, values are checked against the JSON grammar
// (skipped ones too), and only the fields used are converted. Errors are worded only on the
// failure path.
#include <fmt/format.h>

#include <array>
#include <charconv>
#include <limits>

#include "nautilus/marketdata/streaming.hpp"

namespace nautilus::marketdata {
namespace {

using core::ErrorCode;
using core::fail;

constexpr int kMaxDepth = 16;         // nesting a skipped value may have
constexpr std::size_t kExcerpt = 96;  // bytes of a bad frame quoted in its error
constexpr std::int64_t kNanosPerMilli = 1'000'000;

// Why a scan failed; `what` is a literal, `field` the member it concerns (if any). A member
// reader fails in one expression, `return why = {"must be a string", key}, false;`.
struct Why {
  std::string_view what;
  std::string_view field;
};

class Scanner {
 public:
  explicit Scanner(std::string_view s)
      : begin_(s.data()), p_(s.data()), end_(s.data() + s.size()) {}

  void space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  char peek() {
    space();
    return p_ < end_ ? *p_ : '\0';
  }
  bool eat(char c) {
    space();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool at_end() {
    space();
    return p_ == end_;
  }
  [[nodiscard]] std::size_t offset() const { return static_cast<std::size_t>(p_ - begin_); }

  // A string; `raw` is what is between the quotes, escapes as written (`escaped` says if any).
  bool string(std::string_view& raw, bool& escaped) {
    if (!eat('"')) return false;
    const char* start = p_;
    escaped = false;
    while (p_ < end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        raw = {start, static_cast<std::size_t>(p_ - start)};
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        if (!utf8()) return false;
        continue;
      }
      if (c == '\\') {
        escaped = true;
        if (++p_ == end_) return false;
        switch (*p_) {
          case '"':
          case '\\':
          case '/':
          case 'b':
          case 'f':
          case 'n':
          case 'r':
          case 't':
            break;
          case 'u': {
            unsigned u = 0;
            if (!hex4(u)) return false;
            if (u >= 0xDC00 && u <= 0xDFFF) return false;  // a trailing surrogate alone
            if (u >= 0xD800 && u <= 0xDBFF) {              // must be followed by its trailing half
              if (end_ - p_ < 3 || p_[1] != '\\' || p_[2] != 'u') return false;
              p_ += 2;
              if (!hex4(u) || u < 0xDC00 || u > 0xDFFF) return false;
            }
            break;
          }
          default:
            return false;
        }
      }
      ++p_;
    }
    return false;
  }

  // A number as JSON writes it; `raw` is its text.
  bool number(std::string_view& raw) {
    space();
    const char* start = p_;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (digit(*p_)) {
      while (p_ < end_ && digit(*p_)) ++p_;
    } else {
      return false;
    }
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ < end_ && digit(*p_)) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ < end_ && digit(*p_)) ++p_;
    }
    raw = {start, static_cast<std::size_t>(p_ - start)};
    return true;
  }

  bool literal(std::string_view word) {
    space();
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  // true/false into `v`.
  bool boolean(bool& v) {
    if (peek() == 't') return v = true, literal("true");
    if (peek() == 'f') return v = false, literal("false");
    return false;
  }

  // Any value, checked and passed over.
  bool skip(int depth = 0) {
    switch (peek()) {
      case '"': {
        std::string_view raw;
        bool escaped = false;
        return string(raw, escaped);
      }
      case '{':
        if (depth >= kMaxDepth) return false;
        return object([&](std::string_view) { return skip(depth + 1); });
      case '[':
        if (depth >= kMaxDepth) return false;
        ++p_;
        if (eat(']')) return true;
        do {
          if (!skip(depth + 1)) return false;
        } while (eat(','));
        return eat(']');
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default: {
        std::string_view raw;
        return number(raw);
      }
    }
  }

  // The object at the cursor: `member(key)` is called for each member with the cursor on its
  // value, which it must read or skip; false from it ends the scan. Keys with escapes are
  // refused: neither service writes any, and one could otherwise spell a known key twice.
  template <class F>
  bool object(F&& member) {
    if (!eat('{')) return false;
    if (eat('}')) return true;
    do {
      std::string_view key;
      bool escaped = false;
      if (!string(key, escaped) || escaped || !eat(':')) return false;
      if (!member(key)) return false;
    } while (eat(','));
    return eat('}');
  }

 private:
  // Four hex digits after the cursor (which is left on the last one).
  bool hex4(unsigned& u) {
    u = 0;
    for (int i = 0; i < 4; ++i) {
      if (++p_ == end_ || !hex(*p_)) return false;
      const char h = *p_;
      u = u * 16 + static_cast<unsigned>(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
    }
    return true;
  }
  // One UTF-8 sequence at the cursor, well-formed (no overlong forms, surrogates or values
  // past U+10FFFF); the cursor moves past it.
  bool utf8() {
    const auto c = static_cast<unsigned char>(*p_);
    int n = 0;
    unsigned cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1FU;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0FU;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07U;
    } else {
      return false;
    }
    if (end_ - p_ <= n) return false;
    for (int i = 1; i <= n; ++i) {
      const auto b = static_cast<unsigned char>(p_[i]);
      if ((b & 0xC0U) != 0x80U) return false;
      cp = (cp << 6) | (b & 0x3FU);
    }
    if (n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return false;
    if (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) return false;
    p_ += n + 1;
    return true;
  }
  static bool digit(char c) { return c >= '0' && c <= '9'; }
  static bool hex(char c) { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

  const char* begin_;
  const char* p_;
  const char* end_;
};

std::string excerpt(std::string_view frame) {
  std::string s(frame.substr(0, kExcerpt));
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return frame.size() > kExcerpt ? s + "..." : s;
}

std::unexpected<core::Error> scan_error(std::string_view source, const Why& why, const Scanner& s,
                                        std::string_view frame) {
  const std::string_view what = why.what.empty() ? "malformed JSON" : why.what;
  const std::string field =
      why.field.empty() ? std::string() : fmt::format(" (field '{}')", why.field);
  return fail(ErrorCode::kParse, fmt::format("{}: {}{} at byte {}: {}", source, what, field,
                                             s.offset(), excerpt(frame)));
}

// A non-negative integer written as a JSON number without fraction or exponent.
bool to_uint(std::string_view raw, std::uint64_t& v) {
  if (raw.empty() || raw.front() == '-') return false;
  const auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  return ec == std::errc() && end == raw.data() + raw.size();
}

bool to_int(std::string_view raw, std::int64_t& v) {
  const auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  return ec == std::errc() && end == raw.data() + raw.size();
}

bool millis_to_nanos(std::uint64_t ms, core::UnixNanos& ns) {
  if (ms > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / kNanosPerMilli)) {
    return false;
  }
  ns = static_cast<core::UnixNanos>(ms) * kNanosPerMilli;
  return true;
}

// Symbols repeat frame after frame: a few recent ones skip validation and the intern lookup.
core::Result<core::Symbol> symbol_of(std::string_view s) {
  struct Memo {
    std::array<core::Symbol, 4> recent{};
    unsigned next = 0;
  };
  thread_local Memo memo;
  for (const auto& r : memo.recent) {
    if (!r.empty() && r.value() == s) return r;
  }
  auto sym = core::Symbol::create(s);
  if (!sym) return sym;
  memo.recent[memo.next++ % memo.recent.size()] = *sym;
  return sym;
}

// ---- Binance -----------------------------------------------------------------------------

struct TradeFields {
  enum : std::uint32_t {
    kE = 1U << 0,
    kEventTime = 1U << 1,
    kS = 1U << 2,
    kId = 1U << 3,
    kP = 1U << 4,
    kQ = 1U << 5,
    kTime = 1U << 6,
    kM = 1U << 7,
    kIgnore = 1U << 8,
    kRequired = kE | kS | kId | kP | kQ | kTime | kM,
  };
  std::uint32_t seen = 0;
  std::string_view e, s, p, q;
  std::uint64_t t = 0;
  std::uint64_t time_ms = 0;
  bool m = false;
};

constexpr std::string_view kFieldNames[] = {"e", "E", "s", "t", "p", "q", "T", "m", "M"};

// One member of a trade object (keys are one letter).
bool trade_member(Scanner& j, std::string_view key, TradeFields& f, Why& why) {
  if (key.size() != 1) return j.skip() || (why = {"malformed JSON", key}, false);
  const auto once = [&](std::uint32_t bit) {
    if ((f.seen & bit) != 0) {
      why = {"duplicate key", key};
      return false;
    }
    f.seen |= bit;
    return true;
  };
  const auto text = [&](std::string_view& v) {
    bool escaped = false;
    if (j.peek() != '"') return why = {"must be a string", key}, false;
    if (!j.string(v, escaped)) return why = {"malformed string", key}, false;
    if (escaped) return why = {"has an escape sequence", key}, false;
    return true;
  };
  const auto uint = [&](std::uint64_t& v) {
    std::string_view raw;
    if (!j.number(raw) || !to_uint(raw, v))
      return why = {"must be a non-negative integer", key}, false;
    return true;
  };
  const auto flag = [&](bool& v) {
    if (!j.boolean(v)) return why = {"must be true or false", key}, false;
    return true;
  };
  std::uint64_t ignored = 0;
  bool ignored_flag = false;
  switch (key[0]) {
    case 'e':
      return once(TradeFields::kE) && text(f.e);
    case 'E':
      return once(TradeFields::kEventTime) && uint(ignored);
    case 's':
      return once(TradeFields::kS) && text(f.s);
    case 't':
      return once(TradeFields::kId) && uint(f.t);
    case 'p':
      return once(TradeFields::kP) && text(f.p);
    case 'q':
      return once(TradeFields::kQ) && text(f.q);
    case 'T':
      return once(TradeFields::kTime) && uint(f.time_ms);
    case 'm':
      return once(TradeFields::kM) && flag(f.m);
    case 'M':
      return once(TradeFields::kIgnore) && flag(ignored_flag);
    default:
      // Binance adds fields now and then (it dropped "b" and "a"): others are passed over.
      return j.skip() || (why = {"malformed JSON", key}, false);
  }
}

// Binance writes decimals as plain digits with an optional fraction: nothing else is taken.
bool plain_decimal(std::string_view s) {
  return !s.empty() && s.front() >= '0' && s.front() <= '9' && s.back() >= '0' && s.back() <= '9';
}

enum class TradeOutcome : std::uint8_t { kTrade, kOtherEvent };

core::Result<TradeOutcome> make_trade(const TradeFields& f, std::vector<model::TradeTick>& out,
                                      std::string_view frame) {
  const auto bad = [&](std::string_view field, std::string_view what) {
    return fail(ErrorCode::kParse,
                fmt::format("binance trade: field '{}' {}: {}", field, what, excerpt(frame)));
  };
  if ((f.seen & TradeFields::kE) == 0) return bad("e", "is missing");
  if (f.e != "trade") return TradeOutcome::kOtherEvent;
  if ((f.seen & TradeFields::kRequired) != TradeFields::kRequired) {
    for (std::size_t i = 0; i < std::size(kFieldNames); ++i) {
      const auto bit = std::uint32_t{1} << i;
      if ((TradeFields::kRequired & bit) != 0 && (f.seen & bit) == 0) {
        return bad(kFieldNames[i], "is missing");
      }
    }
  }
  auto symbol = symbol_of(f.s);
  if (!symbol) return bad("s", fmt::format("is not a symbol ({})", symbol.error().message));
  if (!plain_decimal(f.p)) return bad("p", fmt::format("'{}' is not a decimal", f.p));
  auto price = core::Price::from_string(f.p);
  if (!price) return bad("p", price.error().message);
  if (price->raw() <= 0) return bad("p", "must be positive");
  if (!plain_decimal(f.q)) return bad("q", fmt::format("'{}' is not a decimal", f.q));
  auto size = core::Quantity::from_string(f.q);
  if (!size) return bad("q", size.error().message);
  if (size->raw() <= 0) return bad("q", "must be positive");
  core::UnixNanos ts = 0;
  if (!millis_to_nanos(f.time_ms, ts)) return bad("T", "is out of range");
  out.push_back(model::TradeTick{
      .symbol = *symbol,
      .price = *price,
      .size = *size,
      // m: the buyer is the maker, so the seller's order took liquidity.
      .aggressor = f.m ? model::AggressorSide::kSeller : model::AggressorSide::kBuyer,
      .trade_id = f.t,
      .ts_event = ts,
  });
  return TradeOutcome::kTrade;
}

// ---- IBKR --------------------------------------------------------------------------------

// The Client Portal fields used, in the order of IbkrFields::values.
enum IbkrField : std::uint8_t { kLast, kBid, kAsk, kAskSize, kBidSize, kLastSize, kFieldCount };
constexpr std::array<std::string_view, kFieldCount> kIbkrKeys = {"31", "84", "86",
                                                                 "85", "88", "7059"};
constexpr std::array<std::string_view, kFieldCount> kIbkrNames = {
    "last price", "bid", "ask", "ask size", "bid size", "last size"};

// A value as IBKR writes it: a prefix letter (31 only), thousands separators, a decimal. The
// digits are copied into `buf` without the separators.
core::Result<std::string_view> ibkr_digits(std::string_view v, IbkrField f, char& prefix,
                                           std::array<char, 40>& buf) {
  prefix = '\0';
  if (f == kLast && !v.empty() && (v.front() == 'C' || v.front() == 'H')) {
    prefix = v.front();
    v.remove_prefix(1);
  }
  std::size_t n = 0;
  std::size_t group = 0;  // digits since the last separator
  bool separated = false;
  bool fraction = false;
  std::size_t i = 0;
  if (!v.empty() && v.front() == '-') buf[n++] = v[i++];
  for (; i < v.size(); ++i) {
    const char c = v[i];
    if (n == buf.size()) return fail(ErrorCode::kParse, "too long");
    if (c >= '0' && c <= '9') {
      buf[n++] = c;
      ++group;
    } else if (c == ',' && !fraction && group > 0 && (!separated ? group <= 3 : group == 3)) {
      separated = true;
      group = 0;
    } else if (c == '.' && !fraction && (!separated || group == 3) && group > 0) {
      fraction = true;
      buf[n++] = c;
    } else {
      return fail(ErrorCode::kParse, "not a decimal");
    }
  }
  if (separated && !fraction && group != 3) return fail(ErrorCode::kParse, "bad separators");
  if (n == 0 || buf[n - 1] < '0' || buf[n - 1] > '9')
    return fail(ErrorCode::kParse, "not a decimal");
  return std::string_view(buf.data(), n);
}

}  // namespace

std::string_view to_string(FrameKind k) noexcept {
  switch (k) {
    case FrameKind::kData:
      return "data";
    case FrameKind::kControl:
      return "control";
    case FrameKind::kHeartbeat:
      return "heartbeat";
    case FrameKind::kServerError:
      return "server_error";
    case FrameKind::kIgnored:
      return "ignored";
  }
  return "unknown";
}

core::Result<FrameInfo> decode_binance(std::string_view frame, std::vector<model::TradeTick>& out) {
  Scanner j(frame);
  Why why;
  TradeFields top;
  TradeFields data;
  bool has_stream = false, has_data = false, has_result = false, has_error = false;
  bool has_id = false;
  std::int64_t id = -1;
  std::int64_t error_code = 0;
  std::string_view error_msg;
  const auto top_member = [&](std::string_view key) -> bool {
    if (key.size() == 1) return trade_member(j, key, top, why);
    if (key == "stream") {
      std::string_view stream;
      bool escaped = false;
      if (has_stream) return why = {"duplicate key", key}, false;
      has_stream = true;
      if (j.peek() != '"' || !j.string(stream, escaped))
        return why = {"must be a string", key}, false;
      return true;
    }
    if (key == "data") {
      if (has_data) return why = {"duplicate key", key}, false;
      has_data = true;
      if (j.peek() != '{') return why = {"must be an object", key}, false;
      return j.object([&](std::string_view k) { return trade_member(j, k, data, why); });
    }
    if (key == "result") {
      has_result = true;
      return j.skip() || (why = {"malformed JSON", key}, false);
    }
    if (key == "id") {
      if (has_id) return why = {"duplicate key", key}, false;
      has_id = true;
      if (j.peek() == 'n') return j.literal("null") || (why = {"malformed JSON", key}, false);
      if (j.peek() == '"') return j.skip() || (why = {"malformed string", key}, false);
      std::string_view raw;
      if (!j.number(raw) || !to_int(raw, id)) return why = {"must be an integer", key}, false;
      return true;
    }
    // Errors: the streams' documented form is {"code":2,"msg":"..","id":1}; the WebSocket
    // API's, {"error":{"code":..,"msg":..},"id":1}, is taken too.
    if (key == "code") {
      std::string_view raw;
      has_error = true;
      if (!j.number(raw) || !to_int(raw, error_code))
        return why = {"must be an integer", key}, false;
      return true;
    }
    if (key == "msg") {
      bool escaped = false;
      has_error = true;
      if (j.peek() != '"' || !j.string(error_msg, escaped))
        return why = {"must be a string", key}, false;
      return true;
    }
    if (key == "error") {
      has_error = true;
      if (j.peek() != '{') return j.skip() || (why = {"malformed JSON", key}, false);
      return j.object([&](std::string_view k) {
        if (k == "code") {
          std::string_view raw;
          if (!j.number(raw) || !to_int(raw, error_code)) {
            return why = {"must be an integer", "error.code"}, false;
          }
          return true;
        }
        if (k == "msg" && j.peek() == '"') {
          bool escaped = false;
          return j.string(error_msg, escaped) || (why = {"malformed string", "error.msg"}, false);
        }
        return j.skip() || (why = {"malformed JSON", k}, false);
      });
    }
    return j.skip() || (why = {"malformed JSON", key}, false);
  };
  if (j.peek() != '{') {
    why = {"not a JSON object", {}};
    return scan_error("binance", why, j, frame);
  }
  if (!j.object(top_member)) return scan_error("binance", why, j, frame);
  if (!j.at_end()) {
    why = {"text after the object", {}};
    return scan_error("binance", why, j, frame);
  }

  FrameInfo info;
  info.id = id;
  const auto trade = [&](const TradeFields& f) -> core::Result<FrameInfo> {
    auto r = make_trade(f, out, frame);
    if (!r) return std::unexpected(r.error());
    if (*r == TradeOutcome::kOtherEvent) {
      info.kind = FrameKind::kIgnored;
    } else {
      info.kind = FrameKind::kData;
      info.events = 1;
    }
    return std::move(info);
  };
  if (has_data) {
    if (!has_stream || top.seen != 0) {
      return fail(ErrorCode::kParse,
                  fmt::format("binance: a combined-stream frame needs 'stream' and 'data' only: {}",
                              excerpt(frame)));
    }
    return trade(data);
  }
  if (top.seen != 0) return trade(top);
  if (has_error) {
    info.kind = FrameKind::kServerError;
    info.message =
        fmt::format("binance error reply to request {}: code {}: {}", id, error_code, error_msg);
    return info;
  }
  if (has_result && has_id) {
    info.kind = FrameKind::kControl;
    return info;
  }
  return fail(ErrorCode::kParse,
              fmt::format("binance: neither a trade, a combined-stream frame nor a reply: {}",
                          excerpt(frame)));
}

core::Result<std::size_t> decode_binance_frame(std::string_view frame,
                                               std::vector<model::TradeTick>& out) {
  auto r = decode_binance(frame, out);
  if (!r) return std::unexpected(r.error());
  if (r->kind == FrameKind::kServerError) return fail(ErrorCode::kInvalidArgument, r->message);
  return r->events;
}

core::Result<std::uint64_t> parse_conid(std::string_view conidex) {
  const std::size_t at = conidex.find('@');
  const std::string_view digits = conidex.substr(0, at);
  std::uint64_t v = 0;
  if (digits.empty() || !to_uint(digits, v) || v == 0 || (digits.size() > 1 && digits[0] == '0')) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("ibkr conid '{}' is not a positive integer", conidex));
  }
  if (at != std::string_view::npos) {
    const std::string_view exchange = conidex.substr(at + 1);
    const bool ok = !exchange.empty() && exchange.size() <= 32 &&
                    exchange.find_first_not_of(
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789._-") == std::string_view::npos;
    if (!ok) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("ibkr conid '{}': bad exchange after '@'", conidex));
    }
  }
  return v;
}

void IbkrDecoder::watch(std::uint64_t conid, core::Symbol symbol) { books_[conid].symbol = symbol; }

void IbkrDecoder::forget(std::uint64_t conid) { books_.erase(conid); }

const IbkrDecoder::Book* IbkrDecoder::book(std::uint64_t conid) const {
  const auto it = books_.find(conid);
  return it == books_.end() ? nullptr : &it->second;
}

core::Result<FrameInfo> IbkrDecoder::decode(std::string_view frame, std::vector<Record>& out) {
  Scanner j(frame);
  Why why;
  std::string_view topic;
  bool has_topic = false;
  std::uint64_t conid_field = 0;
  bool has_conid = false;
  std::int64_t updated = 0;
  bool has_updated = false;
  std::array<std::string_view, kFieldCount> values{};
  unsigned present = 0;
  bool heartbeat = false;
  int authenticated = -1;  // sts: -1 not said, 0 false, 1 true
  std::string_view error_text;
  bool has_error = false;

  const auto text_or_number = [&](std::string_view key, std::string_view& v) {
    if (j.peek() == '"') {
      bool escaped = false;
      if (!j.string(v, escaped)) return why = {"malformed string", key}, false;
      if (escaped) return why = {"has an escape sequence", key}, false;
      return true;
    }
    if (!j.number(v)) return why = {"must be a string or a number", key}, false;
    return true;
  };
  const auto member = [&](std::string_view key) -> bool {
    for (std::size_t i = 0; i < kFieldCount; ++i) {
      if (key == kIbkrKeys[i]) {
        if ((present & (1U << i)) != 0) return why = {"duplicate key", key}, false;
        present |= 1U << i;
        return text_or_number(key, values[i]);
      }
    }
    if (key == "topic") {
      bool escaped = false;
      if (has_topic) return why = {"duplicate key", key}, false;
      has_topic = true;
      if (j.peek() != '"' || !j.string(topic, escaped) || escaped) {
        return why = {"must be a plain string", key}, false;
      }
      return true;
    }
    if (key == "conid") {
      std::string_view raw;
      if (has_conid) return why = {"duplicate key", key}, false;
      has_conid = true;
      if (!text_or_number(key, raw)) return false;
      if (!to_uint(raw, conid_field)) return why = {"must be a non-negative integer", key}, false;
      return true;
    }
    if (key == "_updated") {
      std::string_view raw;
      if (has_updated) return why = {"duplicate key", key}, false;
      has_updated = true;
      if (!j.number(raw) || !to_int(raw, updated) || updated < 0) {
        return why = {"must be a non-negative integer", key}, false;
      }
      return true;
    }
    if (key == "hb") {
      heartbeat = true;
      return j.skip() || (why = {"malformed JSON", key}, false);
    }
    if (key == "args" && j.peek() == '{') {
      return j.object([&](std::string_view k) {
        if (k == "authenticated" && (j.peek() == 't' || j.peek() == 'f')) {
          bool v = false;
          if (!j.boolean(v)) return why = {"must be true or false", "args.authenticated"}, false;
          authenticated = v ? 1 : 0;
          return true;
        }
        return j.skip(1) || (why = {"malformed JSON", k}, false);
      });
    }
    if (key == "error") {
      has_error = true;
      if (j.peek() == '"') {
        bool escaped = false;
        return j.string(error_text, escaped) || (why = {"malformed string", key}, false);
      }
      return j.skip() || (why = {"malformed JSON", key}, false);
    }
    return j.skip() || (why = {"malformed JSON", key}, false);
  };
  if (j.peek() != '{') {
    why = {"not a JSON object", {}};
    return scan_error("ibkr", why, j, frame);
  }
  if (!j.object(member)) return scan_error("ibkr", why, j, frame);
  if (!j.at_end()) {
    why = {"text after the object", {}};
    return scan_error("ibkr", why, j, frame);
  }

  FrameInfo info;
  info.kind = FrameKind::kControl;
  if (!has_topic) {
    if (has_error) {
      info.kind = FrameKind::kServerError;
      info.message = fmt::format("ibkr error: {}", error_text);
    }
    return info;  // {"message":"waiting for session"} and the like
  }
  if (topic == "system") {
    if (heartbeat) info.kind = FrameKind::kHeartbeat;
    return info;
  }
  if (topic == "sts") {
    if (authenticated == 0) {
      info.kind = FrameKind::kServerError;
      info.message = "ibkr: the session is not authenticated (sts)";
    }
    return info;
  }
  if (!topic.starts_with("smd+")) return info;  // ntf, blt, tic replies...

  auto conid = parse_conid(topic.substr(4));
  if (!conid) {
    return fail(ErrorCode::kParse,
                fmt::format("ibkr: topic '{}' has no contract id: {}", topic, excerpt(frame)));
  }
  if (has_conid && conid_field != *conid) {
    return fail(ErrorCode::kParse, fmt::format("ibkr: topic '{}' but conid {}: {}", topic,
                                               conid_field, excerpt(frame)));
  }
  if (has_error) {
    info.kind = FrameKind::kServerError;
    info.message = fmt::format("ibkr {}: {}", topic, error_text);
    return info;
  }
  const auto it = books_.find(*conid);
  if (it == books_.end()) {
    info.kind = FrameKind::kIgnored;
    return info;
  }
  info.kind = FrameKind::kData;
  // Empty values carry nothing (IBKR sends "" for a side with no quote).
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if ((present & (1U << i)) != 0 && values[i].empty()) present &= ~(1U << i);
  }
  if (present == 0) return info;  // the subscription's acknowledgement, or other fields only
  if (!has_updated) {
    return fail(ErrorCode::kParse,
                fmt::format("ibkr {}: market data without '_updated': {}", topic, excerpt(frame)));
  }
  core::UnixNanos ts = 0;
  if (!millis_to_nanos(static_cast<std::uint64_t>(updated), ts)) {
    return fail(ErrorCode::kParse,
                fmt::format("ibkr {}: '_updated' {} is out of range", topic, updated));
  }
  Book& b = it->second;
  if (updated < b.updated) {  // older than what is applied: a replay
    info.duplicates = 1;
    return info;
  }

  // Every value is read before any is applied, so a bad frame changes nothing.
  std::array<std::optional<core::Price>, kFieldCount> prices{};
  std::array<std::optional<core::Quantity>, kFieldCount> sizes{};
  char last_prefix = '\0';
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if ((present & (1U << i)) == 0) continue;
    const auto f = static_cast<IbkrField>(i);
    std::array<char, 40> buf{};
    char prefix = '\0';
    auto digits = ibkr_digits(values[i], f, prefix, buf);
    const auto bad = [&](std::string_view why_text) {
      return fail(ErrorCode::kParse, fmt::format("ibkr {}: field {} ({}) '{}': {}", topic,
                                                 kIbkrKeys[i], kIbkrNames[i], values[i], why_text));
    };
    if (!digits) return bad(digits.error().message);
    if (f == kLast) last_prefix = prefix;
    if (f == kLast || f == kBid || f == kAsk) {
      auto p = core::Price::from_string(*digits);
      if (!p) return bad(p.error().message);
      prices[i] = *p;
    } else {
      auto q = core::Quantity::from_string(*digits);
      if (!q) return bad(q.error().message);
      sizes[i] = *q;
    }
  }

  const bool same_time = updated == b.updated;
  bool dropped = false;
  // The quote.
  constexpr unsigned kQuoteFields =
      (1U << kBid) | (1U << kAsk) | (1U << kBidSize) | (1U << kAskSize);
  if ((present & kQuoteFields) != 0) {
    bool changed = false;
    const auto apply = [&changed](auto& known, const auto& v) {
      if (v && (!known || known->raw() != v->raw() || known->precision() != v->precision())) {
        known = v;
        changed = true;
      }
    };
    apply(b.bid, prices[kBid]);
    apply(b.ask, prices[kAsk]);
    apply(b.bid_size, sizes[kBidSize]);
    apply(b.ask_size, sizes[kAskSize]);
    if (same_time && !changed) {
      dropped = true;
    } else if (b.bid && b.ask) {
      out.emplace_back(model::QuoteTick{.symbol = b.symbol,
                                        .bid = *b.bid,
                                        .ask = *b.ask,
                                        .bid_size = b.bid_size.value_or(core::Quantity{}),
                                        .ask_size = b.ask_size.value_or(core::Quantity{}),
                                        .ts_event = ts});
      ++info.events;
    }
  }
  // The trade: a new last price or size. "C" is yesterday's close, not a trade; "H" is the
  // last trade's price while halted, known but not new.
  const bool last_came = (present & (1U << kLast)) != 0;
  const bool size_came = (present & (1U << kLastSize)) != 0;
  if (last_came || size_came) {
    if (last_came && last_prefix != 'C') b.last = prices[kLast];
    if (size_came) b.last_size = sizes[kLastSize];
    const bool is_trade =
        !(last_came && last_prefix != '\0') && b.last && b.last_size && b.last_size->raw() > 0;
    if (is_trade) {
      if (updated <= b.trade_updated) {
        dropped = true;
      } else {
        out.emplace_back(model::TradeTick{.symbol = b.symbol,
                                          .price = *b.last,
                                          .size = *b.last_size,
                                          .aggressor = model::AggressorSide::kNone,
                                          .trade_id = 0,
                                          .ts_event = ts});
        ++info.events;
        b.trade_updated = updated;
      }
    }
  }
  b.updated = updated;
  info.duplicates = dropped ? 1 : 0;
  return info;
}

}  // namespace nautilus::marketdata
