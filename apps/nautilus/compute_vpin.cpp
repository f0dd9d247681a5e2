// `nautilus compute vpin`: BVC-VPIN over a trade file in *file mode*, the way Easley, López de
// Prado & O'Hara (2012) compute it on a sample: per symbol, trades -> time bars of
// --bar-seconds -> VpinCalculator, one output row per completed volume bucket.
//
// File mode needs the whole file before the first bucket, so it reads it in two passes (the
// first builds every symbol's bars and keeps them in memory, the second buckets them):
//   - V, the bucket size, is the symbol's total volume / its distinct UTC dates with trades /
//     --buckets-per-day (vpin::file_bucket_volume): the file's own average day. --bucket-volume
//     gives one V for every symbol instead.
//   - --sigma sample is the paper's whole-sample σ: the sample std of all the symbol's ΔPs in
//     the file (SigmaOptions::fixed(whole_sample_sigma(bars, dp))), so every bar, the first
//     included, is classified against the same σ. --sigma rolling is σ over the last
//     --sigma-window bars (default 1950), as the engine computes it.
//   - The last bar of each symbol is flushed at the end of the file and bucketed too.
// The live engine (src/engines/vpin/vpin_engine.cpp) cannot see the future: its V is ADV / 50
// over the symbol's *previous* completed dates (bars are held until the first date completes),
// its `sigma = sample` is the expanding std of the ΔPs so far, and it buckets a bar only when a
// trade of a later interval arrives (the last bar of a stream stays open). With the same V
// (--bucket-volume here, vpin.bucket_volume there) and --sigma rolling with the same window,
// the two give exactly the same buckets (tests/integration/cli_test.cpp checks it).
//
// Output: symbol,bucket,ts,vpin,cdf. All of a symbol's buckets in order, symbols in the order
// they first appear in the file; ts is the close of the bar that completed the bucket (ISO-8601
// UTC); vpin is empty for the first window − 1 buckets, cdf until VPIN has enough history.
#include <fmt/format.h>

#include <unordered_map>
#include <vector>

#include "commands.hpp"
#include "compute_output.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/engines/vpin/vpin.hpp"
#include "nautilus/marketdata/csv.hpp"

namespace nautilus::app {
namespace {

// The options that do not depend on the file, checked before it is read (V and σ later).
core::Result<vpin::VpinOptions> vpin_options(const ComputeOptions& o) {
  vpin::VpinOptions v;
  v.bucket_volume = 1;  // a stand-in until the file's own V is known
  v.window = o.window;
  v.result_history = 0;  // nothing asks for recent results here
  v.bvc.dp = o.dp == "within" ? vpin::PriceChange::kWithin : vpin::PriceChange::kClose;
  if (o.sigma == "rolling") {
    v.bvc.sigma = o.sigma_window > 0 ? vpin::SigmaOptions::rolling(o.sigma_window)
                                     : vpin::SigmaOptions::rolling(vpin::SigmaOptions{}.window);
  } else {
    v.bvc.sigma = vpin::SigmaOptions::fixed(0);  // the whole sample's, per symbol, later
  }
  if (o.cdf == "student-t") v.bvc.cdf = vpin::BarCdf::kStudentT;
  if (o.cdf == "normal") v.bvc.cdf = vpin::BarCdf::kNormal;
  v.bvc.df = o.df;
  v.toxicity.kind =
      o.vpin_cdf == "lognormal" ? vpin::VpinCdfKind::kLognormal : vpin::VpinCdfKind::kEmpirical;
  if (o.cdf_history) v.toxicity.history = *o.cdf_history;
  if (o.cdf_min_history) v.toxicity.min_history = *o.cdf_min_history;
  v.toxicity.threshold = o.threshold;
  if (o.bucket_volume) v.bucket_volume = *o.bucket_volume;
  if (auto ok = v.validate(); !ok) return std::unexpected(ok.error());
  return v;
}

struct SymbolBars {
  core::Symbol symbol;
  vpin::TimeBarBuilder builder;
  std::vector<vpin::TimeBar> bars;
  double volume = 0;
};

core::Result<void> compute(const ComputeOptions& o) {
  NAUTILUS_TRY(options, vpin_options(o));
  if (o.buckets_per_day == 0) {
    return core::fail(core::ErrorCode::kInvalidArgument, "--buckets-per-day must be > 0");
  }
  NAUTILUS_TRY(builder, vpin::TimeBarBuilder::create(o.bar_seconds));
  NAUTILUS_TRY(in, marketdata::CsvReader::open(o.trades));
  if (in.kind() != marketdata::RecordKind::kTrade) {
    return core::fail(core::ErrorCode::kParse,
                      fmt::format("{}: is a {} file; --trades wants ts,symbol,price,size,side"
                                  "[,trade_id]",
                                  o.trades, marketdata::to_string(in.kind())));
  }
  NAUTILUS_TRY(out, CsvOut::open(o.out));
  out.text("symbol,bucket,ts,vpin,cdf");
  if (auto ok = out.end_row(); !ok) return ok;

  // Pass 1: every symbol's time bars, in memory.
  std::vector<SymbolBars> symbols;  // first-appearance order
  std::unordered_map<core::Symbol, std::size_t> index;
  Progress progress("nautilus compute vpin", o.trades);
  std::uint64_t rows = 0;
  while (true) {
    auto rec = in.next();
    if (!rec) return std::unexpected(rec.error());
    if (!*rec) break;
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): checked just above
    const auto& t = std::get<model::TradeTick>(**rec);
    auto [it, added] = index.try_emplace(t.symbol, symbols.size());
    if (added) symbols.push_back({.symbol = t.symbol, .builder = builder, .bars = {}});
    SymbolBars& s = symbols[it->second];
    if (auto bar = s.builder.on_trade(t.price.as_double(), t.size.as_double(), t.ts_event)) {
      s.volume += bar->volume;
      s.bars.push_back(*bar);
    }
    progress.update(in, ++rows);
  }
  progress.done();
  for (SymbolBars& s : symbols) {
    if (auto bar = s.builder.flush()) {
      s.volume += bar->volume;
      s.bars.push_back(*bar);
    }
  }

