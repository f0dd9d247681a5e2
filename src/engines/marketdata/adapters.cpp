#include "nautilus/marketdata/adapters.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <ctime>

#include "eastern_time.hpp"
#include "json_fields.hpp"
#include "nautilus/core/time.hpp"

namespace nautilus::marketdata {
namespace json = boost::json;
namespace {

using core::ErrorCode;
using core::fail;

core::Result<json::object> parse_object(std::string_view body, std::string_view source) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) {
    return fail(ErrorCode::kParse, fmt::format("{}: response is not JSON ({}): {}", source,
                                               ec.message(), body.substr(0, 120)));
  }
  if (!v.is_object())
    return fail(ErrorCode::kParse, fmt::format("{}: response is not a JSON object", source));
  return std::move(v.as_object());
}

using detail::number;
using detail::str;

}  // namespace

core::Result<std::vector<model::Bar>> parse_alphavantage(std::string_view body,
                                                         std::string_view symbol) {
  auto o = parse_object(body, "alphavantage");
  if (!o) return std::unexpected(o.error());
  if (const auto* e = str(*o, "Error Message")) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("alphavantage: {}", std::string_view(*e)));
  }
  for (const char* k : {"Note", "Information"}) {
    if (const auto* n = str(*o, k)) {
      return fail(ErrorCode::kCapacity,
                  fmt::format("alphavantage rate limit: {}", std::string_view(*n)));
    }
  }
  const json::object* series = nullptr;
  std::uint32_t interval_s = 86'400;
  for (const auto& [k, v] : *o) {
    if (k.starts_with("Time Series (") && v.is_object()) {
      series = &v.as_object();
      const std::string_view name(k.data() + 13, k.size() - 14);
      if (name.ends_with("min")) {
        auto minutes = number(name.substr(0, name.size() - 3));
        if (!minutes || *minutes <= 0) {
          return fail(ErrorCode::kParse,
                      fmt::format("alphavantage: unknown series '{}'", std::string_view(k)));
        }
        interval_s = static_cast<std::uint32_t>(*minutes * 60);
      } else if (name != "Daily") {
        return fail(ErrorCode::kParse,
                    fmt::format("alphavantage: unknown series '{}'", std::string_view(k)));
      }
    }
  }
  if (series == nullptr)
    return fail(ErrorCode::kParse, "alphavantage: no \"Time Series (...)\" in the response");
  auto sym = core::Symbol::create(symbol);
  if (!sym) return std::unexpected(sym.error());
  std::vector<model::Bar> bars;
  bars.reserve(series->size());
  for (const auto& [when, row] : *series) {
    if (!row.is_object())
      return fail(ErrorCode::kParse,
                  fmt::format("alphavantage: row {} is not an object", std::string_view(when)));
    const auto& r = row.as_object();
    auto field = [&](const char* key) -> core::Result<std::string_view> {
      const auto* s = str(r, key);
      if (s == nullptr)
        return fail(ErrorCode::kParse,
                    fmt::format("alphavantage: row {} has no '{}'", std::string_view(when), key));
      return std::string_view(*s);
    };
    auto ts = core::parse_timestamp(std::string_view(when));
    if (!ts)
      return fail(ErrorCode::kParse,
                  fmt::format("alphavantage: bad time '{}'", std::string_view(when)));
    // Daily bars close at 16:00 New York; intraday stamps are the bar's start.
    std::tm tm{};
    const std::time_t secs = *ts / 1'000'000'000;
    gmtime_r(&secs, &tm);
    core::UnixNanos close = *ts;
    if (interval_s == 86'400) {
      close += 16LL * 3600 * 1'000'000'000;
    } else {
      close += static_cast<core::UnixNanos>(interval_s) * 1'000'000'000;
    }
    const int hour = interval_s == 86'400 ? 16 : tm.tm_hour;
    close -= static_cast<core::UnixNanos>(
                 detail::eastern_offset_hours(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, hour)) *
             3600 * 1'000'000'000;
    core::Price px[4];
    const char* keys[4] = {"1. open", "2. high", "3. low", "4. close"};
    for (int i = 0; i < 4; ++i) {
      auto f = field(keys[i]);
      if (!f) return std::unexpected(f.error());
      auto p = core::Price::from_string(*f);
      if (!p)
        return fail(ErrorCode::kParse, fmt::format("alphavantage: {} {} '{}' is not a price",
                                                   std::string_view(when), keys[i], *f));
      px[i] = *p;
    }
    auto vf = field("5. volume");
    if (!vf) return std::unexpected(vf.error());
    auto vol = core::Quantity::from_string(*vf);
    if (!vol)
      return fail(ErrorCode::kParse, fmt::format("alphavantage: {} volume '{}' is not a number",
                                                 std::string_view(when), *vf));
    bars.push_back(model::Bar{*sym, px[0], px[1], px[2], px[3], *vol, interval_s, close});
  }
  std::sort(bars.begin(), bars.end(),
            [](const auto& a, const auto& b) { return a.ts_event < b.ts_event; });
  return bars;
}

