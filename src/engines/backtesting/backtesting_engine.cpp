// The backtesting engine (engines/backtesting/engine.hpp): a queue of backtest jobs and a pool
// of worker threads running them with backtest::run_backtest. Nothing here is on the bus: a
// backtest has a bus of its own. The HTTP handlers only look at jobs under the mutex; the work
// is on the workers, so /health answers while backtests run.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "nautilus/backtest/backtest.hpp"
#include "nautilus/backtest_report/html.hpp"
#include "nautilus/config/bus_config.hpp"
#include "nautilus/core/enum_names.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/engine/rejections.hpp"
#include "nautilus/engine/settings.hpp"
#include "nautilus/engines/backtesting/engine.hpp"
#include "nautilus/engines/registry.hpp"
#include "nautilus/model/risk.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"

namespace nautilus::backtesting {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

enum class State : std::uint8_t { kQueued, kRunning, kDone, kFailed, kCancelled };
BOOST_DESCRIBE_ENUM(State, kQueued, kRunning, kDone, kFailed, kCancelled)

std::string_view to_string(State s) { return core::enum_name(s); }  // "queued", ...
// backtesting.job.<id> says the state as model::BacktestState, the same list in the same order.
static_assert(static_cast<int>(State::kCancelled) ==
              static_cast<int>(model::BacktestState::kCancelled));

struct Job {
  std::string id;
  backtest::BacktestSpec spec;    // the worker's while it runs; cleared after
  std::vector<std::string> data;  // the files it replays
  std::atomic<bool> cancel{false};
  // Under the engine's mutex from here on.
  State state = State::kQueued;
  core::UnixNanos submitted = 0, started = 0, finished = 0;
  backtest::Progress progress;
  std::string error;
  std::string report;  // report.json, once done
  std::map<std::string, double> metrics;
  std::uint64_t fills = 0;
  double final_nav = 0;
  double wall_s = 0;
  std::optional<model::BacktestStatus> published;  // what backtesting.job.<id> said last
};

// A setting that names files or directories: what a submitted config may point only inside the
// engine's data_dirs.
bool names_paths(std::string_view key) {
  return key.ends_with("file") || key.ends_with("files") || key.ends_with("dir");
}

bool inside(const fs::path& path, const std::vector<fs::path>& roots) {
  std::error_code ec;
  const fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) return false;
  for (const auto& root : roots) {
    const auto [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
    if (r == root.end()) return true;
  }
  return false;
}

class BacktestingEngine final : public engine::Engine {
 public:
  const engine::EngineInfo& info() const override { return info_; }

  core::Result<void> start(engine::EngineContext& ctx) override {
    ctx_ = &ctx;
    const auto& cfg = ctx.settings();
    max_concurrent_ = static_cast<std::size_t>(cfg.integer("max_concurrent"));
    max_queued_ = static_cast<std::size_t>(cfg.integer("max_queued"));
    max_jobs_ = static_cast<std::size_t>(cfg.integer("max_jobs"));
    auto dirs = cfg.list("data_dirs");
    if (dirs.empty()) {
      const char* env = std::getenv("NAUTILUS_DATA_DIR");
      dirs.emplace_back(env != nullptr && *env != '\0' ? env : NAUTILUS_SAMPLE_DIR);
    }
    for (const auto& d : dirs) {
      std::error_code ec;
      const fs::path root = fs::weakly_canonical(fs::absolute(d, ec), ec);
      if (ec || !fs::is_directory(root, ec)) {
        return core::fail(core::ErrorCode::kInvalidArgument,
                          fmt::format("backtesting.data_dirs: '{}' is not a directory", d));
      }
      roots_.push_back(root);
    }
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    publisher_.emplace(std::move(*pub));
    for (std::size_t i = 0; i < max_concurrent_; ++i) {
      workers_.emplace_back([this] { work(); });
    }
    return {};
  }

