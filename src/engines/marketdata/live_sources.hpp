// The hub's live streaming sources behind `marketdata.subscribe` / `marketdata.unsubscribe`:
// one LiveStream per source (Binance, IBKR), started on the first subscription, so a hub
// nobody asks for live data never opens a connection. Symbols are reference-counted: each
// subscribe holds one, and the stream drops a symbol when the last holder unsubscribes.
// Records go through the source's own Outlet (quality filter, then the bus) on the stream's
// thread. Private to the marketdata engine.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "distributor.hpp"
#include "nautilus/engine/engine.hpp"
#include "nautilus/marketdata/streaming.hpp"
#include "nautilus/model/requests.hpp"
#include "nautilus/net/http.hpp"

namespace nautilus::marketdata {

class HttpSources;

struct LiveSourcesSettings {
  std::vector<std::string> sources;  // the live sources allowed: "binance", "ibkr"
  std::string binance_url;
  std::string ibkr_url;
  std::string ibkr_ca_file;
  std::chrono::milliseconds stall_timeout{30'000};
  std::size_t max_symbols = 200;  // per source
  QualitySettings quality;
};

class LiveSources {
 public:
  LiveSources(LiveSourcesSettings settings, engine::EngineContext& ctx, Distributor& distributor,
              HttpSources* http);
  ~LiveSources();
  LiveSources(const LiveSources&) = delete;
  LiveSources& operator=(const LiveSources&) = delete;

  // `source` "" is the first allowed one.
  core::Result<model::StreamStatus> subscribe(std::string_view source, core::Symbol symbol);
  core::Result<model::StreamStatus> unsubscribe(std::string_view source, core::Symbol symbol);
  void stop();  // closes every stream

  [[nodiscard]] net::Response streams_json() const;
  void add_metrics(net::PrometheusText& p) const;

 private:
  struct Source {
    std::string name;
    std::unique_ptr<LiveStream> stream;  // null until the first subscription
    Outlet* outlet = nullptr;
    std::map<std::string, std::uint32_t, std::less<>> holders;  // symbol -> subscriptions
  };
  core::Result<Source*> source_for(std::string_view name);
  model::StreamStatus status_of(const Source& s, core::Symbol symbol) const;

  LiveSourcesSettings settings_;
  engine::EngineContext& ctx_;
  Distributor& distributor_;
  HttpSources* http_;
  mutable std::mutex mu_;
  std::map<std::string, Source, std::less<>> sources_;
  bool stopped_ = false;  // under mu_
};

}  // namespace nautilus::marketdata
