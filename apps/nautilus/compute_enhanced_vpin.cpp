// `nautilus compute enhanced-vpin`: enhanced_vpin::EnhancedVpin per symbol over a trade file
// (and, for Lee–Ready, a quote file), in one pass in time order, as the engine would see the
// same records live. One output row per completed volume bucket:
//
//   symbol,bucket,ts,vpin<h1>,vpin<h2>,...,cdf,bucket_volume      (e.g. vpin10,vpin50,vpin250)
//
// in the order the buckets complete, across symbols. ts is that of the trade that completed the
// bucket (with --classify bvc, the close of the time bar that did), ISO-8601 UTC; a vpin<h>
// cell is empty while fewer than h buckets exist, cdf (of the primary horizon: 50 if listed,
// else the first) until it has enough history.
//
// Quotes (ts,symbol,bid,ask,bid_size,ask_size) are merged with the trades by timestamp, a quote
// at the same ts as a trade first, so Lee–Ready sees the quote in force at the trade. Only
// --classify auto and lee-ready use them; the others do not read the file.
//
// The bucket size starts at --bucket-volume, or else at the symbol's volume on its first UTC
// date with trades / --buckets-per-day: one average day of the file's own first date, which the
// first date needs before it starts. So the trade file is read twice: a first pass sums each
// symbol's volume on its first date, the second computes. From then on V follows the rolling
// ADV of the last --adv-days completed dates (EnhancedVpin), as live.
//
// With --classify bvc the time bars are built here rather than inside EnhancedVpin, so that a
// bar is bucketed as soon as any symbol's trade shows its interval is over (not only at the
// symbol's own next trade): the bars and buckets are the same, and the rows stay in time order.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <unordered_map>
#include <vector>

#include "commands.hpp"
#include "compute_output.hpp"
#include "nautilus/core/strings.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/engines/enhanced_vpin/enhanced_vpin.hpp"
#include "nautilus/marketdata/csv.hpp"

