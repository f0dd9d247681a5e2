// `nautilus backtest --config strategy.toml [--data PATH]... --out DIR`: the engines over
// history on a simulated clock (backtest/backtest.hpp); DIR/report.json and the tearsheet
// DIR/report.html (backtest_report/html.hpp) are written at the end.
// Progress on standard error: a bar redrawn in place on a terminal, a plain line a second
// otherwise (a log, CI), each with events/s and, when the data's end is known, the ETA.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "nautilus/backtest/backtest.hpp"
#include "nautilus/backtest_report/html.hpp"
#include "nautilus/core/time.hpp"

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

}  // namespace

int run_backtest_command(const BacktestOptions& o) {
  auto spec = backtest::load_spec(o.config_path, o.data);
  if (!spec) {
    fmt::print(stderr, "nautilus backtest: {}\n", spec.error().message);
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec || !std::filesystem::is_directory(o.out_dir)) {
    fmt::print(stderr, "nautilus backtest: --out {}: cannot create the directory ({})\n", o.out_dir,
               ec ? ec.message() : "not a directory");
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
