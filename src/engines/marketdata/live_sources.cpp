#include "live_sources.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cctype>

#include "sources.hpp"

namespace nautilus::marketdata {
namespace json = boost::json;

LiveSources::LiveSources(LiveSourcesSettings settings, engine::EngineContext& ctx,
                         Distributor& distributor, HttpSources* http)
    : settings_(std::move(settings)), ctx_(ctx), distributor_(distributor), http_(http) {
  for (const auto& name : settings_.sources) sources_[name].name = name;
}

LiveSources::~LiveSources() { stop(); }

void LiveSources::stop() {
  // Streams are destroyed outside the lock: their threads may be inside the sink.
  std::vector<std::unique_ptr<LiveStream>> streams;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;  // a subscribe still queued must not start a new stream
    for (auto& [name, s] : sources_) {
      if (s.stream) streams.push_back(std::move(s.stream));
    }
  }
  streams.clear();
}

core::Result<LiveSources::Source*> LiveSources::source_for(std::string_view name) {
  if (stopped_) return core::fail(core::ErrorCode::kClosed, "the hub is stopping");
  // A live stream publishes from its own thread at the wall clock's pace: neither fits a
  // deterministic run, whose single thread publishes everything (single-thread mailboxes).
  if (ctx_.simulated()) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      "live streams are not available in a deterministic run or a backtest");
  }
  if (name.empty()) {
    if (settings_.sources.empty()) return core::fail(core::ErrorCode::kClosed, "no live source");
    name = settings_.sources.front();
  }
  auto it = sources_.find(name);
  if (it == sources_.end()) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("'{}' is not a live source here (live_sources: {})", name,
                                  fmt::join(settings_.sources, ", ")));
  }
  Source& s = it->second;
  if (s.stream) return &s;
  // First subscription: the source's outlet and stream.
  if (s.outlet == nullptr) {
    auto pub = ctx_.publisher();
    if (!pub) return std::unexpected(pub.error());
    s.outlet = distributor_.outlet(std::move(*pub), s.name, settings_.quality, /*live=*/true);
  }
  LiveStreamOptions o;
  o.kind = s.name;
  o.url = s.name == "binance" ? settings_.binance_url : settings_.ibkr_url;
  if (s.name == "ibkr") {
    o.ca_file = settings_.ibkr_ca_file;
    if (http_ != nullptr) {
      o.resolve_conid = [h = http_](std::string_view symbol) { return h->ibkr_conid(symbol); };
    }
  }
  o.stall_timeout = settings_.stall_timeout;
  o.max_symbols = settings_.max_symbols;
  Outlet* outlet = s.outlet;
  // The sink runs on the stream's thread, the only user of this outlet.
  auto stream = LiveStream::start(std::move(o), ctx_.clock(),
                                  [outlet](const Record& r) { (void)outlet->publish(r); });
  if (!stream) return std::unexpected(stream.error());
  s.stream = std::move(*stream);
  return &s;
}

model::StreamStatus LiveSources::status_of(const Source& s, core::Symbol symbol) const {
  model::StreamStatus st;
  st.symbol = symbol;
  st.source = *model::Name::create(s.name.substr(0, model::Name::kCapacity));
  auto it = s.holders.find(symbol.value());
  st.active = it != s.holders.end();
  st.subscribers = st.active ? it->second : 0;
  st.connected = s.stream && s.stream->status().connected;
  return st;
}

namespace {
// Binance names its symbols in upper case and publishes them so: hold them that way, so a
// subscription to btcusdt and one to BTCUSDT are the same.
core::Symbol as_published(std::string_view source, core::Symbol symbol) {
  if (source != "binance") return symbol;
  std::string up(symbol.value());
  for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return *core::Symbol::create(up);
}
}  // namespace

core::Result<model::StreamStatus> LiveSources::subscribe(std::string_view source,
                                                         core::Symbol symbol) {
  std::lock_guard lock(mu_);
  auto s = source_for(source);
  if (!s) return std::unexpected(s.error());
  Source& src = **s;
  symbol = as_published(src.name, symbol);
  auto it = src.holders.find(symbol.value());
  if (it == src.holders.end()) {
    if (src.holders.size() >= settings_.max_symbols) {
      return core::fail(core::ErrorCode::kCapacity,
                        fmt::format("{} already streams {} symbols (stream_max_symbols)", src.name,
                                    settings_.max_symbols));
    }
    if (auto ok = src.stream->subscribe(symbol.value()); !ok) return std::unexpected(ok.error());
    it = src.holders.emplace(std::string(symbol.value()), 0).first;
  }
  ++it->second;
  return status_of(src, symbol);
}

