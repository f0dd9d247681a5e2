#include "sources.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <thread>

#include "nautilus/core/strings.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/net/http_client.hpp"

namespace nautilus::marketdata {
namespace json = boost::json;
namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;
constexpr std::int64_t kNsPerSecond = 1'000'000'000;
// How long a fetch waits for a Retry-After before it gives up and blocks the source instead.
constexpr std::chrono::seconds kMaxRetryWait{5};

std::string env_or(const char* name, std::string_view fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string(fallback);
}

int status_for(const core::Error& e) {
  switch (e.code) {
    case core::ErrorCode::kCapacity:
      return 429;  // rate limited, here or upstream
    case core::ErrorCode::kInvalidArgument:
      return 400;  // the source refused the request
    case core::ErrorCode::kTimeout:
      return 504;
    case core::ErrorCode::kUnsupportedVersion:
    case core::ErrorCode::kNotFound:
      return 404;
    case core::ErrorCode::kClosed:
      return 503;  // no key, not logged in, or not ready yet (IBKR's first snapshot)
    default:
      return 502;  // upstream unreachable or answered nonsense
  }
}

net::Response error_response(const core::Error& e) {
  return net::Response::error(status_for(e), e.message);
}

// Symbols, series ids and CIKs go into URLs: allow only what they are made of.
bool safe_token(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
  });
}

std::string percent_encode(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A four-digit year query parameter; `dflt` when absent.
core::Result<int> year_param(const net::Request& q, std::string_view key, int dflt) {
  const auto v = q.query_param(key);
  if (!v) return dflt;
  int y = 0;
  if (v->size() != 4 || !all_digits(*v) ||
      std::from_chars(v->data(), v->data() + 4, y).ec != std::errc() || y < 1900) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("{} '{}' is not a year (YYYY)", key, *v));
  }
  return y;
}

int year_of(core::UnixNanos t) {
  const std::time_t secs = t / kNsPerSecond;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm.tm_year + 1900;
}

std::string date_of(core::UnixNanos t) { return core::format_timestamp(t).substr(0, 10); }

// Scheme, host and port of a URL, to tell a catalogue's own links from other hosts'.
std::string origin_of(std::string_view url) {
  auto u = net::parse_url(url);
  if (!u) return {};
  return fmt::format("{}://{}:{}", u->tls ? "https" : "http", lower(u->host), u->port);
}

// A redirect's Location, made absolute against the URL that sent it.
std::string resolve_location(std::string_view from, std::string_view location) {
  if (location.starts_with("http://") || location.starts_with("https://"))
    return std::string(location);
  auto u = net::parse_url(from);
  if (!u || !location.starts_with('/')) return std::string(location);
  return fmt::format("{}://{}:{}{}", u->tls ? "https" : "http", u->host, u->port, location);
}

json::value bar_json(const model::Bar& b) {
  return json::object{{"ts", core::format_timestamp(b.ts_event)},
                      {"open", b.open.to_string()},
                      {"high", b.high.to_string()},
                      {"low", b.low.to_string()},
                      {"close", b.close.to_string()},
                      {"volume", b.volume.to_string()}};
}

// Bars with `closed` from the clock: a source's last bar may still be forming.
json::array bars_json(const std::vector<model::Bar>& bars, core::UnixNanos now) {
  json::array rows;
  rows.reserve(bars.size());
  for (const auto& b : bars) {
    auto row = bar_json(b);
    row.as_object()["closed"] = b.ts_event <= now;
    rows.push_back(std::move(row));
  }
  return rows;
}

json::value optional_json(const std::optional<core::Price>& p) {
  return p ? json::value(p->to_string()) : json::value(nullptr);
}
json::value optional_json(const std::optional<core::Quantity>& q) {
  return q ? json::value(q->to_string()) : json::value(nullptr);
}
json::value optional_json(const std::optional<double>& d) {
  return d ? json::value(*d) : json::value(nullptr);
}

