// The hub's endpoints on the bus (model/requests.hpp): marketdata.history, .reference,
// .filings, .universe, .subscribe and .unsubscribe. Private to the marketdata engine.
//
// Requests arrive on the engine's thread. What can be answered from memory (the bar store,
// the reference store, parsed answers) is answered there at once; a fetch from an outside
// source, and a subscribe or unsubscribe (starting a stream may call a source), go to a worker
// thread (bounded queue, in order), so the replay never waits on the network. On a simulated clock
// the fetch runs inline instead, so a backtest stays one thread.
//
// A source's answers are kept parsed for `history_cache` (keyed by source, symbol, interval
// and the range asked), so a repeated request is answered on the engine's thread without the
// worker or a parse: on top of each source's own body cache, never longer than 30 s by default.
//
// From the reference store, on the engine's thread: .reference is a symbol's record as of a
// time; .filings every record of a symbol with as_of in [start, end] (0: unbounded), oldest
// first, at most kMaxHistoryBars of them: when more match, the newest kMaxHistoryBars are sent
// and `more` is set (the oldest are left out: ask again with end = as_of[0] - 1 for them);
// .universe the symbols that have a record as of a time, in name order, with each one's
// sector then, paged by `after` and `limit` (at most kMaxHistoryBars a reply).
//
// Point in time: a history's end, a reference's as_of, a filings request's end and a
// universe's as_of are capped at where the hub's data is up to (Deps::data_now: the replay's
// position, else the hub's clock), so an engine cannot see a bar or a filing from the replay's
// future, in a backtest or a wall-clock replay alike.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/engine/engine.hpp"
#include "nautilus/marketdata/bar_store.hpp"
#include "nautilus/marketdata/reference.hpp"
#include "nautilus/model/requests.hpp"
#include "nautilus/net/prometheus.hpp"

namespace nautilus::marketdata {

class HttpSources;
class LiveSources;

class RequestServer {
 public:
  struct Deps {
    // Where the hub's data is up to: the replay's position (the last record released) when
    // it replays, so that a wall-clock replay cannot hand out bars or filings from after the
    // point it has reached; unset: the hub's clock.
    std::function<core::UnixNanos()> data_now;
    std::chrono::nanoseconds history_cache{std::chrono::seconds(30)};  // 0: off
    engine::EngineContext* ctx = nullptr;
    // Waits until `store` and `reference` are loaded; the load's error, "" when usable. Unset:
    // they are ready.
    std::function<std::string()> stores_ready;
    // Whether stores_ready would answer at once. Unset: it would.
    std::function<bool()> stores_loaded;
    const BarStore* store = nullptr;
    const ReferenceStore* reference = nullptr;
    HttpSources* sources = nullptr;
    LiveSources* live = nullptr;  // null: no live sources
  };
  static constexpr std::size_t kMaxQueuedFetches = 64;
  // Each holds up to kMaxHistoryBars bars: at most about 30 MB in all.
  static constexpr std::size_t kMaxParsedAnswers = 64;

  explicit RequestServer(Deps deps);
  ~RequestServer();
  RequestServer(const RequestServer&) = delete;
  RequestServer& operator=(const RequestServer&) = delete;

  // Serves the endpoints; `engine_publisher` is the engine thread's own (replies from there).
  core::Result<void> start(bus::Publisher* engine_publisher);
  void stop();  // joins the worker; queued fetches are answered with kUnavailable
  void add_metrics(net::PrometheusText& p) const;

 private:
  enum Endpoint : std::uint8_t {
    kHistory,
    kReference,
    kFilings,
    kUniverse,
    kSubscribe,
    kUnsubscribe,
    kEndpoints
  };
  enum Outcome : std::uint8_t { kOk, kFailed, kOutcomes };

  void on_history(const bus::Envelope& req);
  void on_reference(const bus::Envelope& req);
  void on_filings(const bus::Envelope& req);
  void on_universe(const bus::Envelope& req);
  void on_stream(const bus::Envelope& req, bool subscribe);
  // Fetches from a source and replies (worker thread, or inline on a simulated clock).
  void fetch_and_reply(bus::Publisher& pub, const bus::Envelope& req);
  // Subscribes or unsubscribes and replies (worker thread, or inline on a simulated clock).
  void stream_and_reply(bus::Publisher& pub, const bus::Envelope& req, bool subscribe);
  // Queues for the worker; false when the queue is full or the server is stopping.
  bool enqueue(const bus::Envelope& req);
  void fail(bus::Publisher& pub, const bus::Envelope& req, Endpoint ep, model::RequestError error,
            std::string_view detail);
  void reply_bars(bus::Publisher& pub, const bus::Envelope& req, const model::HistoryRequest& q,
                  std::string_view source, bool cached, const BarStore::Page& page);
  void run_worker();
  // A request that needs the stores before they are loaded (the hub's first seconds on wall
  // time) waits here, on the engine's thread, and is handled when a timer finds them loaded:
  // waiting inside the handler would stop the engine's thread, and the replay with it, until
  // the load ends. True when `req` was put aside.
  using Handler = void (RequestServer::*)(const bus::Envelope&);
  bool defer(const bus::Envelope& req, Endpoint ep, Handler handler);
  void handle_deferred();
  [[nodiscard]] core::UnixNanos data_now() const;
  static std::string parsed_key(const model::HistoryRequest& q);

  Deps deps_;
  bus::Publisher* pub_ = nullptr;                            // the engine thread's
  std::vector<std::pair<Handler, bus::Envelope>> deferred_;  // engine thread
  engine::TimerId deferred_timer_ = 0;
  std::array<std::array<std::atomic<std::uint64_t>, kOutcomes>, kEndpoints> counts_{};

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<bus::Envelope> queue_;
  struct Parsed {
    BarStore::Page page;
    core::UnixNanos expires = 0;
  };
  std::map<std::string, Parsed> parsed_;  // by parsed_key
  bool stopping_ = false;
  std::optional<bus::Publisher> worker_pub_;
  std::thread worker_;
};

}  // namespace nautilus::marketdata
