#include "nautilus/marketdata/reference.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <tuple>

#include "nautilus/core/gz_lines.hpp"
#include "nautilus/core/time.hpp"

namespace nautilus::marketdata {
namespace {

using core::ErrorCode;
using core::fail;

constexpr std::int64_t kDayNs = 86'400'000'000'000;
constexpr std::size_t kColumns = 8;
constexpr std::array<std::string_view, kColumns> kColumnNames = {"as_of",
                                                                 "symbol",
                                                                 "sector",
                                                                 "industry",
                                                                 "shares_outstanding",
                                                                 "book_value",
                                                                 "sales",
                                                                 "operating_cash_flow"};

// A problem with one cell: the column it is in and what is wrong.
struct CellError {
  std::string_view column;
  std::string message;
};

std::optional<CellError> check_text(std::string_view column, std::string_view s) {
  if (s.size() > kMaxReferenceText) {
    return CellError{column, fmt::format("'{}' is longer than {} bytes", s, kMaxReferenceText)};
  }
  if (s.find_first_of("\r\n") != std::string_view::npos) {
    return CellError{column, "holds a line break"};
  }
  return std::nullopt;
}

// What add() and load() both refuse; load() names the file and line as well.
std::optional<CellError> check_record(const ReferenceRecord& r) {
  if (r.symbol.empty()) return CellError{"symbol", "is empty"};
  if (auto e = check_text("sector", r.sector)) return e;
  if (auto e = check_text("industry", r.industry)) return e;
  const std::array<std::pair<std::string_view, double>, 4> numbers = {
      {{"shares_outstanding", r.shares_outstanding},
       {"book_value", r.book_value},
       {"sales", r.sales},
       {"operating_cash_flow", r.operating_cash_flow}}};
  for (const auto& [column, v] : numbers) {
    if (!std::isfinite(v)) return CellError{column, "is not a finite number"};
  }
  if (r.shares_outstanding <= 0) {
    return CellError{"shares_outstanding", fmt::format("{} must be > 0", r.shares_outstanding)};
  }
  if (r.sales < 0) return CellError{"sales", fmt::format("{} must be >= 0", r.sales)};
  return std::nullopt;
}

std::string as_of_text(core::UnixNanos t) {
  if (t % kDayNs == 0) return core::format_timestamp(t).substr(0, 10);
  return core::format_timestamp(t);
}

// Splits one row into cells: RFC 4180 quoting (a quoted cell may hold commas, "" is a quote),
// spaces around cells dropped.
core::Result<std::vector<std::string>> split_row(std::string_view line) {
  std::vector<std::string> cells;
  std::size_t i = 0;
  while (true) {
    while (i < line.size() && line[i] == ' ') ++i;
    std::string cell;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            cell.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        cell.push_back(line[i++]);
      }
      if (!closed) {
        return fail(
            ErrorCode::kParse,
            fmt::format("cell {} has an opening quote without a closing one", cells.size() + 1));
      }
      while (i < line.size() && line[i] == ' ') ++i;
      if (i < line.size() && line[i] != ',') {
        return fail(ErrorCode::kParse,
                    fmt::format("cell {} has text after its closing quote", cells.size() + 1));
      }
    } else {
      const std::size_t j = std::min(line.find(',', i), line.size());
      std::string_view raw = line.substr(i, j - i);
      while (!raw.empty() && raw.back() == ' ') raw.remove_suffix(1);
      if (raw.find('"') != std::string_view::npos) {
        return fail(ErrorCode::kParse,
                    fmt::format("cell {} has a quote inside an unquoted cell", cells.size() + 1));
      }
      cell = std::string(raw);
      i = j;
    }
    cells.push_back(std::move(cell));
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return cells;
}

std::optional<double> decimal(std::string_view s) {
  double v = 0;
  const auto [end, ec] =
      std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::fixed);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

struct Located {
  ReferenceRecord record;
  std::string where;  // "file:line"
};

core::Result<ReferenceRecord> parse_reference_row(std::string_view line) {
  NAUTILUS_TRY(cells, split_row(line));
  if (cells.size() != kColumns) {
    return fail(ErrorCode::kParse,
                fmt::format("expected {} columns, found {}", kColumns, cells.size()));
  }
  ReferenceRecord r;
  auto ts = core::parse_timestamp(cells[0]);
  if (!ts) return fail(ErrorCode::kParse, fmt::format("column 'as_of': {}", ts.error().message));
  r.as_of = *ts;
  auto sym = core::Symbol::create(cells[1]);
  if (!sym) return fail(ErrorCode::kParse, fmt::format("column 'symbol': {}", sym.error().message));
  r.symbol = *sym;
  r.sector = std::move(cells[2]);
  r.industry = std::move(cells[3]);
  std::array<double*, 4> numbers = {&r.shares_outstanding, &r.book_value, &r.sales,
                                    &r.operating_cash_flow};
  for (std::size_t k = 0; k < numbers.size(); ++k) {
    const auto v = decimal(cells[4 + k]);
    if (!v) {
      return fail(ErrorCode::kParse, fmt::format("column '{}': '{}' is not a decimal",
                                                 kColumnNames[4 + k], cells[4 + k]));
    }
    *numbers[k] = *v;
  }
  if (auto e = check_record(r)) {
    return fail(ErrorCode::kOutOfRange, fmt::format("column '{}': {}", e->column, e->message));
  }
  return r;
}

// One file's records with their locations.
core::Result<std::vector<Located>> read_file(const std::string& path) {
  auto in = core::GzLines::open(path);
  if (!in) return std::unexpected(in.error());
  std::vector<Located> out;
  bool header = true;
  while (true) {
    auto next = in->next();
    if (!next) return std::unexpected(next.error());
    if (!*next) break;
    std::string_view line = **next;  // NOLINT(bugprone-unchecked-optional-access): checked
    const std::size_t line_no = in->line();
    if (header) {
      if (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);  // a UTF-8 byte order mark
      if (line != kReferenceHeader) {
        return fail(ErrorCode::kParse, fmt::format("{}:1: unknown header '{}'; want {}", path, line,
                                                   kReferenceHeader));
      }
      header = false;
      continue;
    }
    if (line.empty() || line.front() == '#') continue;
    auto r = parse_reference_row(line);
    if (!r) {
      return fail(r.error().code, fmt::format("{}:{}: {}", path, line_no, r.error().message));
    }
    out.push_back({std::move(*r), fmt::format("{}:{}", path, line_no)});
  }
  if (header) return fail(ErrorCode::kParse, fmt::format("{}: empty file", path));
  return out;
}

bool by_as_of(const ReferenceRecord& a, const ReferenceRecord& b) { return a.as_of < b.as_of; }

}  // namespace

