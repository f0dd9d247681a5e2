// The `nautilus` subcommands, one function each; main.cpp only parses arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nautilus/config/bus_config.hpp"
#include "nautilus/engine/host.hpp"

namespace nautilus::app {

// The environment plus an optional TOML file; on error prints
// "nautilus <command>: configuration error: ..." and returns nothing (exit 2).
std::optional<config::BusConfig> load_config(const std::string& path, const char* command);

// The sweep queue's streams, groups and multi-key commands are written for one server.
inline constexpr const char* kQueueNeedsOneServer =
    "the sweep queue needs the main Redis to be one server ([redis.main] host and port), not a "
    "cluster: give `nautilus backtest --bus-config` and `nautilus worker --config` a file whose "
    "[redis.main] is one server";

struct RunOptions {
  double duration_s = 0;             // 0: until SIGINT/SIGTERM
  double status_interval_s = 10;     // how often a status line is printed
  std::string config_path;           // TOML; empty: environment and defaults only
  std::string bus = "inprocess";     // "inprocess" or "redis" (the dual Redis bus)
  std::string group;                 // with --bus redis: consumer group; default: "nautilus" for
                                     // `run`, the engine's name for `engine`
  std::vector<std::string> engines;  // empty: every engine of the build
  std::vector<std::string> sets;     // "<engine>.<key>=<value>" engine settings
  std::optional<double> speed;       // shortcut for marketdata.speed
  std::string bind = "127.0.0.1";
  int port_offset = 0;                // added to every default port
  std::optional<std::uint16_t> port;  // `engine` only: this port instead of the default
  std::size_t http_threads = 1;
  std::string command = "run";  // "run" or "engine" (for messages)
  bool deterministic = false;   // one thread, a simulated clock (deterministic_run.cpp)
  std::string record_path;      // with deterministic: every bus message as JSON lines; "-" stdout
  std::string until;            // with deterministic: stop at this simulated time (ISO-8601)
};
// `nautilus run` (every engine) and `nautilus engine <name>` (one): hosts the engines with
// their HTTP endpoints until SIGINT/SIGTERM or --duration, then drains and exits 0.
int run_platform(const RunOptions& o);

// The deterministic form of run_platform: the engines on one thread on a simulated clock.
int run_deterministic(const RunOptions& o, std::vector<std::unique_ptr<engine::Engine>> engines,
                      engine::HostOptions host_options);

struct SampleOptions {
  std::string out_dir;  // empty: data/sample, or data/universe with `universe`
  std::uint64_t seed = 42;
  std::optional<int> days;  // empty: 21, or 756 with `universe`
  bool universe = false;    // the daily research universe (universe.hpp), not the minute sample
  int symbols = 500;        // with `universe`
};
// One line per engine of this build: "<name> <default port> <description>"; with `settings`,
// each engine's declared settings as a Markdown table instead.
int list_engines(bool settings);

// Writes the bundled sample data with the synthetic generator, or the research universe.
int write_sample_data(const SampleOptions& o);

struct StatusOptions {
  std::string config_path;
};
// Lists the engines registered in the main Redis.
int show_status(const StatusOptions& o);

struct ReplayOptions {
  std::string config_path;
  std::string bus = "logic";  // "logic" or "marketdata"
  std::string from;           // stream id, "-", or ISO-8601 UTC time
  std::string to = "+";
  std::string topic = "*";  // pattern
  bool republish = false;   // write the messages to the stream again instead of printing
  std::size_t limit = 0;    // 0 = all
};
// Re-reads a range of a bus's streams: JSON lines, or re-published.
int run_replay(const ReplayOptions& o);

struct BenchOptions {
  std::string suite;  // "bus" or "all"
  bool json = false;
  std::size_t runs = 5;
  bool quick = false;
  std::string only;  // figure-name prefix
};
int run_bench(const BenchOptions& o);

// `nautilus compute <engine>`: an engine's own algorithm over files (compute_*.cpp).
struct ComputeOptions {
  std::string bars;    // features: the bar file
  std::string trades;  // vpin, enhanced-vpin: the trade file
  std::string quotes;  // enhanced-vpin: quotes for Lee-Ready (optional)
  std::string out = "-";
  std::vector<std::string> periods;  // features: NAME=VALUE (the engine's period settings)
  // vpin and enhanced-vpin
  std::uint32_t bar_seconds = 60;
  std::size_t buckets_per_day = 50;
  std::size_t window = 50;
  std::string dp = "close";      // within | close
  std::string sigma = "sample";  // sample | rolling
  std::size_t sigma_window = 0;  // rolling: bars (0: the algorithm's default)
  std::string cdf;               // normal | student-t; empty: the algorithm's default
  double df = 0.25;
  std::string vpin_cdf = "empirical";  // empirical | lognormal
  double threshold = 0.9;
  std::optional<std::size_t> cdf_history;      // VPIN values the CDF uses (0: all); default 1000
  std::optional<std::size_t> cdf_min_history;  // values before a CDF is given; default 50
  std::optional<double> bucket_volume;         // V; default: ELO's, from the file itself
  std::string classify = "auto";  // enhanced-vpin: auto | aggressor | tick | lee-ready | bvc
  std::string horizons;           // enhanced-vpin: VPIN windows in buckets, "10,50,250"
  std::size_t adv_days = 0;       // enhanced-vpin: rolling ADV days (0: default)
  // toraniko
  std::string universe;              // the long table (universe_csv.hpp)
  double winsor = 0.05;              // 0: returns not winsorized
  bool no_residualize = false;       // styles on the returns, not the sector residuals
  std::vector<std::string> sectors;  // the only sectors allowed (empty: the file's)
  // factor
  std::string reference;        // point-in-time reference CSV (reference.hpp)
  double factor_winsor = 0.01;  // raw styles clipped before standardizing
  bool raw = false;             // write the raw styles instead
  // ml
  std::string train;                     // the feature table
  std::string model;                     // ridge | logistic | xgboost:FILE
  std::vector<std::string> ml_features;  // empty: every column but ts and symbol
  std::string returns_column = "log_return";
  std::string report;  // per-symbol metrics and final models (JSON); empty: none
  std::size_t horizon = 5;
  std::size_t ml_window = 500;
  std::size_t min_train = 100;
  std::size_t retrain_every = 50;
  double alpha = 1.0;
  double c = 1.0;
};
int compute_features(const ComputeOptions& o);
int compute_vpin(const ComputeOptions& o);
int compute_enhanced_vpin(const ComputeOptions& o);
int compute_toraniko(const ComputeOptions& o);
int compute_factor(const ComputeOptions& o);
int compute_ml(const ComputeOptions& o);

// `nautilus compute analytics`: performance metrics of a returns file (compute_analytics.cpp).
struct AnalyticsOptions {
  std::string returns;    // date,return CSV (returns_csv.hpp)
  std::string benchmark;  // the same form, lined up on the returns' dates; empty: none
  std::string out = "-";  // one JSON object
  double risk_free = 0;   // per day
  double annualization = 252;
};
int compute_analytics(const AnalyticsOptions& o);

struct BacktestOptions {
  std::string config_path;        // TOML: [backtest] and [engines.<name>]
  std::vector<std::string> data;  // files or directories; empty: the config's
  std::string out_dir;            // report.json is written here
  bool plain_progress = false;    // plain lines even on a terminal
  int workers = -1;               // a sweep's parallel backtests; -1: the config's
  std::string queue = "local";    // "redis": a sweep's backtests as jobs for `nautilus worker`
  double queue_timeout_s = 0;     // with redis: fail after this long with no result (0: never)
  std::string bus_config_path;    // with redis: the Redis settings' TOML (else the environment)
};
// `nautilus backtest`: exit 0 with the report written, 2 for a bad config or data path, 1 when
// the run fails (a bad row in the data, named by file, line and column). A config with [grid]
// or [walk_forward] is a sweep: summary.json and summary.csv, and a report per run.
int run_backtest_command(const BacktestOptions& o);

struct WorkerOptions {
  std::string config_path;  // the Redis settings' TOML; empty: the environment
  std::string name;         // consumer name; empty: <host>-<pid>
  std::size_t threads = 1;  // backtests at once (consumers <name>-1, -2, ... when more than one)
  double claim_idle_s = 30;
  std::size_t max_attempts = 3;
  std::size_t max_jobs = 0;  // per thread; 0: no limit
  double idle_exit_s = 0;
  std::uint16_t port = 0;  // /health and /metrics; 0: no HTTP server
  std::string bind = "127.0.0.1";
};
// `nautilus worker`: takes queued sweep backtests from the main Redis until SIGINT/SIGTERM (a
// running backtest is cancelled and its job handed back), --max-jobs or --idle-exit; exit 0.
int run_worker_command(const WorkerOptions& o);

}  // namespace nautilus::app
