// The tearsheet's files, compiled in: generated into the build tree by cmake/EmbedAssets.cmake
// from web/report/ and uPlot's npm package (src/backtest_report/CMakeLists.txt lists them).
// Each is the file's bytes, exactly.
#pragma once

#include <string_view>

namespace nautilus::backtest_report::assets {

extern const std::string_view report_html;  // the template, with @@NAME@@ placeholders
extern const std::string_view report_css;
extern const std::string_view report_js;
extern const std::string_view uplot_js;       // uPlot.iife.min.js: defines the global uPlot
extern const std::string_view uplot_css;      // uPlot.min.css
extern const std::string_view uplot_license;  // uPlot's MIT license, shown in the page's footer

}  // namespace nautilus::backtest_report::assets