core::Result<std::size_t> ReferenceStore::load(const std::vector<std::string>& paths) {
  std::vector<Located> rows;
  for (const auto& path : paths) {
    NAUTILUS_TRY(part, read_file(path));
    rows.insert(rows.end(), std::make_move_iterator(part.begin()),
                std::make_move_iterator(part.end()));
  }
  // Duplicates among the new rows, named by both locations; a stable sort keeps file order.
  std::stable_sort(rows.begin(), rows.end(), [](const Located& a, const Located& b) {
    const auto an = a.record.symbol.value();
    const auto bn = b.record.symbol.value();
    return std::tie(an, a.record.as_of) < std::tie(bn, b.record.as_of);
  });
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto& a = rows[i - 1].record;
    const auto& b = rows[i].record;
    if (a.symbol == b.symbol && a.as_of == b.as_of) {
      return fail(ErrorCode::kAlreadyExists,
                  fmt::format("{}: duplicate record for {} as of {} (first at {})", rows[i].where,
                              b.symbol.value(), as_of_text(b.as_of), rows[i - 1].where));
    }
  }
  for (const auto& row : rows) {
    if (const auto* old = find(row.record.symbol, row.record.as_of);
        old != nullptr && old->as_of == row.record.as_of) {
      return fail(ErrorCode::kAlreadyExists,
                  fmt::format("{}: duplicate record for {} as of {} (already in the store)",
                              row.where, row.record.symbol.value(), as_of_text(row.record.as_of)));
    }
  }
  for (auto& row : rows) {
    auto& v = by_symbol_[row.record.symbol];
    v.push_back(std::move(row.record));
  }
  for (auto& [symbol, v] : by_symbol_) std::stable_sort(v.begin(), v.end(), by_as_of);
  size_ += rows.size();
  return rows.size();
}

core::Result<void> ReferenceStore::add(ReferenceRecord record) {
  if (auto e = check_record(record)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("reference record for {}: column '{}': {}", record.symbol.value(),
                            e->column, e->message));
  }
  auto& v = by_symbol_[record.symbol];
  const auto at = std::upper_bound(v.begin(), v.end(), record, by_as_of);
  if (at != v.begin() && std::prev(at)->as_of == record.as_of) {
    return fail(ErrorCode::kAlreadyExists,
                fmt::format("duplicate record for {} as of {}", record.symbol.value(),
                            as_of_text(record.as_of)));
  }
  v.insert(at, std::move(record));
  ++size_;
  return {};
}

