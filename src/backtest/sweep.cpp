// Sweeps and walk-forward (sweep.hpp): a config's grid expanded into backtests, run by a pool of
// worker threads (each backtest its own bus, clock and engines: run_backtest shares nothing),
// ranked by a metric; walk-forward windows set through the hub's replay_from / replay_until.
#include "nautilus/backtest/sweep.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <set>
#include <thread>

#include "nautilus/config/bus_config.hpp"
#include "nautilus/core/json.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/engine/settings.hpp"
#include "nautilus/engines/analytics/metrics.hpp"
#include "nautilus/engines/analytics/metrics_json.hpp"
#include "nautilus/engines/registry.hpp"
#include "nautilus/marketdata/csv.hpp"
#include "spec.hpp"

namespace nautilus::backtest {
namespace {

namespace json = boost::json;
using core::ErrorCode;
constexpr core::UnixNanos kDay = 86'400'000'000'000;
constexpr std::size_t kMaxPoints = 10'000;

std::unexpected<core::Error> bad(std::string_view origin, std::string_view key,
                                 std::string_view why) {
  return std::unexpected(
      core::Error{ErrorCode::kInvalidArgument, fmt::format("{}: {}: {}", origin, key, why)});
}

// The report's metric names (analytics::to_json of an empty set: every key it writes).
const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& [key, value] : analytics::to_json(analytics::Metrics{})) {
      if (value.is_number() || value.is_null()) out.emplace_back(key);
    }
    return out;
  }();
  return names;
}

json::value num(double x) { return std::isfinite(x) ? json::value(x) : json::value(nullptr); }

std::string date_of(core::UnixNanos t) { return core::format_timestamp(t).substr(0, 10); }

template <class T>
const T* find_as(const std::map<std::string, core::SettingValue>& t, const std::string& key) {
  const auto it = t.find(key);
  return it == t.end() ? nullptr : std::get_if<T>(&it->second);
}

// The default runner: every task on `workers` threads here; `done` one call at a time.
core::Result<void> run_local(const SweepSpec& spec, const std::vector<SweepTask*>& tasks,
                             const TaskDone& done) {
  const std::size_t workers =
      spec.workers != 0 ? spec.workers : std::max(1U, std::thread::hardware_concurrency());
  std::atomic<std::size_t> next{0};
  std::mutex mu;
  const auto work = [&] {
    for (std::size_t i = next++; i < tasks.size(); i = next++) {
      SweepTask& task = *tasks[i];
      const auto report = run_task(spec, task);
      std::lock_guard lock(mu);
      done(task, report ? *report : BacktestReport{});
    }
  };
  const std::size_t n = std::max<std::size_t>(1, std::min(workers, tasks.size()));
  std::vector<std::jthread> threads;
  for (std::size_t t = 1; t < n; ++t) threads.emplace_back(work);
  work();  // this thread is a worker too
  return {};
}

// Runs every task through the runner; on_run and progress are called one at a time. A task
// whose result already has an error (a fold with no training result) is not run.
core::Result<void> run_tasks(const SweepSpec& spec, std::vector<SweepTask>& tasks,
                             const SweepRunner& runner, const RunFn& on_run,
                             const SweepProgressFn& progress, std::size_t& done,
                             std::size_t total) {
  const auto finished = [&](SweepTask& task, const BacktestReport& report) {
    if (on_run) {
      try {
        on_run(task.result, report, task.context);
      } catch (const std::exception& e) {
        task.result.error = fmt::format("writing its report: {}", e.what());
      }
    }
    ++done;
    if (progress) progress(done, total);
  };
  std::vector<SweepTask*> runnable;
  for (auto& t : tasks) {
    if (t.result.error.empty()) {
      runnable.push_back(&t);
    } else {  // nothing ran: no on_run
      ++done;
      if (progress) progress(done, total);
    }
  }
  if (runnable.empty()) return {};
  return runner ? runner(spec, runnable, finished) : run_local(spec, runnable, finished);
}

// Best first: by score (NaN last), then by index, so equal scores keep the grid's order.
void rank(std::vector<RunResult>& runs, const std::string& metric, bool minimize) {
  std::stable_sort(runs.begin(), runs.end(), [&](const RunResult& a, const RunResult& b) {
    const double x = a.score(metric);
    const double y = b.score(metric);
    if (std::isnan(x) != std::isnan(y)) return std::isnan(y);
    if (std::isnan(x) || x == y) return a.index < b.index;
    return minimize ? x < y : x > y;
  });
}

