// nautilus: the platform's one binary (run, bench; later engine, status, replay, backtest).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Nautilus: an event-driven trading platform on an in-process or Redis Streams bus"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "nautilus 0.1.0");

  nautilus::app::RunOptions run;
  auto* run_cmd = app.add_subcommand(
      "run", "Start the platform on the in-process bus (today: the bus host; Ctrl-C stops)");
  run_cmd->add_option("--duration", run.duration_s, "Seconds to run, 0 = until interrupted")
      ->check(CLI::NonNegativeNumber);
  run_cmd->add_option("--status-interval", run.status_interval_s, "Seconds between status lines")
      ->check(CLI::PositiveNumber);
  run_cmd->add_option("--config", run.config_path,
                      "TOML configuration (overrides the MESSAGEBUS_*/REDIS_* environment)");
  run_cmd->add_option("--bus", run.bus, "inprocess (default) or redis (the dual Redis bus)")
      ->check(CLI::IsMember({"inprocess", "redis"}));
  run_cmd->add_option("--group", run.group, "With --bus redis: consumer group / registry name");

  nautilus::app::StatusOptions status;
  auto* status_cmd =
      app.add_subcommand("status", "List the engines registered in the main Redis (discovery)");
  status_cmd->add_option("--config", status.config_path, "TOML configuration");

  nautilus::app::BenchOptions bench;
  auto* bench_cmd = app.add_subcommand("bench", "Run benchmark suites against their anchors");
  bench_cmd->add_option("suite", bench.suite, "Suite: bus | redis | all")
      ->required()
      ->check(CLI::IsMember({"bus", "redis", "all"}));
  bench_cmd->add_flag("--json", bench.json, "One JSON object per line");
  bench_cmd->add_option("--runs", bench.runs, "Repetitions; medians are reported")
      ->check(CLI::Range(1, 101));
  bench_cmd->add_flag("--quick", bench.quick, "Smaller workloads (smoke test)");

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
    std::fprintf(
        stderr,
        "nautilus: unknown command '%s' (commands: run, bench, status, replay; see --help)\n",
        argv[1]);
    return 2;
  }
  CLI11_PARSE(app, argc, argv);
  if (run_cmd->parsed()) return nautilus::app::run_platform(run);
  if (bench_cmd->parsed()) return nautilus::app::run_bench(bench);
  if (status_cmd->parsed()) return nautilus::app::show_status(status);
  if (replay_cmd->parsed()) return nautilus::app::run_replay(replay);
  return 1;
}