const ReferenceRecord* ReferenceStore::find(core::Symbol symbol,
                                            core::UnixNanos at) const noexcept {
  const auto it = by_symbol_.find(symbol);
  if (it == by_symbol_.end()) return nullptr;
  const auto& v = it->second;
  const auto next =
      std::upper_bound(v.begin(), v.end(), at,
                       [](core::UnixNanos t, const ReferenceRecord& r) { return t < r.as_of; });
  return next == v.begin() ? nullptr : &*std::prev(next);
}

std::optional<ReferenceRecord> ReferenceStore::lookup(core::Symbol symbol,
                                                      core::UnixNanos at) const {
  const auto* r = find(symbol, at);
  if (r == nullptr) return std::nullopt;
  return *r;
}

std::span<const ReferenceRecord> ReferenceStore::history(core::Symbol symbol) const noexcept {
  const auto it = by_symbol_.find(symbol);
  if (it == by_symbol_.end()) return {};
  return it->second;
}

std::vector<core::Symbol> ReferenceStore::symbols() const {
  std::vector<core::Symbol> out;
  out.reserve(by_symbol_.size());
  for (const auto& [symbol, v] : by_symbol_) {
    if (!v.empty()) out.push_back(symbol);
  }
  std::sort(out.begin(), out.end(),
            [](core::Symbol a, core::Symbol b) { return a.value() < b.value(); });
  return out;
}