// IBKR history: bar sizes under a day and the daily bar.
constexpr std::pair<std::string_view, std::uint32_t> kIbkrBars[] = {
    {"1min", 60},   {"2min", 120},    {"3min", 180}, {"5min", 300}, {"10min", 600},
    {"15min", 900}, {"30min", 1'800}, {"1h", 3'600}, {"2h", 7'200}, {"3h", 10'800},
    {"4h", 14'400}, {"8h", 28'800},   {"1d", 86'400}};

// IBKR's period grammar: {1-30}min, {1-8}h, {1-1000}d, {1-792}w, {1-182}m, {1-15}y.
bool ibkr_period_ok(std::string_view p) {
  std::size_t n = 0;
  while (n < p.size() && p[n] >= '0' && p[n] <= '9') ++n;
  unsigned count = 0;
  if (n == 0 || n > 4 || std::from_chars(p.data(), p.data() + n, count).ec != std::errc())
    return false;
  const std::string_view unit = p.substr(n);
  const unsigned max = unit == "min" ? 30
                       : unit == "h" ? 8
                       : unit == "d" ? 1000
                       : unit == "w" ? 792
                       : unit == "m" ? 182
                       : unit == "y" ? 15
                                     : 0;
  return count >= 1 && count <= max;
}

// The shortest IBKR period reaching back `span` from now.
std::optional<std::string> ibkr_period_for(core::UnixNanos span) {
  const std::int64_t minutes =
      std::max<std::int64_t>(1, (span + 60 * kNsPerSecond - 1) / (60 * kNsPerSecond));
  if (minutes <= 30) return fmt::format("{}min", minutes);
  if (minutes <= 8 * 60) return fmt::format("{}h", (minutes + 59) / 60);
  const std::int64_t days = (minutes + 1439) / 1440;
  if (days <= 1000) return fmt::format("{}d", days);
  const std::int64_t weeks = (days + 6) / 7;
  if (weeks <= 792) return fmt::format("{}w", weeks);
  return std::nullopt;
}

}  // namespace

HttpSources::HttpSources(const engine::EngineSettings& cfg, const core::Clock& clock,
                         bus::Publisher publisher)
    : clock_(&clock),
      treasury_yields_url_(cfg.text("treasury_yields_url")),
      user_agent_(env_or("SEC_USER_AGENT", "Nautilus research nautilus@example.com")),
      publisher_(std::move(publisher)) {
  using std::chrono::hours;
  using std::chrono::seconds;
  // Rates and URLs are the engine's declared settings (engine.cpp: their defaults, ranges).
  av_.settings = {"alphavantage", cfg.text("alphavantage_url"), env_or("ALPHAVANTAGE_API_KEY", ""),
                  cfg.number("alphavantage_per_minute"), seconds(3600)};
  fred_.settings = {"fred", cfg.text("fred_url"), env_or("FRED_API_KEY", ""),
                    cfg.number("fred_per_minute"), seconds(6 * 3600)};
  // EDGAR needs no key, only a User-Agent naming the caller (SEC fair-access policy, 10/s).
  edgar_.settings = {"edgar", cfg.text("edgar_url"), "-", cfg.number("edgar_per_minute"),
                     seconds(24 * 3600)};
  // The local gateway holds the session: no key. It allows 10 requests a second in all (and
  // 10/s of snapshots); a burst of 5 keeps well inside that with other clients about.
  ibkr_.settings = {"ibkr", cfg.text("ibkr_url"), "-", cfg.number("ibkr_per_minute"), seconds(60),
                    5};
  ibkr_.client.ca_file = cfg.text("ibkr_ca_file");
  // Klines weigh 2 of the IP's 6,000 a minute; bursts of 10.
  binance_.settings = {
      "binance", cfg.text("binance_url"), "-", cfg.number("binance_per_minute"), seconds(30), 10};
  // catalog.data.gov needs no key; behind api.data.gov (api.gsa.gov/technology/datagov/v3) it
  // takes DATAGOV_API_KEY as X-Api-Key, 1,000 requests an hour.
  datagov_.settings = {"datagov",
                       cfg.text("datagov_url"),
                       env_or("DATAGOV_API_KEY", ""),
                       cfg.number("datagov_per_minute"),
                       seconds(3600),
                       5};
  if (!datagov_.settings.api_key.empty())
    datagov_.client.headers.emplace_back("X-Api-Key", datagov_.settings.api_key);
  // BLS counts requests a day (500 with a key, 25 without): the bucket refills at the daily
  // rate and allows bursts of 10.
  bls_.settings = {"bls",
                   cfg.text("bls_url"),
                   env_or("BLS_API_KEY", ""),
                   cfg.number("bls_per_minute"),
                   seconds(12 * 3600),
                   10};
  treasury_.settings = {"treasury",
                        cfg.text("treasury_url"),
                        "-",
                        cfg.number("treasury_per_minute"),
                        seconds(12 * 3600),
                        5};
  for (Source* s : {&av_, &fred_, &edgar_, &ibkr_, &binance_, &datagov_, &bls_, &treasury_}) {
    const double burst = s->settings.burst > 0 ? s->settings.burst
                                               : std::max(1.0, s->settings.per_minute / 60.0 * 5);
    s->limiter = std::make_unique<core::RateLimiter>(clock, s->settings.per_minute, burst);
    s->cache = std::make_unique<BodyCache>(clock);
    s->client.timeout = std::chrono::seconds(10);
    s->client.user_agent = user_agent_;
  }
}

core::Result<void> HttpSources::validate() const {
  for (const Source* s : {&av_, &fred_, &edgar_, &ibkr_, &binance_, &datagov_, &bls_, &treasury_}) {
    if (auto u = net::parse_url(s->settings.base_url); !u) {
      return core::fail(u.error().code,
                        fmt::format("{}_url: {}", s->settings.name, u.error().message));
    }
  }
  if (auto u = net::parse_url(treasury_yields_url_); !u) {
    return core::fail(u.error().code, fmt::format("treasury_yields_url: {}", u.error().message));
  }
  // A CA file that cannot be read would fail every IBKR request: say so at start-up.
  if (!ibkr_.client.ca_file.empty() && !std::ifstream(ibkr_.client.ca_file).good()) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("ibkr_ca_file {}: cannot open", ibkr_.client.ca_file));
  }
  return {};
}

core::Result<HttpSources::BodyCache::Value> HttpSources::fetch(Source& s, const Upstream& u) {
  return s.cache->get(u.key, u.ttl, [&]() -> core::Result<std::string> {
    constexpr int kAttempts = 3;
    constexpr int kMaxRedirects = 3;
    const net::ClientOptions& client = u.client ? *u.client : s.client;
    const std::string& name = s.settings.name;
    core::Error last{core::ErrorCode::kIo, "no attempt"};
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      if (attempt > 0) {
        s.retries.fetch_add(1, std::memory_order_relaxed);
        std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
      }
      if (const auto until = s.blocked_until.load(); now() < until) {
        return core::fail(core::ErrorCode::kCapacity,
                          fmt::format("{}: the source asked for no requests until {}", name,
                                      core::format_timestamp(until)));
      }
      if (!s.limiter->acquire(std::chrono::seconds(5))) {
        return core::fail(core::ErrorCode::kCapacity,
                          fmt::format("{}: local rate limit ({} requests/minute) reached", name,
                                      s.settings.per_minute));
      }
      s.requests.fetch_add(1, std::memory_order_relaxed);
      std::string url = u.url;
      core::Result<net::ClientResponse> r;
      for (int hop = 0;; ++hop) {
        r = u.post_body ? net::http_post(url, *u.post_body, "application/json", client)
                        : net::http_fetch(url, client);
        if (!r || r->status < 300 || r->status >= 400 || r->location.empty()) break;
        const std::string target = resolve_location(url, r->location);
        if (!u.may_follow || hop >= kMaxRedirects) break;
        if (!u.may_follow(target)) {
          return core::fail(
              core::ErrorCode::kInvalidArgument,
              fmt::format("{}: redirected to {}, which may not be fetched", name, target));
        }
        url = target;
      }
      if (!r) {
        // A response over the size limit or an unreadable CA file will not change on retry.
        if (r.error().code == core::ErrorCode::kCapacity ||
            r.error().code == core::ErrorCode::kInvalidArgument)
          return core::fail(r.error().code, fmt::format("{}: {}", name, r.error().message));
        last = r.error();
        continue;  // connection or timeout: retry
      }
      const int status = r->status;
      if (status == 418) {
        // Binance: the IP is banned for Retry-After seconds (2 minutes to 3 days).
        const auto ban = r->retry_after.value_or(std::chrono::seconds(120));
        s.blocked_until.store(now() + std::chrono::nanoseconds(ban).count());
        return core::fail(core::ErrorCode::kCapacity,
                          fmt::format("{}: HTTP 418: banned for {} s for calling after a 429", name,
                                      ban.count()));
      }
      if (status == 429 || status >= 500) {
        last = {status == 429 ? core::ErrorCode::kCapacity : core::ErrorCode::kIo,
                fmt::format("{}: HTTP {}", name, status)};
        if (r->retry_after) {
          if (*r->retry_after > kMaxRetryWait) {
            // Longer than a request should hang: stop calling until then, as asked.
            s.blocked_until.store(now() + std::chrono::nanoseconds(*r->retry_after).count());
            last.message += fmt::format(", retry after {} s", r->retry_after->count());
            return std::unexpected(last);
          }
          std::this_thread::sleep_for(*r->retry_after);
        }
        continue;
      }
      if (status == 401 || status == 403) {
        return core::fail(core::ErrorCode::kClosed,
                          fmt::format("{}: HTTP {}: not authorised (key, or for IBKR the "
                                      "gateway's login)",
                                      name, status));
      }
      if (status != 200 && u.check_errors && u.check) {
        // The source's own error body says more than the status; a body that is not one of
        // its errors gets the generic answer below.
        if (auto worded = u.check(r->body);
            !worded && worded.error().code != core::ErrorCode::kParse) {
          return std::unexpected(worded.error());
        }
      }
      if (status == 404) {
        return core::fail(core::ErrorCode::kNotFound, fmt::format("{}: not found", name));
      }
      if (status != 200) {
        return core::fail(core::ErrorCode::kInvalidArgument,
                          fmt::format("{}: HTTP {}: {}", name, status, r->body.substr(0, 200)));
      }
      // Only responses that parse are cached: a rate-limit note must not stick for the TTL.
      if (u.check) {
        if (auto ok = u.check(r->body); !ok) {
          if (ok.error().code != core::ErrorCode::kClosed) return std::unexpected(ok.error());
          last = ok.error();  // not ready yet: ask again
          continue;
        }
      }
      return std::move(r->body);
    }
    return std::unexpected(last);
  });
}

