// nautilus: the platform's one binary (run, engine, sample, bench, status, replay, compute,
// backtest, worker).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "commands.hpp"
#include "nautilus/bus/codec.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Nautilus: an event-driven trading platform on an in-process or Redis Streams bus"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "nautilus 0.1.0");

  // `run` and `engine` host engines the same way; they differ in which engines and the group.
  const auto add_host_options = [](CLI::App* cmd, nautilus::app::RunOptions& o) {
    cmd->add_option("--duration", o.duration_s, "Seconds to run, 0 = until interrupted")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--status-interval", o.status_interval_s, "Seconds between status lines")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--config", o.config_path,
                    "TOML configuration (overrides the MESSAGEBUS_*/REDIS_* environment)");
    cmd->add_option("--bus", o.bus, "inprocess (default) or redis (the dual Redis bus)")
        ->check(CLI::IsMember({"inprocess", "redis"}));
    cmd->add_option("--group", o.group, "With --bus redis: consumer group");
    cmd->add_option("--set", o.sets, "Engine setting <engine>.<key>=<value> (repeatable)");
    cmd->add_option("--speed", o.speed,
                    "Sample replay speed: 1 real time, N times faster, 0 as fast as possible")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--bind", o.bind, "HTTP bind address (default 127.0.0.1)");
    cmd->add_option("--port-offset", o.port_offset, "Added to every engine's port")
        ->check(CLI::Range(-65535, 65535));  // each resulting port is checked too
    cmd->add_option("--http-threads", o.http_threads, "HTTP threads per engine")
        ->check(CLI::Range(1, 64));
  };
  nautilus::app::RunOptions run;
  auto* run_cmd = app.add_subcommand(
      "run", "Every engine in one process, replaying the bundled sample data (Ctrl-C drains)");
  add_host_options(run_cmd, run);
  run_cmd->add_option("--engines", run.engines, "Only these engines (default: all)")
      ->delimiter(',');
  run_cmd->add_flag("--deterministic", run.deterministic,
                    "One thread on a simulated clock: the same data gives the same messages");
  run_cmd->add_option("--record", run.record_path,
                      "With --deterministic: write every bus message to FILE as JSON lines "
                      "('-': standard output)");
  run_cmd->add_option("--until", run.until,
                      "With --deterministic: stop at this simulated time (2026-01-05T15:00:00Z)");

  nautilus::app::RunOptions one;
  one.command = "engine";
  one.engines.emplace_back();
  auto* engine_cmd = app.add_subcommand("engine", "One engine in this process");
  engine_cmd->add_option("name", one.engines.front(), "Engine name, e.g. marketdata")->required();
  add_host_options(engine_cmd, one);
  engine_cmd->add_option("--port", one.port, "HTTP port instead of the engine's default");

  auto* engines_cmd = app.add_subcommand("engines", "List the engines of this build and ports");
  bool engine_settings = false;
  engines_cmd->add_flag("--settings", engine_settings,
                        "Each engine's settings: type, default, range, meaning (Markdown)");

  auto* messages_cmd = app.add_subcommand(
      "messages", "The message types of the wire format and their fields (a Markdown table)");

  nautilus::app::SampleOptions sample;
  auto* sample_cmd =
      app.add_subcommand("sample",
                         "Write the bundled sample data with the synthetic generator, or "
                         "(--universe) the daily research universe");
  sample_cmd->add_option("--out", sample.out_dir,
                         "Directory (default data/sample; data/universe with --universe)");
  sample_cmd->add_option("--seed", sample.seed, "Generator seed (default 42)");
  sample_cmd->add_option("--days", sample.days,
                         "Trading days (default 21, at most 260; with --universe 756, at most "
                         "10000)");
  auto* sample_universe = sample_cmd->add_flag(
      "--universe", sample.universe,
      "The daily research universe of a factor model with its ground truth, not the minute "
      "sample (docs/MARKET_DATA.md)");
  sample_cmd->add_option("--symbols", sample.symbols, "With --universe: symbols (default 500)")
      ->needs(sample_universe);

  nautilus::app::StatusOptions status;
  auto* status_cmd =
      app.add_subcommand("status", "List the engines registered in the main Redis (discovery)");
  status_cmd->add_option("--config", status.config_path, "TOML configuration");

  nautilus::app::BenchOptions bench;
  auto* bench_cmd = app.add_subcommand("bench", "Run benchmark suites against their anchors");
  bench_cmd
      ->add_option("suite", bench.suite,
                   "Suite: bus | codec | redis | http | signals | marketdata | models | loop | "
                   "backtest | websocket | all")
      ->required()
      ->check(CLI::IsMember({"bus", "codec", "redis", "http", "signals", "marketdata", "models",
                             "loop", "backtest", "websocket", "all"}));
  bench_cmd->add_flag("--json", bench.json, "One JSON object per line");
  bench_cmd->add_option("--runs", bench.runs, "Repetitions; medians are reported")
      ->check(CLI::Range(1, 101));
  bench_cmd->add_flag("--quick", bench.quick, "Smaller workloads (smoke test)");
  bench_cmd->add_option("--only", bench.only,
                        "Only the figures whose name starts with this (e.g. redis.latency)");

  nautilus::app::ComputeOptions compute;
  auto* compute_cmd = app.add_subcommand(
      "compute", "Run an engine's own algorithm over files (research, comparing with other tools)");
  compute_cmd->require_subcommand(1);
  auto* compute_features = compute_cmd->add_subcommand(
      "features", "The features engine's indicators over a bar file, a row per bar");
  compute_features->add_option("--bars", compute.bars, "Bar CSV (plain or .gz)")->required();
  compute_features->add_option("--out", compute.out, "Output CSV ('-': standard output)")
      ->required();
  compute_features->add_option("--period", compute.periods,
                               "A features setting NAME=VALUE, e.g. rsi_period=9 (repeatable)");
  // Options vpin and enhanced-vpin share.
  const auto add_vpin_options = [&compute](CLI::App* cmd) {
    cmd->add_option("--trades", compute.trades, "Trade CSV: ts,symbol,price,size,side[,trade_id]")
        ->required();
    cmd->add_option("--out", compute.out, "Output CSV ('-': standard output)")->required();
    cmd->add_option("--bar-seconds", compute.bar_seconds, "Time bar length (default 60)")
        ->check(CLI::Range(1, 86400));
    cmd->add_option("--buckets-per-day", compute.buckets_per_day,
                    "Buckets an average day fills: V = ADV / this (default 50)")
        ->check(CLI::Range(1, 100000));
    cmd->add_option("--bucket-volume", compute.bucket_volume,
                    "V for every symbol instead of the one from the file's volume")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--cdf", compute.cdf,
                    "F in V_B = V*F(dP/sigma) for bars: normal or student-t (default: vpin "
                    "normal, enhanced-vpin --classify bvc student-t)")
        ->check(CLI::IsMember({"normal", "student-t"}));
    cmd->add_option("--df", compute.df, "Student-t degrees of freedom (default 0.25)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--vpin-cdf", compute.vpin_cdf,
                    "VPIN's own CDF: empirical (default) or lognormal")
        ->check(CLI::IsMember({"empirical", "lognormal"}));
    cmd->add_option("--cdf-history", compute.cdf_history,
                    "VPIN values the CDF is estimated from (default 1000; 0: all, slow)");
    cmd->add_option("--cdf-min-history", compute.cdf_min_history,
                    "VPIN values before a CDF is given (default 50)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--threshold", compute.threshold, "Alert level of the CDF (default 0.9)")
        ->check(CLI::Range(1e-9, 1.0));
  };
  auto* compute_vpin = compute_cmd->add_subcommand(
      "vpin", "BVC-VPIN over a trade file as ELO (2012) do it: V and sigma from the whole file");
  compute_vpin->footer(
      "Writes symbol,bucket,ts,vpin,cdf: every bucket of a symbol in order, the symbols in the "
      "order they first appear in the file. V = the symbol's volume / its UTC dates / "
      "--buckets-per-day unless --bucket-volume; vpin is empty for the first --window - 1 "
      "buckets.");
  add_vpin_options(compute_vpin);
  compute_vpin->add_option("--window", compute.window, "n, the buckets VPIN averages (default 50)")
      ->check(CLI::Range(1, 100000));
  compute_vpin
      ->add_option("--dp", compute.dp,
                   "dP: close (close to close, default) or within (close - open)")
      ->check(CLI::IsMember({"close", "within"}));
  compute_vpin
      ->add_option("--sigma", compute.sigma,
                   "sample: the whole file's sigma of dP (default); rolling: the last "
                   "--sigma-window bars'")
      ->check(CLI::IsMember({"sample", "rolling"}));
  compute_vpin
      ->add_option("--sigma-window", compute.sigma_window,
                   "With --sigma rolling: bars (default 1950)")
      ->check(CLI::Range(2, 100000000));
  auto* compute_enhanced = compute_cmd->add_subcommand(
      "enhanced-vpin", "Enhanced VPIN over a trade file: trade classification, several horizons");
  compute_enhanced->footer(
      "Writes symbol,bucket,ts,vpin<h>...,cdf,bucket_volume in the order buckets complete, "
      "across symbols. V starts at --bucket-volume, or the symbol's first UTC date's volume / "
      "--buckets-per-day, then follows the ADV of the last --adv-days dates.");
  add_vpin_options(compute_enhanced);
  compute_enhanced->add_option("--quotes", compute.quotes,
                               "Quote CSV ts,symbol,bid,ask,bid_size,ask_size for Lee-Ready "
                               "(--classify auto, lee-ready)");
  compute_enhanced
      ->add_option("--classify", compute.classify,
                   "auto (aggressor side, else Lee-Ready, else tick; default), aggressor, tick, "
                   "lee-ready or bvc")
      ->check(CLI::IsMember({"auto", "aggressor", "tick", "lee-ready", "bvc"}));
  compute_enhanced->add_option(
      "--horizons", compute.horizons,
      "VPIN windows in buckets, a comma list (default 10,50,250); the CDF is of 50 if listed, "
      "else of the first");
  compute_enhanced
      ->add_option("--adv-days", compute.adv_days,
                   "Completed dates in the ADV the bucket size follows (default 20)")
      ->check(CLI::Range(1, 10000));

  auto* compute_toraniko = compute_cmd->add_subcommand(
      "toraniko", "The toraniko factor model over a universe file: factor and residual returns");
  compute_toraniko->footer(
      "IN: date,symbol,return,market_cap,sector[,book_price,sales_price,cf_price][,mom,sze,val]"
      "\n(styles computed from the ratios and returns, or given as mom,sze,val). DIR gets\n"
      "factor_returns.csv (date,market,<sectors>,<styles>) and residuals.csv "
      "(date,symbol,residual).");
  compute_toraniko->add_option("--universe", compute.universe, "Universe CSV (plain or .gz)")
      ->required();
  compute_toraniko->add_option("--out", compute.out, "Output directory (created if missing)")
      ->required();
  compute_toraniko
      ->add_option("--winsor", compute.winsor,
                   "Returns clipped to this percentile and its complement (default 0.05; 0: off)")
      ->check(CLI::Range(0.0, 0.5));
  compute_toraniko->add_flag("--no-residualize", compute.no_residualize,
                             "Fit the styles on the returns, not on the sector residuals");
  compute_toraniko
      ->add_option("--sectors", compute.sectors,
                   "The only sectors allowed, comma-separated (default: the file's)")
      ->delimiter(',');

  auto* compute_factor = compute_cmd->add_subcommand(
      "factor", "The factor engine's style exposures over daily bars and reference data");
  compute_factor->footer(
      "OUT: date,symbol,momentum,value,size,volatility,liquidity: per symbol and date, each "
      "style\nwinsorized and standardized across that date's symbols (empty: not defined yet).");
  compute_factor->add_option("--bars", compute.bars, "Daily bar CSV (plain or .gz)")->required();
  compute_factor
      ->add_option("--reference", compute.reference,
                   "Point-in-time reference CSV: shares outstanding, book value (plain or .gz)")
      ->required();
  compute_factor->add_option("--out", compute.out, "Output CSV ('-': standard output)")->required();
  compute_factor
      ->add_option("--winsor", compute.factor_winsor,
                   "Raw styles clipped to this percentile and its complement (default 0.01)")
      ->check(CLI::Range(0.0, 0.49));
  compute_factor->add_flag("--raw", compute.raw, "Write the raw styles, not the exposures");

  auto* compute_ml = compute_cmd->add_subcommand(
      "ml", "The ml engine's walk-forward forecasts (or an XGBoost model's) over a feature table");
  compute_ml->footer(
      "IN: ts,symbol,<features> (e.g. what compute features writes). Per symbol, in time "
      "order, the\ntarget of the row taken at bar k is the sum of the --returns of bars "
      "k+1..k+horizon (logistic:\nwhether it is > 0), trained on from bar k+horizon on. OUT: "
      "ts,symbol,value,probability,target\n(value: the forecast x.w+b, or the XGBoost "
      "output; empty before a first model).");
  compute_ml->add_option("--train", compute.train, "Feature table CSV (plain or .gz)")->required();
  compute_ml->add_option("--model", compute.model, "ridge, logistic or xgboost:FILE (.json, .ubj)")
      ->required();
  compute_ml->add_option("--out", compute.out, "Output CSV ('-': standard output)")->required();
  compute_ml
      ->add_option("--features", compute.ml_features,
                   "Feature columns in the model's order, comma-separated (default: every "
                   "column but ts and symbol)")
      ->delimiter(',');
  compute_ml->add_option("--returns", compute.returns_column,
                         "The column of each bar's log return, for the targets (default "
                         "log_return)");
  compute_ml->add_option("--report", compute.report,
                         "JSON file: per symbol, out-of-sample metrics and the last model");
  compute_ml->add_option("--horizon", compute.horizon, "Bars ahead (default 5)")
      ->check(CLI::Range(1, 10000));
  compute_ml->add_option("--window", compute.ml_window, "Known samples trained on (default 500)")
      ->check(CLI::Range(2, 1000000));
  compute_ml
      ->add_option("--min-train", compute.min_train,
                   "Known samples before a first model (default 100)")
      ->check(CLI::Range(2, 1000000));
  compute_ml
      ->add_option("--retrain-every", compute.retrain_every,
                   "Known samples between trainings (default 50)")
      ->check(CLI::Range(1, 1000000));
  compute_ml->add_option("--alpha", compute.alpha, "Ridge penalty (default 1)")
      ->check(CLI::Range(0.0, 1e300));
  compute_ml->add_option("--c", compute.c, "Logistic inverse penalty, scikit-learn's C (default 1)")
      ->check(CLI::Range(1e-12, 1e300));

  nautilus::app::AnalyticsOptions analytics;
  auto* compute_analytics = compute_cmd->add_subcommand(
      "analytics", "Performance metrics of daily returns (empyrical's, QuantStats'), as JSON");
  compute_analytics->footer(
      "IN: date,return (YYYY-MM-DD, simple daily returns; an empty cell is a missing day). OUT:\n"
      "one JSON object, keys named after empyrical's functions (sharpe_ratio, max_drawdown, "
      "alpha, ...).");
  compute_analytics->add_option("--returns", analytics.returns, "Returns CSV (plain or .gz)")
      ->required();
  compute_analytics->add_option("--benchmark", analytics.benchmark,
                                "Benchmark returns CSV, the same form (alpha, beta, ...)");
  compute_analytics->add_option("--out", analytics.out, "Output JSON ('-': standard output)")
      ->required();
  compute_analytics->add_option("--risk-free", analytics.risk_free,
                                "Risk-free return per day (default 0)");
  compute_analytics
      ->add_option("--annualization", analytics.annualization, "Days a year (default 252)")
      ->check(CLI::PositiveNumber);

  nautilus::app::BacktestOptions backtest;
  auto* backtest_cmd = app.add_subcommand(
      "backtest", "The engines over history on a simulated clock; a report of what they did");
  backtest_cmd->footer(
      "CONFIG: [backtest] data, engines, benchmark, chart_symbol, rolling_window, and\n"
      "[engines.<name>] settings as `nautilus run --config` reads them; with [grid] (and\n"
      "[sweep], [walk_forward]) a sweep: a backtest per point, ranked (docs/BACKTESTING.md).");
  backtest_cmd->add_option("--config", backtest.config_path, "Backtest TOML")->required();
  backtest_cmd->add_option("--data", backtest.data,
                           "CSV files or directories to replay (instead of the config's)");
  backtest_cmd->add_option("--out", backtest.out_dir, "Directory for report.json")->required();
  backtest_cmd->add_flag("--plain-progress", backtest.plain_progress,
                         "Progress as plain lines even on a terminal");
  backtest_cmd
      ->add_option("--workers", backtest.workers,
                   "A sweep's backtests at once (instead of sweep.workers; 0: one per core)")
      ->check(CLI::Range(0, 256));
  backtest_cmd
      ->add_option("--queue", backtest.queue,
                   "A sweep's backtests: here (local), or as jobs on the main Redis (REDIS_HOST, "
                   "REDIS_PORT) for `nautilus worker` processes (redis)")
      ->check(CLI::IsMember({"local", "redis"}));
  backtest_cmd
      ->add_option("--queue-timeout", backtest.queue_timeout_s,
                   "With --queue redis: fail when no result came for this many seconds "
                   "(0: wait for ever)")
      ->check(CLI::Range(0.0, 1e7));
  backtest_cmd->add_option("--bus-config", backtest.bus_config_path,
                           "With --queue redis: TOML with the Redis settings ([redis])");

  nautilus::app::WorkerOptions worker;
  auto* worker_cmd = app.add_subcommand(
      "worker", "Run sweep backtests queued by `nautilus backtest --queue redis`, on any machine");
  worker_cmd->footer(
      "The jobs name their data files by absolute path: every worker needs the same files at\n"
      "the same paths (a shared or copied directory). docs/BACKTESTING.md, \"Sweeps across\n"
      "machines\".");
  worker_cmd->add_option("--threads", worker.threads, "Backtests at once (default 1)")
      ->check(CLI::Range(1, 256));
  worker_cmd->add_option("--name", worker.name, "Consumer name (default <host>-<pid>)");
  worker_cmd
      ->add_option("--claim-idle", worker.claim_idle_s,
                   "Seconds without a renewed claim after which a job is taken from a worker "
                   "that stopped (default 30)")
      ->check(CLI::Range(0.1, 86400.0));
  worker_cmd
      ->add_option("--max-attempts", worker.max_attempts,
                   "Deliveries before a job is failed as one that kills its workers "
                   "(default 3)")
      ->check(CLI::Range(1, 1000));
  worker_cmd->add_option("--max-jobs", worker.max_jobs, "Exit after this many (0: no limit)");
  worker_cmd
      ->add_option("--idle-exit", worker.idle_exit_s,
                   "Exit after this many seconds with no job (0: never)")
      ->check(CLI::Range(0.0, 1e7));
  worker_cmd->add_option("--config", worker.config_path, "TOML with the Redis settings");
  worker_cmd->add_option("--port", worker.port,
                         "Serve /health and /metrics on this port (default: none)");
  worker_cmd->add_option("--bind", worker.bind, "Their bind address (default 127.0.0.1)");

  nautilus::app::ReplayOptions replay;
  auto* replay_cmd = app.add_subcommand("replay", "Re-read a range of a bus's streams");
  replay_cmd->add_option("--bus", replay.bus, "logic or marketdata")
      ->check(CLI::IsMember({"logic", "marketdata"}));
  replay_cmd
      ->add_option("--from", replay.from, "Stream id, '-', or ISO time (2026-11-24T09:30:00Z)")
      ->required();
  replay_cmd->add_option("--to", replay.to, "Stream id, '+', or ISO time");
  replay_cmd->add_option("--topic", replay.topic, "Topic pattern, e.g. 'risk.*'");
  replay_cmd->add_flag("--republish", replay.republish, "Publish the messages again");
  replay_cmd->add_option("--limit", replay.limit, "Print at most this many");
  replay_cmd->add_option("--config", replay.config_path, "TOML configuration");

  // CLI11 reports an unknown command only as "a subcommand is required"; name it instead.
  const auto known =
      app.get_subcommands([&](CLI::App* sub) { return argc > 1 && sub->check_name(argv[1]); });
  if (argc > 1 && argv[1][0] != '-' && known.empty()) {
    std::fprintf(stderr,
                 "nautilus: unknown command '%s' (commands: run, engine, engines, messages, "
                 "sample, bench, status, replay, compute, backtest, worker; see --help)\n",
                 argv[1]);
    return 2;
  }
  CLI11_PARSE(app, argc, argv);
  // The commands report every error they foresee as a message and an exit status. This is the
  // last line for the ones they do not (an allocation a huge option asked for): a message,
  // never an abort.
  try {
    if (run_cmd->parsed()) return nautilus::app::run_platform(run);
    if (engine_cmd->parsed()) return nautilus::app::run_platform(one);
    if (sample_cmd->parsed()) return nautilus::app::write_sample_data(sample);
    if (engines_cmd->parsed()) return nautilus::app::list_engines(engine_settings);
    if (messages_cmd->parsed()) {
      std::fputs(nautilus::bus::codec::wire_types_markdown().c_str(), stdout);
      return 0;
    }
    if (bench_cmd->parsed()) return nautilus::app::run_bench(bench);
    if (status_cmd->parsed()) return nautilus::app::show_status(status);
    if (replay_cmd->parsed()) return nautilus::app::run_replay(replay);
    if (backtest_cmd->parsed()) return nautilus::app::run_backtest_command(backtest);
    if (worker_cmd->parsed()) return nautilus::app::run_worker_command(worker);
    if (compute_features->parsed()) return nautilus::app::compute_features(compute);
    if (compute_vpin->parsed()) return nautilus::app::compute_vpin(compute);
    if (compute_enhanced->parsed()) return nautilus::app::compute_enhanced_vpin(compute);
    if (compute_toraniko->parsed()) return nautilus::app::compute_toraniko(compute);
    if (compute_factor->parsed()) return nautilus::app::compute_factor(compute);
    if (compute_ml->parsed()) return nautilus::app::compute_ml(compute);
    if (compute_analytics->parsed()) return nautilus::app::compute_analytics(analytics);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nautilus %s: %s\n", argv[1], e.what());
    return 1;
  }
  return 1;
}
