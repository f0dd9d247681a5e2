#include <fmt/format.h>

#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>

#include "nautilus/core/time.hpp"
#include "nautilus/marketdata/engine.hpp"
#include "nautilus/marketdata/replay.hpp"
#include "nautilus/marketdata/synthetic.hpp"
#include "nautilus/model/json.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"
#include "sources.hpp"

#ifndef NAUTILUS_SAMPLE_DIR
#define NAUTILUS_SAMPLE_DIR "data/sample"
#endif

namespace nautilus::marketdata {
namespace {

namespace json = boost::json;
constexpr std::int64_t kDayNs = 86'400 * 1'000'000'000LL;

// Topic handles per symbol, resolved once: publishing does no string work.
struct SymbolTopics {
  bus::TopicHandle bar, trade, quote, price, volume;
};

struct SymbolState {
  core::Price last_price;  // decimal, as published (JSON shows it as a string)
  core::UnixNanos last_ts = 0;
  std::optional<model::Bar> last_bar;
  double session_volume = 0;
  std::int64_t session_day = -1;
  std::uint64_t bars = 0, trades = 0, quotes = 0;
};

class MarketDataEngine final : public engine::Engine {
 public:
  const engine::EngineInfo& info() const override { return info_; }

  core::Result<void> start(engine::EngineContext& ctx) override {
    ctx_ = &ctx;
    // Settings were validated against info_.settings by the host (types, ranges, symbols).
    const auto& cfg = ctx.settings();
    source_ = cfg.text("source");
    speed_ = cfg.number("speed");
    if (source_ == "replay") {
      const char* env = std::getenv("NAUTILUS_DATA_DIR");
      std::string dir = cfg.text("data_dir");
      if (dir.empty()) dir = env != nullptr ? env : NAUTILUS_SAMPLE_DIR;
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
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    publisher_.emplace(std::move(*pub));
    auto fetch_pub = ctx.publisher();
    if (!fetch_pub) return std::unexpected(fetch_pub.error());
    sources_ = std::make_unique<HttpSources>(cfg, ctx.clock(), std::move(*fetch_pub));
    if (auto ok = sources_->validate(); !ok) return ok;
    // Read the first record now: a deterministic host starts its clock there (start_time()).
    if (source_ != "none") (void)refill();
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
    // Only a running replay becomes "stopped"; finished and failed stay as they are.
    auto running = State::kRunning;
    state_.compare_exchange_strong(running, State::kStopped);
  }
  void stop() override { drain(); }

  std::optional<core::UnixNanos> start_time() const override {
    if (pending_.empty()) return std::nullopt;
    return record_ts(pending_.front());
  }

  engine::Health health() const override {
    if (state_.load() == State::kFailed) {
      std::lock_guard lock(mu_);
      return {false, error_};
    }
    return {};
  }

  void add_health_fields(json::object& out) const override {
    std::lock_guard lock(mu_);
    out["source"] = source_;
    out["replay_state"] = state_name();
    out["symbols"] = symbols_.size();
    out["published"] = published_.load();
  }

  void add_routes(net::Router& r) override {
    r.get("/marketdata/symbols", [this](const net::Request&) { return symbols_json(); });
    r.get("/marketdata/latest/{symbol}",
          [this](const net::Request& q) { return latest_json(q.param("symbol")); });
    r.get("/marketdata/replay", [this](const net::Request&) { return replay_json(); });
    sources_->add_routes(r);
  }

  void add_metrics(net::PrometheusText& p) const override {
    p.family("nautilus_marketdata_published_total", "counter", "market data messages published");
    p.sample("nautilus_marketdata_published_total", {{"engine", "marketdata"}},
             static_cast<double>(published_.load()));
    p.family("nautilus_marketdata_source_errors_total", "counter",
             "source rows or files that failed");
    p.sample("nautilus_marketdata_source_errors_total", {{"engine", "marketdata"}},
             static_cast<double>(source_errors_.load()));
    sources_->add_metrics(p);
  }

 private:
  enum class State : std::uint8_t { kIdle, kRunning, kFinished, kStopped, kFailed };

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
           static_cast<core::UnixNanos>(static_cast<double>(ts - first_ts_) / speed_);
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

  // Refills the look-ahead; false when the source has no more records (or failed).
  bool refill() {
    if (!pending_.empty()) return true;
    if (replay_) {
      auto rec = replay_->next();
      if (!rec) {
        fail(rec.error().message);
        return false;
      }
      if (!*rec) return false;
      pending_.push_back(**rec);  // NOLINT(bugprone-unchecked-optional-access)
      return true;
    }
    std::vector<Record> minute;
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): a synthetic source when no replay
    if (!synthetic_ || !synthetic_->next_minute(minute)) return false;
    pending_.insert(pending_.end(), minute.begin(), minute.end());
    return true;
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
      publish(pending_.front());
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

  SymbolTopics* topics_for(core::Symbol s) {
    auto it = topics_.find(s.value());
    if (it != topics_.end()) return &it->second;
    const std::string_view sym = s.value();
    SymbolTopics t;
    auto& b = ctx_->bus();
    auto bar = b.topic(fmt::format("market_data.{}.bar", sym));
    auto trade = b.topic(fmt::format("market_data.{}.trade", sym));
    auto quote = b.topic(fmt::format("market_data.{}.quote", sym));
    auto price = b.topic(fmt::format("price.update.{}", sym));
    auto volume = b.topic(fmt::format("volume.update.{}", sym));
    if (!bar || !trade || !quote || !price || !volume) return nullptr;  // symbol not a topic token
    t = {*bar, *trade, *quote, *price, *volume};
    return &topics_.emplace(sym, std::move(t)).first->second;
  }

  void publish(const Record& r) {
    const core::Symbol sym = record_symbol(r);
    SymbolTopics* t = topics_for(sym);
    if (t == nullptr) {
      ++source_errors_;
      return;
    }
    auto& p = *publisher_;  // NOLINT(bugprone-unchecked-optional-access): set in start()
    const core::UnixNanos ts = record_ts(r);
    const bus::PublishOptions o{.ts_event = ts};
    // State for the REST resources is updated under the lock; publishing happens after it,
    // so a subscriber applying back-pressure never holds up /health or /marketdata/*.
    double session_volume = 0;
    {
      std::lock_guard lock(mu_);
      auto it = symbols_.find(sym.value());
      if (it == symbols_.end()) {
        it = symbols_.emplace(std::string(sym.value()), SymbolState{}).first;
      }
      SymbolState& s = it->second;
      const std::int64_t day = ts / kDayNs;
      if (day != s.session_day) {
        s.session_day = day;
        s.session_volume = 0;
      }
      s.last_ts = ts;
      if (const auto* bar = std::get_if<model::Bar>(&r)) {
        s.session_volume += bar->volume.as_double();
        s.last_bar = *bar;
        s.last_price = bar->close;
        ++s.bars;
      } else if (const auto* trade = std::get_if<model::TradeTick>(&r)) {
        s.last_price = trade->price;
        ++s.trades;
      } else {
        ++s.quotes;
      }
      session_volume = s.session_volume;
    }
    if (const auto* bar = std::get_if<model::Bar>(&r)) {
      p.publish(t->bar, *bar, o);
      p.publish(t->price, model::PriceUpdate{sym, bar->close, ts}, o);
      p.publish(t->volume,
                model::VolumeUpdate{sym, bar->volume,
                                    *core::Quantity::from_double(session_volume, 0), ts},
                o);
      published_ += 3;
    } else if (const auto* trade = std::get_if<model::TradeTick>(&r)) {
      p.publish(t->trade, *trade, o);
      p.publish(t->price, model::PriceUpdate{sym, trade->price, ts}, o);
      published_ += 2;
    } else if (const auto* quote = std::get_if<model::QuoteTick>(&r)) {
      p.publish(t->quote, *quote, o);
      ++published_;
    }
  }

  net::Response symbols_json() const {
    json::array a;
    std::lock_guard lock(mu_);
    for (const auto& [name, s] : symbols_) {
      a.push_back(json::object{{"symbol", name},
                               {"last_price", s.last_price.to_string()},
                               {"ts", core::format_timestamp(s.last_ts)},
                               {"bars", s.bars},
                               {"trades", s.trades},
                               {"quotes", s.quotes}});
    }
    return net::Response::json(json::object{{"symbols", std::move(a)}});
  }

  net::Response latest_json(std::string_view symbol) const {
    std::lock_guard lock(mu_);
    auto it = symbols_.find(symbol);
    if (it == symbols_.end()) {
      return net::Response::error(404, fmt::format("no data for symbol '{}'", symbol));
    }
    const auto& s = it->second;
    json::object o{{"symbol", it->first},
                   {"last_price", s.last_price.to_string()},
                   {"ts", core::format_timestamp(s.last_ts)},
                   {"session_volume", std::llround(s.session_volume)}};
    if (s.last_bar) {
      // The bar as its description writes it (decimals as strings), plus a readable time.
      json::value bar = json::value_from(*s.last_bar);
      bar.as_object()["ts"] = core::format_timestamp(s.last_bar->ts_event);
      o["bar"] = std::move(bar);
    }
    return net::Response::json(o);
  }

  net::Response replay_json() const {
    json::array files;
    for (const auto& f : files_) files.push_back(json::string(f));
    std::lock_guard lock(mu_);
    json::object o{{"source", source_},
                   {"state", state_name()},
                   {"speed", speed_},
                   {"files", std::move(files)},
                   {"published", published_.load()}};
    if (!error_.empty()) o["error"] = error_;
    return net::Response::json(o);
  }

  const engine::EngineInfo& info_ = engine_info();
  engine::EngineContext* ctx_ = nullptr;
  std::string source_;
  double speed_ = 60;
  std::vector<std::string> files_;
  std::optional<ReplaySource> replay_;
  std::optional<SyntheticGenerator> synthetic_;
  std::optional<bus::Publisher> publisher_;  // the engine thread's
  std::unique_ptr<HttpSources> sources_;
  std::unordered_map<std::string_view, SymbolTopics> topics_;  // worker thread only

  mutable std::mutex mu_;
  std::map<std::string, SymbolState, std::less<>> symbols_;  // no allocation per lookup
  std::string error_;
  std::atomic<State> state_{State::kIdle};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> source_errors_{0};

  // The replay, on the engine's thread.
  std::deque<Record> pending_;  // records read ahead, not yet due
  core::UnixNanos first_ts_ = 0;
  core::UnixNanos clock_start_ = 0;        // the clock when the replay began (wall-time pacing)
  std::atomic<engine::TimerId> timer_{0};  // the pending replay timer; 0: none
  std::atomic<bool> draining_{false};
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
      .description = "MarketData hub: CSV replay, synthetic market, Alpha Vantage/FRED/EDGAR",
      .settings = {
          Setting::choice("source", "replay", {"replay", "synthetic", "none"},
                          "Where records come from: CSV files, the synthetic market, or nothing"),
          Setting::number("speed", 60, 0, {},
                          "Replay speed: 1 real time, N times faster, 0 as fast as possible "
                          "(ignored on a simulated clock)"),
          Setting::text("data_dir", "",
                        "Directory of the bundled sample (empty: $NAUTILUS_DATA_DIR, else "
                        "data/sample)"),
          Setting::list("files", {},
                        "CSV files to replay, bars/trades/quotes, plain or .gz (empty: the "
                        "sample's bars_1m.csv.gz and trades.csv.gz)"),
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
      }};
  return info;
}

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<MarketDataEngine>(); }

}  // namespace nautilus::marketdata