core::Result<HttpSources::BodyCache::Value> HttpSources::fetch(
    Source& s, const std::string& key, const std::string& url, std::chrono::seconds ttl,
    const std::function<core::Result<void>(const std::string&)>& check) {
  return fetch(s, Upstream{.key = key, .url = url, .ttl = ttl, .check = check});
}

// ---- Alpha Vantage, FRED, EDGAR ----

core::Result<std::vector<model::Bar>> HttpSources::alphavantage_bars(const std::string& symbol,
                                                                     const std::string& function,
                                                                     const std::string& interval,
                                                                     bool* hit) {
  if (av_.settings.api_key.empty())
    return core::fail(core::ErrorCode::kClosed, "ALPHAVANTAGE_API_KEY is not set");
  std::string url;
  std::chrono::seconds ttl = av_.settings.ttl;
  if (function == "daily") {
    url = fmt::format("{}/query?function=TIME_SERIES_DAILY&symbol={}&outputsize=compact&apikey={}",
                      av_.settings.base_url, symbol, av_.settings.api_key);
  } else {
    url = fmt::format("{}/query?function=TIME_SERIES_INTRADAY&symbol={}&interval={}&apikey={}",
                      av_.settings.base_url, symbol, interval, av_.settings.api_key);
    ttl = std::chrono::seconds(60);
  }
  const auto check = [&](const std::string& body) -> core::Result<void> {
    auto b = parse_alphavantage(body, symbol);
    if (!b) return std::unexpected(b.error());
    return {};
  };
  NAUTILUS_TRY(v, fetch(av_, fmt::format("{}|{}|{}", symbol, function, interval), url, ttl, check));
  if (hit != nullptr) *hit = v.hit;
  return parse_alphavantage(*v.value, symbol);
}

net::Response HttpSources::alphavantage(const net::Request& q, bool publish) {
  const std::string symbol(q.param("symbol"));
  if (!safe_token(symbol)) return net::Response::error(400, "bad symbol");
  if (av_.settings.api_key.empty())
    return net::Response::error(503, "ALPHAVANTAGE_API_KEY is not set");
  const std::string function = q.query_param("function").value_or("daily");
  const std::string interval = q.query_param("interval").value_or("5min");
  if (function == "intraday") {
    if (interval != "1min" && interval != "5min" && interval != "15min" && interval != "30min" &&
        interval != "60min") {
      return net::Response::error(400, "interval must be 1min, 5min, 15min, 30min or 60min");
    }
  } else if (function != "daily") {
    return net::Response::error(400, "function must be daily or intraday");
  }
  bool hit = false;
  auto bars = alphavantage_bars(symbol, function, interval, &hit);
  if (!bars) return net::Response::error(status_for(bars.error()), bars.error().message);
  if (publish) {
    std::lock_guard lock(publish_mu_);
    auto topic = fmt::format("market_data.{}.bar", symbol);
    for (const auto& b : *bars) {
      (void)publisher_.publish(topic, b, {.ts_event = b.ts_event});
    }
    return net::Response::json(json::object{{"source", "alphavantage"},
                                            {"symbol", symbol},
                                            {"cached", hit},
                                            {"published", bars->size()}});
  }
  json::array rows;
  for (const auto& b : *bars) rows.push_back(bar_json(b));
  return net::Response::json(json::object{
      {"source", "alphavantage"}, {"symbol", symbol}, {"cached", hit}, {"bars", std::move(rows)}});
}

net::Response HttpSources::fred(const net::Request& q) {
  const std::string series(q.param("series"));
  if (!safe_token(series)) return net::Response::error(400, "bad series id");
  if (fred_.settings.api_key.empty()) return net::Response::error(503, "FRED_API_KEY is not set");
  const std::string url =
      fmt::format("{}/fred/series/observations?series_id={}&api_key={}&file_type=json",
                  fred_.settings.base_url, series, fred_.settings.api_key);
  auto v = fetch(fred_, series, url, fred_.settings.ttl,
                 [](const std::string& body) -> core::Result<void> {
                   auto o = parse_fred_observations(body);
                   if (!o) return std::unexpected(o.error());
                   return {};
                 });
  if (!v) return net::Response::error(status_for(v.error()), v.error().message);
  auto obs = parse_fred_observations(*v->value);
  if (!obs) return net::Response::error(502, obs.error().message);
  json::array rows;
  std::size_t missing = 0;
  for (const auto& o : *obs) {
    json::value val = nullptr;
    if (o.value) {
      val = *o.value;
    } else {
      ++missing;
    }
    rows.push_back(json::object{{"date", o.date}, {"value", val}});
  }
  return net::Response::json(json::object{{"source", "fred"},
                                          {"series", series},
                                          {"cached", v->hit},
                                          {"missing", missing},
                                          {"observations", std::move(rows)}});
}