  // Pass 2: per symbol, V and σ from its bars, then its buckets.
  for (const SymbolBars& s : symbols) {
    vpin::VpinOptions so = options;
    if (!o.bucket_volume) {
      auto v =
          vpin::file_bucket_volume(s.volume, vpin::distinct_utc_dates(s.bars), o.buckets_per_day);
      if (!v) {
        return core::fail(v.error().code, fmt::format("{}: symbol {}: no bucket size: {}", o.trades,
                                                      s.symbol.value(), v.error().message));
      }
      so.bucket_volume = *v;
    }
    if (o.sigma != "rolling") {
      // Fewer than two bars have no σ: 0 classifies them 50/50, as the classifier does
      // without one.
      const double sigma = vpin::whole_sample_sigma(s.bars, so.bvc.dp);
      so.bvc.sigma = vpin::SigmaOptions::fixed(std::isfinite(sigma) ? sigma : 0.0);
    }
    NAUTILUS_TRY(calc, vpin::VpinCalculator::create(so));
    core::Result<void> written;
    for (const vpin::TimeBar& bar : s.bars) {
      calc.on_bar(bar, [&](const vpin::BucketResult& r) {
        out.text(s.symbol.value());
        out.comma();
        out.integer(r.index);
        out.comma();
        out.text(core::format_timestamp(r.ts));
        out.comma();
        out.number(r.vpin);
        out.comma();
        out.number(r.cdf);
        if (auto ok = out.end_row(); !ok && written) written = ok;
      });
      if (!written) return written;
    }
    if (calc.rejected_bars() > 0) {
      fmt::print(stderr,
                 "nautilus compute vpin: {}: symbol {}: {} bars ignored (a non-finite price, or "
                 "more than {} buckets of volume in one bar)\n",
                 o.trades, s.symbol.value(), calc.rejected_bars(),
                 vpin::VolumeBucketer::kMaxBucketsPerAdd);
    }
  }
  return out.flush();
}

}  // namespace

int compute_vpin(const ComputeOptions& o) {
  if (auto ok = compute(o); !ok) {
    fmt::print(stderr, "nautilus compute vpin: {}\n", ok.error().message);
    return 2;
  }
  return 0;
}

}  // namespace nautilus::app
