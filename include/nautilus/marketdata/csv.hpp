// CSV market data files (plain or gzip), one kind per file, told apart by the header row:
//
//   bars:   ts,symbol,open,high,low,close,volume[,interval_s]
//   trades: ts,symbol,price,size,side[,trade_id]        side: B (buyer aggressor), S, or N
//   quotes: ts,symbol,bid,ask,bid_size,ask_size
//
// `ts` is ISO-8601 UTC ("2026-01-05T14:30:00Z", fractional seconds allowed, "T" or space) or
// integer nanoseconds since the epoch (core::parse_timestamp). Rows must be in time order. Every
// rejected row is an error that names the file and line (docs/MARKET_DATA.md).
//
//   auto r = marketdata::CsvReader::open("data/sample/bars_1m.csv.gz");
//   while (auto rec = r->next()) { if (!*rec) break; ... **rec ... }
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "nautilus/core/error.hpp"
#include "nautilus/model/market_data.hpp"

namespace nautilus::marketdata {

// kRecorded: a recorded bus stream (.jsonl, .jsonl.gz: bars, trades and quotes mixed).
enum class RecordKind : std::uint8_t { kBar, kTrade, kQuote, kRecorded };
[[nodiscard]] std::string_view to_string(RecordKind k) noexcept;

using Record = std::variant<model::Bar, model::TradeTick, model::QuoteTick>;
[[nodiscard]] core::UnixNanos record_ts(const Record& r) noexcept;
[[nodiscard]] core::Symbol record_symbol(const Record& r) noexcept;

class CsvReader {
 public:
  [[nodiscard]] static core::Result<CsvReader> open(const std::string& path);
  CsvReader(CsvReader&&) noexcept;
  CsvReader& operator=(CsvReader&&) noexcept;
  ~CsvReader();

  // The next row; nullopt at the end of the file; an error names file:line and the column.
  [[nodiscard]] core::Result<std::optional<Record>> next();
  [[nodiscard]] RecordKind kind() const noexcept;
  [[nodiscard]] const std::string& path() const noexcept;
  // The line number of the row next() returned last (the header is line 1).
  [[nodiscard]] std::size_t line() const noexcept;
  // That row's `ts` cell exactly as written (valid until the next call of next()), so a tool
  // can echo timestamps in the input's own form.
  [[nodiscard]] std::string_view raw_ts() const noexcept;
  // How far through the file reading is, 0 to 1 (by bytes of the file as stored).
  [[nodiscard]] double progress() const noexcept;

  struct Impl;

 private:
  explicit CsvReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Parses one data row of the given kind (exposed for the fuzz target).
[[nodiscard]] core::Result<Record> parse_row(RecordKind kind, std::string_view line,
                                             bool has_optional_column);
// The same, remembering the last timestamp's text and the symbols seen, as a reader does
// (csv.cpp).
struct RowCache;
[[nodiscard]] core::Result<Record> parse_row(RecordKind kind, std::string_view line,
                                             bool has_optional_column, RowCache& cache);

// A recorded bus stream as market data: the JSON lines `nautilus replay` prints and `nautilus
// run --deterministic --record` writes (docs/WIRE_FORMAT.md). CsvReader reads a file whose name
// ends in .jsonl or .jsonl.gz this way (kind kRecorded): lines of type bar, trade_tick and
// quote_tick become records from their payloads, every other message of the recording
// (features, orders, health ...) is skipped. kParse naming the field for a line that is not
// JSON or a market message with a missing or malformed field; nullopt for another type.
[[nodiscard]] core::Result<std::optional<Record>> parse_recorded_line(std::string_view line);
[[nodiscard]] inline bool is_recorded_stream(std::string_view path) {
  return path.ends_with(".jsonl") || path.ends_with(".jsonl.gz");
}

}  // namespace nautilus::marketdata
