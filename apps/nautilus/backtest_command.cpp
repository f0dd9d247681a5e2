// `nautilus backtest --config strategy.toml [--data PATH]... --out DIR`: the engines over
// history on a simulated clock (backtest/backtest.hpp); DIR/report.json and the tearsheet
// DIR/report.html (backtest_report/html.hpp) are written at the end.
// Progress on standard error: a bar redrawn in place on a terminal, a plain line a second
// otherwise (a log, CI), each with events/s and, when the data's end is known, the ETA.
// A config with [grid] or [walk_forward] is a sweep (backtest/sweep.hpp): DIR/summary.json and
// summary.csv ranked by the metric, DIR/runs/<index>/report.json per grid point (the best one's
// report.html too), DIR/folds/<k>/ the walk-forward test runs; the ranking on standard output.
// With --queue redis the sweep's backtests run in `nautilus worker` processes instead
// (sweep_queue/sweep_queue.hpp); everything written is the same.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "nautilus/backtest/backtest.hpp"
#include "nautilus/backtest/sweep.hpp"
#include "nautilus/backtest_report/html.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/sweep_queue/sweep_queue.hpp"

namespace nautilus::app {
namespace {

void print_progress(const backtest::Progress& p, bool tty) {
  const double rate = p.wall_s > 0 ? static_cast<double>(p.events) / p.wall_s : 0;
  const double span = static_cast<double>(p.end - p.start);
  const double frac = p.end > p.start
                          ? std::clamp(static_cast<double>(p.data_time - p.start) / span, 0.0, 1.0)
                          : -1;
  std::string eta;
  if (p.done) {
    eta = "done";
  } else if (frac > 0.001) {
    eta = fmt::format("ETA {:.0f} s", p.wall_s * (1 - frac) / frac);
  }
  const std::string at = core::format_timestamp(p.data_time).substr(0, 19);
  if (tty) {
    constexpr int kWidth = 30;
    const int filled = frac < 0 ? 0 : static_cast<int>(frac * kWidth + 0.5);
    fmt::print(stderr, "\r[{}{}] {:>5} {} {:.2f}M events/s {}   ",
               std::string(static_cast<std::size_t>(filled), '#'),
               std::string(static_cast<std::size_t>(kWidth - filled), '.'),
               frac < 0 ? std::string("?") : fmt::format("{:.0f}%", frac * 100), at, rate / 1e6,
               eta);
    if (p.done) fmt::print(stderr, "\n");
  } else {
    fmt::print(stderr, "nautilus backtest: {} events, data at {}{}, {:.2f}M events/s{}\n", p.events,
               at, frac < 0 ? "" : fmt::format(" ({:.0f}%)", frac * 100), rate / 1e6,
               eta.empty() ? "" : ", " + eta);
  }
  std::fflush(stderr);
}

bool write_file(const std::filesystem::path& path, std::string_view text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  const bool written = f != nullptr && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = f != nullptr && std::fclose(f) == 0;
  return written && closed;
}

std::string params_text(const backtest::SweepSpec& s, const std::vector<std::string>& values) {
  std::string out;
  for (std::size_t a = 0; a < s.grid.size() && a < values.size(); ++a) {
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", s.grid[a].name(), values[a]);
  }
  return out.empty() ? "(the config as written)" : out;
}

std::string score_text(double x) { return std::isfinite(x) ? fmt::format("{:.4g}", x) : "-"; }

// Writes report.json (and, when `html`, report.html) of one run into `dir`.
bool write_report(const std::filesystem::path& dir, const std::string& json, bool html) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!write_file(dir / "report.json", json)) return false;
  return !html || write_file(dir / "report.html", backtest_report::render_report_html(json));
}

// With --queue redis: the sweep's backtests as jobs for `nautilus worker` processes.
std::unique_ptr<sweep_queue::RedisRunner> queue_runner(const BacktestOptions& o,
                                                       const backtest::SweepSpec& spec) {
  auto cfg = load_config(o.bus_config_path, "backtest");
  if (!cfg) return nullptr;
  if (cfg->main.is_cluster()) {
    fmt::print(stderr, "nautilus backtest: {}\n", kQueueNeedsOneServer);
    return nullptr;
  }
  std::ifstream in(o.config_path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    fmt::print(stderr, "nautilus backtest: {}: cannot read the config\n", o.config_path);
    return nullptr;
  }
  sweep_queue::QueueOptions q{.redis = cfg->main};
  q.result_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(o.queue_timeout_s * 1e3));
  return std::make_unique<sweep_queue::RedisRunner>(
      q, text.str(), o.config_path, spec.base.data, [](std::string_view line) {
        fmt::print(stderr, "nautilus backtest: {}\n", line);
        std::fflush(stderr);
      });
}