std::vector<SweepSetting> point_settings(const SweepSpec& s,
                                         const std::vector<std::string>& values) {
  std::vector<SweepSetting> out;
  for (std::size_t a = 0; a < s.grid.size(); ++a) {
    out.push_back({.engine = s.grid[a].engine, .key = s.grid[a].key, .value = values[a]});
  }
  return out;
}

void add_window(std::vector<SweepSetting>& settings, core::UnixNanos from, core::UnixNanos until) {
  settings.push_back(
      {.engine = "marketdata", .key = "replay_from", .value = core::format_timestamp(from)});
  settings.push_back(
      {.engine = "marketdata", .key = "replay_until", .value = core::format_timestamp(until)});
}

json::object params_json(const SweepSpec& s, const std::vector<std::string>& values) {
  json::object o;
  for (std::size_t a = 0; a < s.grid.size() && a < values.size(); ++a) {
    o[s.grid[a].name()] = values[a];
  }
  return o;
}

json::object run_json(const SweepSpec& s, const RunResult& r) {
  json::object metrics;
  for (const auto& [k, v] : r.metrics) metrics[k] = num(v);
  json::object o{{"index", r.index},
                 {"params", params_json(s, r.values)},
                 {"score", num(r.score(s.metric))},
                 {"fills", r.fills},
                 {"events", r.events},
                 {"final_nav", num(r.final_nav)},
                 {"metrics", std::move(metrics)}};
  if (!r.window_from.empty()) {
    o["window"] = json::array{json::value(r.window_from), json::value(r.window_until)};
  }
  if (!r.error.empty()) o["error"] = r.error;
  return o;
}

std::string csv_number(double x) { return std::isfinite(x) ? fmt::format("{}", x) : ""; }

// A cell as CSV writes it: quoted when it holds a comma, a quote or a line break.
std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

// The first run's error when every run failed (its code: 2 for a config, 1 for a bad row).
std::optional<core::Error> all_failed(const std::vector<RunResult>& runs) {
  if (runs.empty() ||
      std::any_of(runs.begin(), runs.end(), [](const RunResult& r) { return r.error.empty(); })) {
    return std::nullopt;
  }
  const auto first = std::min_element(
      runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  return core::Error{first->error_code,
                     fmt::format("every backtest failed; the first: {}", first->error)};
}

const std::vector<std::string> kCsvMetrics = {"sharpe_ratio", "annual_return", "max_drawdown",
                                              "annual_volatility"};

}  // namespace

BacktestSpec task_spec(const SweepSpec& spec, const SweepTask& task) {
  BacktestSpec out = spec.base;
  for (const auto& s : task.settings) out.configs[s.engine].set(s.key, s.value);
  return out;
}

void record_report(RunResult& r, const core::Result<BacktestReport>& report) {
  if (report) {
    r.metrics = report->metrics;
    r.fills = report->fills;
    r.events = report->events;
    r.final_nav = report->final_nav;
    r.wall_s = report->wall_s;
  } else {
    r.error = report.error().message;
    r.error_code = report.error().code;
  }
}

core::Result<BacktestReport> run_task(const SweepSpec& spec, SweepTask& task,
                                      const std::atomic<bool>* cancel) {
  core::Result<BacktestReport> report = core::fail(ErrorCode::kInternal, "");
  try {
    report = run_backtest(task_spec(spec, task), {}, cancel);
  } catch (const std::exception& e) {  // a bug in an engine fails its run, not the sweep
    report = core::fail(ErrorCode::kInternal, fmt::format("the backtest threw: {}", e.what()));
  }
  record_report(task.result, report);
  return report;
}

double RunResult::score(const std::string& metric) const {
  const auto it = metrics.find(metric);
  return it == metrics.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
}

std::vector<std::vector<std::string>> SweepSpec::points() const {
  std::vector<std::vector<std::string>> out(1);
  for (const auto& axis : grid) {
    std::vector<std::vector<std::string>> next;
    next.reserve(out.size() * axis.values.size());
    for (const auto& p : out) {
      for (const auto& v : axis.values) {
        next.push_back(p);
        next.back().push_back(v);
      }
    }
    out = std::move(next);
  }
  return out;
}

