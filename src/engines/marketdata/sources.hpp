// The hub's HTTP sources (Alpha Vantage, FRED, SEC EDGAR) behind one cache, per-source rate
// limits and retries, with their REST routes. Private to the marketdata engine.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/core/rate_limiter.hpp"
#include "nautilus/core/ttl_cache.hpp"
#include "nautilus/engine/engine.hpp"
#include "nautilus/marketdata/adapters.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"

namespace nautilus::marketdata {

struct SourceSettings {
  std::string name;  // "alphavantage", "fred", "edgar"
  std::string base_url;
  std::string api_key;  // from the environment; empty: the source is not configured
  double per_minute = 60;
  std::chrono::seconds ttl{3600};
};

class HttpSources {
 public:
  HttpSources(const engine::EngineSettings& cfg, const core::Clock& clock,
              bus::Publisher publisher);
  [[nodiscard]] core::Result<void> validate() const;
  void add_routes(net::Router& r);
  void add_metrics(net::PrometheusText& p) const;

 private:
  // Response bodies that parsed, by request key (symbol, function, interval...).
  using BodyCache = core::TtlCache<std::string>;
  // One cache per source, so each has its own hit/miss counters on /metrics.
  struct Source {
    SourceSettings settings;
    std::unique_ptr<core::RateLimiter> limiter;
    std::unique_ptr<BodyCache> cache;
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> retries{0};
  };
  // Fetches through the cache (rate-limited, retried); the body of a 200 that parsed.
  core::Result<BodyCache::Value> fetch(
      Source& s, const std::string& key, const std::string& url, std::chrono::seconds ttl,
      const std::function<core::Result<void>(const std::string&)>& check);
  net::Response alphavantage(const net::Request& q, bool publish);
  net::Response fred(const net::Request& q);
  net::Response edgar(const net::Request& q);

  Source av_, fred_, edgar_;
  std::string user_agent_;
  std::mutex publish_mu_;  // a Publisher belongs to one thread at a time
  bus::Publisher publisher_;
};

}  // namespace nautilus::marketdata