core::Result<model::StreamStatus> LiveSources::unsubscribe(std::string_view source,
                                                           core::Symbol symbol) {
  std::lock_guard lock(mu_);
  if (source.empty() && !settings_.sources.empty()) source = settings_.sources.front();
  auto si = sources_.find(source);
  if (si == sources_.end()) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("'{}' is not a live source here", source));
  }
  Source& src = si->second;
  symbol = as_published(src.name, symbol);
  auto it = src.holders.find(symbol.value());
  if (it == src.holders.end()) {
    return core::fail(core::ErrorCode::kNotFound,
                      fmt::format("{} is not streaming {}", src.name, symbol.value()));
  }
  if (it->second == 1 && src.stream) {
    // The stream first: if it cannot take the unsubscribe now (its control queue is full),
    // the symbol stays held and the caller may try again.
    if (auto ok = src.stream->unsubscribe(symbol.value()); !ok) return std::unexpected(ok.error());
  }
  if (--it->second == 0) src.holders.erase(it);
  return status_of(src, symbol);
}

net::Response LiveSources::streams_json() const {
  json::array out;
  std::lock_guard lock(mu_);
  for (const auto& [name, s] : sources_) {
    json::object o{{"source", name}, {"started", s.stream != nullptr}};
    json::array symbols;
    for (const auto& [sym, n] : s.holders)
      symbols.push_back(json::object{{"symbol", sym}, {"subscribers", n}});
    o["symbols"] = std::move(symbols);
    if (s.stream) {
      const auto st = s.stream->status();
      o["connected"] = st.connected;
      o["connects"] = st.connects;
      o["reconnects"] = st.reconnects;
      o["frames"] = st.frames;
      o["trades"] = st.trades;
      o["quotes"] = st.quotes;
      o["duplicates"] = st.duplicates;
      o["gaps"] = st.gaps;
      o["missing_trades"] = st.missing_trades;
      o["decode_errors"] = st.decode_errors;
      o["stalls"] = st.stalls;
      if (!st.last_error.empty()) o["last_error"] = st.last_error;
    }
    out.push_back(std::move(o));
  }
  return net::Response::json(json::object{{"sources", std::move(out)}});
}

void LiveSources::add_metrics(net::PrometheusText& p) const {
  struct Family {
    const char* name;
    const char* type;
    const char* help;
  };
  static constexpr Family kFamilies[] = {
      {"nautilus_marketdata_stream_connected", "gauge", "1 while a live source is connected"},
      {"nautilus_marketdata_stream_reconnects_total", "counter", "reconnections of a live source"},
      {"nautilus_marketdata_stream_gaps_total", "counter", "gaps detected in a live stream"},
      {"nautilus_marketdata_stream_missing_trades_total", "counter",
       "trades missing in detected gaps (by trade id)"},
      {"nautilus_marketdata_stream_duplicates_total", "counter", "duplicate records dropped"},
      {"nautilus_marketdata_stream_stalls_total", "counter", "streams silent past stream_stall_s"},
      {"nautilus_marketdata_stream_decode_errors_total", "counter", "frames that did not decode"},
  };
  for (const auto& f : kFamilies) p.family(f.name, f.type, f.help);
  std::lock_guard lock(mu_);
  for (const auto& [name, s] : sources_) {
    if (!s.stream) continue;
    const auto st = s.stream->status();
    const double values[] = {st.connected ? 1.0 : 0.0,
                             static_cast<double>(st.reconnects),
                             static_cast<double>(st.gaps),
                             static_cast<double>(st.missing_trades),
                             static_cast<double>(st.duplicates),
                             static_cast<double>(st.stalls),
                             static_cast<double>(st.decode_errors)};
    for (std::size_t i = 0; i < std::size(kFamilies); ++i) {
      p.sample(kFamilies[i].name, {{"source", name}}, values[i]);
    }
  }
}

}  // namespace nautilus::marketdata
