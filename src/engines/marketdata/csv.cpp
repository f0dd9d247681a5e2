#include "nautilus/marketdata/csv.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "nautilus/core/gz_lines.hpp"
#include "nautilus/core/time.hpp"

namespace nautilus::marketdata {
namespace {

using core::ErrorCode;
using core::fail;

// A row's fields, trimmed of spaces, quotes and a CR. In place, not a vector: this runs for
// every row of a backtest's data (an allocation per row was a twentieth of reading it).
struct Fields {
  static constexpr std::size_t kMax = 12;  // rows have at most 8; more are only counted
  std::array<std::string_view, kMax> f;
  std::size_t n = 0;  // how many the row has
  [[nodiscard]] std::size_t size() const noexcept { return n; }
  [[nodiscard]] std::string_view operator[](std::size_t i) const noexcept { return f[i]; }
};

Fields split(std::string_view line) {
  Fields out;
  std::size_t i = 0;
  while (true) {
    const std::size_t j = line.find(',', i);
    std::string_view f = line.substr(i, j == std::string_view::npos ? line.npos : j - i);
    while (!f.empty() && (f.front() == ' ' || f.front() == '"')) f.remove_prefix(1);
    while (!f.empty() && (f.back() == ' ' || f.back() == '"' || f.back() == '\r'))
      f.remove_suffix(1);
    if (out.n < Fields::kMax) out.f[out.n] = f;
    ++out.n;
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return out;
}

template <class Int>
bool parse_int(std::string_view s, Int& v) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

template <class T>
core::Result<T> decimal(std::string_view field, std::string_view column, bool positive) {
  auto v = T::from_string(field);
  if (!v)
    return fail(ErrorCode::kParse,
                fmt::format("column '{}': '{}' is not a decimal", column, field));
  if (positive ? v->raw() <= 0 : v->raw() < 0) {
    return fail(ErrorCode::kOutOfRange, fmt::format("column '{}': {} must be {}", column, field,
                                                    positive ? "> 0" : ">= 0"));
  }
  return *v;
}

constexpr std::array<std::string_view, 3> kHeaders = {"ts,symbol,open,high,low,close,volume",
                                                      "ts,symbol,price,size,side",
                                                      "ts,symbol,bid,ask,bid_size,ask_size"};

}  // namespace

std::string_view to_string(RecordKind k) noexcept {
  switch (k) {
    case RecordKind::kBar:
      return "bar";
    case RecordKind::kTrade:
      return "trade";
    case RecordKind::kQuote:
      return "quote";
    case RecordKind::kRecorded:
      return "recorded stream";
  }
  return "?";
}

// std::visit may throw bad_variant_access only for a valueless variant, which a Record of
// trivially copyable alternatives can never be; get_if keeps these noexcept without it.
core::UnixNanos record_ts(const Record& r) noexcept {
  if (const auto* b = std::get_if<model::Bar>(&r)) return b->ts_event;
  if (const auto* t = std::get_if<model::TradeTick>(&r)) return t->ts_event;
  return std::get_if<model::QuoteTick>(&r)->ts_event;
}
core::Symbol record_symbol(const Record& r) noexcept {
  if (const auto* b = std::get_if<model::Bar>(&r)) return b->symbol;
  if (const auto* t = std::get_if<model::TradeTick>(&r)) return t->symbol;
  return std::get_if<model::QuoteTick>(&r)->symbol;
}

namespace {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

}  // namespace

// What consecutive rows repeat: the timestamp (every symbol's bar of a minute has the same)
// and the symbols (a few hundred, over and over). Parsing and interning them again was a
// third of reading a row.
struct RowCache {
  static constexpr std::size_t kMaxSymbols = 1 << 16;  // then it starts again: bounded memory
  std::string ts_text;
  core::UnixNanos ts = 0;
  std::unordered_map<std::string, core::Symbol, StringHash, std::equal_to<>> symbols;