core::Result<std::vector<Observation>> parse_fred_observations(std::string_view body) {
  auto o = parse_object(body, "fred");
  if (!o) return std::unexpected(o.error());
  if (const auto* e = str(*o, "error_message")) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("fred: {}", std::string_view(*e)));
  }
  const auto* obs = o->if_contains("observations");
  if (obs == nullptr || !obs->is_array())
    return fail(ErrorCode::kParse, "fred: no \"observations\" array");
  std::vector<Observation> out;
  for (const auto& item : obs->as_array()) {
    if (!item.is_object()) return fail(ErrorCode::kParse, "fred: an observation is not an object");
    const auto* date = str(item.as_object(), "date");
    const auto* value = str(item.as_object(), "value");
    if (date == nullptr || value == nullptr)
      return fail(ErrorCode::kParse, "fred: an observation lacks date or value");
    Observation ob{std::string(*date), std::nullopt};
    if (*value != ".") {
      ob.value = number(std::string_view(*value));
      if (!ob.value)
        return fail(ErrorCode::kParse,
                    fmt::format("fred: {} value '{}' is not a number", std::string_view(*date),
                                std::string_view(*value)));
    }
    out.push_back(std::move(ob));
  }
  return out;
}

core::Result<CompanyFacts> parse_edgar_companyfacts(std::string_view body,
                                                    const std::vector<std::string>& concepts) {
  auto o = parse_object(body, "edgar");
  if (!o) return std::unexpected(o.error());
  CompanyFacts out;
  const auto* cik = o->if_contains("cik");
  const auto* name = str(*o, "entityName");
  const auto* facts = o->if_contains("facts");
  if (cik == nullptr || name == nullptr || facts == nullptr || !facts->is_object()) {
    if (const auto* msg = str(*o, "message"))
      return fail(ErrorCode::kInvalidArgument, fmt::format("edgar: {}", std::string_view(*msg)));
    return fail(ErrorCode::kParse, "edgar: response lacks cik, entityName or facts");
  }
  if (cik->is_int64()) {
    out.cik = static_cast<std::uint64_t>(cik->as_int64());
  } else if (cik->is_string()) {
    out.cik = static_cast<std::uint64_t>(number(std::string_view(cik->as_string())).value_or(0));
  }
  out.entity = std::string(*name);
  for (const auto& [taxonomy, tv] : facts->as_object()) {
    if (!tv.is_object()) return fail(ErrorCode::kParse, "edgar: a taxonomy is not an object");
    for (const auto& [concept_name, cv] : tv.as_object()) {
      ++out.concepts;
      if (std::find(concepts.begin(), concepts.end(), std::string_view(concept_name)) ==
          concepts.end())
        continue;
      const auto* units = cv.is_object() ? cv.as_object().if_contains("units") : nullptr;
      if (units == nullptr || !units->is_object())
        return fail(ErrorCode::kParse,
                    fmt::format("edgar: {} has no units", std::string_view(concept_name)));
      for (const auto& [unit, rows] : units->as_object()) {
        if (!rows.is_array()) return fail(ErrorCode::kParse, "edgar: unit rows are not an array");
        for (const auto& row : rows.as_array()) {
          if (!row.is_object()) return fail(ErrorCode::kParse, "edgar: a fact is not an object");
          const auto& r = row.as_object();
          const auto* val = r.if_contains("val");
          const auto* end = str(r, "end");
          if (val == nullptr || !val->is_number() || end == nullptr) {
            return fail(ErrorCode::kParse, fmt::format("edgar: {} fact lacks val or end",
                                                       std::string_view(concept_name)));
          }
          Fact f{std::string(taxonomy), std::string(concept_name), std::string(unit),
                 std::string(*end)};
          if (const auto* s = str(r, "form")) f.form = std::string(*s);
          if (const auto* s = str(r, "filed")) f.filed = std::string(*s);
          if (const auto* s = str(r, "fp")) f.fp = std::string(*s);
          if (const auto* fy = r.if_contains("fy"); fy != nullptr && fy->is_int64())
            f.fy = fy->as_int64();
          f.value = val->to_number<double>();
          out.facts.push_back(std::move(f));
        }
      }
    }
  }
  return out;
}

}  // namespace nautilus::marketdata
