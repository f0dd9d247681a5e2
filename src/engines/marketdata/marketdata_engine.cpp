#include <fmt/format.h>

#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "distributor.hpp"
#include "live_sources.hpp"
#include "nautilus/core/gz_lines.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/marketdata/bar_store.hpp"
#include "nautilus/marketdata/engine.hpp"
#include "nautilus/marketdata/reference.hpp"
#include "nautilus/marketdata/replay.hpp"
#include "nautilus/marketdata/synthetic.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"
#include "request_server.hpp"
#include "sources.hpp"

#ifndef NAUTILUS_SAMPLE_DIR
#define NAUTILUS_SAMPLE_DIR "data/sample"
#endif
#ifndef NAUTILUS_UNIVERSE_DIR
#define NAUTILUS_UNIVERSE_DIR "data/universe"
#endif

namespace nautilus::marketdata {
namespace {

namespace json = boost::json;

std::string dir_setting(const engine::EngineSettings& cfg, const char* key, const char* env,
                        const char* fallback) {
  std::string dir = cfg.text(key);
  if (!dir.empty()) return dir;
  const char* e = std::getenv(env);
  return e != nullptr ? e : fallback;
}

bool exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

class MarketDataEngine final : public engine::Engine {
 public:
  const engine::EngineInfo& info() const override { return info_; }

  core::Result<void> start(engine::EngineContext& ctx) override {
    ctx_ = &ctx;
    // Settings were validated against info_.settings by the host (types, ranges, symbols).
    const auto& cfg = ctx.settings();
    source_ = cfg.text("source");
    speed_ = cfg.number("speed");
    max_gap_ = static_cast<core::UnixNanos>(cfg.number("max_gap_s") * 1e9);
    for (const auto& [key, out] :
         {std::pair{"replay_from", &window_from_}, std::pair{"replay_until", &window_until_}}) {
      const std::string& text = cfg.text(key);
      if (text.empty()) continue;
      auto t = core::parse_timestamp(text);
      if (!t) {
        return core::fail(core::ErrorCode::kInvalidArgument,
                          fmt::format("marketdata.{}: {}", key, t.error().message));
      }
      *out = *t;
    }
    if (window_until_ != 0 && window_until_ <= window_from_) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        "marketdata.replay_until must be later than marketdata.replay_from");
    }
    if (source_ == "replay") {
      const std::string dir =
          dir_setting(cfg, "data_dir", "NAUTILUS_DATA_DIR", NAUTILUS_SAMPLE_DIR);
      files_ = cfg.list("files");
      if (files_.empty()) files_ = {dir + "/bars_1m.csv.gz", dir + "/trades.csv.gz"};
      // Open now so that a missing or malformed file stops start-up with its name.
      auto r = ReplaySource::open(files_);
      if (!r) return std::unexpected(r.error());
      replay_.emplace(std::move(*r));
    } else if (source_ == "synthetic") {
      synthetic_.emplace(SyntheticOptions{.seed = static_cast<std::uint64_t>(cfg.integer("seed")),
                                          .symbols = cfg.list("symbols"),
                                          .days = static_cast<int>(cfg.integer("days")),
                                          .quotes = true});
    }
    const QualitySettings quality{
        .spike_band = cfg.number("spike_band"),
        .spike_confirm = static_cast<int>(cfg.integer("spike_confirm")),
        .stale_after = std::chrono::milliseconds(cfg.integer("stale_after_ms"))};
    distributor_ = std::make_unique<Distributor>(ctx.bus());
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    replay_outlet_ = distributor_->outlet(std::move(*pub), source_, quality, /*live=*/false);
    auto reply_pub = ctx.publisher();
    if (!reply_pub) return std::unexpected(reply_pub.error());
    reply_publisher_.emplace(std::move(*reply_pub));
    auto fetch_pub = ctx.publisher();
    if (!fetch_pub) return std::unexpected(fetch_pub.error());
    sources_ = std::make_unique<HttpSources>(cfg, ctx.clock(), std::move(*fetch_pub));
    if (auto ok = sources_->validate(); !ok) return ok;
    if (auto ok = load_stores(cfg); !ok) return ok;
    if (const auto live = cfg.list("live_sources"); !live.empty()) {
      live_ = std::make_unique<LiveSources>(
          LiveSourcesSettings{
              .sources = live,
              .binance_url = cfg.text("binance_ws_url"),
              .ibkr_url = cfg.text("ibkr_ws_url"),
              .ibkr_ca_file = cfg.text("ibkr_ca_file"),
              .stall_timeout = std::chrono::milliseconds(
                  static_cast<std::int64_t>(cfg.number("stream_stall_s") * 1000)),
              .max_symbols = static_cast<std::size_t>(cfg.integer("stream_max_symbols")),
              .quality = quality},
          ctx, *distributor_, sources_.get());
    }
    requests_ = std::make_unique<RequestServer>(
        RequestServer::Deps{.data_now = [this]() -> core::UnixNanos {
                              if (source_ == "none") return ctx_->clock().now();
                              return position_.load(std::memory_order_acquire);
                            },
                            .history_cache = std::chrono::milliseconds(
                                static_cast<std::int64_t>(cfg.number("history_cache_s") * 1000)),
                            .ctx = &ctx,
                            .stores_ready = [this] { return stores_error(); },
                            .stores_loaded = [this] { return stores_loaded(); },
                            .store = &store_,
                            .reference = &reference_,
                            .sources = sources_.get(),
                            .live = live_.get()});
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set above
    if (auto ok = requests_->start(&*reply_publisher_); !ok) return ok;
    // Read the first record now: a deterministic host starts its clock there (start_time()).
    if (source_ != "none" && refill()) position_.store(record_ts(pending_.front()));
    return {};
  }

