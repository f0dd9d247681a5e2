#include "backtest_suite.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../common/process.hpp"
#include "../common/python_anchor.hpp"
#include "nautilus/backtest/backtest.hpp"
#include "nautilus/backtest/sweep.hpp"
#include "nautilus/core/time.hpp"

namespace nautilus::bench {
namespace {

namespace fs = std::filesystem;

constexpr int kLookback = 20;
constexpr double kEntryZ = 2.0;
constexpr double kExitZ = 0.5;
constexpr double kNotional = 20'000;
constexpr double kFeeBps = 0.5;

// Minute bars of random walks, 390 a day per symbol, in time order; returns the bar count.
std::size_t write_bars(const fs::path& path, std::size_t symbols, std::size_t days) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return 0;
  std::fputs("ts,symbol,open,high,low,close,volume\n", f);
  std::mt19937_64 rng(7);
  std::normal_distribution<double> step(0, 0.0008);
  std::vector<double> price(symbols);
  for (std::size_t s = 0; s < symbols; ++s) price[s] = 50 + static_cast<double>(s % 50) * 4;
  const core::UnixNanos day0 = *core::parse_timestamp("2025-01-06T14:31:00Z");
  std::size_t n = 0;
  for (std::size_t d = 0; d < days; ++d) {
    // Weekdays only: five days a week from a Monday.
    const core::UnixNanos open =
        day0 + static_cast<core::UnixNanos>((d / 5) * 7 + d % 5) * 86'400'000'000'000;
    for (int m = 0; m < 390; ++m) {
      const std::string ts =
          core::format_timestamp(open + static_cast<core::UnixNanos>(m) * 60'000'000'000);
      for (std::size_t s = 0; s < symbols; ++s) {
        const double o = price[s];
        const double c = std::max(1.0, o * (1 + step(rng)));
        price[s] = c;
        std::fprintf(f, "%s,S%03zu,%.2f,%.2f,%.2f,%.2f,%d\n", ts.c_str(), s, o,
                     std::max(o, c) + 0.01, std::min(o, c) - 0.01, c, 100 + m);
        ++n;
      }
    }
  }
  std::fclose(f);
  return n;
}

// No limits in the way: the figures are the loop's cost, not how many orders the gate denies.
constexpr std::string_view kNoLimits = R"(
[engines.risk]
max_order_notional = 0
max_order_quantity = 0
max_position = 0
max_gross_exposure = 0
max_net_exposure = 0
orders_per_s = 1e7
)";

std::string config(const fs::path& bars) {
  return fmt::format(R"([backtest]
data = "{}"
engines = ["marketdata", "features", "strategy", "risk", "portfolio"]

[engines.strategy]
strategy = "mean_reversion"
lookback = {}
entry_z = {}
exit_z = {}
notional = {}
{}
[engines.portfolio]
# As the anchor trades: at the next bar's close, whole, no slippage.
initial_cash = 1e9
fee_bps = {}
slippage_bps = 0
latency_ms = 0
participation = 1
)",
                     bars.string(), kLookback, kEntryZ, kExitZ, kNotional, kNoLimits, kFeeBps);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void run_backtest_suite(const SuiteOptions& o) {
  const fs::path dir =
      fs::temp_directory_path() / ("nautilus-bench-backtest-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::size_t symbols = o.quick ? 10 : 100;
  const std::size_t days = o.quick ? 2 : 10;
  const fs::path bars = dir / "bars.csv";
  const std::size_t n = write_bars(bars, symbols, days);
  const std::string origin = (dir / "bench.toml").string();
  auto spec = backtest::load_spec_text(config(bars), origin, {});
  if (n == 0 || !spec) {
    fmt::print(stderr, "bench backtest: {}\n",
               spec ? "cannot write the bars" : spec.error().message);
    fs::remove_all(dir);
    return;
  }
  const std::size_t runs = std::max<std::size_t>(o.runs, 1);

  if (o.wants("backtest.bars_per_s") || o.wants("backtest.ratio_vs_numpy")) {
    std::vector<double> rates;
    double fills = 0;
    double pnl = 0;
    for (std::size_t r = 0; r < runs; ++r) {
      auto report = backtest::run_backtest(*spec);
      if (!report) {
        fmt::print(stderr, "bench backtest: {}\n", report.error().message);
        fs::remove_all(dir);
        return;
      }
      rates.push_back(static_cast<double>(n) / report->wall_s);
      fills = static_cast<double>(report->fills);
      pnl = report->final_nav - 1e9;
    }
    std::sort(rates.begin(), rates.end());
    const double ours = rates[rates.size() / 2];
    const auto anchor =
        run_python_anchor("bench/backtest/ma_pandas.py",
                          fmt::format("{} {} {} {} {} {} --runs {}", bars.string(), kLookback,
                                      kEntryZ, kExitZ, kNotional, kFeeBps, runs),
                          "bench backtest");
    std::optional<double> anchor_rate;
    if (anchor) anchor_rate = static_cast<double>(n) / anchor->at("seconds").to_number<double>();
    // The two P&Ls differ: the engine holds what filled (risk, whole units per order), the
    // anchor what it intended; they are printed so that a gross disagreement shows.
    const std::string note = fmt::format(
        "{} bars ({} symbols x {} days), {:.0f} fills; marketdata, features, strategy "
        "(mean_reversion), risk, portfolio on one thread; P&L {:.0f}, the anchor's {}",
        n, symbols, days, fills, pnl,
        anchor ? fmt::format("{:.0f}", anchor->at("pnl").to_number<double>()) : "-");
    print({.bench = "backtest.bars_per_s",
           .value = ours,
           .unit = "bars/s",
           .anchor = "pandas_numpy_vectorized",
           .anchor_value = anchor_rate,
           .runs = runs,
           .note = note},
          o.json);
    if (anchor_rate) {
      print({.bench = "backtest.ratio_vs_numpy",
             .value = ours / *anchor_rate,
             .unit = "x",
             .anchor = "pandas_numpy_vectorized",
             .anchor_value = *anchor_rate,
             .runs = runs,
             .note = "backtest.bars_per_s over the pandas/numpy backtest's bars per second",
             .ratio = ours / *anchor_rate},
            o.json);
    }
  }

  if (o.wants("backtest.sweep_scaling")) {
    auto sweep = backtest::load_sweep_spec_text(
        config(bars) + "\n[grid]\nstrategy.lookback = [10, 20, 30, 40]\n", origin, {});
    if (sweep) {
      const auto timed = [&](std::size_t workers) {
        sweep->workers = workers;
        const auto t0 = std::chrono::steady_clock::now();
        auto r = backtest::run_sweep(*sweep);
        return r ? seconds_since(t0) : NAN;
      };
      std::vector<double> ratios;
      double one = 0, two = 0;
      for (std::size_t r = 0; r < std::min<std::size_t>(runs, 3); ++r) {
        one = timed(1);
        two = timed(2);
        ratios.push_back(one / two);
      }
      std::sort(ratios.begin(), ratios.end());
      print({.bench = "backtest.sweep_scaling",
             .value = ratios[ratios.size() / 2],
             .unit = "x",
             .anchor = "one_worker_seconds",
             .anchor_value = one,
             .runs = ratios.size(),
             .note = fmt::format("4 backtests of {} bars: {:.2f} s on one worker, {:.2f} s on "
                                 "two ({} cores)",
                                 n, one, two, std::thread::hardware_concurrency()),
             .ratio = ratios[ratios.size() / 2]},
            o.json);
    } else {
      fmt::print(stderr, "bench backtest: {}\n", sweep.error().message);
    }
  }

  if (o.wants("backtest.rss_mb")) {
    // A year of minute bars for 500 symbols (49M bars, 2.5 GB of CSV) through `nautilus
    // backtest` in a child process: its peak resident set. The strategy trades rarely (momentum,
    // 2 % over 60 bars), so the figure is the streaming's, not a fill list's.
    const std::size_t big_symbols = o.quick ? 20 : 500;
    const std::size_t big_days = o.quick ? 2 : 252;
    const fs::path big = dir / "year.csv";
    const auto t0 = std::chrono::steady_clock::now();
    const std::size_t bars_written = write_bars(big, big_symbols, big_days);
    const double write_s = seconds_since(t0);
    const fs::path cfg = dir / "year.toml";
    {
      std::ofstream out(cfg);
      out << fmt::format(R"([backtest]
data = "{}"
engines = ["marketdata", "features", "strategy", "risk", "portfolio"]
[engines.strategy]
strategy = "momentum"
lookback = 60
threshold = 0.02
notional = 20000
{}
[engines.portfolio]
initial_cash = 1e9
)",
                         big.string(), kNoLimits);
    }
    const std::string out_dir = (dir / "year_out").string();
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    std::vector<std::string> args = {self,    "backtest", "--config",        cfg.string(),
                                     "--out", out_dir,    "--plain-progress"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const auto t1 = std::chrono::steady_clock::now();
    const int spawned = posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    rusage usage{};
    if (spawned == 0 && ::wait4(pid, &status, 0, &usage) == pid && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0) {
      const double run_s = seconds_since(t1);
      print({.bench = "backtest.rss_mb",
             .value = static_cast<double>(usage.ru_maxrss) / 1024.0,
             .unit = "MB",
             .note = fmt::format("peak resident set of `nautilus backtest` over {} bars ({} "
                                 "symbols x {} days, {:.0f} MB of CSV written in {:.0f} s) in "
                                 "{:.1f} s: {:.0f} bars/s",
                                 bars_written, big_symbols, big_days,
                                 static_cast<double>(fs::file_size(big)) / 1e6, write_s, run_s,
                                 static_cast<double>(bars_written) / run_s)},
            o.json);
    } else {
      fmt::print(stderr, "bench backtest: the year's backtest failed (status {})\n", status);
    }
    std::error_code ec;
    fs::remove(big, ec);
  }

  if (o.wants("backtest.rss_growth_pct")) {
    // Small backtests (a day of a tenth of the symbols), so that a hundred take seconds.
    const fs::path small = dir / "small.csv";
    write_bars(small, std::max<std::size_t>(symbols / 10, 2), 1);
    auto small_spec = backtest::load_spec_text(config(small), origin, {});
    const std::size_t total = o.quick ? 20 : 100;
    const std::size_t base_at = o.quick ? 5 : 10;
    double base = 0, last = 0;
    for (std::size_t i = 1; small_spec && i <= total; ++i) {
      auto r = backtest::run_backtest(*small_spec);
      if (!r) break;
      if (i == base_at) base = rss_mb();
      last = rss_mb();
    }
    if (base > 0) {
      print({.bench = "backtest.rss_growth_pct",
             .value = (last - base) / base * 100,
             .unit = "percent",
             .anchor = "rss_mb_after_run_" + std::to_string(base_at),
             .anchor_value = base,
             .note = fmt::format("{} backtests in one process: {:.1f} MB after the {}th, {:.1f} "
                                 "MB after the last",
                                 total, base, base_at, last),
             .ratio = last / base},
            o.json);
    }
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace nautilus::bench
