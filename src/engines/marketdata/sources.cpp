#include "sources.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <charconv>
#include <cstdlib>
#include <thread>

#include "nautilus/core/strings.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/net/http_client.hpp"

namespace nautilus::marketdata {
namespace json = boost::json;
namespace {

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
    default:
      return 502;  // upstream unreachable or answered nonsense
  }
}

// Symbols, series ids and CIKs go into URLs: allow only what they are made of.
bool safe_token(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
  });
}

}  // namespace

HttpSources::HttpSources(const engine::EngineSettings& cfg, const core::Clock& clock,
                         bus::Publisher publisher)
    : user_agent_(env_or("SEC_USER_AGENT", "Nautilus research nautilus@example.com")),
      publisher_(std::move(publisher)) {
  // Rates and URLs are the engine's declared settings (engine.cpp: their defaults, ranges).
  av_.settings = {"alphavantage", cfg.text("alphavantage_url"), env_or("ALPHAVANTAGE_API_KEY", ""),
                  cfg.number("alphavantage_per_minute"), std::chrono::seconds(3600)};
  fred_.settings = {"fred", cfg.text("fred_url"), env_or("FRED_API_KEY", ""),
                    cfg.number("fred_per_minute"), std::chrono::seconds(6 * 3600)};
  // EDGAR needs no key, only a User-Agent naming the caller (SEC fair-access policy, 10/s).
  edgar_.settings = {"edgar", cfg.text("edgar_url"), "-", cfg.number("edgar_per_minute"),
                     std::chrono::seconds(24 * 3600)};
  for (Source* s : {&av_, &fred_, &edgar_}) {
    s->limiter = std::make_unique<core::RateLimiter>(
        clock, s->settings.per_minute, std::max(1.0, s->settings.per_minute / 60.0 * 5));
    s->cache = std::make_unique<BodyCache>(clock);
  }
}

core::Result<void> HttpSources::validate() const {
  for (const Source* s : {&av_, &fred_, &edgar_}) {
    if (auto u = net::parse_url(s->settings.base_url); !u) {
      return core::fail(u.error().code,
                        fmt::format("{}_url: {}", s->settings.name, u.error().message));
    }
  }
  return {};
}

core::Result<HttpSources::BodyCache::Value> HttpSources::fetch(
    Source& s, const std::string& key, const std::string& url, std::chrono::seconds ttl,
    const std::function<core::Result<void>(const std::string&)>& check) {
  return s.cache->get(key, ttl, [&]() -> core::Result<std::string> {
    constexpr int kAttempts = 3;
    core::Error last{core::ErrorCode::kIo, "no attempt"};
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      if (attempt > 0) {
        s.retries.fetch_add(1, std::memory_order_relaxed);
        std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
      }
      if (!s.limiter->acquire(std::chrono::seconds(5))) {
        return core::fail(core::ErrorCode::kCapacity,
                          fmt::format("{}: local rate limit ({} requests/minute) reached",
                                      s.settings.name, s.settings.per_minute));
      }
      s.requests.fetch_add(1, std::memory_order_relaxed);
      auto r =
          net::http_fetch(url, {.timeout = std::chrono::seconds(10), .user_agent = user_agent_});
      if (!r) {
        last = r.error();
        continue;  // connection or timeout: retry
      }
      if (r->status == 429 || r->status >= 500) {
        last = {r->status == 429 ? core::ErrorCode::kCapacity : core::ErrorCode::kIo,
                fmt::format("{}: HTTP {}", s.settings.name, r->status)};
        if (r->retry_after) {
          std::this_thread::sleep_for(
              std::min<std::chrono::seconds>(*r->retry_after, std::chrono::seconds(5)));
        }
        continue;
      }
      if (r->status == 404) {
        return core::fail(core::ErrorCode::kNotFound,
                          fmt::format("{}: not found", s.settings.name));
      }
      if (r->status != 200) {
        return core::fail(
            core::ErrorCode::kInvalidArgument,
            fmt::format("{}: HTTP {}: {}", s.settings.name, r->status, r->body.substr(0, 200)));
      }
      // Only responses that parse are cached: a rate-limit note must not stick for the TTL.
      if (auto ok = check(r->body); !ok) return std::unexpected(ok.error());
      return std::move(r->body);
    }
    return std::unexpected(last);
  });
}