  core::Result<core::UnixNanos> timestamp(std::string_view text) {
    if (!ts_text.empty() && text == ts_text) return ts;
    NAUTILUS_TRY(t, core::parse_timestamp(text));
    ts_text.assign(text);
    ts = t;
    return t;
  }
  core::Result<core::Symbol> symbol(std::string_view text) {
    if (const auto it = symbols.find(text); it != symbols.end()) return it->second;
    auto sym = core::Symbol::create(text);
    if (!sym) return std::unexpected(sym.error());
    if (symbols.size() >= kMaxSymbols) symbols.clear();
    symbols.emplace(std::string(text), *sym);
    return *sym;
  }
};

core::Result<Record> parse_row(RecordKind kind, std::string_view line, bool has_optional_column) {
  RowCache cache;
  return parse_row(kind, line, has_optional_column, cache);
}

core::Result<Record> parse_row(RecordKind kind, std::string_view line, bool has_optional_column,
                               RowCache& cache) {
  const auto f = split(line);
  const std::size_t want = (kind == RecordKind::kBar     ? 7
                            : kind == RecordKind::kTrade ? 5
                                                         : 6) +
                           (has_optional_column ? 1 : 0);
  if (f.size() != want) {
    return fail(ErrorCode::kParse, fmt::format("expected {} columns, found {}", want, f.size()));
  }
  NAUTILUS_TRY(ts, cache.timestamp(f[0]));
  auto sym = cache.symbol(f[1]);
  if (!sym) return fail(ErrorCode::kParse, fmt::format("column 'symbol': {}", sym.error().message));
  switch (kind) {
    case RecordKind::kBar: {
      NAUTILUS_TRY(open, decimal<core::Price>(f[2], "open", true));
      NAUTILUS_TRY(high, decimal<core::Price>(f[3], "high", true));
      NAUTILUS_TRY(low, decimal<core::Price>(f[4], "low", true));
      NAUTILUS_TRY(close, decimal<core::Price>(f[5], "close", true));
      NAUTILUS_TRY(volume, decimal<core::Quantity>(f[6], "volume", false));
      std::uint32_t interval = 60;
      if (has_optional_column && (!parse_int(f[7], interval) || interval == 0)) {
        return fail(ErrorCode::kParse,
                    fmt::format("column 'interval_s': '{}' is not a positive integer", f[7]));
      }
      if (high < low || high < open || high < close || low > open || low > close) {
        return fail(ErrorCode::kOutOfRange, "bar must have low <= open, close <= high");
      }
      return Record(model::Bar{*sym, open, high, low, close, volume, interval, ts});
    }
    case RecordKind::kTrade: {
      NAUTILUS_TRY(price, decimal<core::Price>(f[2], "price", true));
      NAUTILUS_TRY(size, decimal<core::Quantity>(f[3], "size", true));
      model::AggressorSide side{};
      if (f[4] == "B" || f[4] == "buy" || f[4] == "BUY") {
        side = model::AggressorSide::kBuyer;
      } else if (f[4] == "S" || f[4] == "sell" || f[4] == "SELL") {
        side = model::AggressorSide::kSeller;
      } else if (f[4] == "N" || f[4].empty()) {
        side = model::AggressorSide::kNone;
      } else {
        return fail(ErrorCode::kParse, fmt::format("column 'side': '{}' is not B, S or N", f[4]));
      }
      std::uint64_t id = 0;
      if (has_optional_column && !parse_int(f[5], id)) {
        return fail(ErrorCode::kParse,
                    fmt::format("column 'trade_id': '{}' is not an integer", f[5]));
      }
      return Record(model::TradeTick{*sym, price, size, side, id, ts});
    }
    case RecordKind::kQuote: {
      NAUTILUS_TRY(bid, decimal<core::Price>(f[2], "bid", true));
      NAUTILUS_TRY(ask, decimal<core::Price>(f[3], "ask", true));
      NAUTILUS_TRY(bid_size, decimal<core::Quantity>(f[4], "bid_size", false));
      NAUTILUS_TRY(ask_size, decimal<core::Quantity>(f[5], "ask_size", false));
      if (ask < bid) return fail(ErrorCode::kOutOfRange, "quote has bid > ask (crossed)");
      return Record(model::QuoteTick{*sym, bid, ask, bid_size, ask_size, ts});
    }
    case RecordKind::kRecorded:
      break;  // JSON lines: recorded.cpp
  }
  return fail(ErrorCode::kInternal, "unknown record kind");
}

struct CsvReader::Impl {
  std::string path;
  std::optional<core::GzLines> in;
  RecordKind kind = RecordKind::kBar;
  bool optional_column = false;
  std::size_t line_no = 0;
  core::UnixNanos last_ts = INT64_MIN;
  std::string_view last_row;  // the row next() returned last, in the reader's buffer
  RowCache cache;
  std::uintmax_t file_size = 0;