namespace nautilus::app {
namespace {

using enhanced_vpin::EnhancedResult;
using enhanced_vpin::EnhancedVpin;
using enhanced_vpin::Mode;

constexpr core::UnixNanos kNanosPerDay = vpin::kNanosPerDay;

std::int64_t floor_div(core::UnixNanos t, core::UnixNanos d) {
  return t >= 0 ? t / d : (t + 1) / d - 1;
}

core::Result<std::vector<std::size_t>> parse_horizons(const std::string& text) {
  if (text.empty()) return enhanced_vpin::EnhancedVpinOptions{}.windows;
  std::vector<std::size_t> out;
  std::size_t from = 0;
  while (from <= text.size()) {
    const std::size_t comma = std::min(text.find(',', from), text.size());
    const std::string_view item = core::trim(std::string_view(text).substr(from, comma - from));
    std::size_t h = 0;
    const char* end = item.data() + item.size();
    if (item.empty() || std::from_chars(item.data(), end, h).ptr != end || h == 0) {
      return core::fail(core::ErrorCode::kParse,
                        fmt::format("--horizons '{}': '{}' is not a positive integer (want a "
                                    "comma list of windows in buckets, e.g. 10,50,250)",
                                    text, item));
    }
    if (std::find(out.begin(), out.end(), h) != out.end()) {
      return core::fail(core::ErrorCode::kParse,
                        fmt::format("--horizons '{}': {} is listed twice", text, h));
    }
    out.push_back(h);
    from = comma + 1;
  }
  if (out.size() > enhanced_vpin::kMaxHorizons) {
    return core::fail(core::ErrorCode::kParse, fmt::format("--horizons '{}': at most {} horizons",
                                                           text, enhanced_vpin::kMaxHorizons));
  }
  return out;
}

core::Result<Mode> parse_mode(const std::string& s) {
  if (s == "auto") return Mode::kAuto;
  if (s == "aggressor") return Mode::kAggressor;
  if (s == "tick") return Mode::kTickRule;
  if (s == "lee-ready") return Mode::kLeeReady;
  if (s == "bvc") return Mode::kBvc;
  return core::fail(
      core::ErrorCode::kParse,
      fmt::format("--classify '{}': want auto, aggressor, tick, lee-ready or bvc", s));
}

// Everything but the initial bucket size, which depends on the symbol.
core::Result<enhanced_vpin::EnhancedVpinOptions> options_from(const ComputeOptions& o) {
  enhanced_vpin::EnhancedVpinOptions e;
  NAUTILUS_TRY(mode, parse_mode(o.classify));
  e.mode = mode;
  e.initial_bucket_volume = o.bucket_volume.value_or(1);  // 1: a stand-in, checked below
  if (o.adv_days > 0) e.adv_days = o.adv_days;
  e.buckets_per_day = o.buckets_per_day;
  NAUTILUS_TRY(windows, parse_horizons(o.horizons));
  e.windows = std::move(windows);
  e.primary_window =
      std::find(e.windows.begin(), e.windows.end(), 50) != e.windows.end() ? 50 : e.windows[0];
  if (o.cdf == "normal") e.bvc.cdf = vpin::BarCdf::kNormal;
  if (o.cdf == "student-t") e.bvc.cdf = vpin::BarCdf::kStudentT;
  e.bvc.df = o.df;
  e.bar_seconds = o.bar_seconds;
  e.toxicity.kind =
      o.vpin_cdf == "lognormal" ? vpin::VpinCdfKind::kLognormal : vpin::VpinCdfKind::kEmpirical;
  if (o.cdf_history) e.toxicity.history = *o.cdf_history;
  if (o.cdf_min_history) e.toxicity.min_history = *o.cdf_min_history;
  e.toxicity.threshold = o.threshold;
  e.result_history = 0;  // nothing asks for recent results here
  if (auto ok = e.validate(); !ok) return std::unexpected(ok.error());
  return e;
}

core::Result<marketdata::CsvReader> open_kind(const std::string& path, marketdata::RecordKind kind,
                                              std::string_view option, std::string_view want) {
  NAUTILUS_TRY(in, marketdata::CsvReader::open(path));
  if (in.kind() != kind) {
    return core::fail(core::ErrorCode::kParse,
                      fmt::format("{}: is a {} file; {} wants {}", path,
                                  marketdata::to_string(in.kind()), option, want));
  }
  return in;
}

constexpr std::string_view kTradeHeader = "ts,symbol,price,size,side[,trade_id]";

struct FirstDate {
  core::Symbol symbol;
  std::int64_t date = 0;
  double volume = 0;
};

// Pass 1: each symbol's volume on its first UTC date with trades, in first-appearance order.
core::Result<std::vector<FirstDate>> first_dates(const ComputeOptions& o,
                                                 marketdata::CsvReader& in) {
  std::vector<FirstDate> out;
  std::unordered_map<core::Symbol, std::size_t> index;
  Progress progress("nautilus compute enhanced-vpin (first dates)", o.trades);
  std::uint64_t rows = 0;
  while (true) {
    auto rec = in.next();
    if (!rec) return std::unexpected(rec.error());
    if (!*rec) break;
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): checked just above
    const auto& t = std::get<model::TradeTick>(**rec);
    const std::int64_t date = floor_div(t.ts_event, kNanosPerDay);
    auto [it, added] = index.try_emplace(t.symbol, out.size());
    if (added) out.push_back({.symbol = t.symbol, .date = date, .volume = 0});
    FirstDate& f = out[it->second];
    if (f.date == date) f.volume += t.size.as_double();
    progress.update(in, ++rows);
  }
  progress.done();
  return out;
}

struct SymbolState {
  core::Symbol symbol;
  EnhancedVpin ev;
  std::optional<vpin::TimeBarBuilder> bars;  // --classify bvc
};

core::Result<void> compute(const ComputeOptions& o) {
  if (o.buckets_per_day == 0) {
    return core::fail(core::ErrorCode::kInvalidArgument, "--buckets-per-day must be > 0");
  }
  NAUTILUS_TRY(options, options_from(o));
  const bool bvc = options.mode == Mode::kBvc;
  const bool use_quotes =
      !o.quotes.empty() && (options.mode == Mode::kAuto || options.mode == Mode::kLeeReady);
  // Every file is opened (and its kind checked) before anything is read.
  NAUTILUS_TRY(first,
               open_kind(o.trades, marketdata::RecordKind::kTrade, "--trades", kTradeHeader));
  std::optional<marketdata::CsvReader> quotes;
  if (use_quotes) {
    NAUTILUS_TRY(q, open_kind(o.quotes, marketdata::RecordKind::kQuote, "--quotes",
                              "ts,symbol,bid,ask,bid_size,ask_size"));
    quotes.emplace(std::move(q));
  }
  NAUTILUS_TRY(out, CsvOut::open(o.out));
  out.text("symbol,bucket,ts");
  for (const std::size_t h : options.windows) out.text(fmt::format(",vpin{}", h));
  out.text(",cdf,bucket_volume");
  if (auto ok = out.end_row(); !ok) return ok;

  NAUTILUS_TRY(dates, first_dates(o, first));

  std::vector<SymbolState> symbols;
  std::unordered_map<core::Symbol, std::size_t> index;
  symbols.reserve(dates.size());
  for (const FirstDate& f : dates) {
    auto so = options;
    so.initial_bucket_volume =
        o.bucket_volume.value_or(f.volume / static_cast<double>(o.buckets_per_day));
    auto ev = EnhancedVpin::create(so);
    if (!ev) {
      return core::fail(ev.error().code, fmt::format("{}: symbol {}: {}", o.trades,
                                                     f.symbol.value(), ev.error().message));
    }
    index.emplace(f.symbol, symbols.size());
    symbols.push_back({.symbol = f.symbol, .ev = std::move(*ev), .bars = std::nullopt});
    if (bvc) symbols.back().bars = *vpin::TimeBarBuilder::create(o.bar_seconds);
  }

  NAUTILUS_TRY(trades,
               open_kind(o.trades, marketdata::RecordKind::kTrade, "--trades", kTradeHeader));
  std::optional<model::QuoteTick> next_quote;
  const auto read_quote = [&]() -> core::Result<void> {
    auto rec = quotes->next();  // NOLINT(bugprone-unchecked-optional-access): only with quotes
    if (!rec) return std::unexpected(rec.error());
    next_quote.reset();
    if (*rec) next_quote = std::get<model::QuoteTick>(**rec);
    return {};
  };
  if (quotes) {
    if (auto ok = read_quote(); !ok) return ok;
  }

  core::Result<void> written;
  const auto emit = [&](const SymbolState& s, const EnhancedResult& r) {
    out.text(s.symbol.value());
    out.comma();
    out.integer(r.index);
    out.comma();
    out.text(core::format_timestamp(r.ts));
    for (std::size_t i = 0; i < r.horizons; ++i) {
      out.comma();
      out.number(r.vpin[i]);
    }
    out.comma();
    out.number(r.cdf);
    out.comma();
    out.number(r.bucket_volume);
    if (auto ok = out.end_row(); !ok && written) written = ok;
  };
  // --classify bvc: the symbols whose time bar is open, all of one interval.
  std::vector<std::size_t> open_bars;
  std::int64_t interval = INT64_MIN;
  const auto close_bars = [&] {
    for (const std::size_t i : open_bars) {
      SymbolState& s = symbols[i];
      // NOLINTNEXTLINE(bugprone-unchecked-optional-access): bvc only
      if (auto bar = s.bars->flush()) {
        s.ev.on_bar(*bar, [&](const EnhancedResult& r) { emit(s, r); });
      }
    }
    open_bars.clear();
  };
  const core::UnixNanos bar_ns = static_cast<core::UnixNanos>(o.bar_seconds) * 1'000'000'000;

  Progress progress("nautilus compute enhanced-vpin", o.trades);
  std::uint64_t rows = 0;
  while (true) {
    auto rec = trades.next();
    if (!rec) return std::unexpected(rec.error());
    if (!*rec) break;
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): checked just above
    const auto& t = std::get<model::TradeTick>(**rec);
    while (next_quote && next_quote->ts_event <= t.ts_event) {
      if (const auto it = index.find(next_quote->symbol); it != index.end()) {
        symbols[it->second].ev.on_quote(next_quote->bid.as_double(), next_quote->ask.as_double(),
                                        next_quote->ts_event);
      }
      if (auto ok = read_quote(); !ok) return ok;
    }
    const auto found = index.find(t.symbol);
    if (found == index.end()) {  // the file changed between the two passes
      return core::fail(core::ErrorCode::kParse,
                        fmt::format("{}:{}: symbol {} was not in the file's first pass (did the "
                                    "file change while it was read?)",
                                    o.trades, trades.line(), t.symbol.value()));
    }
    const std::size_t i = found->second;
    SymbolState& s = symbols[i];
    if (bvc) {
      const std::int64_t k = floor_div(t.ts_event, bar_ns);
      if (k > interval) close_bars();
      interval = std::max(interval, k);
      if (!s.bars->has_open_bar()) open_bars.push_back(i);
      // Every open bar is of this interval (the others were just closed): nothing completes.
      if (auto bar = s.bars->on_trade(t.price.as_double(), t.size.as_double(), t.ts_event)) {
        s.ev.on_bar(*bar, [&](const EnhancedResult& r) { emit(s, r); });
      }
    } else {
      s.ev.on_trade(t.price.as_double(), t.size.as_double(), t.aggressor, t.ts_event,
                    [&](const EnhancedResult& r) { emit(s, r); });
    }
    if (!written) return written;
    progress.update(trades, ++rows);
  }
  if (bvc) close_bars();
  progress.done();
  if (!written) return written;
  for (const SymbolState& s : symbols) {
    if (s.ev.rejected() == 0) continue;
    fmt::print(stderr,
               "nautilus compute enhanced-vpin: {}: symbol {}: {} trades ignored (a size of 0, "
               "or more than {} buckets of volume at once)\n",
               o.trades, s.symbol.value(), s.ev.rejected(),
               vpin::VolumeBucketer::kMaxBucketsPerAdd);
  }
  return out.flush();
}

}  // namespace

int compute_enhanced_vpin(const ComputeOptions& o) {
  if (auto ok = compute(o); !ok) {
    fmt::print(stderr, "nautilus compute enhanced-vpin: {}\n", ok.error().message);
    return 2;
  }
  return 0;
}

}  // namespace nautilus::app