core::Result<SweepSpec> load_sweep_spec_text(std::string_view toml_text, std::string_view origin,
                                             const std::vector<std::string>& data) {
  NAUTILUS_TRY(tables, config::load_engine_tables_text(
                           toml_text, origin, {"backtest", "sweep", "grid", "walk_forward"}));
  NAUTILUS_TRY(base, detail::spec_from_tables(tables, origin, data));
  SweepSpec out;
  out.base = std::move(base);

  const auto& sw = tables.tables["sweep"];
  for (const auto& [key, value] : sw) {
    if (key != "metric" && key != "order" && key != "workers") {
      return bad(origin, "sweep." + key, "unknown key (allowed: metric, order, workers)");
    }
  }
  if (sw.contains("metric")) {
    const auto* m = find_as<std::string>(sw, "metric");
    if (m == nullptr) return bad(origin, "sweep.metric", "must be a string (a metric's name)");
    const auto& names = metric_names();
    if (std::find(names.begin(), names.end(), *m) == names.end()) {
      std::string have;
      for (const auto& n : names) have += (have.empty() ? "" : ", ") + n;
      return bad(origin, "sweep.metric", fmt::format("'{}' is not a metric (have: {})", *m, have));
    }
    out.metric = *m;
  }
  if (sw.contains("order")) {
    const auto* o = find_as<std::string>(sw, "order");
    if (o == nullptr || (*o != "max" && *o != "min")) {
      return bad(origin, "sweep.order", "must be \"max\" (higher is better) or \"min\"");
    }
    out.minimize = *o == "min";
  }
  if (sw.contains("workers")) {
    const auto* w = find_as<std::int64_t>(sw, "workers");
    if (w == nullptr || *w < 0 || *w > 256) {
      return bad(origin, "sweep.workers", "must be an integer from 0 (one per core) to 256");
    }
    out.workers = static_cast<std::size_t>(*w);
  }

  std::size_t points = 1;
  for (const auto& [name, value] : tables.tables["grid"]) {
    const std::string where = "grid." + name;
    const auto dot = name.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == name.size()) {
      return bad(origin, where, "must name <engine>.<setting>, e.g. strategy.lookback");
    }
    GridAxis axis{.engine = name.substr(0, dot), .key = name.substr(dot + 1), .values = {}};
    if (std::find(out.base.engines.begin(), out.base.engines.end(), axis.engine) ==
        out.base.engines.end()) {
      return bad(origin, where, fmt::format("'{}' is not among the engines", axis.engine));
    }
    if (const auto* l = std::get_if<std::vector<std::string>>(&value)) {
      axis.values = *l;
    } else {
      return bad(origin, where, "must be an array of the values to try");
    }
    if (axis.values.empty()) return bad(origin, where, "has no values");
    const auto* e = engines::find_engine(axis.engine);
    for (const auto& v : axis.values) {
      engine::EngineConfig c = out.base.configs[axis.engine];
      c.set(axis.key, v);
      if (auto ok = engine::resolve_settings(axis.engine, e->info().settings, c); !ok) {
        return bad(origin, where, fmt::format("value '{}': {}", v, ok.error().message));
      }
    }
    points *= axis.values.size();
    if (points > kMaxPoints) {
      return bad(origin, "grid", fmt::format("more than {} points", kMaxPoints));
    }
    out.grid.push_back(std::move(axis));
  }

  if (tables.tables.contains("walk_forward")) {
    const auto& wf = tables.tables["walk_forward"];
    WalkForward w;
    for (const auto& [key, value] : wf) {
      if (key != "train_days" && key != "test_days") {
        return bad(origin, "walk_forward." + key, "unknown key (allowed: train_days, test_days)");
      }
      const auto* n = std::get_if<std::int64_t>(&value);
      if (n == nullptr || *n < 1 || *n > 100'000) {
        return bad(origin, "walk_forward." + key, "must be an integer from 1 (days)");
      }
      (key == "train_days" ? w.train_days : w.test_days) = static_cast<std::size_t>(*n);
    }
    if (w.train_days == 0 || w.test_days == 0) {
      return bad(origin, "walk_forward", "needs train_days and test_days");
    }
    if (out.base.data.empty()) {
      return bad(origin, "walk_forward",
                 "needs data files (--data or [backtest] data): its windows are their days");
    }
    out.walk_forward = w;
  }
  return out;
}

