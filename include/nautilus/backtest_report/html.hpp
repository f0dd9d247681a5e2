// The backtest tearsheet: one self-contained HTML page of a run's report.json (schema version 1,
// docs/BACKTESTING.md, "The report"), with its charts (uPlot) and tables, that opens in any
// browser with no network and no file beside it. `nautilus backtest` writes it next to the
// JSON.
//
//   std::string json = core::to_json_text(report);     // what DIR/report.json holds
//   std::string page = backtest_report::render_report_html(json);
//   write_file(out_dir / "report.html", page);
//
// The page is web/report/report.html with web/report/report.css and report.js and uPlot's
// dist files from npm, all compiled into this library as bytes by cmake/EmbedAssets.cmake (so
// no third-party source is committed, and the binary needs no asset directory at run time).
// The JSON goes in unparsed, as the text of a <script type="application/json"> element that
// report.js reads with JSON.parse: the page shows exactly what the file says, and the C++ side
// has no second copy of the schema to keep in step.
#pragma once

#include <string>
#include <string_view>

namespace nautilus::backtest_report {

// The page for `report_json` (any text: JSON that does not parse shows as an error on the page,
// not here). Every "<" of the JSON is written as \u003c, the same character to JSON.parse:
// valid JSON has "<" only inside strings, and a string holding "</script>" or "<!--" would
// otherwise end or confuse the element that carries it.
[[nodiscard]] std::string render_report_html(std::string_view report_json);

}  // namespace nautilus::backtest_report