net::Response HttpSources::edgar(const net::Request& q) {
  const std::string cik_text(q.param("cik"));
  std::uint64_t cik = 0;
  if (cik_text.empty() || cik_text.size() > 10 ||
      std::from_chars(cik_text.data(), cik_text.data() + cik_text.size(), cik).ec != std::errc()) {
    return net::Response::error(400, "cik must be a number of up to 10 digits");
  }
  const std::vector<std::string> concepts =
      core::split_list(q.query_param("concepts").value_or("Revenues,NetIncomeLoss,Assets"));
  const std::string url =
      fmt::format("{}/api/xbrl/companyfacts/CIK{:010}.json", edgar_.settings.base_url, cik);
  auto v = fetch(edgar_, fmt::format("{:010}", cik), url, edgar_.settings.ttl,
                 [](const std::string& body) -> core::Result<void> {
                   auto f = parse_edgar_companyfacts(body, {});
                   if (!f) return std::unexpected(f.error());
                   return {};
                 });
  if (!v) return net::Response::error(status_for(v.error()), v.error().message);
  auto facts = parse_edgar_companyfacts(*v->value, concepts);
  if (!facts) return net::Response::error(502, facts.error().message);
  json::array rows;
  for (const auto& f : facts->facts) {
    rows.push_back(json::object{{"taxonomy", f.taxonomy},
                                {"concept", f.concept_name},
                                {"unit", f.unit},
                                {"end", f.end},
                                {"value", f.value},
                                {"form", f.form},
                                {"fy", f.fy},
                                {"fp", f.fp},
                                {"filed", f.filed}});
  }
  return net::Response::json(json::object{{"source", "edgar"},
                                          {"cik", facts->cik},
                                          {"entity", facts->entity},
                                          {"cached", v->hit},
                                          {"concepts", facts->concepts},
                                          {"facts", std::move(rows)}});
}

// ---- IBKR Client Portal gateway ----

core::Result<std::vector<IbkrContract>> HttpSources::ibkr_search(const std::string& symbol,
                                                                 bool* hit) {
  // conids are persistent for the life of an instrument: a day is cautious.
  NAUTILUS_TRY(v, fetch(ibkr_, Upstream{.key = "search|" + symbol,
                                        .url = fmt::format("{}/iserver/secdef/search?symbol={}",
                                                           ibkr_.settings.base_url, symbol),
                                        .ttl = std::chrono::hours(24),
                                        .check = [](const std::string& body) -> core::Result<void> {
                                          auto c = parse_ibkr_secdef_search(body);
                                          if (!c) return std::unexpected(c.error());
                                          return {};
                                        },
                                        .check_errors = true}));
  if (hit != nullptr) *hit = v.hit;
  return parse_ibkr_secdef_search(*v.value);
}

core::Result<std::string> HttpSources::ibkr_conid(std::string_view symbol) {
  if (!safe_token(symbol))
    return core::fail(core::ErrorCode::kInvalidArgument, fmt::format("bad symbol '{}'", symbol));
  NAUTILUS_TRY(contracts, ibkr_search(std::string(symbol), nullptr));
  return ibkr_stock_conid(contracts, symbol);
}

core::Result<std::vector<model::Bar>> HttpSources::ibkr_history(const std::string& symbol,
                                                                const std::string& period,
                                                                const std::string& bar, bool* hit) {
  NAUTILUS_TRY(conid, ibkr_conid(symbol));
  const auto check = [&](const std::string& body) -> core::Result<void> {
    auto b = parse_ibkr_history(body, symbol);
    if (!b) return std::unexpected(b.error());
    return {};
  };
  NAUTILUS_TRY(
      v,
      fetch(ibkr_, Upstream{.key = fmt::format("history|{}|{}|{}", conid, period, bar),
                            .url = fmt::format("{}/iserver/marketdata/history?conid={}&period={}&"
                                               "bar={}",
                                               ibkr_.settings.base_url, conid, period, bar),
                            .ttl = ibkr_.settings.ttl,
                            .check = check,
                            .check_errors = true}));
  if (hit != nullptr) *hit = v.hit;
  return parse_ibkr_history(*v.value, symbol);
}

net::Response HttpSources::ibkr_search_route(const net::Request& q) {
  const std::string symbol(q.param("symbol"));
  if (!safe_token(symbol)) return net::Response::error(400, "bad symbol");
  bool hit = false;
  auto contracts = ibkr_search(symbol, &hit);
  if (!contracts) return error_response(contracts.error());
  auto conid = ibkr_stock_conid(*contracts, symbol);
  json::array rows;
  for (const auto& c : *contracts) {
    json::array types;
    for (const auto& t : c.sec_types) types.emplace_back(t);
    rows.push_back(json::object{{"conid", c.conid},
                                {"symbol", c.symbol},
                                {"company", c.company},
                                {"exchange", c.exchange},
                                {"sec_types", std::move(types)}});
  }
  return net::Response::json(json::object{{"source", "ibkr"},
                                          {"symbol", symbol},
                                          {"cached", hit},
                                          {"conid", conid ? json::value(*conid) : nullptr},
                                          {"contracts", std::move(rows)}});
}

