// `nautilus compute analytics`: the analytics engine's performance metrics (metrics.hpp) of a
// returns file, optionally against a benchmark file, as one JSON object (metrics_json.hpp).
#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "commands.hpp"
#include "nautilus/core/json.hpp"
#include "nautilus/engines/analytics/metrics_json.hpp"
#include "nautilus/engines/analytics/returns_csv.hpp"

namespace nautilus::app {
namespace {

core::Result<void> compute(const AnalyticsOptions& o) {
  NAUTILUS_TRY(returns, analytics::read_returns_csv(o.returns));
  const analytics::MetricsOptions options{.risk_free = o.risk_free,
                                          .annualization = o.annualization};
  core::Result<analytics::Metrics> metrics;
  if (o.benchmark.empty()) {
    metrics = analytics::compute_metrics(returns.dates, returns.returns, options);
  } else {
    NAUTILUS_TRY(benchmark, analytics::read_returns_csv(o.benchmark));
    // Lined up on the returns' dates; a file sharing none of them is surely the wrong one.
    const auto aligned = analytics::align_returns(returns.dates, benchmark);
    if (aligned.matched == 0 && !returns.dates.empty()) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("{}: none of its dates is in {}", o.benchmark, o.returns));
    }
    metrics = analytics::compute_metrics(returns.dates, returns.returns, aligned.returns, options);
  }
  if (!metrics) return std::unexpected(metrics.error());

  std::string text = core::to_json_text(analytics::to_json(*metrics));
  text += '\n';
  std::FILE* f = o.out == "-" ? stdout : std::fopen(o.out.c_str(), "wb");
  if (f == nullptr) return core::fail(core::ErrorCode::kIo, fmt::format("{}: cannot write", o.out));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = f == stdout ? std::fflush(f) == 0 : std::fclose(f) == 0;
  if (!written || !closed) {
    return core::fail(core::ErrorCode::kIo, fmt::format("{}: write failed", o.out));
  }
  const analytics::Metrics& m = *metrics;
  std::string against;
  if (m.benchmark) against = fmt::format(", {} with the benchmark", m.benchmark->days);
  fmt::print(stderr, "nautilus compute analytics: {} days ({} missing){}; Sharpe ratio {:.4g}\n",
             m.days, m.missing_days, against, m.sharpe_ratio);
  return {};
}

}  // namespace

int compute_analytics(const AnalyticsOptions& o) {
  if (auto ok = compute(o); !ok) {
    fmt::print(stderr, "nautilus compute analytics: {}\n", ok.error().message);
    return 2;
  }
  return 0;
}

}  // namespace nautilus::app