  // Records are released by a timer on the engine's own thread: each firing publishes what is
  // due and sets the timer for the next record. On a simulated clock a record is due at its
  // own timestamp; on wall time at the replay speed (0: at once, a chunk per firing).
  void begin() override {
    if (source_ == "none" || state_.load() == State::kFailed) return;  // failed in start()
    if (pending_.empty()) {
      state_.store(State::kFinished);
      return;
    }
    state_.store(State::kRunning);
    first_ts_ = record_ts(pending_.front());
    clock_start_ = ctx_->clock().now();
    schedule();
  }

  void drain() override {
    draining_.store(true);
    // From the host's thread while the engine's may be in release(): the id is atomic, and a
    // firing already queued sees draining_ and does nothing.
    if (const auto t = timer_.exchange(0); t != 0) ctx_->cancel_timer(t);
    if (live_) live_->stop();  // no more live records
    // Only a running replay becomes "stopped"; finished and failed stay as they are.
    auto running = State::kRunning;
    state_.compare_exchange_strong(running, State::kStopped);
  }
  void stop() override {
    drain();
    // First: a request waiting for the stores must not wait out the whole load.
    stop_loading_.store(true);  // a hub stopped while loading (a short test, Ctrl-C) ends now
    if (requests_) requests_->stop();
    if (loader_.joinable()) loader_.join();
  }
  ~MarketDataEngine() override {
    stop_loading_.store(true);
    if (loader_.joinable()) loader_.join();
  }

  std::optional<core::UnixNanos> start_time() const override {
    if (pending_.empty()) return std::nullopt;
    return record_ts(pending_.front());
  }

  engine::Health health() const override {
    if (state_.load() == State::kFailed) {
      std::lock_guard lock(mu_);
      return {false, error_};
    }
    if (stores_loaded()) {
      if (auto e = stores_error(); !e.empty()) return {false, e};
    }
    return {};
  }

  void add_health_fields(json::object& out) const override {
    out["source"] = source_;
    out["replay_state"] = state_name();
    out["symbols"] = distributor_->symbol_count();
    out["published"] = distributor_->published();
    if (stores_loaded() && stores_error().empty()) {
      out["history_bars"] = store_.size();
      out["reference_records"] = reference_.size();
    } else {
      out["history"] = stores_loaded() ? "failed" : "loading";
    }
  }

  void add_routes(net::Router& r) override {
    r.get("/marketdata/symbols",
          [this](const net::Request&) { return distributor_->symbols_json(); });
    r.get("/marketdata/latest/{symbol}",
          [this](const net::Request& q) { return distributor_->latest_json(q.param("symbol")); });
    r.get("/marketdata/replay", [this](const net::Request&) { return replay_json(); });
    r.get("/marketdata/streams", [this](const net::Request&) {
      if (!live_) return net::Response::json(json::object{{"sources", json::array{}}});
      return live_->streams_json();
    });
    sources_->add_routes(r);
  }