  // The next line without its newline; nullopt at EOF.
  core::Result<std::optional<std::string_view>> read_line() {
    auto l = in->next();  // NOLINT(bugprone-unchecked-optional-access): opened in open()
    line_no = in->line();
    return l;
  }
};

core::Result<CsvReader> CsvReader::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  auto in = core::GzLines::open(path);
  if (!in) return std::unexpected(in.error());
  impl->in.emplace(std::move(*in));
  std::error_code size_error;
  impl->file_size = std::filesystem::file_size(path, size_error);
  if (size_error) impl->file_size = 0;
  if (is_recorded_stream(path)) {  // JSON lines: no header
    impl->kind = RecordKind::kRecorded;
    return CsvReader(std::move(impl));
  }
  auto header = impl->read_line();
  if (!header) return std::unexpected(header.error());
  if (!*header) return fail(ErrorCode::kParse, fmt::format("{}: empty file", path));
  const std::string_view h = **header;  // NOLINT(bugprone-unchecked-optional-access): checked above
  bool found = false;
  constexpr std::array<std::string_view, 3> kOptional = {",interval_s", ",trade_id", ""};
  for (std::size_t k = 0; k < kHeaders.size(); ++k) {
    if (h == kHeaders[k]) {
      impl->kind = static_cast<RecordKind>(k);
      found = true;
    } else if (!kOptional[k].empty() && h.starts_with(kHeaders[k]) &&
               h.substr(kHeaders[k].size()) == kOptional[k]) {
      impl->kind = static_cast<RecordKind>(k);
      impl->optional_column = true;
      found = true;
    }
  }
  if (!found) {
    return fail(
        ErrorCode::kParse,
        fmt::format("{}:1: unknown header '{}'; want one of: {} | {} | {}", path, h,
                    "ts,symbol,open,high,low,close,volume[,interval_s]",
                    "ts,symbol,price,size,side[,trade_id]", "ts,symbol,bid,ask,bid_size,ask_size"));
  }
  return CsvReader(std::move(impl));
}

CsvReader::CsvReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CsvReader::CsvReader(CsvReader&&) noexcept = default;
CsvReader& CsvReader::operator=(CsvReader&&) noexcept = default;
CsvReader::~CsvReader() = default;

RecordKind CsvReader::kind() const noexcept { return impl_->kind; }
std::size_t CsvReader::line() const noexcept { return impl_->line_no; }

std::string_view CsvReader::raw_ts() const noexcept {
  const std::string_view row = impl_->last_row;
  return row.substr(0, row.find(','));
}

double CsvReader::progress() const noexcept {
  if (impl_->file_size == 0) return 0;
  const auto at = gzoffset(impl_->in->file());  // bytes of the file (compressed or not) consumed
  return at <= 0 ? 0
                 : std::min(1.0, static_cast<double>(at) / static_cast<double>(impl_->file_size));
}
const std::string& CsvReader::path() const noexcept { return impl_->path; }

core::Result<std::optional<Record>> CsvReader::next() {
  while (true) {
    auto line = impl_->read_line();
    if (!line) return std::unexpected(line.error());
    if (!*line) return std::optional<Record>{};
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): *line was checked just above
    const std::string_view text = **line;
    if (text.empty() || text.front() == '#') continue;
    const auto bad = [&](const core::Error& e) {
      return fail(e.code, fmt::format("{}:{}: {}", impl_->path, impl_->line_no, e.message));
    };
    // Each kind parsed straight into its result: no error value made up front for every row
    // only to be replaced, and one copy of the record fewer.
    std::optional<Record> rec;
    if (impl_->kind == RecordKind::kRecorded) {
      auto r = parse_recorded_line(text);
      if (!r) return bad(r.error());
      if (!*r) continue;  // another message of the recording
      rec = std::move(*r);
    } else {
      auto r = parse_row(impl_->kind, text, impl_->optional_column, impl_->cache);
      if (!r) return bad(r.error());
      rec = std::move(*r);
    }
    const auto ts = record_ts(*rec);
    if (ts < impl_->last_ts) {
      return fail(ErrorCode::kOutOfRange,
                  fmt::format("{}:{}: timestamp {} is earlier than the row before", impl_->path,
                              impl_->line_no, core::format_timestamp(ts)));
    }
    impl_->last_ts = ts;
    impl_->last_row = text;
    return rec;
  }
}

}  // namespace nautilus::marketdata
