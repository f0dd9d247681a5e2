// libFuzzer target for the MarketData hub's decoders of outside input: CSV rows of each kind,
// a recorded stream's JSON lines, the Alpha Vantage, FRED and EDGAR response parsers, and those
// of the IBKR gateway, Binance,
// Data.gov (CKAN, CSV tables), BLS and the Treasury. Property: no input crashes; any CSV row
// that parses formats back to a row that parses to the same record; a CSV table's rows are as
// wide as its header; a parsed yield curve has one rate per tenor each day.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "nautilus/marketdata/adapters.hpp"
#include "nautilus/marketdata/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nautilus::marketdata;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)parse_alphavantage(input, "IBM");
  (void)parse_fred_observations(input);
  (void)parse_edgar_companyfacts(input, {"Revenues", "NetIncomeLoss"});
  if (auto c = parse_ibkr_secdef_search(input)) (void)ibkr_stock_conid(*c, "AAPL");
  (void)parse_ibkr_snapshot(input);
  (void)parse_ibkr_history(input, "AAPL");
  (void)parse_binance_klines(input, "BTCUSDT", "1m");
  (void)parse_ckan_package_search(input);
  (void)parse_ckan_package_show(input);
  (void)parse_bls_timeseries(input);
  (void)parse_fiscaldata_avg_interest_rates(input);
  if (auto t = parse_csv_table(input)) {
    for (const auto& row : t->rows) {
      if (row.size() != t->header.size()) std::abort();
    }
  }
  if (auto curve = parse_treasury_yield_curve_csv(input)) {
    for (const auto& day : curve->days) {
      if (day.rates.size() != curve->tenors.size()) std::abort();
    }
  }
  // A recorded stream's line that parses is a bar, trade or quote (or another message).
  (void)parse_recorded_line(input);
  for (auto kind : {RecordKind::kBar, RecordKind::kTrade, RecordKind::kQuote}) {
    for (bool optional_column : {false, true}) {
      auto r = parse_row(kind, input, optional_column);
      if (!r) continue;
      const auto* bar = std::get_if<nautilus::model::Bar>(&*r);
      if (bar == nullptr) continue;
      const std::string row = std::to_string(bar->ts_event) + "," +
                              std::string(bar->symbol.value()) + "," + bar->open.to_string() + "," +
                              bar->high.to_string() + "," + bar->low.to_string() + "," +
                              bar->close.to_string() + "," + bar->volume.to_string() + "," +
                              std::to_string(bar->interval_s);
      auto again = parse_row(RecordKind::kBar, row, true);
      if (!again || std::get<nautilus::model::Bar>(*again) != *bar) std::abort();
    }
  }
  return 0;
}