core::Result<SweepSpec> load_sweep_spec(const std::string& config_path,
                                        const std::vector<std::string>& data) {
  NAUTILUS_TRY(text, detail::read_config(config_path));
  return load_sweep_spec_text(text, config_path, data);
}

core::Result<std::vector<core::UnixNanos>> data_days(const std::vector<std::string>& files) {
  std::set<core::UnixNanos> days;
  for (const auto& f : files) {
    NAUTILUS_TRY(reader, marketdata::CsvReader::open(f));
    while (true) {
      auto rec = reader.next();
      if (!rec) return std::unexpected(rec.error());
      if (!*rec) break;
      const core::UnixNanos ts = marketdata::record_ts(**rec);  // NOLINT: checked above
      days.insert(ts - ts % kDay);
    }
  }
  return std::vector<core::UnixNanos>(days.begin(), days.end());
}

core::Result<SweepResult> run_sweep(const SweepSpec& spec, const RunFn& on_run,
                                    const SweepProgressFn& progress, const SweepRunner& runner) {
  const auto wall0 = std::chrono::steady_clock::now();
  const auto points = spec.points();
  SweepResult out;
  std::size_t done = 0;
  json::object summary{{"version", 1},
                       {"config", spec.base.config_path},
                       {"metric", spec.metric},
                       {"order", spec.minimize ? "min" : "max"}};
  json::array axes;
  for (const auto& a : spec.grid) axes.emplace_back(a.name());
  summary["axes"] = std::move(axes);
  summary["points"] = points.size();
  std::string header;
  for (const auto& a : spec.grid) header += "," + csv_cell(a.name());

  if (!spec.walk_forward) {
    std::vector<SweepTask> jobs;
    for (std::size_t i = 0; i < points.size(); ++i) {
      jobs.push_back({.settings = point_settings(spec, points[i]),
                      .result = {.index = i, .values = points[i]},
                      .context = {}});
    }
    if (auto ran = run_tasks(spec, jobs, runner, on_run, progress, done, jobs.size()); !ran)
      return std::unexpected(ran.error());
    for (auto& j : jobs) out.runs.push_back(std::move(j.result));
    if (auto all = all_failed(out.runs)) return std::unexpected(*all);
    rank(out.runs, spec.metric, spec.minimize);
    json::array runs;
    std::string csv = "rank,index" + header + ",score";
    for (const auto& m : kCsvMetrics) csv += "," + m;
    csv += ",fills,final_nav,error\n";
    for (std::size_t r = 0; r < out.runs.size(); ++r) {
      const auto& run = out.runs[r];
      auto o = run_json(spec, run);
      o["rank"] = r + 1;
      runs.push_back(std::move(o));
      csv += fmt::format("{},{}", r + 1, run.index);
      for (const auto& v : run.values) csv += "," + csv_cell(v);
      csv += "," + csv_number(run.score(spec.metric));
      for (const auto& m : kCsvMetrics) csv += "," + csv_number(run.score(m));
      csv += fmt::format(",{},{},{}\n", run.fills, csv_number(run.final_nav), csv_cell(run.error));
    }
    summary["runs"] = std::move(runs);
    summary["walk_forward"] = nullptr;
    out.summary_csv = std::move(csv);
  } else {
    const auto& wf = *spec.walk_forward;
    NAUTILUS_TRY(days, data_days(spec.base.data));
    if (days.size() < wf.train_days + wf.test_days) {
      return core::fail(ErrorCode::kInvalidArgument,
                        fmt::format("walk_forward: the data has {} days, fewer than train_days + "
                                    "test_days = {}",
                                    days.size(), wf.train_days + wf.test_days));
    }
    const auto day_at = [&](std::size_t i) {
      return i < days.size() ? days[i] : days.back() + kDay;
    };
    const std::size_t folds = (days.size() - wf.train_days) / wf.test_days;
    const std::size_t total = folds * (points.size() + 1);
    // Every fold's training grid at once (the pool stays full), then every fold's test.
    std::vector<SweepTask> train;
    for (std::size_t k = 0; k < folds; ++k) {
      const core::UnixNanos from = day_at(k * wf.test_days);
      const core::UnixNanos until = day_at(k * wf.test_days + wf.train_days);
      for (std::size_t i = 0; i < points.size(); ++i) {
        SweepTask j{.settings = point_settings(spec, points[i]),
                    .result = {.index = i,
                               .values = points[i],
                               .window_from = date_of(from),
                               .window_until = date_of(until)},
                    .context = {.fold = static_cast<int>(k), .test = false}};
        add_window(j.settings, from, until);
        train.push_back(std::move(j));
      }
    }
    if (auto ran = run_tasks(spec, train, runner, on_run, progress, done, total); !ran)
      return std::unexpected(ran.error());
    std::vector<SweepTask> test;
    for (std::size_t k = 0; k < folds; ++k) {
      std::vector<RunResult> fold_runs;
      for (std::size_t i = 0; i < points.size(); ++i) {
        fold_runs.push_back(train[k * points.size() + i].result);
      }
      FoldResult f;
      for (const auto& r : fold_runs) f.train_scores.push_back(r.score(spec.metric));
      const auto untrained = all_failed(fold_runs);
      rank(fold_runs, spec.metric, spec.minimize);
      f.fold = k;
      f.train_from = fold_runs[0].window_from;
      f.train_until = fold_runs[0].window_until;
      f.best_index = fold_runs[0].index;
      f.train_score = fold_runs[0].score(spec.metric);
      const core::UnixNanos from = day_at(k * wf.test_days + wf.train_days);
      const core::UnixNanos until = day_at((k + 1) * wf.test_days + wf.train_days);
      f.test_from = date_of(from);
      f.test_until = date_of(until);
      SweepTask j{.settings = point_settings(spec, points[f.best_index]),
                  .result = {.index = f.best_index,
                             .values = points[f.best_index],
                             .window_from = f.test_from,
                             .window_until = f.test_until},
                  .context = {.fold = static_cast<int>(k), .test = true}};
      add_window(j.settings, from, until);
      if (untrained) {
        j.result.error = "not tested: every training run failed; the first: " + untrained->message;
        j.result.error_code = untrained->code;
      }
      test.push_back(std::move(j));
      out.folds.push_back(std::move(f));
    }
    if (auto ran = run_tasks(spec, test, runner, on_run, progress, done, total); !ran)
      return std::unexpected(ran.error());
    {
      std::vector<RunResult> tests;
      for (const auto& j : test) tests.push_back(j.result);
      if (auto all = all_failed(tests)) return std::unexpected(*all);
    }
    json::array folds_json;
    std::string csv = "fold,train_from,train_until,test_from,test_until,best_index" + header +
                      ",train_score,test_score";
    for (const auto& m : kCsvMetrics) csv += ",test_" + m;
    csv += ",test_fills,test_error\n";
    double sum = 0;
    std::size_t scored = 0;
    for (std::size_t k = 0; k < out.folds.size(); ++k) {
      auto& f = out.folds[k];
      f.test = std::move(test[k].result);
      const double s = f.test.score(spec.metric);
      if (std::isfinite(s)) {
        sum += s;
        ++scored;
      }
      folds_json.push_back(json::object{
          {"fold", k},
          {"train", json::array{json::value(f.train_from), json::value(f.train_until)}},
          {"test", json::array{json::value(f.test_from), json::value(f.test_until)}},
          {"best_index", f.best_index},
          {"params", params_json(spec, f.test.values)},
          {"train_score", num(f.train_score)},
          {"train_scores",
           [&] {
             json::array a;
             for (const double x : f.train_scores) a.push_back(num(x));
             return a;
           }()},
          {"test_score", num(s)},
          {"test_run", run_json(spec, f.test)}});
      csv += fmt::format("{},{},{},{},{},{}", k, f.train_from, f.train_until, f.test_from,
                         f.test_until, f.best_index);
      for (const auto& v : f.test.values) csv += "," + csv_cell(v);
      csv += "," + csv_number(f.train_score) + "," + csv_number(s);
      for (const auto& m : kCsvMetrics) csv += "," + csv_number(f.test.score(m));
      csv += fmt::format(",{},{}\n", f.test.fills, csv_cell(f.test.error));
    }
    summary["runs"] = json::array{};
    summary["walk_forward"] =
        json::object{{"train_days", wf.train_days},
                     {"test_days", wf.test_days},
                     {"days", days.size()},
                     {"folds", std::move(folds_json)},
                     {"mean_test_score",
                      scored == 0 ? json::value(nullptr) : num(sum / static_cast<double>(scored))}};
    out.summary_csv = std::move(csv);
  }
  out.summary_json = core::to_json_text(summary) + "\n";
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return out;
}

}  // namespace nautilus::backtest