  void add_metrics(net::PrometheusText& p) const override {
    p.family("nautilus_marketdata_published_total", "counter", "market data messages published");
    p.sample("nautilus_marketdata_published_total", {{"engine", "marketdata"}},
             static_cast<double>(distributor_->published()));
    p.family("nautilus_marketdata_source_errors_total", "counter",
             "source rows or files that failed");
    p.sample("nautilus_marketdata_source_errors_total", {{"engine", "marketdata"}},
             static_cast<double>(source_errors_.load() + distributor_->errors()));
    distributor_->add_quality_metrics(p);
    requests_->add_metrics(p);
    if (live_) live_->add_metrics(p);
    sources_->add_metrics(p);
  }

 private:
  enum class State : std::uint8_t { kIdle, kRunning, kFinished, kStopped, kFailed };

  // The bar store behind marketdata.history and the point-in-time reference data. Every file
  // is opened now, so a missing one stops start-up with its name; the rows are read on a
  // thread of their own on wall time (the universe's 378k daily bars take a few tenths of a
  // second, more under a sanitizer, and the hub serves its endpoints within a second), and at
  // once on a simulated clock, where a run must not depend on when loading ends. A request
  // that comes before the stores are loaded waits for them.
  core::Result<void> load_stores(const engine::EngineSettings& cfg) {
    const std::string universe =
        dir_setting(cfg, "universe_dir", "NAUTILUS_UNIVERSE_DIR", NAUTILUS_UNIVERSE_DIR);
    std::vector<std::string> history = cfg.list("history_files");
    if (history.empty() && cfg.boolean("history_of_replay")) {
      history = files_;  // the replayed files (BarStore keeps the bar files among them)
      if (exists(universe + "/daily_bars.csv.gz"))
        history.push_back(universe + "/daily_bars.csv.gz");
    }
    std::vector<std::string> reference = cfg.list("reference_files");
    if (reference.empty() && exists(universe + "/reference.csv.gz")) {
      reference.push_back(universe + "/reference.csv.gz");
    }
    for (const auto* list : {&history, &reference}) {
      for (const auto& path : *list) {
        if (auto in = core::GzLines::open(path); !in) {
          return core::fail(
              in.error().code,
              fmt::format("{}: {}", list == &history ? "history_files" : "reference_files",
                          in.error().message));
        }
      }
    }
    stores_ready_ = stores_loaded_.get_future().share();
    auto load = [this, history = std::move(history), reference = std::move(reference)] {
      std::string error;
      if (auto store = BarStore::load(history, &stop_loading_); store) {
        store_ = std::move(*store);
      } else {
        error = "history_files: " + store.error().message;
      }
      if (stop_loading_.load()) {
        stores_loaded_.set_value("the hub stopped before its history was loaded");
        return;  // nothing to say: stopping was asked for
      }
      if (auto n = reference_.load(reference); !n && error.empty()) {
        error = "reference_files: " + n.error().message;
      }
      if (!error.empty()) fmt::print(stderr, "marketdata: {}\n", error);
      stores_loaded_.set_value(error);
    };
    if (ctx_->simulated()) {
      load();
      if (const auto& e = stores_ready_.get(); !e.empty()) {
        return core::fail(core::ErrorCode::kParse, e);
      }
    } else {
      loader_ = std::thread(load);
    }
    return {};
  }

  // Blocks until the stores are loaded; the load's error, "" when they are usable.
  std::string stores_error() const { return stores_ready_.valid() ? stores_ready_.get() : ""; }
  bool stores_loaded() const {
    return stores_ready_.valid() &&
           stores_ready_.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }

  std::string_view state_name() const {
    switch (state_.load()) {
      case State::kIdle:
        return "idle";
      case State::kRunning:
        return "running";
      case State::kFinished:
        return "finished";
      case State::kStopped:
        return "stopped";
      case State::kFailed:
        return "failed";
    }
    return "?";
  }

  // When the record stamped `ts` is due on the host's clock.
  core::UnixNanos due_of(core::UnixNanos ts) const {
    if (ctx_->simulated()) return ts;
    if (speed_ <= 0) return ctx_->clock().now();
    return clock_start_ +
           static_cast<core::UnixNanos>(static_cast<double>(ts - first_ts_ - skipped_) / speed_);
  }