int run_sweep_command(const BacktestOptions& o, backtest::SweepSpec& spec,
                      const std::filesystem::path& out) {
  if (o.workers >= 0) spec.workers = static_cast<std::size_t>(o.workers);
  std::unique_ptr<sweep_queue::RedisRunner> queue;
  if (o.queue == "redis") {
    queue = queue_runner(o, spec);
    if (!queue) return 2;
  }
  bool write_failed = false;
  auto result = backtest::run_sweep(
      spec,
      [&](const backtest::RunResult& r, const backtest::BacktestReport& report,
          const backtest::RunContext& c) {
        if (report.json.empty() || (c.fold >= 0 && !c.test)) return;  // training runs: scores only
        const auto dir = c.fold >= 0 ? out / "folds" / std::to_string(c.fold)
                                     : out / "runs" / std::to_string(r.index);
        if (!write_report(dir, report.json, c.fold >= 0)) write_failed = true;
      },
      [&](std::size_t done, std::size_t total) {
        fmt::print(stderr, "nautilus backtest: {} of {} backtests done\n", done, total);
        std::fflush(stderr);
      },
      queue ? queue->runner() : backtest::SweepRunner{});
  if (!result) {
    fmt::print(stderr, "nautilus backtest: {}\n", result.error().message);
    return result.error().code == core::ErrorCode::kInvalidArgument ? 2 : 1;
  }
  if (!write_file(out / "summary.json", result->summary_json) ||
      !write_file(out / "summary.csv", result->summary_csv)) {
    fmt::print(stderr, "nautilus backtest: {}: cannot write the summary\n", out.string());
    return 1;
  }
  if (!result->runs.empty() && result->runs[0].error.empty()) {
    // The best point's tearsheet, from the report its run wrote.
    const auto dir = out / "runs" / std::to_string(result->runs[0].index);
    std::ifstream in(dir / "report.json");
    std::stringstream text;
    text << in.rdbuf();
    if (!in || !write_file(dir / "report.html", backtest_report::render_report_html(text.str()))) {
      write_failed = true;
    }
  }
  if (write_failed) {
    fmt::print(stderr, "nautilus backtest: {}: a report could not be written\n", out.string());
    return 1;
  }
  if (spec.walk_forward) {
    fmt::print("{:>4}  {:<23} {:<23} {:>12} {:>12}  {}\n", "fold", "train", "test",
               "train " + spec.metric.substr(0, 6), "test " + spec.metric.substr(0, 6), "chosen");
    for (const auto& f : result->folds) {
      fmt::print(
          "{:>4}  {:<23} {:<23} {:>12} {:>12}  {}\n", f.fold, f.train_from + ".." + f.train_until,
          f.test_from + ".." + f.test_until, score_text(f.train_score),
          score_text(f.test.score(spec.metric)),
          f.test.error.empty() ? params_text(spec, f.test.values) : "failed: " + f.test.error);
    }
  } else {
    fmt::print("{:>4}  {:>12} {:>12} {:>12} {:>8}  {}\n", "rank", spec.metric.substr(0, 12),
               "annual_ret", "max_dd", "fills", "params");
    const std::size_t shown = std::min<std::size_t>(result->runs.size(), 20);
    for (std::size_t i = 0; i < shown; ++i) {
      const auto& r = result->runs[i];
      fmt::print("{:>4}  {:>12} {:>12} {:>12} {:>8}  {}\n", i + 1, score_text(r.score(spec.metric)),
                 score_text(r.score("annual_return")), score_text(r.score("max_drawdown")), r.fills,
                 r.error.empty() ? params_text(spec, r.values) : "failed: " + r.error);
    }
    if (shown < result->runs.size()) {
      fmt::print("  ({} more in summary.csv)\n", result->runs.size() - shown);
    }
  }
  if (queue) {
    const auto st = queue->stats();
    fmt::print(stderr,
               "nautilus backtest: sweep {}: {} jobs queued, {} duplicate and {} unreadable "
               "result(s) ignored\n",
               queue->sweep_id(), st.jobs, st.duplicates, st.malformed);
  }
  fmt::print(stderr, "nautilus backtest: {} backtests in {:.2f} s; {}\n",
             result->runs.size() + result->folds.size() * (spec.points().size() + 1),
             result->wall_s, (out / "summary.json").string());
  return 0;
}

}  // namespace

int run_backtest_command(const BacktestOptions& o) {
  auto sweep = backtest::load_sweep_spec(o.config_path, o.data);
  if (!sweep) {
    fmt::print(stderr, "nautilus backtest: {}\n", sweep.error().message);
    return 2;
  }
  const bool is_sweep = !sweep->grid.empty() || sweep->walk_forward.has_value();
  auto* spec = &sweep->base;
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec || !std::filesystem::is_directory(o.out_dir)) {
    fmt::print(stderr, "nautilus backtest: --out {}: cannot create the directory ({})\n", o.out_dir,
               ec ? ec.message() : "not a directory");
    return 2;
  }
  if (is_sweep) return run_sweep_command(o, *sweep, o.out_dir);
  if (o.queue != "local") {
    fmt::print(stderr,
               "nautilus backtest: --queue {} is for sweeps ([grid] or [walk_forward]); this "
               "config is one backtest\n",
               o.queue);
    return 2;
  }
  const bool tty = ::isatty(STDERR_FILENO) == 1 && !o.plain_progress;
  auto report =
      backtest::run_backtest(*spec, [&](const backtest::Progress& p) { print_progress(p, tty); });
  if (!report) {
    fmt::print(stderr, "nautilus backtest: {}\n", report.error().message);
    return report.error().code == core::ErrorCode::kInvalidArgument ? 2 : 1;
  }
  for (const auto& w : report->warnings) fmt::print(stderr, "nautilus backtest: warning: {}\n", w);
  const auto path = std::filesystem::path(o.out_dir) / "report.json";
  const auto page = std::filesystem::path(o.out_dir) / "report.html";
  const std::string html = backtest_report::render_report_html(report->json);
  for (const auto& [file, text] :
       {std::pair{path, std::string_view(report->json)}, std::pair{page, std::string_view(html)}}) {
    if (!write_file(file, text)) {
      fmt::print(stderr, "nautilus backtest: {}: write failed\n", file.string());
      return 1;
    }
  }
  fmt::print(stderr,
             "nautilus backtest: {} events in {:.2f} s, {} fills over {} days, final NAV {:.2f}, "
             "Sharpe ratio {:.3g}; {}\n",
             report->events, report->wall_s, report->fills, report->days, report->final_nav,
             report->sharpe_ratio, page.string());
  return 0;
}

}  // namespace nautilus::app
