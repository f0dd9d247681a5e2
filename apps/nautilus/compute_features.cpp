// `nautilus compute features`: the features engine's FeatureSet over a bar file, one output
// row per input bar.
#include <fmt/format.h>

#include <charconv>
#include <unordered_map>

#include "commands.hpp"
#include "compute_output.hpp"
#include "nautilus/engines/features/feature_set.hpp"
#include "nautilus/marketdata/csv.hpp"

namespace nautilus::app {
namespace {

core::Result<void> compute(const ComputeOptions& o) {
  features::FeaturePeriods periods;
  for (const auto& kv : o.periods) {
    const auto eq = kv.find('=');
    double v = 0;
    const char* end = kv.data() + kv.size();
    const auto parsed = eq == std::string::npos
                            ? std::from_chars_result{end, std::errc::invalid_argument}
                            : std::from_chars(kv.data() + eq + 1, end, v);
    if (eq == std::string::npos || eq + 1 == kv.size() || parsed.ec != std::errc{} ||
        parsed.ptr != end) {
      return core::fail(core::ErrorCode::kParse,
                        fmt::format("--period '{}': want NAME=VALUE, e.g. rsi_period=9", kv));
    }
    if (auto ok = features::set_period(periods, kv.substr(0, eq), v); !ok) {
      return core::fail(ok.error().code, fmt::format("--period '{}': {}", kv, ok.error().message));
    }
  }
  if (auto ok = periods.validate(); !ok) return ok;
  NAUTILUS_TRY(in, marketdata::CsvReader::open(o.bars));
  if (in.kind() != marketdata::RecordKind::kBar) {
    return core::fail(core::ErrorCode::kParse,
                      fmt::format("{}: is a {} file; --bars wants ts,symbol,open,high,low,close,"
                                  "volume[,interval_s]",
                                  o.bars, marketdata::to_string(in.kind())));
  }
  NAUTILUS_TRY(out, CsvOut::open(o.out));
  out.text("ts,symbol");
  for (const auto& name : features::feature_names(periods)) {
    out.comma();
    out.text(name);
  }
  if (auto ok = out.end_row(); !ok) return ok;

  struct State {
    features::FeatureSet set;
    core::UnixNanos last_ts = 0;
  };
  std::unordered_map<core::Symbol, State> symbols;
  Progress progress("nautilus compute features", o.bars);
  std::uint64_t rows = 0;
  while (true) {
    auto rec = in.next();
    if (!rec) return std::unexpected(rec.error());
    if (!*rec) break;
    const auto& bar = std::get<model::Bar>(**rec);  // NOLINT(bugprone-unchecked-optional-access)
    auto it = symbols.find(bar.symbol);
    if (it == symbols.end())
      it = symbols.emplace(bar.symbol, State{features::FeatureSet(periods)}).first;
    State& s = it->second;
    if (s.set.bars() > 0 && bar.ts_event <= s.last_ts) {
      return core::fail(core::ErrorCode::kOutOfRange,
                        fmt::format("{}:{}: column ts: a second {} bar at {}", o.bars, in.line(),
                                    bar.symbol.value(), in.raw_ts()));
    }
    s.last_ts = bar.ts_event;
    s.set.update({.open = bar.open.as_double(),
                  .high = bar.high.as_double(),
                  .low = bar.low.as_double(),
                  .close = bar.close.as_double(),
                  .volume = bar.volume.as_double(),
                  .session = features::utc_session(bar.ts_event, bar.interval_s)});
    out.text(in.raw_ts());
    out.comma();
    out.text(bar.symbol.value());
    for (const double v : s.set.values()) {
      out.comma();
      out.number(v);
    }
    if (auto ok = out.end_row(); !ok) return ok;
    progress.update(in, ++rows);
  }
  progress.done();
  return out.flush();
}

}  // namespace

int compute_features(const ComputeOptions& o) {
  if (auto ok = compute(o); !ok) {
    fmt::print(stderr, "nautilus compute features: {}\n", ok.error().message);
    return 2;
  }
  return 0;
}

}  // namespace nautilus::app