  void schedule() {
    auto t = ctx_->set_timer_at("marketdata.replay", due_of(record_ts(pending_.front())),
                                [this](core::UnixNanos) { release(); });
    if (!t) {
      fail(t.error().message);
      return;
    }
    timer_.store(*t);
  }

  // Refills the look-ahead; false when the source has no more records (or failed). Records
  // before replay_from are skipped, and the first at or after replay_until ends the source (a
  // walk-forward fold's window: docs/BACKTESTING.md).
  bool refill() {
    while (pending_.empty()) {
      if (replay_) {
        auto rec = replay_->next();
        if (!rec) {
          fail(rec.error().message);
          return false;
        }
        if (!*rec) return false;
        const Record& r = **rec;  // NOLINT(bugprone-unchecked-optional-access)
        if (window_until_ != 0 && record_ts(r) >= window_until_) return false;
        if (record_ts(r) >= window_from_) push_pending(r);
        continue;
      }
      std::vector<Record> minute;
      // NOLINTNEXTLINE(bugprone-unchecked-optional-access): a synthetic source when no replay
      if (!synthetic_ || !synthetic_->next_minute(minute)) return false;
      for (const auto& r : minute) {
        if (window_until_ != 0 && record_ts(r) >= window_until_) return !pending_.empty();
        if (record_ts(r) >= window_from_) push_pending(r);
      }
    }
    return true;
  }

  // On wall time, a quiet stretch of the data longer than max_gap_s (a night, a weekend) is
  // replayed as max_gap_s: at 60x a night would otherwise be 17 minutes of nothing.
  void push_pending(const Record& r) {
    const core::UnixNanos ts = record_ts(r);
    if (max_gap_ > 0 && last_ts_ != 0 && ts - last_ts_ > max_gap_)
      skipped_ += ts - last_ts_ - max_gap_;
    last_ts_ = std::max(last_ts_, ts);
    pending_.push_back(r);
  }

  // One timer firing: publishes every record that is due, then sets the timer for the next.
  void release() {
    timer_.store(0);
    // As fast as possible releases a bounded chunk per firing, so a drain is never far away.
    std::size_t budget = speed_ <= 0 && !ctx_->simulated() ? 4096 : SIZE_MAX;
    const core::UnixNanos now = ctx_->clock().now();
    while (!draining_.load() && budget-- > 0) {
      if (!refill()) {
        auto running = State::kRunning;
        state_.compare_exchange_strong(running, State::kFinished);  // not over a failure
        return;
      }
      // As fast as possible: everything is due (a fresh clock reading would always be later).
      if (ctx_->simulated() || speed_ > 0) {
        if (due_of(record_ts(pending_.front())) > now) break;
      }
      replay_outlet_->publish(pending_.front());
      position_.store(record_ts(pending_.front()), std::memory_order_release);
      pending_.pop_front();
    }
    if (!draining_.load() && refill()) schedule();
  }

  void fail(const std::string& why) {
    ++source_errors_;
    std::lock_guard lock(mu_);
    error_ = why;
    state_.store(State::kFailed);
    fmt::print(stderr, "marketdata: source stopped: {}\n", why);
  }

  net::Response replay_json() const {
    json::array files;
    for (const auto& f : files_) files.push_back(json::string(f));
    std::lock_guard lock(mu_);
    json::object o{{"source", source_},
                   {"state", state_name()},
                   {"speed", speed_},
                   {"files", std::move(files)},
                   {"published", distributor_->published()}};
    if (!error_.empty()) o["error"] = error_;
    return net::Response::json(o);
  }

