#include <fmt/format.h>

#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "nautilus/marketdata/engine.hpp"
#include "nautilus/marketdata/replay.hpp"
#include "nautilus/marketdata/synthetic.hpp"
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

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= s.size()) {
    const std::size_t j = std::min(s.find(',', i), s.size());
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

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
    const auto& cfg = ctx.config();
    source_ = cfg.get("source", "replay");
    if (source_ != "replay" && source_ != "synthetic" && source_ != "none") {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("source must be replay, synthetic or none, not '{}'", source_));
    }
    auto speed = cfg.get_double("speed", 60);
    if (!speed) return std::unexpected(speed.error());
    if (*speed < 0) return core::fail(core::ErrorCode::kInvalidArgument, "speed must be >= 0");
    speed_ = *speed;
    if (source_ == "replay") {
      const char* env = std::getenv("NAUTILUS_DATA_DIR");
      const std::string dir = cfg.get("data_dir", env != nullptr ? env : NAUTILUS_SAMPLE_DIR);
      files_ = split_list(cfg.get("files", dir + "/bars_1m.csv.gz," + dir + "/trades.csv.gz"));
      // Open now so that a missing or malformed file stops start-up with its name.
      auto r = ReplaySource::open(files_);
      if (!r) return std::unexpected(r.error());
      replay_.emplace(std::move(*r));
    } else if (source_ == "synthetic") {
      auto seed = cfg.get_int("seed", 42);
      auto days = cfg.get_int("days", 21);
      if (!seed) return std::unexpected(seed.error());
      if (!days) return std::unexpected(days.error());
      synthetic_.emplace(SyntheticOptions{.seed = static_cast<std::uint64_t>(*seed),
                                          .symbols = split_list(cfg.get("symbols")),
                                          .days = static_cast<int>(*days),
                                          .quotes = true});
    }
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    publisher_.emplace(std::move(*pub));
    auto fetch_pub = ctx.publisher();
    if (!fetch_pub) return std::unexpected(fetch_pub.error());
    sources_ = std::make_unique<HttpSources>(cfg, ctx.clock(), std::move(*fetch_pub));
    if (auto ok = sources_->validate(); !ok) return ok;
    return {};
  }

  void begin() override {
    if (source_ == "none") return;
    state_.store(State::kRunning);
    worker_ = std::jthread([this](const std::stop_token& st) { run(st); });
  }

  void drain() override {
    worker_.request_stop();
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }
  void stop() override { drain(); }

  engine::Health health() const override {
    if (state_.load() == State::kFailed) {
      std::lock_guard lock(mu_);
      return {false, error_};
    }
    return {};
  }

  std::string health_fields() const override {
    std::lock_guard lock(mu_);
    return fmt::format(R"("source":"{}","replay_state":"{}","symbols":{},"published":{})", source_,
                       state_name(), symbols_.size(), published_.load());
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

  // Waits until the record's time comes at the configured speed; false when stopping.
  bool pace(core::UnixNanos ts, const std::stop_token& st) {
    if (speed_ <= 0) return !st.stop_requested();
    const auto now = std::chrono::steady_clock::now();
    if (first_ts_ == 0) {
      first_ts_ = ts;
      wall_start_ = now;
    }
    const auto due = wall_start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                       static_cast<double>(ts - first_ts_) / speed_));
    if (due <= now) return !st.stop_requested();
    std::unique_lock lock(wait_mu_);
    cv_.wait_until(lock, st, due, [] { return false; });
    return !st.stop_requested();
  }

  void run(const std::stop_token& st) {
    std::vector<Record> minute;
    while (!st.stop_requested()) {
      if (replay_) {
        auto rec = replay_->next();
        if (!rec) {
          fail(rec.error().message);
          return;
        }
        if (!*rec) {
          state_.store(State::kFinished);
          return;
        }
        // NOLINTBEGIN(bugprone-unchecked-optional-access): *rec was checked just above
        if (!pace(record_ts(**rec), st)) break;
        publish(**rec);
        // NOLINTEND(bugprone-unchecked-optional-access)
      } else {
        if (!synthetic_->next_minute(minute)) {  // NOLINT(bugprone-unchecked-optional-access)
          state_.store(State::kFinished);
          return;
        }
        for (const auto& r : minute) {
          if (!pace(record_ts(r), st)) break;
          publish(r);
        }
      }
    }
    state_.store(State::kStopped);
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
                               {"ts", format_timestamp(s.last_ts)},
                               {"bars", s.bars},
                               {"trades", s.trades},
                               {"quotes", s.quotes}});
    }
    return net::Response::json(json::serialize(json::object{{"symbols", std::move(a)}}));
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
                   {"ts", format_timestamp(s.last_ts)},
                   {"session_volume", std::llround(s.session_volume)}};
    if (s.last_bar) {
      const auto& b = *s.last_bar;
      o["bar"] =
          json::object{{"open", b.open.to_string()},     {"high", b.high.to_string()},
                       {"low", b.low.to_string()},       {"close", b.close.to_string()},
                       {"volume", b.volume.to_string()}, {"ts", format_timestamp(b.ts_event)}};
    }
    return net::Response::json(json::serialize(o));
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
    return net::Response::json(json::serialize(o));
  }

  engine::EngineInfo info_{
      .name = "marketdata",
      .default_port = 8800,
      .subscribes = {},
      .publishes = {"market_data.*.bar", "market_data.*.trade", "market_data.*.quote",
                    "price.update.*", "volume.update.*"},
      .description = "MarketData hub: CSV replay, synthetic market, Alpha Vantage/FRED/EDGAR"};
  engine::EngineContext* ctx_ = nullptr;
  std::string source_;
  double speed_ = 60;
  std::vector<std::string> files_;
  std::optional<ReplaySource> replay_;
  std::optional<SyntheticGenerator> synthetic_;
  std::optional<bus::Publisher> publisher_;  // the worker thread's
  std::unique_ptr<HttpSources> sources_;
  std::unordered_map<std::string_view, SymbolTopics> topics_;  // worker thread only

  mutable std::mutex mu_;
  std::map<std::string, SymbolState, std::less<>> symbols_;  // no allocation per lookup
  std::string error_;
  std::atomic<State> state_{State::kIdle};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> source_errors_{0};

  core::UnixNanos first_ts_ = 0;
  std::chrono::steady_clock::time_point wall_start_;
  std::mutex wait_mu_;
  std::condition_variable_any cv_;
  std::jthread worker_;
};

}  // namespace

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<MarketDataEngine>(); }

}  // namespace nautilus::marketdata
