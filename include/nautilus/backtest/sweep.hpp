// Many backtests of one config: a grid over engine settings, run in parallel (one thread per
// worker, each backtest on its own bus, clock and engines, so none sees another), ranked by a
// chosen analytics metric; and walk-forward, where each fold picks the grid's best point on a
// training window of days and is judged on the days after it. Only the metrics of each run
// are kept: its report goes to `on_run` and is dropped, so memory stays flat however many runs.
//
//   auto sweep = backtest::load_sweep_spec("sweep.toml", {});   // [sweep], [grid], [walk_forward]
//   if (!sweep) return sweep.error();                            // names the key and the value
//   auto result = backtest::run_sweep(*sweep, [&](const backtest::RunResult& r,
//                                                 const backtest::BacktestReport& report) {
//     write(out / "runs" / std::to_string(r.index) / "report.json", report.json);
//   });
//   fmt::print("{}", result->summary_json);                      // ranked, docs/BACKTESTING.md
//   // the same sweep run by `nautilus worker` processes: run_sweep(*sweep, on_run, {},
//   //                                                         redis_runner.runner())
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nautilus/backtest/backtest.hpp"

namespace nautilus::backtest {

// One axis of the grid: an engine's setting and the values it takes, as text (parsed by the
// setting's declared type, so "60" is an integer for an integer setting).
struct GridAxis {
  std::string engine;
  std::string key;
  std::vector<std::string> values;
  [[nodiscard]] std::string name() const { return engine + "." + key; }
};

struct WalkForward {
  std::size_t train_days = 0;  // days of data each fold's grid is ranked on
  std::size_t test_days = 0;   // the days after them that judge the chosen point; also the step
};

struct SweepSpec {
  BacktestSpec base;
  std::vector<GridAxis> grid;  // empty: the base alone
  std::string metric = "sharpe_ratio";
  bool minimize = false;    // order = "min": lower is better (e.g. annual_volatility)
  std::size_t workers = 0;  // backtests at once; 0: one per core
  std::optional<WalkForward> walk_forward;
  // The grid's points in order, each one value per axis (the last axis varies fastest).
  [[nodiscard]] std::vector<std::vector<std::string>> points() const;
};

// [sweep] metric, order ("max" or "min"), workers; [grid] <engine>.<key> = [values...] (also
// written [grid.<engine>] key = [...]); [walk_forward] train_days, test_days; with the
// [backtest] and [engines.*] tables of load_spec. Every value of every axis is checked against
// the engine's declaration here, before anything runs; the error names the axis and the value.
[[nodiscard]] core::Result<SweepSpec> load_sweep_spec(const std::string& config_path,
                                                      const std::vector<std::string>& data);
[[nodiscard]] core::Result<SweepSpec> load_sweep_spec_text(std::string_view toml_text,
                                                           std::string_view origin,
                                                           const std::vector<std::string>& data);

struct RunResult {
  std::size_t index = 0;            // in the order of SweepSpec::points (per fold, in walk-forward)
  std::vector<std::string> values;  // one per axis
  std::string window_from, window_until;  // the replay window, "" for the whole data
  std::map<std::string, double> metrics;  // the report's numeric metrics
  std::uint64_t fills = 0;
  std::uint64_t events = 0;
  double final_nav = 0;
  double wall_s = 0;
  std::string error;  // a run that failed: why (its metrics are empty)
  core::ErrorCode error_code = core::ErrorCode::kInternal;  // and its kind
  // The chosen metric, NaN when the run failed or its report has no such number.
  [[nodiscard]] double score(const std::string& metric) const;
};

struct FoldResult {
  std::size_t fold = 0;
  std::string train_from, train_until, test_from, test_until;  // [from, until), UTC
  std::size_t best_index = 0;  // the grid point chosen on the training days
  double train_score = 0;
  std::vector<double> train_scores;  // every grid point's, in grid order
  RunResult test;                    // that point over the test days
};

struct SweepResult {
  std::vector<RunResult> runs;  // the grid over the whole data, best first (walk-forward: empty)
  std::vector<FoldResult> folds;
  std::string
      summary_json;  // ends in a newline; no wall times, so the same sweep gives the same bytes
  std::string summary_csv;  // one row per run (or fold), ranked
  double wall_s = 0;
};

// Called once per finished backtest, from the thread that ran it (serialised: one at a time).
// `fold` is the walk-forward fold, -1 for a grid run over the whole data; `test` says whether
// the run was a fold's test. The report is dropped when it returns. A runner may leave a
// walk-forward training run's report empty (the queue does not send those back; their
// metrics are in the RunResult): SweepTask::wants_report says which reports come.
struct RunContext {
  int fold = -1;
  bool test = false;
};
using RunFn =
    std::function<void(const RunResult&, const BacktestReport&, const RunContext& context)>;
using SweepProgressFn = std::function<void(std::size_t done, std::size_t total)>;

// One backtest of a sweep, as a runner sees it: the base config with `settings` applied (the
// grid point's, then the walk-forward window's marketdata.replay_from / replay_until). Enough
// to rebuild the backtest elsewhere from the config's text (sweep_queue/ sends it to workers).
struct SweepSetting {
  std::string engine, key, value;
};
struct SweepTask {
  std::vector<SweepSetting> settings;
  RunResult result;  // index, values and window set; the run fills in the rest
  RunContext context;
  // Whether on_run looks at its report (a walk-forward training run is scored only).
  [[nodiscard]] bool wants_report() const { return context.fold < 0 || context.test; }
};
// The backtest of a task: the sweep's base with the task's settings.
[[nodiscard]] BacktestSpec task_spec(const SweepSpec& spec, const SweepTask& task);
// Runs a task's backtest on this thread and records it in task.result: the report's figures,
// or its error (an engine that throws is a failed run, not a crash). Returns the report.
core::Result<BacktestReport> run_task(const SweepSpec& spec, SweepTask& task,
                                      const std::atomic<bool>* cancel = nullptr);
// A finished report's figures into a result (what run_task records), or the failure's message.
void record_report(RunResult& r, const core::Result<BacktestReport>& report);

// Runs a batch of tasks to the end, each result filled in, calling `done` once per task, one
// call at a time, with its report (an empty one for a failed run). The default runs them on
// spec.workers threads here; sweep_queue::RedisRunner hands them to `nautilus worker`
// processes. An error fails the whole sweep (the queue's Redis lost, no worker answering).
using TaskDone = std::function<void(SweepTask& task, const BacktestReport& report)>;
using SweepRunner = std::function<core::Result<void>(
    const SweepSpec& spec, const std::vector<SweepTask*>& tasks, const TaskDone& done)>;

// Runs the grid (or the walk-forward folds) to the end. Errors: kInvalidArgument when the
// walk-forward windows do not fit the data's days; a backtest that fails is a RunResult with
// its error, not a failed sweep, unless every one fails (then the first one's error). A fold
// whose every training run failed is not tested: its test run carries that error.
// `runner` (optional) runs the backtests instead of this process's threads.
[[nodiscard]] core::Result<SweepResult> run_sweep(const SweepSpec& spec, const RunFn& on_run = {},
                                                  const SweepProgressFn& progress = {},
                                                  const SweepRunner& runner = {});

// The UTC dates (midnight) on which the files have records, in order: walk-forward's days.
// Streams the files once.
[[nodiscard]] core::Result<std::vector<core::UnixNanos>> data_days(
    const std::vector<std::string>& files);

}  // namespace nautilus::backtest
