// Parsers for the public sources beside Alpha Vantage, FRED and EDGAR (adapters.cpp): the IBKR
// Client Portal gateway, Binance, the Data.gov catalogue and CSV resources, BLS and the
// Treasury. Each reads exactly the documented shape and names what it found otherwise.
#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <tuple>

#include "eastern_time.hpp"
#include "json_fields.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/marketdata/adapters.hpp"

namespace nautilus::marketdata {
namespace json = boost::json;
namespace {

using core::ErrorCode;
using core::fail;

constexpr std::int64_t kNsPerMs = 1'000'000;
constexpr std::int64_t kNsPerSecond = 1'000'000'000;
// Epoch milliseconds that nanoseconds in an int64 can hold (to 2262).
constexpr std::int64_t kMaxEpochMs = 9'200'000'000'000;

std::string_view kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "?";
}

core::Result<json::value> parse_json(std::string_view body, std::string_view source) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) {
    return fail(ErrorCode::kParse, fmt::format("{}: response is not JSON ({}): {}", source,
                                               ec.message(), body.substr(0, 120)));
  }
  return v;
}

using detail::number;
using detail::str;

std::optional<std::int64_t> integer(const json::value& v) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v.as_uint64());
  return std::nullopt;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A JSON number as an exact decimal: the shortest text that reads back as the same double, so
// 193.24 is the price 193.24 (precision 2), not 193.240000000000009.
template <class Fixed>
core::Result<Fixed> decimal_of(double v) {
  if (!std::isfinite(v)) return fail(ErrorCode::kParse, "not a finite number");
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (ec == std::errc()) {
    const std::string_view text(buf, static_cast<std::size_t>(end - buf));
    const auto dot = text.find('.');
    if (dot == std::string_view::npos || text.size() - dot - 1 <= core::kMaxPrecision) {
      return Fixed::from_string(text);
    }
  }
  return Fixed::from_double(v, core::kMaxPrecision);
}

// 16:00 New York on the New York date of `utc_ns`.
core::UnixNanos new_york_close(core::UnixNanos utc_ns) {
  const std::time_t secs = utc_ns / kNsPerSecond;
  std::tm u{};
  gmtime_r(&secs, &u);
  const int off =
      detail::eastern_offset_hours(u.tm_year + 1900, u.tm_mon + 1, u.tm_mday, u.tm_hour);
  const std::time_t local = secs + static_cast<std::time_t>(off) * 3600;
  std::tm l{};
  gmtime_r(&local, &l);
  l.tm_hour = 16;
  l.tm_min = 0;
  l.tm_sec = 0;
  const std::time_t local_close = timegm(&l);
  const int close_off = detail::eastern_offset_hours(l.tm_year + 1900, l.tm_mon + 1, l.tm_mday, 16);
  return static_cast<core::UnixNanos>(local_close - static_cast<std::time_t>(close_off) * 3600) *
         kNsPerSecond;
}

// "1,300" -> "1300", "1.2K" -> "1200", "3.25M" -> "3250000": IBKR's display form of a size.
std::optional<std::string> plain_size(std::string_view s) {
  int shift = 0;
  if (!s.empty() && (s.back() == 'K' || s.back() == 'M')) {
    shift = s.back() == 'K' ? 3 : 6;
    s.remove_suffix(1);
  }
  std::string digits;
  std::size_t decimals = 0;
  bool dot = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
      if (dot) ++decimals;
    } else if (c == ',' && !dot && !digits.empty() && i + 3 < s.size() &&
               all_digits(s.substr(i + 1, 3)) &&
               (i + 4 == s.size() || s[i + 4] == ',' || s[i + 4] == '.')) {
      continue;  // a thousands separator: three digits follow
    } else if (c == '.' && !dot && !digits.empty()) {
      dot = true;
    } else {
      return std::nullopt;
    }
  }
  if (digits.empty() || (dot && decimals == 0)) return std::nullopt;
  while (shift > 0 && decimals > 0) {
    --shift;
    --decimals;
  }
  digits.append(static_cast<std::size_t>(shift), '0');
  if (decimals > 0) digits.insert(digits.size() - decimals, ".");
  return digits;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

// ---- IBKR ----

