// The hub's HTTP sources (Alpha Vantage, FRED, SEC EDGAR, the IBKR Client Portal gateway,
// Binance, the Data.gov catalogue, BLS, the U.S. Treasury) behind one cache per source,
// per-source rate limits and retries, with their REST routes and the bars API the hub's bus
// requests use. Private to the marketdata engine.
//
//   HttpSources sources(settings, clock, std::move(publisher));
//   sources.add_routes(router);                                  // /marketdata/<source>/...
//   bool cached = false;
//   auto bars = sources.bars("binance", "BTCUSDT", 60, start, end, &cached);
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/core/rate_limiter.hpp"
#include "nautilus/core/ttl_cache.hpp"
#include "nautilus/engine/engine.hpp"
#include "nautilus/marketdata/adapters.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/http_client.hpp"
#include "nautilus/net/prometheus.hpp"

namespace nautilus::marketdata {

struct SourceSettings {
  std::string name;  // "alphavantage", "fred", "edgar", "ibkr", "binance", "datagov", "bls"...
  std::string base_url;
  std::string api_key;  // from the environment; empty: the source is not configured
  double per_minute = 60;
  std::chrono::seconds ttl{3600};
  double burst = 0;  // requests saved up for a burst; 0: five seconds' worth
};

class HttpSources {
 public:
  HttpSources(const engine::EngineSettings& cfg, const core::Clock& clock,
              bus::Publisher publisher);
  [[nodiscard]] core::Result<void> validate() const;
  void add_routes(net::Router& r);
  void add_metrics(net::PrometheusText& p) const;

  // Bars of `symbol` from `source` ("alphavantage", "binance", "ibkr") whose close (ts_event) is
  // in [start, end], oldest first, through the same cache, rate limits and retries as the
  // routes. Bars still open at the clock's now are left out. `cached` is set when every
  // response came from the cache. kInvalidArgument for an unknown source, a bad symbol,
  // start > end or an interval the source does not offer; kClosed (503) when its key is not
  // set or it is not ready; otherwise the source's error (status_for() maps them).
  [[nodiscard]] core::Result<std::vector<model::Bar>> bars(
      std::string_view source, std::string_view symbol, std::uint32_t interval_s,
      core::UnixNanos start, core::UnixNanos end, bool* cached = nullptr);
  // The IBKR conid of `symbol`'s stock, from secdef/search (cached for a day).
  [[nodiscard]] core::Result<std::string> ibkr_conid(std::string_view symbol);

 private:
  // Response bodies that parsed, by request key (symbol, function, interval...).
  using BodyCache = core::TtlCache<std::string>;
  // One cache per source, so each has its own hit/miss counters on /metrics.
  struct Source {
    SourceSettings settings;
    net::ClientOptions client;
    std::unique_ptr<core::RateLimiter> limiter;
    std::unique_ptr<BodyCache> cache;
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> retries{0};
    // Set by a 418 ban or a Retry-After longer than we wait: no request goes out before it
    // (clock time), as Binance bans IPs that keep calling after a 429.
    std::atomic<core::UnixNanos> blocked_until{0};
  };
  // One request to a source.
  struct Upstream {
    std::string key;  // in the source's cache
    std::string url;
    std::chrono::seconds ttl{0};
    std::optional<std::string> post_body;  // a JSON body to POST; none: GET
    // Reads a 200's body: an error is returned and not cached, except kClosed, which means
    // "not ready yet" (IBKR's first snapshot) and is retried.
    std::function<core::Result<void>(const std::string&)> check;
    // Also read a 4xx's body with `check`, so the source's own error words the answer.
    bool check_errors = false;
    // Redirect targets that may be followed (up to 3 hops); none when empty.
    std::function<bool(std::string_view url)> may_follow;
    std::optional<net::ClientOptions> client;  // instead of the source's
  };
  [[nodiscard]] core::Result<BodyCache::Value> fetch(Source& s, const Upstream& u);
  [[nodiscard]] core::Result<BodyCache::Value> fetch(
      Source& s, const std::string& key, const std::string& url, std::chrono::seconds ttl,
      const std::function<core::Result<void>(const std::string&)>& check);
  [[nodiscard]] core::UnixNanos now() const { return clock_->now(); }

  [[nodiscard]] core::Result<std::vector<model::Bar>> alphavantage_bars(const std::string& symbol,
                                                                        const std::string& function,
                                                                        const std::string& interval,
                                                                        bool* hit);
  [[nodiscard]] core::Result<std::vector<model::Bar>> binance_page(
      const std::string& symbol, const std::string& interval, std::optional<std::int64_t> start_ms,
      std::optional<std::int64_t> end_ms, std::size_t limit, bool* hit);
  [[nodiscard]] core::Result<std::vector<IbkrContract>> ibkr_search(const std::string& symbol,
                                                                    bool* hit);
  [[nodiscard]] core::Result<std::vector<model::Bar>> ibkr_history(const std::string& symbol,
                                                                   const std::string& period,
                                                                   const std::string& bar,
                                                                   bool* hit);

  net::Response alphavantage(const net::Request& q, bool publish);
  net::Response fred(const net::Request& q);
  net::Response edgar(const net::Request& q);
  net::Response ibkr_search_route(const net::Request& q);
  net::Response ibkr_snapshot_route(const net::Request& q);
  net::Response ibkr_history_route(const net::Request& q);
  net::Response binance_route(const net::Request& q);
  net::Response datagov_search_route(const net::Request& q);
  net::Response datagov_csv_route(const net::Request& q);
  net::Response bls_route(const net::Request& q);
  net::Response treasury_rates_route(const net::Request& q);
  net::Response treasury_yields_route(const net::Request& q);

  const core::Clock* clock_;
  Source av_, fred_, edgar_, ibkr_, binance_, datagov_, bls_, treasury_;
  std::string treasury_yields_url_;  // home.treasury.gov: the par yield curve CSV
  std::string user_agent_;
  std::mutex publish_mu_;  // a Publisher belongs to one thread at a time
  bus::Publisher publisher_;
};

}  // namespace nautilus::marketdata