  const engine::EngineInfo& info_ = engine_info();
  engine::EngineContext* ctx_ = nullptr;
  std::string source_;
  double speed_ = 60;
  core::UnixNanos window_from_ = 0;   // replay_from; 0: from the start
  core::UnixNanos window_until_ = 0;  // replay_until; 0: to the end
  std::vector<std::string> files_;
  std::optional<ReplaySource> replay_;
  std::optional<SyntheticGenerator> synthetic_;
  std::unique_ptr<Distributor> distributor_;
  Outlet* replay_outlet_ = nullptr;                // the engine thread's
  std::optional<bus::Publisher> reply_publisher_;  // the engine thread's, for request replies
  std::unique_ptr<HttpSources> sources_;
  BarStore store_;  // written by the loader, read once stores_ready_ is set
  ReferenceStore reference_;
  std::promise<std::string> stores_loaded_;
  std::shared_future<std::string> stores_ready_;  // the load's error, "" when usable
  std::thread loader_;
  std::atomic<bool> stop_loading_{false};
  std::unique_ptr<LiveSources> live_;
  std::unique_ptr<RequestServer> requests_;

  mutable std::mutex mu_;
  std::string error_;
  std::atomic<State> state_{State::kIdle};
  std::atomic<std::uint64_t> source_errors_{0};

  // The replay, on the engine's thread.
  std::deque<Record> pending_;  // records read ahead, not yet due
  core::UnixNanos first_ts_ = 0;
  core::UnixNanos max_gap_ = 0;            // 0: gaps are replayed as they are
  core::UnixNanos last_ts_ = 0;            // the latest record taken from the source
  core::UnixNanos skipped_ = 0;            // data time left out of the pacing (long gaps)
  core::UnixNanos clock_start_ = 0;        // the clock when the replay began (wall-time pacing)
  std::atomic<engine::TimerId> timer_{0};  // the pending replay timer; 0: none
  std::atomic<bool> draining_{false};
  // The time of the last record released (before the first: the first record's): how far the
  // hub's data has got, the cap on what history and reference requests may see.
  std::atomic<core::UnixNanos> position_{0};
};

}  // namespace