core::Result<std::vector<IbkrContract>> parse_ibkr_secdef_search(std::string_view body) {
  NAUTILUS_TRY(v, parse_json(body, "ibkr"));
  if (v.is_object()) {
    if (const auto* e = str(v.as_object(), "error"))
      return fail(ErrorCode::kInvalidArgument, fmt::format("ibkr: {}", std::string_view(*e)));
    return fail(ErrorCode::kParse, "ibkr: secdef/search answered an object, not an array");
  }
  if (!v.is_array())
    return fail(ErrorCode::kParse,
                fmt::format("ibkr: secdef/search answered {}, not an array", kind_of(v)));
  if (v.as_array().empty()) return fail(ErrorCode::kNotFound, "ibkr: no contract matches");
  std::vector<IbkrContract> out;
  std::size_t i = 0;
  for (const auto& item : v.as_array()) {
    ++i;
    if (!item.is_object())
      return fail(ErrorCode::kParse, fmt::format("ibkr: contract {} is {}", i, kind_of(item)));
    const auto& o = item.as_object();
    IbkrContract c;
    const auto* conid = o.if_contains("conid");
    if (conid != nullptr && conid->is_string()) {
      c.conid = std::string(conid->as_string());
    } else if (conid != nullptr && integer(*conid)) {
      c.conid = std::to_string(*integer(*conid));
    }
    if (!all_digits(c.conid))
      return fail(ErrorCode::kParse, fmt::format("ibkr: contract {} has no numeric conid", i));
    const auto* symbol = str(o, "symbol");
    if (symbol == nullptr)
      return fail(ErrorCode::kParse, fmt::format("ibkr: contract {} has no symbol", i));
    c.symbol = std::string(*symbol);
    if (const auto* s = str(o, "companyName")) c.company = std::string(*s);
    if (const auto* s = str(o, "description")) c.exchange = std::string(*s);
    if (const auto* sections = o.if_contains("sections"); sections != nullptr) {
      if (!sections->is_array())
        return fail(ErrorCode::kParse,
                    fmt::format("ibkr: contract {} sections is {}", i, kind_of(*sections)));
      for (const auto& sec : sections->as_array()) {
        const auto* t = sec.is_object() ? str(sec.as_object(), "secType") : nullptr;
        if (t == nullptr)
          return fail(ErrorCode::kParse,
                      fmt::format("ibkr: contract {} has a section without secType", i));
        c.sec_types.emplace_back(*t);
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

core::Result<std::string> ibkr_stock_conid(const std::vector<IbkrContract>& contracts,
                                           std::string_view symbol) {
  std::string seen;
  for (const auto& c : contracts) {
    if (lower(c.symbol) == lower(symbol) &&
        std::find(c.sec_types.begin(), c.sec_types.end(), "STK") != c.sec_types.end()) {
      return c.conid;
    }
    seen += fmt::format("{}{} ({})", seen.empty() ? "" : ", ", c.symbol, c.conid);
  }
  return fail(ErrorCode::kNotFound,
              fmt::format("ibkr: no stock contract for '{}' (found: {})", symbol, seen));
}

core::Result<std::vector<IbkrSnapshot>> parse_ibkr_snapshot(std::string_view body) {
  NAUTILUS_TRY(v, parse_json(body, "ibkr"));
  if (v.is_object()) {
    if (const auto* e = str(v.as_object(), "error"))
      return fail(ErrorCode::kInvalidArgument, fmt::format("ibkr: {}", std::string_view(*e)));
  }
  if (!v.is_array())
    return fail(ErrorCode::kParse,
                fmt::format("ibkr: marketdata/snapshot answered {}, not an array", kind_of(v)));
  std::vector<IbkrSnapshot> out;
  std::size_t i = 0;
  for (const auto& item : v.as_array()) {
    ++i;
    if (!item.is_object())
      return fail(ErrorCode::kParse, fmt::format("ibkr: snapshot {} is {}", i, kind_of(item)));
    const auto& o = item.as_object();
    IbkrSnapshot s;
    const auto* conid = o.if_contains("conid");
    if (conid != nullptr && integer(*conid)) {
      s.conid = std::to_string(*integer(*conid));
    } else if (conid != nullptr && conid->is_string()) {
      s.conid = std::string(conid->as_string());
    }
    if (!all_digits(s.conid))
      return fail(ErrorCode::kParse, fmt::format("ibkr: snapshot {} has no numeric conid", i));
    auto field = [&](const char* tag, const char* what) -> core::Result<const json::string*> {
      const auto* f = o.if_contains(tag);
      if (f == nullptr) return nullptr;
      if (!f->is_string())
        return fail(ErrorCode::kParse, fmt::format("ibkr: conid {} field {} ({}) is {}, not text",
                                                   s.conid, tag, what, kind_of(*f)));
      return &f->as_string();
    };
    auto price = [&](const char* tag, const char* what,
                     std::optional<core::Price>& to) -> core::Result<void> {
      NAUTILUS_TRY(f, field(tag, what));
      if (f == nullptr || f->empty()) return {};
      std::string_view text(*f);
      if (std::string_view(tag) == "31" && (text.front() == 'C' || text.front() == 'H')) {
        s.last_kind = text.front();
        text.remove_prefix(1);
        while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
      }
      auto p = core::Price::from_string(text);
      if (!p)
        return fail(ErrorCode::kParse, fmt::format("ibkr: conid {} field {} ({}) '{}' is not a "
                                                   "price",
                                                   s.conid, tag, what, std::string_view(*f)));
      to = *p;
      return {};
    };
    auto size = [&](const char* tag, const char* what,
                    std::optional<core::Quantity>& to) -> core::Result<void> {
      NAUTILUS_TRY(f, field(tag, what));
      if (f == nullptr || f->empty()) return {};
      auto plain = plain_size(std::string_view(*f));
      auto q = plain ? core::Quantity::from_string(*plain) : core::Result<core::Quantity>{};
      if (!plain || !q)
        return fail(ErrorCode::kParse, fmt::format("ibkr: conid {} field {} ({}) '{}' is not a "
                                                   "size",
                                                   s.conid, tag, what, std::string_view(*f)));
      to = *q;
      return {};
    };
    if (auto ok = price("31", "last", s.last); !ok) return std::unexpected(ok.error());
    if (auto ok = price("84", "bid", s.bid); !ok) return std::unexpected(ok.error());
    if (auto ok = price("86", "ask", s.ask); !ok) return std::unexpected(ok.error());
    if (auto ok = size("88", "bid size", s.bid_size); !ok) return std::unexpected(ok.error());
    if (auto ok = size("85", "ask size", s.ask_size); !ok) return std::unexpected(ok.error());
    if (auto ok = field("6509", "availability"); !ok) {
      return std::unexpected(ok.error());
    } else if (*ok != nullptr) {
      s.availability = std::string(**ok);
    }
    if (const auto* u = o.if_contains("_updated"); u != nullptr) {
      const auto ms = integer(*u);
      if (!ms || *ms < 0 || *ms > kMaxEpochMs)
        return fail(ErrorCode::kParse,
                    fmt::format("ibkr: conid {} _updated is not epoch milliseconds", s.conid));
      s.updated = *ms * kNsPerMs;
    }
    out.push_back(std::move(s));
  }
  return out;
}

core::Result<std::vector<model::Bar>> parse_ibkr_history(std::string_view body,
                                                         std::string_view symbol) {
  NAUTILUS_TRY(v, parse_json(body, "ibkr"));
  if (!v.is_object())
    return fail(ErrorCode::kParse,
                fmt::format("ibkr: marketdata/history answered {}, not an object", kind_of(v)));
  const auto& o = v.as_object();
  if (const auto* e = str(o, "error"))
    return fail(ErrorCode::kInvalidArgument, fmt::format("ibkr: {}", std::string_view(*e)));
  const auto* bar_length = o.if_contains("barLength");
  const auto length = bar_length != nullptr ? integer(*bar_length) : std::nullopt;
  if (!length || *length <= 0 || *length > 366LL * 86'400)
    return fail(ErrorCode::kParse, "ibkr: history has no barLength (seconds)");
  const auto* data = o.if_contains("data");
  if (data == nullptr || !data->is_array())
    return fail(ErrorCode::kParse, "ibkr: history has no \"data\" array");
  NAUTILUS_TRY(sym, core::Symbol::create(symbol));
  const auto interval_s = static_cast<std::uint32_t>(*length);
  std::vector<model::Bar> bars;
  bars.reserve(data->as_array().size());
  std::size_t i = 0;
  for (const auto& item : data->as_array()) {
    ++i;
    if (!item.is_object())
      return fail(ErrorCode::kParse, fmt::format("ibkr: history bar {} is {}", i, kind_of(item)));
    const auto& b = item.as_object();
    const auto* t = b.if_contains("t");
    const auto ms = t != nullptr ? integer(*t) : std::nullopt;
    if (!ms || *ms < 0 || *ms > kMaxEpochMs)
      return fail(ErrorCode::kParse,
                  fmt::format("ibkr: history bar {} has no \"t\" in epoch milliseconds", i));
    core::Price px[4];
    const char* keys[4] = {"o", "h", "l", "c"};
    for (int k = 0; k < 4; ++k) {
      const auto* f = b.if_contains(keys[k]);
      if (f == nullptr || !f->is_number())
        return fail(ErrorCode::kParse, fmt::format("ibkr: history bar {} \"{}\" is {}", i, keys[k],
                                                   f == nullptr ? "missing" : kind_of(*f)));
      auto p = decimal_of<core::Price>(f->to_number<double>());
      if (!p)
        return fail(ErrorCode::kParse,
                    fmt::format("ibkr: history bar {} \"{}\" is not a price", i, keys[k]));
      px[k] = *p;
    }
    const auto* vol = b.if_contains("v");
    if (vol == nullptr || !vol->is_number() || vol->to_number<double>() < 0)
      return fail(ErrorCode::kParse, fmt::format("ibkr: history bar {} \"v\" is not a volume", i));
    auto q = decimal_of<core::Quantity>(vol->to_number<double>());
    if (!q)
      return fail(ErrorCode::kParse, fmt::format("ibkr: history bar {} \"v\" is not a volume", i));
    const core::UnixNanos start = *ms * kNsPerMs;
    const core::UnixNanos close =
        interval_s == 86'400 ? new_york_close(start)
                             : start + static_cast<core::UnixNanos>(interval_s) * kNsPerSecond;
    bars.push_back(model::Bar{sym, px[0], px[1], px[2], px[3], *q, interval_s, close});
  }
  std::sort(bars.begin(), bars.end(),
            [](const auto& a, const auto& b) { return a.ts_event < b.ts_event; });
  return bars;
}

// ---- Binance ----

std::optional<std::uint32_t> binance_interval_seconds(std::string_view interval) {
  static constexpr std::pair<std::string_view, std::uint32_t> kIntervals[] = {
      {"1s", 1},      {"1m", 60},      {"3m", 180},    {"5m", 300},     {"15m", 900},
      {"30m", 1'800}, {"1h", 3'600},   {"2h", 7'200},  {"4h", 14'400},  {"6h", 21'600},
      {"8h", 28'800}, {"12h", 43'200}, {"1d", 86'400}, {"3d", 259'200}, {"1w", 604'800}};
  for (const auto& [name, secs] : kIntervals) {
    if (name == interval) return secs;
  }
  return std::nullopt;
}

core::Result<std::vector<model::Bar>> parse_binance_klines(std::string_view body,
                                                           std::string_view symbol,
                                                           std::string_view interval) {
  const auto interval_s = binance_interval_seconds(interval);
  if (!interval_s)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("binance: interval '{}' is not one of 1s, 1m, 3m, 5m, 15m, 30m, 1h, "
                            "2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w",
                            interval));
  NAUTILUS_TRY(v, parse_json(body, "binance"));
  if (v.is_object()) {
    const auto& o = v.as_object();
    const auto* code = o.if_contains("code");
    const auto* msg = str(o, "msg");
    if (code == nullptr || !integer(*code) || msg == nullptr)
      return fail(ErrorCode::kParse, "binance: an object without code and msg, not klines");
    const std::int64_t c = *integer(*code);
    const std::string text = fmt::format("binance: {} (code {})", std::string_view(*msg), c);
    if (c == -1003) return fail(ErrorCode::kCapacity, text);
    if (c <= -1000 && c >= -1007) return fail(ErrorCode::kIo, text);
    return fail(ErrorCode::kInvalidArgument, text);
  }
  if (!v.is_array())
    return fail(ErrorCode::kParse, fmt::format("binance: klines are {}, not an array", kind_of(v)));
  NAUTILUS_TRY(sym, core::Symbol::create(symbol));
  std::vector<model::Bar> bars;
  bars.reserve(v.as_array().size());
  std::size_t i = 0;
  for (const auto& item : v.as_array()) {
    ++i;
    if (!item.is_array())
      return fail(ErrorCode::kParse, fmt::format("binance: kline {} is {}", i, kind_of(item)));
    const auto& k = item.as_array();
    if (k.size() != 12)
      return fail(ErrorCode::kParse,
                  fmt::format("binance: kline {} has {} fields; the documented format has 12", i,
                              k.size()));
    const auto open_ms = integer(k[0]);
    const auto close_ms = integer(k[6]);
    if (!open_ms || !close_ms || *open_ms < 0 || *close_ms < *open_ms || *close_ms >= kMaxEpochMs)
      return fail(ErrorCode::kParse,
                  fmt::format("binance: kline {} open/close times are not epoch milliseconds", i));
    for (std::size_t f : {7UL, 9UL, 10UL, 11UL}) {
      if (!k[f].is_string())
        return fail(ErrorCode::kParse,
                    fmt::format("binance: kline {} field {} is {}, not text", i, f, kind_of(k[f])));
    }
    if (!integer(k[8]))
      return fail(ErrorCode::kParse,
                  fmt::format("binance: kline {} trade count is {}", i, kind_of(k[8])));
    core::Price px[4];
    static constexpr const char* kNames[] = {"open", "high", "low", "close"};
    for (std::size_t f = 1; f <= 4; ++f) {
      const auto* s = k[f].if_string();
      auto p = s != nullptr ? core::Price::from_string(*s) : core::Result<core::Price>{};
      if (s == nullptr || !p)
        return fail(ErrorCode::kParse,
                    fmt::format("binance: kline {} {} is not a decimal price", i, kNames[f - 1]));
      px[f - 1] = *p;
    }
    const auto* vs = k[5].if_string();
    auto vol = vs != nullptr ? core::Quantity::from_string(*vs) : core::Result<core::Quantity>{};
    if (vs == nullptr || !vol)
      return fail(ErrorCode::kParse, fmt::format("binance: kline {} volume is not a decimal", i));
    bars.push_back(
        model::Bar{sym, px[0], px[1], px[2], px[3], *vol, *interval_s, (*close_ms + 1) * kNsPerMs});
  }
  std::sort(bars.begin(), bars.end(),
            [](const auto& a, const auto& b) { return a.ts_event < b.ts_event; });
  return bars;
}

// ---- Data.gov (CKAN) ----

namespace {

// {"success": false, "error": {"__type": .., "message": .., "<field>": ["..."]}}
core::Error ckan_error(const json::object& o) {
  const auto* e = o.if_contains("error");
  if (e == nullptr || !e->is_object())
    return {ErrorCode::kInvalidArgument, "datagov: the catalogue refused the request"};
  const auto& err = e->as_object();
  std::string type = "error";
  if (const auto* t = str(err, "__type")) type = std::string(*t);
  std::string text;
  for (const auto& [k, v] : err) {
    if (k == "__type") continue;
    std::string part;
    if (v.is_string()) {
      part = std::string(v.as_string());
    } else if (v.is_array()) {
      for (const auto& m : v.as_array()) {
        if (m.is_string()) part += (part.empty() ? "" : "; ") + std::string(m.as_string());
      }
    }
    if (part.empty()) continue;
    if (!text.empty()) text += "; ";
    text += k == "message" ? part : fmt::format("{}: {}", std::string_view(k), part);
  }
  return {type == "Not Found Error" ? ErrorCode::kNotFound : ErrorCode::kInvalidArgument,
          fmt::format("datagov: {}{}{}", type, text.empty() ? "" : ": ", text)};
}

core::Result<const json::object*> ckan_result(const json::value& v) {
  if (!v.is_object())
    return fail(ErrorCode::kParse,
                fmt::format("datagov: response is {}, not an object", kind_of(v)));
  const auto& o = v.as_object();
  const auto* ok = o.if_contains("success");
  if (ok == nullptr || !ok->is_bool())
    return fail(ErrorCode::kParse, "datagov: response has no \"success\" flag");
  if (!ok->as_bool()) return std::unexpected(ckan_error(o));
  const auto* r = o.if_contains("result");
  if (r == nullptr || !r->is_object())
    return fail(ErrorCode::kParse, "datagov: response has no \"result\" object");
  return &r->as_object();
}

core::Result<CkanDataset> ckan_dataset(const json::value& v, std::size_t index) {
  if (!v.is_object())
    return fail(ErrorCode::kParse, fmt::format("datagov: dataset {} is {}", index, kind_of(v)));
  const auto& o = v.as_object();
  CkanDataset d;
  const auto* name = str(o, "name");
  if (name == nullptr || name->empty())
    return fail(ErrorCode::kParse, fmt::format("datagov: dataset {} has no name", index));
  d.name = std::string(*name);
  if (const auto* t = str(o, "title")) d.title = std::string(*t);
  if (const auto* org = o.if_contains("organization"); org != nullptr && !org->is_null()) {
    if (!org->is_object())
      return fail(ErrorCode::kParse,
                  fmt::format("datagov: {} organization is {}", d.name, kind_of(*org)));
    if (const auto* t = str(org->as_object(), "title")) d.organization = std::string(*t);
  }
  const auto* res = o.if_contains("resources");
  if (res == nullptr || !res->is_array())
    return fail(ErrorCode::kParse, fmt::format("datagov: {} has no \"resources\" array", d.name));
  std::size_t j = 0;
  for (const auto& r : res->as_array()) {
    if (!r.is_object())
      return fail(ErrorCode::kParse,
                  fmt::format("datagov: {} resource {} is {}", d.name, j, kind_of(r)));
    const auto& ro = r.as_object();
    CkanResource cr;
    const auto* url = str(ro, "url");
    if (url == nullptr)
      return fail(ErrorCode::kParse, fmt::format("datagov: {} resource {} has no url", d.name, j));
    cr.url = std::string(*url);
    if (const auto* s = str(ro, "id")) cr.id = std::string(*s);
    if (const auto* s = str(ro, "name")) cr.name = std::string(*s);
    if (const auto* s = str(ro, "format")) cr.format = std::string(*s);
    d.resources.push_back(std::move(cr));
    ++j;
  }
  return d;
}

}  // namespace

core::Result<CkanSearch> parse_ckan_package_search(std::string_view body) {
  NAUTILUS_TRY(v, parse_json(body, "datagov"));
  NAUTILUS_TRY(r, ckan_result(v));
  const auto* count = r->if_contains("count");
  const auto* results = r->if_contains("results");
  if (count == nullptr || !integer(*count) || *integer(*count) < 0 || results == nullptr ||
      !results->is_array())
    return fail(ErrorCode::kParse, "datagov: package_search result lacks count or results");
  CkanSearch out;
  out.count = static_cast<std::uint64_t>(*integer(*count));
  std::size_t i = 0;
  for (const auto& item : results->as_array()) {
    NAUTILUS_TRY(d, ckan_dataset(item, i++));
    out.datasets.push_back(std::move(d));
  }
  return out;
}

core::Result<CkanDataset> parse_ckan_package_show(std::string_view body) {
  NAUTILUS_TRY(v, parse_json(body, "datagov"));
  NAUTILUS_TRY(r, ckan_result(v));
  return ckan_dataset(*r, 0);
}

// ---- CSV ----

core::Result<CsvTable> parse_csv_table(std::string_view body, const CsvLimits& limits) {
  if (body.size() > limits.max_bytes)
    return fail(ErrorCode::kCapacity, fmt::format("csv: {} bytes, over the {}-byte limit",
                                                  body.size(), limits.max_bytes));
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);
  enum class State : std::uint8_t { kStart, kUnquoted, kQuoted, kAfterQuote };
  CsvTable t;
  bool have_header = false;
  std::vector<std::string> row;
  std::string field;
  State st = State::kStart;
  std::size_t line = 1;        // the physical line being read
  std::size_t row_line = 1;    // where the current row began
  std::size_t quote_line = 0;  // where the open quote began
  bool quoted_field = false;   // the current row has had a quoted field (so it is not blank)

  auto end_field = [&]() -> core::Result<void> {
    row.push_back(std::move(field));
    field.clear();
    if (row.size() > limits.max_columns)
      return fail(ErrorCode::kCapacity,
                  fmt::format("csv line {}: over {} columns", row_line, limits.max_columns));
    return {};
  };
  auto end_row = [&]() -> core::Result<void> {
    const bool blank = row.size() == 1 && row[0].empty() && !quoted_field;
    if (!blank) {
      if (!have_header) {
        t.header = std::move(row);
        have_header = true;
      } else if (row.size() != t.header.size()) {
        return fail(ErrorCode::kParse, fmt::format("csv line {}: {} fields, the header has {}",
                                                   row_line, row.size(), t.header.size()));
      } else {
        if (t.rows.size() >= limits.max_rows)
          return fail(ErrorCode::kCapacity, fmt::format("csv: more than {} rows", limits.max_rows));
        t.rows.push_back(std::move(row));
      }
    }
    row.clear();
    quoted_field = false;
    st = State::kStart;
    return {};
  };
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    const bool newline = c == '\n' || c == '\r';
    if (st == State::kQuoted) {
      if (c == '"') {
        if (i + 1 < body.size() && body[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          st = State::kAfterQuote;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (newline) {
      if (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n') ++i;
      if (auto ok = end_field(); !ok) return std::unexpected(ok.error());
      if (auto ok = end_row(); !ok) return std::unexpected(ok.error());
      ++line;
      row_line = line;
      continue;
    }
    switch (st) {
      case State::kStart:
        if (c == '"') {
          st = State::kQuoted;
          quoted_field = true;
          quote_line = line;
        } else if (c == ',') {
          if (auto ok = end_field(); !ok) return std::unexpected(ok.error());
        } else {
          field.push_back(c);
          st = State::kUnquoted;
        }
        break;
      case State::kUnquoted:
        if (c == ',') {
          if (auto ok = end_field(); !ok) return std::unexpected(ok.error());
          st = State::kStart;
        } else if (c == '"') {
          return fail(ErrorCode::kParse,
                      fmt::format("csv line {}: a quote inside an unquoted field", line));
        } else {
          field.push_back(c);
        }
        break;
      case State::kAfterQuote:
        if (c != ',')
          return fail(ErrorCode::kParse,
                      fmt::format("csv line {}: text after a closing quote", line));
        if (auto ok = end_field(); !ok) return std::unexpected(ok.error());
        st = State::kStart;
        break;
      case State::kQuoted:
        break;  // handled above
    }
  }
  if (st == State::kQuoted)
    return fail(ErrorCode::kParse,
                fmt::format("csv line {}: a quoted field is never closed", quote_line));
  // The last row when the body does not end with a newline.
  if (!field.empty() || !row.empty() || quoted_field) {
    if (auto ok = end_field(); !ok) return std::unexpected(ok.error());
    if (auto ok = end_row(); !ok) return std::unexpected(ok.error());
  }
  if (!have_header) return fail(ErrorCode::kParse, "csv: no header row");
  return t;
}

// ---- BLS ----

core::Result<BlsResponse> parse_bls_timeseries(std::string_view body) {
  NAUTILUS_TRY(v, parse_json(body, "bls"));
  if (!v.is_object())
    return fail(ErrorCode::kParse, fmt::format("bls: response is {}, not an object", kind_of(v)));
  const auto& o = v.as_object();
  const auto* status = str(o, "status");
  if (status == nullptr) return fail(ErrorCode::kParse, "bls: response has no \"status\"");
  BlsResponse out;
  if (const auto* m = o.if_contains("message"); m != nullptr) {
    if (!m->is_array())
      return fail(ErrorCode::kParse, fmt::format("bls: \"message\" is {}", kind_of(*m)));
    for (const auto& item : m->as_array()) {
      if (!item.is_string())
        return fail(ErrorCode::kParse, fmt::format("bls: a message is {}", kind_of(item)));
      out.notes.emplace_back(item.as_string());
    }
  }
  if (*status != "REQUEST_SUCCEEDED") {
    std::string joined;
    bool threshold = false;
    for (const auto& n : out.notes) {
      joined += (joined.empty() ? "" : "; ") + n;
      threshold = threshold || lower(n).find("threshold") != std::string::npos;
    }
    if (*status == "REQUEST_NOT_PROCESSED" && threshold)
      return fail(ErrorCode::kCapacity, fmt::format("bls rate limit: {}", joined));
    return fail(ErrorCode::kInvalidArgument, fmt::format("bls: {}: {}", std::string_view(*status),
                                                         joined.empty() ? "no message" : joined));
  }
  const auto* results = o.if_contains("Results");
  const auto* series = results != nullptr && results->is_object()
                           ? results->as_object().if_contains("series")
                           : nullptr;
  if (series == nullptr || !series->is_array())
    return fail(ErrorCode::kParse, "bls: no \"Results\": {\"series\": [...]}");
  for (const auto& s : series->as_array()) {
    const auto* so = s.if_object();
    const auto* id = so != nullptr ? str(*so, "seriesID") : nullptr;
    const auto* data = so != nullptr ? so->if_contains("data") : nullptr;
    if (id == nullptr || data == nullptr || !data->is_array())
      return fail(ErrorCode::kParse, "bls: a series lacks seriesID or data");
    BlsSeries bs{std::string(*id), {}};
    for (const auto& d : data->as_array()) {
      const auto* dobj = d.if_object();
      if (dobj == nullptr)
        return fail(ErrorCode::kParse,
                    fmt::format("bls: {}: an observation is {}", bs.id, kind_of(d)));
      const auto* year = str(*dobj, "year");
      const auto* period = str(*dobj, "period");
      const auto* value = str(*dobj, "value");
      if (year == nullptr || period == nullptr || value == nullptr)
        return fail(ErrorCode::kParse,
                    fmt::format("bls: {}: an observation lacks year, period or value", bs.id));
      const std::string_view p(*period);
      if (year->size() != 4 || !all_digits(*year) || p.size() != 3 ||
          std::string_view("MQSA").find(p[0]) == std::string_view::npos || !all_digits(p.substr(1)))
        return fail(ErrorCode::kParse, fmt::format("bls: {}: '{} {}' is not a year and period",
                                                   bs.id, std::string_view(*year), p));
      BlsObservation ob{std::string(*year), std::string(p), {}, std::nullopt, false, {}};
      if (const auto* n = str(*dobj, "periodName")) ob.period_name = std::string(*n);
      if (const auto* l = str(*dobj, "latest")) ob.latest = *l == "true";
      if (*value != "-") {
        ob.value = number(*value);
        if (!ob.value)
          return fail(ErrorCode::kParse,
                      fmt::format("bls: {} {} {}: value '{}' is not a number", bs.id, ob.year,
                                  ob.period, std::string_view(*value)));
      }
      if (const auto* f = dobj->if_contains("footnotes"); f != nullptr) {
        if (!f->is_array())
          return fail(ErrorCode::kParse,
                      fmt::format("bls: {}: footnotes is {}", bs.id, kind_of(*f)));
        for (const auto& fn : f->as_array()) {
          if (!fn.is_object()) continue;  // BLS sends [{}] for none
          if (const auto* text = str(fn.as_object(), "text"); text != nullptr && !text->empty())
            ob.footnotes.emplace_back(*text);
        }
      }
      bs.observations.push_back(std::move(ob));
    }
    // BLS sends newest first.
    std::stable_sort(bs.observations.begin(), bs.observations.end(),
                     [](const auto& a, const auto& b) {
                       return std::tie(a.year, a.period) < std::tie(b.year, b.period);
                     });
    out.series.push_back(std::move(bs));
  }
  return out;
}

// ---- Treasury ----

namespace {

bool iso_date(std::string_view d) {
  return d.size() == 10 && d[4] == '-' && d[7] == '-' && all_digits(d.substr(0, 4)) &&
         all_digits(d.substr(5, 2)) && all_digits(d.substr(8, 2));
}

// "&page%5Bnumber%5D=3&page%5Bsize%5D=100" -> 3.
std::optional<std::uint64_t> page_number(std::string_view link) {
  for (std::string_view key : {"page%5Bnumber%5D=", "page[number]="}) {
    const auto at = link.find(key);
    if (at == std::string_view::npos) continue;
    std::uint64_t n = 0;
    const char* b = link.data() + at + key.size();
    if (std::from_chars(b, link.data() + link.size(), n).ec == std::errc()) return n;
  }
  return std::nullopt;
}

}  // namespace

core::Result<FiscalDataPage> parse_fiscaldata_avg_interest_rates(std::string_view body) {
  NAUTILUS_TRY(v, parse_json(body, "treasury"));
  if (!v.is_object())
    return fail(ErrorCode::kParse,
                fmt::format("treasury: response is {}, not an object", kind_of(v)));
  const auto& o = v.as_object();
  if (const auto* e = str(o, "error")) {
    const auto* m = str(o, "message");
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("treasury: {}{}{}", std::string_view(*e), m != nullptr ? ": " : "",
                            m != nullptr ? std::string_view(*m) : std::string_view()));
  }
  const auto* data = o.if_contains("data");
  const auto* meta = o.if_contains("meta");
  if (data == nullptr || !data->is_array() || meta == nullptr || !meta->is_object())
    return fail(ErrorCode::kParse, "treasury: response lacks \"data\" or \"meta\"");
  FiscalDataPage page;
  const auto* tc = meta->as_object().if_contains("total-count");
  const auto* tp = meta->as_object().if_contains("total-pages");
  if (tc == nullptr || !integer(*tc) || tp == nullptr || !integer(*tp) || *integer(*tc) < 0 ||
      *integer(*tp) < 0)
    return fail(ErrorCode::kParse, "treasury: meta lacks total-count or total-pages");
  page.total_count = static_cast<std::uint64_t>(*integer(*tc));
  page.total_pages = static_cast<std::uint64_t>(*integer(*tp));
  if (const auto* links = o.if_contains("links"); links != nullptr && links->is_object()) {
    if (const auto* self = str(links->as_object(), "self")) {
      page.page = page_number(*self).value_or(1);
    }
  }
  std::size_t i = 0;
  for (const auto& item : data->as_array()) {
    ++i;
    const auto* r = item.if_object();
    if (r == nullptr)
      return fail(ErrorCode::kParse, fmt::format("treasury: record {} is {}", i, kind_of(item)));
    const auto* date = str(*r, "record_date");
    const auto* type = str(*r, "security_type_desc");
    const auto* sec = str(*r, "security_desc");
    const auto* rate = str(*r, "avg_interest_rate_amt");
    if (date == nullptr || type == nullptr || sec == nullptr || rate == nullptr)
      return fail(ErrorCode::kParse,
                  fmt::format("treasury: record {} lacks record_date, security_type_desc, "
                              "security_desc or avg_interest_rate_amt",
                              i));
    if (!iso_date(*date))
      return fail(ErrorCode::kParse, fmt::format("treasury: record {} date '{}' is not "
                                                 "YYYY-MM-DD",
                                                 i, std::string_view(*date)));
    AvgInterestRate a{std::string(*date), std::string(*type), std::string(*sec), std::nullopt};
    if (*rate != "null") {
      a.rate = number(*rate);
      if (!a.rate)
        return fail(ErrorCode::kParse,
                    fmt::format("treasury: {} {} rate '{}' is not a number", a.record_date,
                                a.security, std::string_view(*rate)));
    }
    page.records.push_back(std::move(a));
  }
  return page;
}

core::Result<YieldCurve> parse_treasury_yield_curve_csv(std::string_view body) {
  auto table = parse_csv_table(body);
  if (!table)
    return fail(table.error().code, fmt::format("treasury: {} (starts: {})", table.error().message,
                                                body.substr(0, 60)));
  if (table->header.empty() || table->header[0] != "Date" || table->header.size() < 2)
    return fail(ErrorCode::kParse,
                fmt::format("treasury: not the yield curve CSV (header starts '{}')",
                            table->header.empty() ? std::string() : table->header[0]));
  YieldCurve out;
  out.tenors.assign(table->header.begin() + 1, table->header.end());
  for (const auto& row : table->rows) {
    const std::string& d = row[0];
    if (d.size() != 10 || d[2] != '/' || d[5] != '/' ||
        !all_digits(std::string_view(d).substr(0, 2)) ||
        !all_digits(std::string_view(d).substr(3, 2)) ||
        !all_digits(std::string_view(d).substr(6, 4)))
      return fail(ErrorCode::kParse, fmt::format("treasury: date '{}' is not MM/DD/YYYY", d));
    YieldCurveDay day{fmt::format("{}-{}-{}", d.substr(6, 4), d.substr(0, 2), d.substr(3, 2)), {}};
    for (std::size_t i = 1; i < row.size(); ++i) {
      if (row[i].empty() || row[i] == "N/A") {
        day.rates.emplace_back(std::nullopt);
        continue;
      }
      const auto r = number(row[i]);
      if (!r)
        return fail(ErrorCode::kParse, fmt::format("treasury: {} {} '{}' is not a rate", d,
                                                   out.tenors[i - 1], row[i]));
      day.rates.emplace_back(*r);
    }
    out.days.push_back(std::move(day));
  }
  std::stable_sort(out.days.begin(), out.days.end(),
                   [](const auto& a, const auto& b) { return a.date < b.date; });
  return out;
}

}  // namespace nautilus::marketdata
