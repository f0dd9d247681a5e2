// `nautilus compute factor`: the factor engine's style exposures over a daily bar file and a
// reference file (the hub's formats), through the same code the engine runs on the universe
// feed's histories (factor/panel.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "commands.hpp"
#include "compute_output.hpp"
#include "nautilus/engines/factor/panel.hpp"
#include "nautilus/marketdata/csv.hpp"
#include "nautilus/marketdata/reference.hpp"

namespace nautilus::app {
namespace {

core::Result<void> compute(const ComputeOptions& o) {
  if (!(o.factor_winsor >= 0 && o.factor_winsor < 0.5)) {
    return core::fail(core::ErrorCode::kInvalidArgument, "--winsor: want a number in [0, 0.5)");
  }
  // The histories, by symbol name.
  std::map<std::string, universe_feed::SymbolHistory> by_symbol;
  NAUTILUS_TRY(in, marketdata::CsvReader::open(o.bars));
  if (in.kind() != marketdata::RecordKind::kBar) {
    return core::fail(core::ErrorCode::kParse,
                      fmt::format("{}: is a {} file; --bars wants daily bars "
                                  "(ts,symbol,open,high,low,close,volume,interval_s)",
                                  o.bars, marketdata::to_string(in.kind())));
  }
  Progress progress("nautilus compute factor", o.bars);
  std::uint64_t rows = 0;
  while (true) {
    auto rec = in.next();
    if (!rec) return std::unexpected(rec.error());
    if (!*rec) break;
    const auto& bar = std::get<model::Bar>(**rec);  // NOLINT(bugprone-unchecked-optional-access)
    if (bar.interval_s != 86'400) {
      return core::fail(core::ErrorCode::kParse,
                        fmt::format("{}:{}: column interval_s: {} (the styles are daily: 86400)",
                                    o.bars, in.line(), bar.interval_s));
    }
    auto& h = by_symbol[std::string(bar.symbol.value())];
    if (h.symbol.empty()) h.symbol = bar.symbol.value();
    if (!h.ts.empty() && bar.ts_event <= h.ts.back()) {
      return core::fail(
          core::ErrorCode::kOutOfRange,
          fmt::format("{}:{}: column ts: {} {} is not after the symbol's previous bar", o.bars,
                      in.line(), bar.symbol.value(), in.raw_ts()));
    }
    universe_feed::append_bar(h, bar.ts_event, bar.close.as_double(), bar.volume.as_double());
    progress.update(in, ++rows);
  }
  progress.done();
  marketdata::ReferenceStore reference;
  if (auto ok = reference.load({o.reference}); !ok) return std::unexpected(ok.error());
  std::deque<universe_feed::SymbolHistory> histories;
  std::size_t without_reference = 0;
  for (auto& [name, h] : by_symbol) {
    const auto sym = core::Symbol::create(name);
    const auto records =
        sym ? reference.history(*sym) : std::span<const marketdata::ReferenceRecord>{};
    // The engine's universe is the symbols with reference data: the same here, so both
    // standardize over the same cross-section.
    if (records.empty()) {
      ++without_reference;
      continue;
    }
    for (const auto& r : records) {
      h.as_of.push_back(r.as_of);
      h.shares.push_back(r.shares_outstanding);
      h.book.push_back(r.book_value);
      h.sales.push_back(r.sales);
      h.cash_flow.push_back(r.operating_cash_flow);
    }
    if (!records.empty()) h.sector = records.back().sector;
    histories.push_back(std::move(h));
  }

  factor::StyleConfig config;
  config.winsor = o.factor_winsor;
  const auto dates = factor::exposures_by_date(histories, config);
  NAUTILUS_TRY(out, CsvOut::open(o.out));
  out.text("date,symbol");
  for (const auto name : factor::kStyleNames) {
    out.comma();
    out.text(name);
  }
  if (auto ok = out.end_row(); !ok) return ok;
  for (const auto& d : dates) {
    for (std::size_t i = 0; i < d.symbols.size(); ++i) {
      out.text(d.date);
      out.comma();
      out.text(d.symbols[i]);
      for (const double v : o.raw ? d.raw[i] : d.cross.exposures[i]) {
        out.comma();
        out.number(v);
      }
      if (auto ok = out.end_row(); !ok) return ok;
    }
  }
  if (auto ok = out.flush(); !ok) return ok;
  fmt::print(stderr,
             "nautilus compute factor: {} bars of {} symbols (and {} without reference data, left "
             "out as the engine leaves them out), {} dates\n",
             rows, histories.size(), without_reference, dates.size());
  return {};
}

}  // namespace

int compute_factor(const ComputeOptions& o) {
  if (auto ok = compute(o); !ok) {
    fmt::print(stderr, "nautilus compute factor: {}\n", ok.error().message);
    return 2;
  }
  return 0;
}

}  // namespace nautilus::app