const engine::EngineInfo& engine_info() {
  using engine::Setting;
  static const engine::EngineInfo info{
      .name = "marketdata",
      .default_port = 8800,
      .subscribes = {},
      .publishes = {"market_data.*.bar", "market_data.*.trade", "market_data.*.quote",
                    "price.update.*", "volume.update.*"},
      .description =
          "MarketData hub: CSV replay, synthetic market, outside sources, live streams, history "
          "and reference requests",
      .settings = {
          Setting::choice("source", "replay", {"replay", "synthetic", "none"},
                          "Where records come from: CSV files, the synthetic market, or nothing"),
          Setting::number("speed", 60, 0, {},
                          "Replay speed: 1 real time, N times faster, 0 as fast as possible "
                          "(ignored on a simulated clock)"),
          Setting::number("max_gap_s", 300, 0, {},
                          "Paced replay: a gap in the data longer than this many seconds (a "
                          "night, a weekend) takes only this long at the replay speed (0: "
                          "gaps as they are)"),
          Setting::text("data_dir", "",
                        "Directory of the bundled sample (empty: $NAUTILUS_DATA_DIR, else "
                        "data/sample)"),
          Setting::list("files", {},
                        "CSV files to replay, bars/trades/quotes, plain or .gz (empty: the "
                        "sample's bars_1m.csv.gz and trades.csv.gz)"),
          Setting::text("replay_from", "",
                        "Replay and synthetic sources: skip records before this time (ISO "
                        "date or timestamp, UTC; empty: from the start)"),
          Setting::text("replay_until", "",
                        "Replay and synthetic sources: end at the first record at or after "
                        "this time (empty: at the end of the data)"),
          Setting::integer("seed", 42, 0, {}, "Synthetic source: the generator's seed"),
          Setting::integer("days", 21, 1, 260, "Synthetic source: trading days to generate"),
          Setting::list("symbols", {},
                        "Synthetic source: the symbols, each checked as a symbol (empty: the "
                        "generator's twenty)",
                        &engine::check_symbol),
          Setting::text("alphavantage_url", "https://www.alphavantage.co",
                        "Alpha Vantage base URL (tests point it at a loopback server)"),
          Setting::text("fred_url", "https://api.stlouisfed.org", "FRED base URL"),
          Setting::text("edgar_url", "https://data.sec.gov", "SEC EDGAR base URL"),
          Setting::number("alphavantage_per_minute", 5, 0.001, {},
                          "Alpha Vantage requests per minute (the free tier allows 5)"),
          Setting::number("fred_per_minute", 120, 0.001, {}, "FRED requests per minute"),
          Setting::number("edgar_per_minute", 600, 0.001, {},
                          "EDGAR requests per minute (SEC fair access: 10 per second)"),
          Setting::text("ibkr_url", "https://localhost:5000/v1/api",
                        "IBKR Client Portal gateway base URL (its certificate is verified: see "
                        "ibkr_ca_file)"),
          Setting::text("ibkr_ca_file", "",
                        "PEM file trusted for the IBKR gateway's self-signed certificate, besides "
                        "the system CAs (empty: the system CAs only)"),
          Setting::text("binance_url", "https://api.binance.com", "Binance spot REST base URL"),
          Setting::text("datagov_url", "https://catalog.data.gov/api/3",
                        "Data.gov CKAN action API base (before /action/package_search)"),
          Setting::text("bls_url", "https://api.bls.gov/publicAPI/v2",
                        "BLS public data API base URL"),
          Setting::text("treasury_url",
                        "https://api.fiscaldata.treasury.gov/services/api/fiscal_service",
                        "Treasury FiscalData API base URL"),
          Setting::text("treasury_yields_url", "https://home.treasury.gov",
                        "Where the Treasury's daily par yield curve CSV is published"),
          Setting::number("ibkr_per_minute", 300, 0.001, {},
                          "IBKR gateway requests per minute (the gateway allows 10 a second)"),
          Setting::number(
              "binance_per_minute", 600, 0.001, {},
              "Binance requests per minute (klines weigh 2 of the IP's 6,000 a minute)"),
          Setting::number("datagov_per_minute", 15, 0.001, {},
                          "Data.gov requests per minute, catalogue and CSV downloads (api.data.gov "
                          "allows 1,000 an hour)"),
          Setting::number("bls_per_minute", 0.34, 0.001, {},
                          "BLS requests per minute (500 a day with BLS_API_KEY; 25 a day without)"),
          Setting::number("treasury_per_minute", 60, 0.001, {},
                          "Treasury requests per minute (FiscalData and home.treasury.gov)"),
          // marketdata.history / .reference / .filings / .universe (docs/MARKET_DATA.md,
          // "Requests over the bus")
          Setting::list("history_files", {},
                        "Bar CSV files behind marketdata.history (empty: the replayed files' "
                        "bars, and the research universe's daily bars when present)"),
          Setting::boolean("history_of_replay", true,
                           "With history_files empty, load the replayed files and the research "
                           "universe as history; a backtest turns it off, so the replay streams "
                           "from disk and is never held whole in memory"),
          Setting::list("reference_files", {},
                        "Point-in-time reference CSV files behind marketdata.reference, "
                        ".filings and .universe (empty: the research universe's "
                        "reference.csv.gz when present)"),
          Setting::number("history_cache_s", 30, 0, 3600,
                          "How long a source's parsed answer to a history request is reused "
                          "(on top of the source's own cache; 0: off)"),
          Setting::text("universe_dir", "",
                        "Directory of the research universe (empty: $NAUTILUS_UNIVERSE_DIR, "
                        "else data/universe)"),
          // Data quality (every source)
          Setting::number("spike_band", 0.15, 0, 10,
                          "A price this far (relative) from the last accepted one is a spike "
                          "and dropped, until spike_confirm records agree (0: off)"),
          Setting::integer("spike_confirm", 3, 1, 1000,
                           "Records in a row at a new level that make a jump real"),
          Setting::integer("stale_after_ms", 5000, 1, {},
                           "A live record older than this on arrival is counted as stale"),
          // Live streaming (marketdata.subscribe)
          Setting::list("live_sources", {"binance", "ibkr"},
                        "Live sources marketdata.subscribe may start (the first is the "
                        "default; empty: live streaming off)"),
          Setting::text("binance_ws_url", "wss://stream.binance.com:9443/ws",
                        "Binance WebSocket endpoint (tests point it at a loopback server)"),
          Setting::text("ibkr_ws_url", "wss://localhost:5000/v1/api/ws",
                        "IBKR Client Portal gateway WebSocket"),
          Setting::number("stream_stall_s", 30, 0.05, 3600,
                          "A stream silent this long is reconnected"),
          Setting::integer("stream_max_symbols", 200, 1, 1024, "Symbols per live stream"),
      }};
  return info;
}

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<MarketDataEngine>(); }

}  // namespace nautilus::marketdata
