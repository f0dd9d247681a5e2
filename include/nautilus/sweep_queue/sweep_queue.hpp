// A sweep's backtests on a Redis stream, for `nautilus worker` processes on any machine: the
// submitter (`nautilus backtest --queue redis`) puts one job per backtest on the jobs stream,
// workers take them through one consumer group and write each result to the sweep's results
// stream, and the submitter ranks what comes back exactly as a local sweep would (the same
// summary bytes). A worker that dies mid-job loses nothing: while it runs a job it keeps
// claiming it (XCLAIM every claim_idle / 4); once it stops, another worker's XAUTOCLAIM takes
// the job after claim_idle and runs it again from the start. Results are de-duplicated by job
// id, so a job run twice (a worker that stalled, then woke) counts once. docs/BACKTESTING.md,
// "Sweeps across machines", has the streams and fields.
//
//   sweep_queue::QueueOptions q{.redis = cfg->main};
//   sweep_queue::RedisRunner runner(q, config_text, config_path, spec.base.data);
//   auto result = backtest::run_sweep(spec, on_run, progress, runner.runner());
//
//   // on each worker machine (the same data files at the same paths):
//   std::atomic<bool> stop{false};
//   auto stats = sweep_queue::run_worker({.queue = q, .name = "host-a"}, stop);
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nautilus/backtest/sweep.hpp"
#include "nautilus/config/bus_config.hpp"
#include "nautilus/core/error.hpp"

namespace nautilus::sweep_queue {

struct QueueOptions {
  config::RedisEndpoint redis;                   // the platform's main Redis (REDIS_HOST/PORT)
  std::string stream = "nautilus:sweep:jobs";    // the jobs; results go to <stream>:results:<id>
  std::string group = "nautilus-workers";        // the workers' consumer group
  std::chrono::milliseconds claim_idle{30'000};  // a job unclaimed this long is a dead worker's
  std::size_t max_attempts = 3;  // deliveries before a job is failed (it kills its workers)
  // Submitter: fail the sweep when no result came for this long (0: wait for ever).
  std::chrono::milliseconds result_timeout{0};
};

// One job on the stream (field "d", JSON): everything a worker needs to rebuild the backtest.
struct Job {
  std::string id;                 // <sweep>/<batch>.<n>, unique in the sweep
  std::string sweep;              // the sweep's id
  std::string results;            // the stream the result goes to
  std::string config;             // the config's TOML text
  std::string origin;             // the config's path, for messages
  std::vector<std::string> data;  // absolute paths: the same files on every worker
  std::vector<backtest::SweepSetting> settings;
  bool report = false;  // send the report's JSON back too
};
[[nodiscard]] std::string encode_job(const Job& job);
// Errors (kDecode) name the field that is missing or of the wrong type.
[[nodiscard]] core::Result<Job> decode_job(std::string_view json);

// One result (field "r", JSON; the report's JSON, when asked for, in field "report"). Doubles
// travel as their shortest round-trip text, so the submitter ranks the very numbers the worker
// computed.
struct Result {
  std::string job;
  std::string worker;  // the consumer that ran it
  std::uint64_t attempt = 1;
  backtest::RunResult run;  // metrics, fills, events, final_nav, wall_s, error, error_code
};
[[nodiscard]] std::string encode_result(const Result& r);
[[nodiscard]] core::Result<Result> decode_result(std::string_view json);

// What a submitter saw, for its closing line.
struct SubmitStats {
  std::uint64_t jobs = 0;
  std::uint64_t duplicates = 0;  // results of a job already answered (ignored)
  std::uint64_t malformed = 0;   // results that could not be read (ignored, each logged)
};

// The submitter's side. One per sweep: its id names the results stream and the liveness key
// (<stream>:live:<id>, refreshed while it waits, so workers drop the jobs of a sweep whose
// submitter is gone). The destructor removes what the sweep left in Redis.
class RedisRunner {
 public:
  using LogFn = std::function<void(std::string_view line)>;
  RedisRunner(QueueOptions options, std::string config_text, std::string origin,
              std::vector<std::string> data, LogFn log = {});
  ~RedisRunner();
  RedisRunner(const RedisRunner&) = delete;
  RedisRunner& operator=(const RedisRunner&) = delete;

  // For backtest::run_sweep; it refers to this object.
  [[nodiscard]] backtest::SweepRunner runner();
  [[nodiscard]] const std::string& sweep_id() const noexcept;
  [[nodiscard]] SubmitStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct WorkerStats {
  std::uint64_t jobs = 0;          // results written
  std::uint64_t failed = 0;        // of them, backtests that failed (the result says why)
  std::uint64_t claimed = 0;       // jobs taken over from a worker that stopped
  std::uint64_t malformed = 0;     // jobs that could not be read (acknowledged, logged)
  std::uint64_t abandoned = 0;     // jobs of a sweep whose submitter is gone (dropped)
  std::uint64_t given_up = 0;      // jobs past max_attempts (failed with that reason)
  std::uint64_t taken_over = 0;    // jobs another worker claimed while this one stalled
  std::uint64_t redis_errors = 0;  // connection losses ridden out
};

struct WorkerOptions {
  QueueOptions queue;
  std::string name;                                // consumer name; empty: <host>-<pid>
  std::size_t max_jobs = 0;                        // exit after this many (0: no limit)
  std::chrono::milliseconds idle_exit{0};          // exit after this long with no job (0: never)
  std::function<void(std::string_view line)> log;  // progress and errors, one line each
  // The counts so far and whether Redis answers, after every job and every empty poll (at
  // least once a second while connected): what `nautilus worker --port` serves.
  std::function<void(const WorkerStats& stats, bool redis_connected)> progress;
};

// Takes jobs until `stop` (checked at least every second; a running backtest is cancelled and
// its job handed back at once, idle, for another worker), max_jobs or idle_exit. Redis going
// away is waited out with backoff, not an error; an error is returned only for options that
// cannot work (e.g. an empty stream name).
[[nodiscard]] core::Result<WorkerStats> run_worker(const WorkerOptions& options,
                                                   const std::atomic<bool>& stop);

}  // namespace nautilus::sweep_queue
