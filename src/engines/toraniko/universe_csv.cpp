#include "nautilus/engines/toraniko/universe_csv.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_map>

#include "nautilus/core/gz_lines.hpp"

namespace nautilus::toraniko {
namespace {

using core::ErrorCode;
using core::fail;

enum Column : int {
  kDate,
  kSymbol,
  kReturn,
  kMarketCap,
  kSector,
  kBookPrice,
  kSalesPrice,
  kCfPrice,
  kMom,
  kSze,
  kVal,
  kColumns
};
constexpr std::string_view kNames[kColumns] = {"date",   "symbol",     "return",      "market_cap",
                                               "sector", "book_price", "sales_price", "cf_price",
                                               "mom",    "sze",        "val"};

struct RawRow {
  const std::pair<const std::string, std::uint32_t>* date_node = nullptr;
  const std::pair<const std::string, std::uint32_t>* sector_node = nullptr;
  std::uint32_t symbol = 0;
  double ret = 0;
  double cap = 0;
  double bp = 0;
  double sp = 0;
  double cf = 0;
  std::size_t styles = 0;  // offset into style_values
  std::size_t line = 0;
};

std::string_view unquote(std::string_view f) {
  if (f.size() >= 2 && f.front() == '"' && f.back() == '"') return f.substr(1, f.size() - 2);
  return f;
}

}  // namespace

FactorModelConfig UniverseFile::model_config(const ModelOptions& options) const {
  return {.sectors = sectors, .given_styles = given_styles, .value = value, .model = options};
}

core::Result<UniverseFile> read_universe_csv(const std::string& path,
                                             const UniverseCsvOptions& options) {
  NAUTILUS_TRY(in, core::GzLines::open(path));
  UniverseFile out;
  out.path = path;

  auto header = in.next();
  if (!header) return std::unexpected(header.error());
  if (!*header) return fail(ErrorCode::kParse, fmt::format("{}: empty file", path));
  int where[kColumns];
  std::fill(std::begin(where), std::end(where), -1);
  std::vector<int> column_of;  // per field of a row: its Column
  {
    std::string_view h = **header;
    int field = 0;
    while (true) {
      const auto comma = h.find(',');
      const std::string_view name = unquote(h.substr(0, comma));
      const auto* it = std::find(std::begin(kNames), std::end(kNames), name);
      if (it == std::end(kNames)) {
        return fail(ErrorCode::kParse,
                    fmt::format("{}:1: unknown column '{}' (the columns are date, symbol, "
                                "return, market_cap, sector, then book_price, sales_price, "
                                "cf_price and/or mom, sze, val)",
                                path, name));
      }
      const int c = static_cast<int>(it - std::begin(kNames));
      if (where[c] >= 0) {
        return fail(ErrorCode::kParse, fmt::format("{}:1: column '{}' twice", path, name));
      }
      where[c] = field++;
      column_of.push_back(c);
      if (comma == std::string_view::npos) break;
      h.remove_prefix(comma + 1);
    }
  }
  for (int c = kDate; c <= kSector; ++c) {
    if (where[c] < 0) {
      return fail(ErrorCode::kParse, fmt::format("{}:1: no '{}' column", path, kNames[c]));
    }
  }
  const int ratios = (where[kBookPrice] >= 0) + (where[kSalesPrice] >= 0) + (where[kCfPrice] >= 0);
  if (ratios != 0 && ratios != 3) {
    return fail(ErrorCode::kParse,
                fmt::format("{}:1: value needs all of book_price, sales_price and cf_price", path));
  }
  out.value = ratios == 3;
  std::vector<int> style_columns;
  for (const int c : column_of) {
    if (c >= kMom) {
      style_columns.push_back(c);
      out.given_styles.emplace_back(kNames[c]);
    }
  }

  std::map<std::string, std::uint32_t, std::less<>> dates;
  std::unordered_map<std::string, std::uint32_t> symbols;
  std::map<std::string, std::uint32_t, std::less<>> sectors;
  for (std::size_t j = 0; j < options.sectors.size(); ++j) {
    sectors.emplace(options.sectors[j], static_cast<std::uint32_t>(j));
  }
  std::vector<RawRow> raw;
  std::vector<double> values(kColumns);
  const double nan = std::numeric_limits<double>::quiet_NaN();

  while (true) {
    auto line = in.next();
    if (!line) return std::unexpected(line.error());
    if (!*line) break;
    std::string_view rest = **line;
    if (rest.empty()) continue;
    const auto at = [&](int c, std::string_view what) {
      return fail(ErrorCode::kParse,
                  fmt::format("{}:{}: column '{}': {}", path, in.line(), kNames[c], what));
    };
    std::string_view text[kColumns];
    std::size_t fields = 0;
    bool missing = false;
    while (true) {
      const auto comma = rest.find(',');
      if (fields >= column_of.size()) {
        return fail(ErrorCode::kParse,
                    fmt::format("{}:{}: more than {} fields", path, in.line(), column_of.size()));
      }
      text[column_of[fields++]] = unquote(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (fields != column_of.size()) {
      return fail(ErrorCode::kParse, fmt::format("{}:{}: {} fields, want {}", path, in.line(),
                                                 fields, column_of.size()));
    }
    for (const int c : {kReturn, kMarketCap, kBookPrice, kSalesPrice, kCfPrice, kMom, kSze, kVal}) {
      if (where[c] < 0) continue;
      const std::string_view t = text[c];
      if (t.empty() || t == "NaN" || t == "nan") {
        values[c] = nan;
        missing = true;
        continue;
      }
      double v = 0;
      const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
      if (r.ec != std::errc{} || r.ptr != t.data() + t.size() || !std::isfinite(v)) {
        return at(c, fmt::format("'{}' is not a number", t));
      }
      values[c] = v;
    }
    if (!std::isnan(values[kMarketCap]) && !(values[kMarketCap] > 0)) {
      return at(kMarketCap, fmt::format("{} is not positive", text[kMarketCap]));
    }
    if (text[kDate].empty()) return at(kDate, "empty");
    if (text[kSymbol].empty()) return at(kSymbol, "empty");
    if (text[kSector].empty()) return at(kSector, "empty");
    if (missing) {
      // A documented skip: the row is not part of the universe (nor of its symbol's history).
      ++out.missing_rows;
      continue;
    }
    RawRow row;
    auto sector = sectors.find(text[kSector]);
    if (sector == sectors.end()) {
      if (!options.sectors.empty()) {
        return at(kSector, fmt::format("'{}' is not one of the {} sectors given", text[kSector],
                                       options.sectors.size()));
      }
      sector = sectors.emplace(std::string(text[kSector]), 0).first;
    }
    auto d = dates.find(text[kDate]);
    if (d == dates.end()) d = dates.emplace(std::string(text[kDate]), 0).first;
    // Map nodes stay put: rows point at them, and get their indices once all are known.
    row.date_node = &*d;
    row.sector_node = &*sector;
    auto [s, fresh] = symbols.try_emplace(std::string(text[kSymbol]),
                                          static_cast<std::uint32_t>(out.symbol_names.size()));
    if (fresh) out.symbol_names.emplace_back(text[kSymbol]);
    row.symbol = s->second;
    row.ret = values[kReturn];
    row.cap = values[kMarketCap];
    row.bp = out.value ? values[kBookPrice] : nan;
    row.sp = out.value ? values[kSalesPrice] : nan;
    row.cf = out.value ? values[kCfPrice] : nan;
    row.styles = out.style_values.size();
    for (const int c : style_columns) out.style_values.push_back(values[c]);
    row.line = in.line();
    raw.push_back(row);
  }
  out.rows = raw.size();

  // Dates in text order; sectors in name order unless the caller gave theirs.
  std::uint32_t next = 0;
  for (auto& [text, index] : dates) index = next++;
  if (options.sectors.empty()) {
    next = 0;
    for (auto& [name, index] : sectors) {
      index = next++;
      out.sectors.push_back(name);
    }
  } else {
    out.sectors = options.sectors;
  }
  if (out.sectors.size() > std::numeric_limits<std::uint16_t>::max()) {
    return fail(ErrorCode::kParse, fmt::format("{}: {} sectors", path, out.sectors.size()));
  }
  std::sort(raw.begin(), raw.end(), [&](const RawRow& a, const RawRow& b) {
    if (a.date_node->second != b.date_node->second) {
      return a.date_node->second < b.date_node->second;
    }
    return out.symbol_names[a.symbol] < out.symbol_names[b.symbol];
  });
  out.dates.reserve(dates.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const RawRow& r = raw[i];
    if (i > 0 && raw[i - 1].date_node == r.date_node && raw[i - 1].symbol == r.symbol) {
      return fail(ErrorCode::kParse,
                  fmt::format("{}:{}: {} on {} again (first on line {})", path, r.line,
                              out.symbol_names[r.symbol], r.date_node->first, raw[i - 1].line));
    }
    if (out.dates.empty() || out.dates.back().date != r.date_node->first) {
      out.dates.push_back({.date = r.date_node->first, .rows = {}});
    }
    out.dates.back().rows.push_back(
        {.symbol = out.symbol_names[r.symbol],
         .sector = static_cast<std::uint16_t>(r.sector_node->second),
         .ret = r.ret,
         .market_cap = r.cap,
         .book_price = r.bp,
         .sales_price = r.sp,
         .cf_price = r.cf,
         .styles =
             std::span<const double>(out.style_values).subspan(r.styles, out.given_styles.size())});
  }
  return out;
}

}  // namespace nautilus::toraniko
