// Point-in-time reference data per symbol (sector, industry, shares outstanding, book value,
// sales, operating cash flow): a lookup answers with what had been published by then, so a
// backtest never sees a filing before its date.
//
// CSV files (plain or .gz), recognised by their header row:
//
//   as_of,symbol,sector,industry,shares_outstanding,book_value,sales,operating_cash_flow
//   2024-02-02,AAPL,Information Technology,"Technology Hardware, Storage & Peripherals",...
//
// `as_of` is a date (YYYY-MM-DD, meaning 00:00 UTC that day) or any timestamp
// core::parse_timestamp reads; numbers are plain decimals; text is at most 47 bytes, in double
// quotes when it holds a comma ("" for a quote inside). Rows may come in any order and from
// several files: the store sorts them per symbol by `as_of`. The same symbol twice at the same
// `as_of` is an error, as is any malformed cell ("file:line: column 'x': ...").
//
//   marketdata::ReferenceStore store;
//   if (auto n = store.load({"data/universe/reference.csv.gz"}); !n) return n.error();
//   if (auto r = store.lookup(core::Symbol::from_trusted("AAPL"), bar.ts_event)) {
//     const double market_cap = r->shares_outstanding * close;
//   }
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/core/identifiers.hpp"
#include "nautilus/marketdata/adapters.hpp"

namespace nautilus::marketdata {

inline constexpr std::string_view kReferenceHeader =
    "as_of,symbol,sector,industry,shares_outstanding,book_value,sales,operating_cash_flow";
inline constexpr std::size_t kMaxReferenceText = 47;  // bytes of sector or industry

struct ReferenceRecord {
  core::Symbol symbol;
  std::string sector;
  std::string industry;
  double shares_outstanding = 0;  // > 0
  double book_value = 0;          // stockholders' equity; may be negative
  double sales = 0;               // >= 0; trailing year in data written here
  double operating_cash_flow = 0;
  core::UnixNanos as_of = 0;  // known from this time on

  friend bool operator==(const ReferenceRecord&, const ReferenceRecord&) = default;
};

// Thread safety: load() and add() must not run concurrently with anything else; after loading,
// any number of threads may call the const members.
class ReferenceStore {
 public:
  // Reads the files and adds their rows; the store is unchanged when any file fails. Returns the
  // number of records added.
  [[nodiscard]] core::Result<std::size_t> load(const std::vector<std::string>& paths);
  // kAlreadyExists for a second record of the same symbol and as_of; kInvalidArgument for a
  // record that could not have been read from a file (text too long, shares <= 0, ...).
  [[nodiscard]] core::Result<void> add(ReferenceRecord record);

  // The latest record of `symbol` with as_of <= at; nullopt when nothing was known yet.
  [[nodiscard]] std::optional<ReferenceRecord> lookup(core::Symbol symbol,
                                                      core::UnixNanos at) const;
  // The same without a copy; valid until the store is next changed.
  [[nodiscard]] const ReferenceRecord* find(core::Symbol symbol, core::UnixNanos at) const noexcept;
  // Every record of `symbol`, oldest first.
  [[nodiscard]] std::span<const ReferenceRecord> history(core::Symbol symbol) const noexcept;
  // Sorted by name.
  [[nodiscard]] std::vector<core::Symbol> symbols() const;
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  std::unordered_map<core::Symbol, std::vector<ReferenceRecord>> by_symbol_;
  std::size_t size_ = 0;
};

// One CSV row of the schema above, with its newline; text quoted where it needs to be, numbers
// as the shortest decimal that reads back as the same double, `as_of` as a date when it is
// midnight UTC.
[[nodiscard]] std::string format_reference_row(const ReferenceRecord& record);
// Writes the header and the records in the order given (gzip when the path ends in .gz).
[[nodiscard]] core::Result<std::size_t> write_reference(const std::string& path,
                                                        std::span<const ReferenceRecord> records);

// The concepts reference_from_edgar reads, to pass to parse_edgar_companyfacts.
[[nodiscard]] const std::vector<std::string>& edgar_reference_concepts();

// Point-in-time records from SEC company facts, one per filing date that changes a field
// (`filed`, when the number became known, not the period's end):
//   shares_outstanding   dei:EntityCommonStockSharesOutstanding      10-K and 10-Q
//   book_value           us-gaap:StockholdersEquity                  10-K and 10-Q
//   sales                us-gaap:Revenues, or RevenueFromContractWithCustomerExcludingAssessedTax,
//                        annual: form 10-K, fp FY
//   operating_cash_flow  us-gaap:NetCashProvidedByUsedInOperatingActivities, annual as above
// Each filing contributes the value of its latest period end (a 10-K also repeats earlier years);
// where one filing gives several durations ending that day (a fourth quarter beside the year),
// the largest in magnitude, the year. A filing that only restates an older period does not
// replace a newer one. Each record carries the latest known value of every field as of its
// date, so records start at the first filing date by which all four are known. kNotFound,
// naming the missing concepts, when some field is never known; kInvalidArgument for a sector or
// industry over 47 bytes; kParse for a `filed` that is not a date.
[[nodiscard]] core::Result<std::vector<ReferenceRecord>> reference_from_edgar(
    const CompanyFacts& facts, core::Symbol symbol, std::string_view sector,
    std::string_view industry);

}  // namespace nautilus::marketdata