net::Response HttpSources::ibkr_snapshot_route(const net::Request& q) {
  const std::string symbol(q.param("symbol"));
  if (!safe_token(symbol)) return net::Response::error(400, "bad symbol");
  auto conid = ibkr_conid(symbol);
  if (!conid) return error_response(conid.error());
  // The gateway wants /iserver/accounts read once per session before any snapshot.
  auto accounts = fetch(ibkr_, Upstream{.key = "accounts",
                                        .url = ibkr_.settings.base_url + "/iserver/accounts",
                                        .ttl = std::chrono::hours(1),
                                        .check = [](const std::string& body) -> core::Result<void> {
                                          json::error_code ec;
                                          if (json::parse(body, ec).is_object() && !ec) return {};
                                          return core::fail(core::ErrorCode::kParse,
                                                            "ibkr: /iserver/accounts did not "
                                                            "answer a JSON object");
                                        }});
  if (!accounts) return error_response(accounts.error());
  const std::string id = *conid;
  const auto check = [&id](const std::string& body) -> core::Result<void> {
    NAUTILUS_TRY(snaps, parse_ibkr_snapshot(body));
    for (const auto& s : snaps) {
      if (s.conid != id) continue;
      if (s.ready()) return {};
      return core::fail(core::ErrorCode::kClosed,
                        fmt::format("ibkr: no prices for conid {} yet: the gateway has only begun "
                                    "streaming it; ask again",
                                    id));
    }
    return core::fail(core::ErrorCode::kParse,
                      fmt::format("ibkr: the snapshot does not include conid {}", id));
  };
  // Quotes are live: the cache only joins callers of the same second.
  auto v = fetch(ibkr_, Upstream{.key = "snapshot|" + id,
                                 .url = fmt::format("{}/iserver/marketdata/snapshot?conids={}&"
                                                    "fields=31,84,86,85,88",
                                                    ibkr_.settings.base_url, id),
                                 .ttl = std::chrono::seconds(2),
                                 .check = check,
                                 .check_errors = true});
  if (!v) {
    auto r = error_response(v.error());
    // Not ready yet: the gateway usually has the first quotes within a second.
    if (v.error().code == core::ErrorCode::kClosed) r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  auto snaps = parse_ibkr_snapshot(*v->value);
  if (!snaps) return net::Response::error(502, snaps.error().message);
  const auto it = std::find_if(snaps->begin(), snaps->end(),
                               [&](const IbkrSnapshot& s) { return s.conid == id; });
  if (it == snaps->end())
    return net::Response::error(502, fmt::format("ibkr: the snapshot lacks conid {}", id));
  const char* kind = it->last_kind == 'C'   ? "prior_close"
                     : it->last_kind == 'H' ? "halted"
                                            : "trade";
  return net::Response::json(
      json::object{{"source", "ibkr"},
                   {"symbol", symbol},
                   {"conid", id},
                   {"cached", v->hit},
                   {"last", optional_json(it->last)},
                   {"last_kind", kind},
                   {"bid", optional_json(it->bid)},
                   {"ask", optional_json(it->ask)},
                   {"bid_size", optional_json(it->bid_size)},
                   {"ask_size", optional_json(it->ask_size)},
                   {"availability", it->availability},
                   {"updated", it->updated != 0 ? json::value(core::format_timestamp(it->updated))
                                                : json::value(nullptr)}});
}

net::Response HttpSources::ibkr_history_route(const net::Request& q) {
  const std::string symbol(q.param("symbol"));
  if (!safe_token(symbol)) return net::Response::error(400, "bad symbol");
  const std::string period = q.query_param("period").value_or("1d");
  const std::string bar = q.query_param("bar").value_or("5min");
  if (!ibkr_period_ok(period))
    return net::Response::error(400, fmt::format("period '{}' must be {{1-30}}min, {{1-8}}h, "
                                                 "{{1-1000}}d, {{1-792}}w, {{1-182}}m or {{1-15}}y",
                                                 period));
  if (std::none_of(std::begin(kIbkrBars), std::end(kIbkrBars),
                   [&](const auto& b) { return b.first == bar; }))
    return net::Response::error(400, fmt::format("bar '{}' must be 1min, 2min, 3min, 5min, 10min, "
                                                 "15min, 30min, 1h, 2h, 3h, 4h, 8h or 1d",
                                                 bar));
  bool hit = false;
  auto bars = ibkr_history(symbol, period, bar, &hit);
  if (!bars) return error_response(bars.error());
  return net::Response::json(json::object{
      {"source", "ibkr"},
      {"symbol", symbol},
      {"cached", hit},
      {"period", period},
      {"interval_s", bars->empty() ? json::value(nullptr) : json::value(bars->front().interval_s)},
      {"bars", bars_json(*bars, now())}});
}

// ---- Binance ----

core::Result<std::vector<model::Bar>> HttpSources::binance_page(
    const std::string& symbol, const std::string& interval, std::optional<std::int64_t> start_ms,
    std::optional<std::int64_t> end_ms, std::size_t limit, bool* hit) {
  std::string url = fmt::format("{}/api/v3/klines?symbol={}&interval={}",
                                binance_.settings.base_url, symbol, interval);
  if (start_ms) url += fmt::format("&startTime={}", *start_ms);
  if (end_ms) url += fmt::format("&endTime={}", *end_ms);
  url += fmt::format("&limit={}", limit);
  // Bars that closed before now never change; the open end of the series does every interval.
  const auto interval_ms = static_cast<std::int64_t>(*binance_interval_seconds(interval)) * 1000;
  const bool settled = end_ms && (*end_ms + interval_ms) * kNsPerMs < now();
  const auto check = [&](const std::string& body) -> core::Result<void> {
    auto b = parse_binance_klines(body, symbol, interval);
    if (!b) return std::unexpected(b.error());
    return {};
  };
  NAUTILUS_TRY(
      v, fetch(binance_,
               Upstream{.key = fmt::format("{}|{}|{}|{}|{}", symbol, interval,
                                           start_ms.value_or(-1), end_ms.value_or(-1), limit),
                        .url = url,
                        .ttl = settled ? std::chrono::seconds(24 * 3600) : binance_.settings.ttl,
                        .check = check,
                        .check_errors = true}));
  if (hit != nullptr) *hit = v.hit;
  return parse_binance_klines(*v.value, symbol, interval);
}

net::Response HttpSources::binance_route(const net::Request& q) {
  const std::string symbol(q.param("symbol"));
  if (symbol.size() < 2 || symbol.size() > 20 ||
      !std::all_of(symbol.begin(), symbol.end(),
                   [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }))
    return net::Response::error(400, "bad symbol: Binance symbols are 2-20 of A-Z, 0-9 (BTCUSDT)");
  const std::string interval = q.query_param("interval").value_or("1m");
  if (!binance_interval_seconds(interval))
    return net::Response::error(400, fmt::format("interval '{}' must be 1s, 1m, 3m, 5m, 15m, 30m, "
                                                 "1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d or 1w",
                                                 interval));
  auto limit = q.query_count("limit", 500, 1000);
  if (!limit) return net::Response::error(400, limit.error().message);
  std::optional<std::int64_t> range[2];
  const char* keys[2] = {"start", "end"};
  for (int i = 0; i < 2; ++i) {
    if (const auto v = q.query_param(keys[i])) {
      auto t = core::parse_timestamp(*v);
      if (!t) return net::Response::error(400, fmt::format("{}: {}", keys[i], t.error().message));
      range[i] = *t / kNsPerMs;
    }
  }
  if (range[0] && range[1] && *range[0] > *range[1])
    return net::Response::error(400, "start is after end");
  bool hit = false;
  auto bars = binance_page(symbol, interval, range[0], range[1], *limit, &hit);
  if (!bars) return error_response(bars.error());
  return net::Response::json(json::object{{"source", "binance"},
                                          {"symbol", symbol},
                                          {"cached", hit},
                                          {"interval", interval},
                                          {"interval_s", *binance_interval_seconds(interval)},
                                          {"bars", bars_json(*bars, now())}});
}

// ---- Data.gov ----

net::Response HttpSources::datagov_search_route(const net::Request& q) {
  const std::string text = q.query_param("q").value_or("");
  if (text.empty() || text.size() > 200)
    return net::Response::error(400, "q must be 1 to 200 characters of search text");
  auto rows = q.query_count("rows", 10, 100);
  if (!rows) return net::Response::error(400, rows.error().message);
  auto v = fetch(datagov_, Upstream{.key = fmt::format("search|{}|{}", text, *rows),
                                    .url = fmt::format("{}/action/package_search?q={}&rows={}",
                                                       datagov_.settings.base_url,
                                                       percent_encode(text), *rows),
                                    .ttl = datagov_.settings.ttl,
                                    .check = [](const std::string& body) -> core::Result<void> {
                                      auto s = parse_ckan_package_search(body);
                                      if (!s) return std::unexpected(s.error());
                                      return {};
                                    },
                                    .check_errors = true});
  if (!v) return error_response(v.error());
  auto found = parse_ckan_package_search(*v->value);
  if (!found) return net::Response::error(502, found.error().message);
  json::array datasets;
  for (const auto& d : found->datasets) {
    json::array resources;
    std::size_t i = 0;
    for (const auto& r : d.resources) {
      resources.push_back(
          json::object{{"index", i++}, {"name", r.name}, {"format", r.format}, {"url", r.url}});
    }
    datasets.push_back(json::object{{"name", d.name},
                                    {"title", d.title},
                                    {"organization", d.organization},
                                    {"resources", std::move(resources)}});
  }
  return net::Response::json(json::object{{"source", "datagov"},
                                          {"q", text},
                                          {"cached", v->hit},
                                          {"count", found->count},
                                          {"datasets", std::move(datasets)}});
}

net::Response HttpSources::datagov_csv_route(const net::Request& q) {
  const std::string dataset(q.param("dataset"));
  // CKAN names: 2 to 100 of lowercase letters, digits, '-' and '_'.
  if (dataset.size() < 2 || dataset.size() > 100 ||
      !std::all_of(dataset.begin(), dataset.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      }))
    return net::Response::error(400,
                                "bad dataset name (CKAN names are lowercase a-z, 0-9, - and _)");
  std::size_t index = 0;
  if (const auto r = q.query_param("resource")) {
    if (!all_digits(*r) || r->size() > 4 ||
        std::from_chars(r->data(), r->data() + r->size(), index).ec != std::errc())
      return net::Response::error(400, fmt::format("resource '{}' is not a resource index", *r));
  }
  auto limit = q.query_count("limit", 1000, 100'000);
  if (!limit) return net::Response::error(400, limit.error().message);
  auto shown = fetch(datagov_, Upstream{.key = "show|" + dataset,
                                        .url = fmt::format("{}/action/package_show?id={}",
                                                           datagov_.settings.base_url, dataset),
                                        .ttl = datagov_.settings.ttl,
                                        .check = [](const std::string& body) -> core::Result<void> {
                                          auto d = parse_ckan_package_show(body);
                                          if (!d) return std::unexpected(d.error());
                                          return {};
                                        },
                                        .check_errors = true});
  if (!shown) return error_response(shown.error());
  auto d = parse_ckan_package_show(*shown->value);
  if (!d) return net::Response::error(502, d.error().message);
  if (index >= d->resources.size())
    return net::Response::error(
        404, fmt::format("{} has {} resources; resource={} is not one of them", dataset,
                         d->resources.size(), index));
  const CkanResource& res = d->resources[index];
  if (lower(res.format) != "csv" && !lower(res.url).ends_with(".csv"))
    return net::Response::error(
        400, fmt::format("resource {} of {} is '{}', not CSV", index, dataset, res.format));
  // Only what the catalogue lists, and over TLS unless it is on the catalogue's own host.
  const std::string catalogue = origin_of(datagov_.settings.base_url);
  const auto allowed = [catalogue](std::string_view url) {
    return url.starts_with("https://") || (!catalogue.empty() && origin_of(url) == catalogue);
  };
  if (!allowed(res.url))
    return net::Response::error(400,
                                fmt::format("resource {} url must be https: {}", index, res.url));
  // The api.data.gov key is for the catalogue, not for the hosts its resources live on.
  net::ClientOptions client = datagov_.client;
  client.headers.clear();
  client.accept = "text/csv, text/plain;q=0.5, */*;q=0.1";
  const CsvLimits limits;
  client.max_body_bytes = limits.max_bytes;
  auto v =
      fetch(datagov_, Upstream{.key = "csv|" + res.url,
                               .url = res.url,
                               .ttl = std::chrono::hours(6),
                               .check = [limits](const std::string& body) -> core::Result<void> {
                                 auto t = parse_csv_table(body, limits);
                                 if (!t) return std::unexpected(t.error());
                                 return {};
                               },
                               .may_follow = allowed,
                               .client = client});
  if (!v) return error_response(v.error());
  auto table = parse_csv_table(*v->value, limits);
  if (!table) return net::Response::error(502, table.error().message);
  json::array header;
  for (const auto& h : table->header) header.emplace_back(h);
  json::array rows;
  const std::size_t n = std::min(*limit, table->rows.size());
  for (std::size_t i = 0; i < n; ++i) {
    json::array row;
    for (const auto& f : table->rows[i]) row.emplace_back(f);
    rows.push_back(std::move(row));
  }
  return net::Response::json(json::object{
      {"source", "datagov"},
      {"dataset", dataset},
      {"cached", v->hit},
      {"resource",
       json::object{
           {"index", index}, {"name", res.name}, {"format", res.format}, {"url", res.url}}},
      {"header", std::move(header)},
      {"rows_total", table->rows.size()},
      {"truncated", n < table->rows.size()},
      {"rows", std::move(rows)}});
}

// ---- BLS ----

net::Response HttpSources::bls_route(const net::Request& q) {
  const std::string series(q.param("series"));
  if (!safe_token(series) || std::any_of(series.begin(), series.end(), [](char c) {
        return std::islower(static_cast<unsigned char>(c)) != 0;
      }))
    return net::Response::error(400, "bad series id (BLS ids are upper case: CUUR0000SA0)");
  const int this_year = year_of(now());
  auto end = year_param(q, "end", this_year);
  if (!end) return net::Response::error(400, end.error().message);
  auto start = year_param(q, "start", *end - 2);
  if (!start) return net::Response::error(400, start.error().message);
  // BLS serves 20 years a request with a key, 10 without.
  const bool registered = !bls_.settings.api_key.empty();
  const int max_span = registered ? 20 : 10;
  if (*start > *end) return net::Response::error(400, "start is after end");
  if (*end - *start + 1 > max_span)
    return net::Response::error(
        400, fmt::format("BLS serves at most {} years a request{}", max_span,
                         registered ? "" : " without BLS_API_KEY (20 with one)"));
  json::object body{{"seriesid", json::array{json::value(series)}},
                    {"startyear", std::to_string(*start)},
                    {"endyear", std::to_string(*end)}};
  if (registered) body["registrationkey"] = bls_.settings.api_key;
  auto v = fetch(bls_, Upstream{.key = fmt::format("{}|{}|{}", series, *start, *end),
                                .url = bls_.settings.base_url + "/timeseries/data/",
                                .ttl = bls_.settings.ttl,
                                .post_body = json::serialize(body),
                                .check = [](const std::string& b) -> core::Result<void> {
                                  auto r = parse_bls_timeseries(b);
                                  if (!r) return std::unexpected(r.error());
                                  return {};
                                },
                                .check_errors = true});
  if (!v) return error_response(v.error());
  auto r = parse_bls_timeseries(*v->value);
  if (!r) return net::Response::error(502, r.error().message);
  json::array notes;
  for (const auto& n : r->notes) notes.emplace_back(n);
  json::array rows;
  for (const auto& s : r->series) {
    if (s.id != series) continue;
    for (const auto& o : s.observations) {
      json::array footnotes;
      for (const auto& f : o.footnotes) footnotes.emplace_back(f);
      rows.push_back(json::object{{"year", o.year},
                                  {"period", o.period},
                                  {"period_name", o.period_name},
                                  {"value", optional_json(o.value)},
                                  {"latest", o.latest},
                                  {"footnotes", std::move(footnotes)}});
    }
  }
  return net::Response::json(json::object{{"source", "bls"},
                                          {"series", series},
                                          {"start", *start},
                                          {"end", *end},
                                          {"registered", registered},
                                          {"cached", v->hit},
                                          {"notes", std::move(notes)},
                                          {"observations", std::move(rows)}});
}

// ---- Treasury ----

net::Response HttpSources::treasury_rates_route(const net::Request& q) {
  std::string from = q.query_param("from").value_or(date_of(now() - 365 * 86'400 * kNsPerSecond));
  if (auto t = core::parse_timestamp(from); !t || from.size() != 10)
    return net::Response::error(400, fmt::format("from '{}' is not a date (YYYY-MM-DD)", from));
  // FiscalData pages hold up to 10,000 records; a few pages cover decades of this table.
  constexpr std::uint64_t kPageSize = 1000;
  constexpr std::uint64_t kMaxPages = 10;
  json::array rows;
  bool all_hit = true;
  std::uint64_t total_count = 0;
  std::uint64_t total_pages = 1;
  // FiscalData's links.next is not null on the last page, so meta's total-pages decides.
  for (std::uint64_t page = 1; page <= std::min(total_pages, kMaxPages); ++page) {
    auto v = fetch(
        treasury_,
        Upstream{.key = fmt::format("avg|{}|{}", from, page),
                 .url = fmt::format("{}/v2/accounting/od/avg_interest_rates?fields=record_date,"
                                    "security_type_desc,security_desc,avg_interest_rate_amt&"
                                    "filter=record_date:gte:{}&sort=record_date&"
                                    "page%5Bnumber%5D={}&page%5Bsize%5D={}",
                                    treasury_.settings.base_url, from, page, kPageSize),
                 .ttl = treasury_.settings.ttl,
                 .check = [](const std::string& body) -> core::Result<void> {
                   auto p = parse_fiscaldata_avg_interest_rates(body);
                   if (!p) return std::unexpected(p.error());
                   return {};
                 },
                 .check_errors = true});
    if (!v) return error_response(v.error());
    auto p = parse_fiscaldata_avg_interest_rates(*v->value);
    if (!p) return net::Response::error(502, p.error().message);
    all_hit = all_hit && v->hit;
    total_count = p->total_count;
    total_pages = p->total_pages;
    for (const auto& r : p->records) {
      rows.push_back(json::object{{"record_date", r.record_date},
                                  {"security_type", r.security_type},
                                  {"security", r.security},
                                  {"rate", optional_json(r.rate)}});
    }
  }
  return net::Response::json(json::object{{"source", "treasury"},
                                          {"dataset", "avg_interest_rates"},
                                          {"from", from},
                                          {"cached", all_hit},
                                          {"total_count", total_count},
                                          {"truncated", total_pages > kMaxPages},
                                          {"records", std::move(rows)}});
}

net::Response HttpSources::treasury_yields_route(const net::Request& q) {
  const int this_year = year_of(now());
  auto year = year_param(q, "year", this_year);
  if (!year) return net::Response::error(400, year.error().message);
  if (*year < 1990 || *year > this_year)
    return net::Response::error(
        400, fmt::format("year {} is outside the published curves (1990 to {})", *year, this_year));
  net::ClientOptions client = treasury_.client;
  client.accept = "text/csv, */*;q=0.1";
  auto v = fetch(treasury_,
                 Upstream{.key = fmt::format("yields|{}", *year),
                          .url = fmt::format("{}/resource-center/data-chart-center/interest-rates/"
                                             "daily-treasury-rates.csv/{}/all?type=daily_treasury_"
                                             "yield_curve&field_tdr_date_value={}&page&_format=csv",
                                             treasury_yields_url_, *year, *year),
                          // A past year's curves are final; this year's grow once a day.
                          .ttl = *year < this_year ? std::chrono::seconds(24 * 3600)
                                                   : std::chrono::seconds(3600),
                          .check = [](const std::string& body) -> core::Result<void> {
                            auto c = parse_treasury_yield_curve_csv(body);
                            if (!c) return std::unexpected(c.error());
                            return {};
                          },
                          .client = client});
  if (!v) return error_response(v.error());
  auto curve = parse_treasury_yield_curve_csv(*v->value);
  if (!curve) return net::Response::error(502, curve.error().message);
  json::array tenors;
  for (const auto& t : curve->tenors) tenors.emplace_back(t);
  json::array days;
  for (const auto& d : curve->days) {
    json::object rates;
    for (std::size_t i = 0; i < curve->tenors.size(); ++i) {
      rates[curve->tenors[i]] = optional_json(d.rates[i]);
    }
    days.push_back(json::object{{"date", d.date}, {"rates", std::move(rates)}});
  }
  return net::Response::json(json::object{{"source", "treasury"},
                                          {"dataset", "daily_treasury_yield_curve"},
                                          {"year", *year},
                                          {"cached", v->hit},
                                          {"tenors", std::move(tenors)},
                                          {"days", std::move(days)}});
}

// ---- The bus API ----

core::Result<std::vector<model::Bar>> HttpSources::bars(std::string_view source,
                                                        std::string_view symbol_view,
                                                        std::uint32_t interval_s,
                                                        core::UnixNanos start, core::UnixNanos end,
                                                        bool* cached) {
  if (cached != nullptr) *cached = false;
  if (!safe_token(symbol_view))
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("bad symbol '{}'", symbol_view));
  if (start > end) return core::fail(core::ErrorCode::kInvalidArgument, "start is after end");
  const std::string symbol(symbol_view);
  const core::UnixNanos t_now = now();
  const core::UnixNanos interval_ns = static_cast<core::UnixNanos>(interval_s) * kNsPerSecond;
  std::vector<model::Bar> all;
  bool all_hit = true;
  if (source == "alphavantage") {
    std::string function = "intraday";
    std::string interval;
    switch (interval_s) {
      case 60:
      case 300:
      case 900:
      case 1800:
      case 3600:
        interval = fmt::format("{}min", interval_s / 60);
        break;
      case 86'400:
        function = "daily";
        interval = "5min";  // unused by the daily series; the route's cache key has it too
        break;
      default:
        return core::fail(core::ErrorCode::kInvalidArgument,
                          fmt::format("alphavantage has no {} s bars (60, 300, 900, 1800, 3600, "
                                      "86400)",
                                      interval_s));
    }
    NAUTILUS_TRY(b, alphavantage_bars(symbol, function, interval, &all_hit));
    all = std::move(b);
  } else if (source == "binance") {
    std::string interval;
    for (std::string_view name : {"1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h",
                                  "8h", "12h", "1d", "3d", "1w"}) {
      if (binance_interval_seconds(name) == interval_s) interval = std::string(name);
    }
    if (interval.empty())
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("binance has no {} s klines", interval_s));
    // Binance selects by open time; a bar closing in [start, end] opened one interval earlier.
    const std::int64_t last_open = (end - interval_ns) / kNsPerMs;
    std::int64_t from = std::max<std::int64_t>(0, (start - interval_ns + kNsPerMs - 1) / kNsPerMs);
    constexpr std::size_t kLimit = 1000;
    constexpr int kMaxPages = 20;
    int pages = 0;
    while (end - interval_ns >= 0 && from <= last_open) {
      if (++pages > kMaxPages)
        return core::fail(core::ErrorCode::kOutOfRange,
                          fmt::format("binance: the range holds more than {} {} bars; ask for less",
                                      kLimit * kMaxPages, interval));
      bool hit = false;
      NAUTILUS_TRY(page, binance_page(symbol, interval, from, last_open, kLimit, &hit));
      all_hit = all_hit && hit;
      all.insert(all.end(), page.begin(), page.end());
      if (page.size() < kLimit) break;
      from = page.back().ts_event / kNsPerMs;  // the next bar's open
    }
  } else if (source == "ibkr") {
    const auto* it = std::find_if(std::begin(kIbkrBars), std::end(kIbkrBars),
                                  [&](const auto& b) { return b.second == interval_s; });
    if (it == std::end(kIbkrBars))
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("ibkr has no {} s bars", interval_s));
    if (start < t_now) {
      // IBKR's history counts back from now: ask for the period back to `start`.
      const auto period = ibkr_period_for(t_now - start + interval_ns);
      if (!period)
        return core::fail(core::ErrorCode::kOutOfRange,
                          "ibkr: history reaches back at most 792 weeks");
      NAUTILUS_TRY(b, ibkr_history(symbol, *period, std::string(it->first), &all_hit));
      all = std::move(b);
    }
  } else {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("source '{}' must be alphavantage, binance or ibkr", source));
  }
  std::erase_if(all, [&](const model::Bar& b) {
    return b.ts_event < start || b.ts_event > end || b.ts_event > t_now;
  });
  if (cached != nullptr) *cached = all_hit;
  return all;
}