net::Response HttpSources::alphavantage(const net::Request& q, bool publish) {
  const std::string symbol(q.param("symbol"));
  if (!safe_token(symbol)) return net::Response::error(400, "bad symbol");
  if (av_.settings.api_key.empty())
    return net::Response::error(503, "ALPHAVANTAGE_API_KEY is not set");
  const std::string function = q.query_param("function").value_or("daily");
  const std::string interval = q.query_param("interval").value_or("5min");
  std::string url;
  std::chrono::seconds ttl = av_.settings.ttl;
  if (function == "daily") {
    url = fmt::format("{}/query?function=TIME_SERIES_DAILY&symbol={}&outputsize=compact&apikey={}",
                      av_.settings.base_url, symbol, av_.settings.api_key);
  } else if (function == "intraday") {
    if (interval != "1min" && interval != "5min" && interval != "15min" && interval != "30min" &&
        interval != "60min") {
      return net::Response::error(400, "interval must be 1min, 5min, 15min, 30min or 60min");
    }
    url = fmt::format("{}/query?function=TIME_SERIES_INTRADAY&symbol={}&interval={}&apikey={}",
                      av_.settings.base_url, symbol, interval, av_.settings.api_key);
    ttl = std::chrono::seconds(60);
  } else {
    return net::Response::error(400, "function must be daily or intraday");
  }
  const auto check = [&](const std::string& body) -> core::Result<void> {
    auto b = parse_alphavantage(body, symbol);
    if (!b) return std::unexpected(b.error());
    return {};
  };
  auto v = fetch(av_, fmt::format("{}|{}|{}", symbol, function, interval), url, ttl, check);
  if (!v) return net::Response::error(status_for(v.error()), v.error().message);
  auto bars = parse_alphavantage(*v->value, symbol);
  if (!bars) return net::Response::error(502, bars.error().message);
  if (publish) {
    std::lock_guard lock(publish_mu_);
    auto topic = fmt::format("market_data.{}.bar", symbol);
    for (const auto& b : *bars) {
      (void)publisher_.publish(topic, b, {.ts_event = b.ts_event});
    }
    return net::Response::json(json::object{{"source", "alphavantage"},
                                            {"symbol", symbol},
                                            {"cached", v->hit},
                                            {"published", bars->size()}});
  }
  json::array rows;
  for (const auto& b : *bars) {
    rows.push_back(json::object{{"ts", core::format_timestamp(b.ts_event)},
                                {"open", b.open.to_string()},
                                {"high", b.high.to_string()},
                                {"low", b.low.to_string()},
                                {"close", b.close.to_string()},
                                {"volume", b.volume.to_string()}});
  }
  return net::Response::json(json::object{{"source", "alphavantage"},
                                          {"symbol", symbol},
                                          {"cached", v->hit},
                                          {"bars", std::move(rows)}});
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

void HttpSources::add_routes(net::Router& r) {
  r.get_blocking("/marketdata/alphavantage/{symbol}",
                 [this](const net::Request& q) { return alphavantage(q, false); });
  r.post_blocking("/marketdata/alphavantage/{symbol}/publish",
                  [this](const net::Request& q) { return alphavantage(q, true); });
  r.get_blocking("/marketdata/fred/{series}", [this](const net::Request& q) { return fred(q); });
  r.get_blocking("/marketdata/edgar/{cik}", [this](const net::Request& q) { return edgar(q); });
}

void HttpSources::add_metrics(net::PrometheusText& p) const {
  struct Row {
    std::string_view name, type, help;
  };
  p.family("nautilus_marketdata_cache_total", "counter", "cache lookups by source and result");
  p.family("nautilus_marketdata_cache_entries", "gauge", "cached responses by source");
  p.family("nautilus_marketdata_source_requests_total", "counter",
           "HTTP requests sent to a source");
  p.family("nautilus_marketdata_source_retries_total", "counter", "retried requests by source");
  p.family("nautilus_marketdata_source_throttled_total", "counter",
           "requests refused by the local rate limit");
  for (const Source* s : {&av_, &fred_, &edgar_}) {
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
