#include "nautilus/engines/analytics/returns_csv.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "nautilus/core/gz_lines.hpp"
#include "nautilus/core/strings.hpp"

namespace nautilus::analytics {
namespace {

using core::ErrorCode;
using core::fail;

std::string_view cell(std::string_view f) {
  f = core::trim(f);
  if (f.size() >= 2 && f.front() == '"' && f.back() == '"') return f.substr(1, f.size() - 2);
  return f;
}

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  while (true) {
    const auto comma = line.find(',');
    out.push_back(cell(line.substr(0, comma)));
    if (comma == std::string_view::npos) return out;
    line.remove_prefix(comma + 1);
  }
}

}  // namespace

core::Result<ReturnsFile> read_returns_csv(const std::string& path) {
  NAUTILUS_TRY(in, core::GzLines::open(path));
  ReturnsFile out;
  out.path = path;

  auto header = in.next();
  if (!header) return std::unexpected(header.error());
  if (!*header) return fail(ErrorCode::kParse, fmt::format("{}: empty file", path));
  std::string_view h = **header;
  if (h.starts_with("\xEF\xBB\xBF")) h.remove_prefix(3);  // a byte-order mark (spreadsheets)
  const auto names = split(h);
  std::size_t date_at = names.size(), return_at = names.size();
  for (std::size_t k = 0; k < names.size(); ++k) {
    std::size_t* slot = names[k] == "date" ? &date_at : names[k] == "return" ? &return_at : nullptr;
    if (slot == nullptr) continue;
    if (*slot != names.size()) {
      return fail(ErrorCode::kParse, fmt::format("{}:1: column '{}' twice", path, names[k]));
    }
    *slot = k;
  }
  for (const auto& [at, name] : {std::pair{date_at, "date"}, std::pair{return_at, "return"}}) {
    if (at == names.size()) {
      return fail(
          ErrorCode::kParse,
          fmt::format("{}:1: no '{}' column (the header must name date and return)", path, name));
    }
  }

  while (true) {
    auto line = in.next();
    if (!line) return std::unexpected(line.error());
    if (!*line) break;
    if (core::trim(**line).empty()) continue;
    const auto at = [&](std::string_view column, std::string_view what) {
      return fail(ErrorCode::kParse,
                  fmt::format("{}:{}: column '{}': {}", path, in.line(), column, what));
    };
    const auto fields = split(**line);
    if (fields.size() != names.size()) {
      return fail(ErrorCode::kParse, fmt::format("{}:{}: {} fields, the header has {}", path,
                                                 in.line(), fields.size(), names.size()));
    }
    auto date = parse_date(fields[date_at]);
    if (!date) return at("date", date.error().message);
    if (!out.dates.empty() && *date <= out.dates.back()) {
      return at("date", fmt::format("{} is not after the row before's {} (dates must increase)",
                                    fields[date_at], format_date(out.dates.back())));
    }
    const std::string_view t = fields[return_at];
    double v = kNaN;
    if (!t.empty() && t != "NaN" && t != "nan") {
      const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
      if (r.ec != std::errc{} || r.ptr != t.data() + t.size()) {
        return at("return", fmt::format("'{}' is not a number", t));
      }
      if (!std::isfinite(v)) return at("return", fmt::format("'{}' is not finite", t));
    }
    out.dates.push_back(*date);
    out.returns.push_back(v);
  }
  return out;
}

AlignedReturns align_returns(std::span<const Date> dates, const ReturnsFile& file) {
  AlignedReturns out;
  out.returns.assign(dates.size(), kNaN);
  std::size_t j = 0;
  for (std::size_t i = 0; i < dates.size(); ++i) {
    while (j < file.dates.size() && file.dates[j] < dates[i]) ++j;
    if (j < file.dates.size() && file.dates[j] == dates[i]) {
      out.returns[i] = file.returns[j];
      ++out.matched;
    }
  }
  return out;
}

}  // namespace nautilus::analytics