namespace {

void append_text(std::string& out, std::string_view s) {
  const bool quote = s.find_first_of(",\"") != std::string_view::npos ||
                     (!s.empty() && (s.front() == ' ' || s.back() == ' '));
  if (!quote) {
    out.append(s);
    return;
  }
  out.push_back('"');
  for (const char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

void append_number(std::string& out, double v) {
  std::array<char, 400> buf{};  // the fixed form of a double can run to 300+ digits
  const auto [end, ec] =
      std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed);
  out.append(buf.data(), ec == std::errc() ? end : buf.data());
}

}  // namespace

std::string format_reference_row(const ReferenceRecord& r) {
  std::string out = as_of_text(r.as_of);
  out.push_back(',');
  out.append(r.symbol.value());
  out.push_back(',');
  append_text(out, r.sector);
  out.push_back(',');
  append_text(out, r.industry);
  for (const double v : {r.shares_outstanding, r.book_value, r.sales, r.operating_cash_flow}) {
    out.push_back(',');
    append_number(out, v);
  }
  out.push_back('\n');
  return out;
}

core::Result<std::size_t> write_reference(const std::string& path,
                                          std::span<const ReferenceRecord> records) {
  std::string text(kReferenceHeader);
  text.push_back('\n');
  for (const auto& r : records) text += format_reference_row(r);
  bool ok = false;
  if (path.ends_with(".gz")) {
    gzFile z = gzopen(path.c_str(), "wb6");
    if (z == nullptr) return fail(ErrorCode::kIo, fmt::format("{}: cannot create", path));
    ok = gzwrite(z, text.data(), static_cast<unsigned>(text.size())) ==
         static_cast<int>(text.size());
    ok = gzclose(z) == Z_OK && ok;
  } else {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return fail(ErrorCode::kIo, fmt::format("{}: cannot create", path));
    ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    ok = std::fclose(f) == 0 && ok;
  }
  if (!ok) return fail(ErrorCode::kIo, fmt::format("{}: write failed", path));
  return records.size();
}

const std::vector<std::string>& edgar_reference_concepts() {
  static const std::vector<std::string> kConcepts = {
      "EntityCommonStockSharesOutstanding", "StockholdersEquity", "Revenues",
      "RevenueFromContractWithCustomerExcludingAssessedTax",
      "NetCashProvidedByUsedInOperatingActivities"};
  return kConcepts;
}

namespace {

enum Field : std::uint8_t { kShares, kBook, kSales, kCashFlow, kFields };
constexpr std::array<std::string_view, kFields> kFieldConcepts = {
    "dei:EntityCommonStockSharesOutstanding", "us-gaap:StockholdersEquity",
    "us-gaap:Revenues or us-gaap:RevenueFromContractWithCustomerExcludingAssessedTax",
    "us-gaap:NetCashProvidedByUsedInOperatingActivities"};

std::optional<Field> field_of(const Fact& f) {
  if (f.taxonomy == "dei" && f.concept_name == "EntityCommonStockSharesOutstanding" &&
      f.unit == "shares") {
    return kShares;
  }
  if (f.taxonomy != "us-gaap" || f.unit != "USD") return std::nullopt;
  if (f.concept_name == "StockholdersEquity") return kBook;
  const bool annual = f.form == "10-K" && f.fp == "FY";
  if (!annual) return std::nullopt;
  if (f.concept_name == "Revenues" ||
      f.concept_name == "RevenueFromContractWithCustomerExcludingAssessedTax") {
    return kSales;
  }
  if (f.concept_name == "NetCashProvidedByUsedInOperatingActivities") return kCashFlow;
  return std::nullopt;
}

}  // namespace

core::Result<std::vector<ReferenceRecord>> reference_from_edgar(const CompanyFacts& facts,
                                                                core::Symbol symbol,
                                                                std::string_view sector,
                                                                std::string_view industry) {
  if (auto e = check_text("sector", sector)) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("edgar: sector {}", e->message));
  }
  if (auto e = check_text("industry", industry)) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("edgar: industry {}", e->message));
  }
  // Per field and filing date, the chosen fact: the latest period end, then the largest value.
  struct Pick {
    std::string end;
    double value = 0;
  };
  std::array<std::map<core::UnixNanos, Pick>, kFields> by_filed;
  for (const auto& f : facts.facts) {
    const auto field = field_of(f);
    if (!field) continue;
    if (f.form != "10-K" && f.form != "10-Q") continue;
    auto filed = core::parse_timestamp(f.filed);
    if (!filed) {
      return fail(ErrorCode::kParse, fmt::format("edgar: {}:{} has filed '{}', not a date",
                                                 f.taxonomy, f.concept_name, f.filed));
    }
    auto [it, fresh] = by_filed[*field].try_emplace(*filed, Pick{f.end, f.value});
    Pick& p = it->second;
    if (!fresh && (f.end > p.end || (f.end == p.end && std::abs(f.value) > std::abs(p.value)))) {
      p = Pick{f.end, f.value};
    }
  }
  std::vector<std::string_view> missing;
  for (std::size_t k = 0; k < kFields; ++k) {
    if (by_filed[k].empty()) missing.push_back(kFieldConcepts[k]);
  }
  if (!missing.empty()) {
    return fail(ErrorCode::kNotFound,
                fmt::format("edgar: {} (CIK {}) has no {} facts for reference data", facts.entity,
                            facts.cik, fmt::join(missing, ", ")));
  }
  // Per filing date, what each field's filing said (`filed` false: nothing).
  struct Update {
    std::array<Pick, kFields> pick;
    std::array<bool, kFields> filed{};
  };
  std::map<core::UnixNanos, Update> dates;
  for (std::size_t k = 0; k < kFields; ++k) {
    for (const auto& [filed, pick] : by_filed[k]) {
      dates[filed].pick[k] = pick;
      dates[filed].filed[k] = true;
    }
  }
  Update known;
  std::vector<ReferenceRecord> out;
  for (const auto& [filed, update] : dates) {
    for (std::size_t k = 0; k < kFields; ++k) {
      // A filing about an older period than the one known does not replace it.
      if (update.filed[k] && (!known.filed[k] || update.pick[k].end >= known.pick[k].end)) {
        known.pick[k] = update.pick[k];
        known.filed[k] = true;
      }
    }
    if (std::find(known.filed.begin(), known.filed.end(), false) != known.filed.end()) continue;
    ReferenceRecord r{symbol,
                      std::string(sector),
                      std::string(industry),
                      known.pick[kShares].value,
                      known.pick[kBook].value,
                      known.pick[kSales].value,
                      known.pick[kCashFlow].value,
                      filed};
    if (auto e = check_record(r)) {
      return fail(ErrorCode::kOutOfRange,
                  fmt::format("edgar: {} (CIK {}) as of {}: {}: {}", facts.entity, facts.cik,
                              as_of_text(filed), e->column, e->message));
    }
    const bool same = !out.empty() && out.back().shares_outstanding == r.shares_outstanding &&
                      out.back().book_value == r.book_value && out.back().sales == r.sales &&
                      out.back().operating_cash_flow == r.operating_cash_flow;
    if (!same) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace nautilus::marketdata