  // Once a second, on the engine's thread: backtesting.job.<id> for each job whose state or
  // progress moved (the dashboard's backtest list).
  void begin() override {
    (void)ctx_->set_timer_every("backtesting.status", std::chrono::seconds(1),
                                [this](core::UnixNanos now) { publish_statuses(now); });
  }

  void stop() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      for (auto& j : jobs_) {
        j->cancel = true;
        if (j->state == State::kQueued) finish(*j, State::kCancelled, "the engine stopped");
      }
      queue_.clear();
    }
    cv_.notify_all();
    workers_.clear();  // joins: a running backtest stops at its next due time
  }

  void add_routes(net::Router& r) override {
    r.post("/backtests", [this](const net::Request& q) { return submit(q); });
    r.get("/backtests", [this](const net::Request&) {
      std::lock_guard lock(mu_);
      json::array out;
      for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) out.push_back(job_json(**it));
      return net::Response::json(json::object{{"jobs", std::move(out)},
                                              {"running", running_},
                                              {"queued", queue_.size()},
                                              {"max_concurrent", max_concurrent_}});
    });
    r.get("/backtests/{id}", [this](const net::Request& q) {
      std::lock_guard lock(mu_);
      const auto* j = find(q.param("id"));
      if (j == nullptr) return not_found(q.param("id"));
      return net::Response::json(job_json(*j));
    });
    r.get("/backtests/{id}/report", [this](const net::Request& q) {
      std::lock_guard lock(mu_);
      const auto* j = find(q.param("id"));
      if (j == nullptr) return not_found(q.param("id"));
      if (j->state != State::kDone) return not_done(*j);
      return net::Response::json(j->report);
    });
    r.get("/backtests/{id}/report.html", [this](const net::Request& q) {
      std::string report;
      {
        std::lock_guard lock(mu_);
        const auto* j = find(q.param("id"));
        if (j == nullptr) return not_found(q.param("id"));
        if (j->state != State::kDone) return not_done(*j);
        report = j->report;
      }
      net::Response page = net::Response::text(backtest_report::render_report_html(report));
      page.content_type = "text/html; charset=utf-8";
      return page;
    });
    r.del("/backtests/{id}", [this](const net::Request& q) {
      std::lock_guard lock(mu_);
      auto* j = find(q.param("id"));
      if (j == nullptr) return not_found(q.param("id"));
      if (j->state == State::kQueued) {
        std::erase_if(queue_, [&](const auto& p) { return p.get() == j; });
        finish(*j, State::kCancelled, "cancelled before it started");
        return net::Response::json(job_json(*j));
      }
      if (j->state == State::kRunning) {
        j->cancel = true;  // the worker marks it cancelled at its next due time
        return net::Response::json(job_json(*j), 202);
      }
      // Finished: forgotten, its report with it.
      const std::string id = j->id;
      std::erase_if(jobs_, [&](const auto& p) { return p->id == id; });
      return net::Response::json(json::object{{"id", id}, {"deleted", true}});
    });
  }

  void add_health_fields(json::object& out) const override {
    std::lock_guard lock(mu_);
    out["running"] = running_;
    out["queued"] = queue_.size();
  }

  void add_metrics(net::PrometheusText& p) const override {
    std::lock_guard lock(mu_);
    std::map<State, std::size_t> by_state;
    for (const auto& j : jobs_) ++by_state[j->state];
    p.family("nautilus_backtesting_jobs", "gauge", "jobs kept, by state");
    for (const State s :
         {State::kQueued, State::kRunning, State::kDone, State::kFailed, State::kCancelled}) {
      p.sample("nautilus_backtesting_jobs", {{"engine", "backtesting"}, {"state", to_string(s)}},
               static_cast<double>(by_state[s]));
    }
    p.family("nautilus_backtesting_submitted_total", "counter", "jobs accepted");
    p.sample("nautilus_backtesting_submitted_total", {{"engine", "backtesting"}},
             static_cast<double>(submitted_));
    p.family("nautilus_backtesting_refused_total", "counter",
             "submissions refused: a bad config, data outside data_dirs, a full queue");
    p.sample("nautilus_backtesting_refused_total", {{"engine", "backtesting"}},
             static_cast<double>(refused_.count()));
  }

 private:
  net::Response submit(const net::Request& q) {
    if (q.body.empty()) return refuse(400, "the body must be a backtest config (TOML)");
    // The id is taken once, here: the config's origin names it, so a report says which job
    // it was (a refused submission leaves a gap in the numbers).
    std::string id;
    {
      std::lock_guard lock(mu_);
      id = std::to_string(next_id_++);
    }
    // Relative paths in [backtest] data are relative to the first data directory.
    const std::string origin = (roots_.front() / ("backtest-" + id + ".toml")).string();
    // [backtest] data is checked before load_spec_text looks at it (a directory is listed, a
    // missing file named): else the answers would tell which paths exist outside data_dirs.
    if (auto tables = config::load_engine_tables_text(q.body, origin, {"backtest"}); tables) {
      const auto& bt = tables->tables["backtest"];
      if (const auto it = bt.find("data"); it != bt.end()) {
        std::vector<std::string> paths;
        if (const auto* one = std::get_if<std::string>(&it->second)) paths.push_back(*one);
        if (const auto* l = std::get_if<std::vector<std::string>>(&it->second)) paths = *l;
        for (const auto& p : paths) {
          const fs::path full = fs::path(p).is_absolute() ? fs::path(p) : roots_.front() / p;
          if (!inside(full, roots_))
            return refuse(403, fmt::format("data {}: outside data_dirs", p));
        }
      }
    }
    auto spec = backtest::load_spec_text(q.body, origin, {});
    if (!spec) return refuse(400, spec.error().message);
    for (const auto& f : spec->data) {
      if (!inside(f, roots_)) return refuse(403, fmt::format("data {}: outside data_dirs", f));
    }
    // Every file or directory setting as the engine will read it: resolved (a list given as one
    // string is split on its commas there), not as written.
    for (const auto& [name, given] : spec->configs) {
      const auto* e = engines::find_engine(name);
      if (e == nullptr) continue;
      auto resolved = engine::resolve_settings(name, e->info().settings, given);
      if (!resolved) return refuse(400, resolved.error().message);
      for (const auto& setting : e->info().settings) {
        if (!names_paths(setting.name)) continue;
        std::vector<std::string> paths;
        if (setting.type == engine::SettingType::kList) {
          paths = resolved->list(setting.name);
        } else if (setting.type == engine::SettingType::kString) {
          paths.push_back(resolved->text(setting.name));
        }
        for (const auto& p : paths) {
          if (!p.empty() && !inside(p, roots_)) {
            return refuse(403,
                          fmt::format("{}.{}: {} is outside data_dirs", name, setting.name, p));
          }
        }
      }
    }
    auto job = std::make_shared<Job>();
    job->data = spec->data;
    job->spec = std::move(*spec);
    {
      std::lock_guard lock(mu_);
      if (stopping_) return refuse(503, "the engine is stopping");
      // Room for max_concurrent running and max_queued waiting, counted together: a burst of
      // submissions before a worker takes the first one fills the same room.
      if (queue_.size() + running_ >= max_queued_ + max_concurrent_) {
        return refuse(429, fmt::format("{} backtests running and {} queued: try later", running_,
                                       queue_.size()));
      }
      job->id = id;
      job->submitted = ctx_->clock().now();
      jobs_.push_back(job);
      queue_.push_back(job);
      ++submitted_;
      forget_old();
    }
    cv_.notify_one();
    std::lock_guard lock(mu_);
    return net::Response::json(job_json(*job), 202);
  }

  void work() {
    while (true) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        job = queue_.front();
        queue_.pop_front();
        job->state = State::kRunning;
        job->started = ctx_->clock().now();
        ++running_;
      }
      core::Result<backtest::BacktestReport> report = core::fail(core::ErrorCode::kInternal, "");
      try {
        report = backtest::run_backtest(
            job->spec,
            [&](const backtest::Progress& p) {
              std::lock_guard lock(mu_);
              job->progress = p;
            },
            &job->cancel);
      } catch (const std::exception& e) {  // a bug in an engine fails its job, not the server
        report =
            core::fail(core::ErrorCode::kInternal, fmt::format("the backtest threw: {}", e.what()));
      }
      std::lock_guard lock(mu_);
      --running_;
      if (report) {
        job->report = std::move(report->json);
        job->metrics = std::move(report->metrics);
        job->fills = report->fills;
        job->final_nav = report->final_nav;
        job->wall_s = report->wall_s;
        finish(*job, State::kDone, "");
      } else if (job->cancel) {
        finish(*job, State::kCancelled, "cancelled while running");
      } else {
        finish(*job, State::kFailed, report.error().message);
      }
      job->spec = {};
      forget_old();
    }
  }

  void publish_statuses(core::UnixNanos now) {
    std::vector<model::BacktestStatus> changed;
    {
      std::lock_guard lock(mu_);
      for (auto& j : jobs_) {
        const auto st = status_of(*j, now);
        if (j->published && st.state == j->published->state && st.events == j->published->events) {
          continue;
        }
        j->published = st;
        changed.push_back(st);
      }
    }
    for (const auto& st : changed) {
      (void)publisher_->publish(fmt::format("backtesting.job.{}", st.id.view()), st);
    }
  }

  // Under mu_.
  static model::BacktestStatus status_of(const Job& j, core::UnixNanos now) {
    constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
    const auto metric = [&](const char* k) {
      auto it = j.metrics.find(k);
      return it == j.metrics.end() ? kNaN : it->second;
    };
    const auto& p = j.progress;
    double fraction = j.state == State::kDone ? 1.0 : kNaN;
    if (j.state != State::kDone && p.end > p.start && p.data_time >= p.start) {
      fraction = std::min(
          1.0, static_cast<double>(p.data_time - p.start) / static_cast<double>(p.end - p.start));
    }
    return {.id = *core::FixedString<31>::create(std::string_view(j.id).substr(0, 31)),
            .state = static_cast<model::BacktestState>(j.state),
            .fraction = fraction,
            .events = p.events,
            .fills = j.fills,
            .total_return = metric("cum_returns_final"),
            .sharpe = metric("sharpe_ratio"),
            .max_drawdown = metric("max_drawdown"),
            .ts_event = now};
  }

  // Under mu_.
  void finish(Job& j, State s, std::string error) {
    j.state = s;
    j.error = std::move(error);
    j.finished = ctx_->clock().now();
  }

  // Under mu_: finished jobs beyond max_jobs go, oldest first (their reports with them).
  void forget_old() {
    std::size_t finished = 0;
    for (const auto& j : jobs_) finished += j->state >= State::kDone ? 1 : 0;
    for (auto it = jobs_.begin(); it != jobs_.end() && finished > max_jobs_;) {
      if ((*it)->state >= State::kDone) {
        it = jobs_.erase(it);
        --finished;
      } else {
        ++it;
      }
    }
  }

  Job* find(std::string_view id) {
    for (auto& j : jobs_) {
      if (j->id == id) return j.get();
    }
    return nullptr;
  }
  const Job* find(std::string_view id) const {
    return const_cast<BacktestingEngine*>(this)->find(id);  // NOLINT: same lookup
  }

  net::Response refuse(int status, const std::string& why) {
    refused_.add(why, "POST /backtests");
    return net::Response::error(status, why);
  }
  static net::Response not_found(std::string_view id) {
    return net::Response::error(404, fmt::format("no backtest job '{}'", id));
  }
  static net::Response not_done(const Job& j) {
    return net::Response::error(409, fmt::format("backtest {} is {}{}", j.id, to_string(j.state),
                                                 j.error.empty() ? "" : ": " + j.error));
  }

  // Under mu_.
  static json::object job_json(const Job& j) {
    const auto& p = j.progress;
    json::object progress{
        {"events", p.events},
        {"events_per_s", p.wall_s > 0 ? static_cast<double>(p.events) / p.wall_s : 0.0}};
    progress["data_time"] =
        p.data_time == 0 ? json::value(nullptr) : json::value(core::format_timestamp(p.data_time));
    if (p.end > p.start && p.data_time >= p.start) {
      const double frac = std::min(
          1.0, static_cast<double>(p.data_time - p.start) / static_cast<double>(p.end - p.start));
      progress["fraction"] = frac;
      progress["eta_s"] = frac > 0.001 && j.state == State::kRunning
                              ? json::value(p.wall_s * (1 - frac) / frac)
                              : json::value(nullptr);
    } else {
      progress["fraction"] = j.state == State::kDone ? json::value(1.0) : json::value(nullptr);
    }
    json::object o{{"id", j.id},
                   {"state", to_string(j.state)},
                   {"data",
                    [&] {
                      json::array a;
                      for (const auto& f : j.data) a.emplace_back(f);
                      return a;
                    }()},
                   {"submitted", core::format_timestamp(j.submitted)},
                   {"progress", std::move(progress)}};
    o["started"] =
        j.started == 0 ? json::value(nullptr) : json::value(core::format_timestamp(j.started));
    o["finished"] =
        j.finished == 0 ? json::value(nullptr) : json::value(core::format_timestamp(j.finished));
    if (!j.error.empty()) o["error"] = j.error;
    if (j.state == State::kDone) {
      json::object m;
      for (const auto& [k, v] : j.metrics) m[k] = v;
      o["metrics"] = std::move(m);
      o["fills"] = j.fills;
      o["final_nav"] = j.final_nav;
      o["wall_s"] = j.wall_s;
    }
    return o;
  }

  const engine::EngineInfo& info_ = engine_info();
  engine::EngineContext* ctx_ = nullptr;
  std::size_t max_concurrent_ = 1, max_queued_ = 16, max_jobs_ = 20;
  std::vector<fs::path> roots_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> jobs_;   // submission order
  std::deque<std::shared_ptr<Job>> queue_;  // waiting
  std::size_t running_ = 0;
  std::uint64_t next_id_ = 1;
  std::uint64_t submitted_ = 0;
  bool stopping_ = false;
  engine::Rejections refused_{"backtesting"};
  std::optional<bus::Publisher> publisher_;  // the engine thread's
  std::vector<std::jthread> workers_;        // last: joined first on destruction
};

}  // namespace

const engine::EngineInfo& engine_info() {
  using engine::Setting;
  static const engine::EngineInfo info{
      .name = "backtesting",
      .default_port = 8110,
      .subscribes = {},
      .publishes = {"backtesting.job.*"},
      .description =
          "Backtests as background jobs over REST: submit a config, follow its "
          "progress, fetch its report and tearsheet",
      .settings = {
          Setting::integer("max_concurrent", 1, 1, 64,
                           "Backtests run at once, each on a worker thread of its own"),
          Setting::integer("max_queued", 16, 0, 1024,
                           "Jobs waiting for a worker; a submission beyond them is a 429"),
          Setting::integer("max_jobs", 20, 1, 1000,
                           "Finished jobs kept with their reports (the oldest go first)"),
          Setting::list("data_dirs", {},
                        "Directories a submitted config's data and file settings must be in "
                        "(empty: $NAUTILUS_DATA_DIR, else data/sample); relative data paths "
                        "are relative to the first"),
      }};
  return info;
}

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<BacktestingEngine>(); }

}  // namespace nautilus::backtesting