// ---- Routes and metrics ----

void HttpSources::add_routes(net::Router& r) {
  r.get_blocking("/marketdata/alphavantage/{symbol}",
                 [this](const net::Request& q) { return alphavantage(q, false); });
  r.post_blocking("/marketdata/alphavantage/{symbol}/publish",
                  [this](const net::Request& q) { return alphavantage(q, true); });
  r.get_blocking("/marketdata/fred/{series}", [this](const net::Request& q) { return fred(q); });
  r.get_blocking("/marketdata/edgar/{cik}", [this](const net::Request& q) { return edgar(q); });
  r.get_blocking("/marketdata/ibkr/search/{symbol}",
                 [this](const net::Request& q) { return ibkr_search_route(q); });
  r.get_blocking("/marketdata/ibkr/snapshot/{symbol}",
                 [this](const net::Request& q) { return ibkr_snapshot_route(q); });
  r.get_blocking("/marketdata/ibkr/history/{symbol}",
                 [this](const net::Request& q) { return ibkr_history_route(q); });
  r.get_blocking("/marketdata/binance/klines/{symbol}",
                 [this](const net::Request& q) { return binance_route(q); });
  r.get_blocking("/marketdata/datagov/search",
                 [this](const net::Request& q) { return datagov_search_route(q); });
  r.get_blocking("/marketdata/datagov/{dataset}/csv",
                 [this](const net::Request& q) { return datagov_csv_route(q); });
  r.get_blocking("/marketdata/bls/{series}",
                 [this](const net::Request& q) { return bls_route(q); });
  r.get_blocking("/marketdata/treasury/avg_interest_rates",
                 [this](const net::Request& q) { return treasury_rates_route(q); });
  r.get_blocking("/marketdata/treasury/yields",
                 [this](const net::Request& q) { return treasury_yields_route(q); });
}

void HttpSources::add_metrics(net::PrometheusText& p) const {
  p.family("nautilus_marketdata_cache_total", "counter", "cache lookups by source and result");
  p.family("nautilus_marketdata_cache_entries", "gauge", "cached responses by source");
  p.family("nautilus_marketdata_source_requests_total", "counter",
           "HTTP requests sent to a source");
  p.family("nautilus_marketdata_source_retries_total", "counter", "retried requests by source");
  p.family("nautilus_marketdata_source_throttled_total", "counter",
           "requests refused by the local rate limit");
  for (const Source* s : {&av_, &fred_, &edgar_, &ibkr_, &binance_, &datagov_, &bls_, &treasury_}) {
    const auto& n = s->settings.name;
    const auto st = s->cache->stats();
    p.sample("nautilus_marketdata_cache_total", {{"source", n}, {"result", "hit"}},
             static_cast<double>(st.hits));
    p.sample("nautilus_marketdata_cache_total", {{"source", n}, {"result", "miss"}},
             static_cast<double>(st.misses));
    p.sample("nautilus_marketdata_cache_total", {{"source", n}, {"result", "coalesced"}},
             static_cast<double>(st.coalesced));
    p.sample("nautilus_marketdata_cache_total", {{"source", n}, {"result", "error"}},
             static_cast<double>(st.errors));
    p.sample("nautilus_marketdata_cache_entries", {{"source", n}}, static_cast<double>(st.entries));
    p.sample("nautilus_marketdata_source_requests_total", {{"source", n}},
             static_cast<double>(s->requests.load()));
    p.sample("nautilus_marketdata_source_retries_total", {{"source", n}},
             static_cast<double>(s->retries.load()));
    p.sample("nautilus_marketdata_source_throttled_total", {{"source", n}},
             static_cast<double>(s->limiter->throttled()));
  }
}

}  // namespace nautilus::marketdata
