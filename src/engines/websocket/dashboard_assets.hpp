// The dashboard's files, compiled in: generated into the build tree by cmake/EmbedAssets.cmake
// from web/dashboard/ and uPlot's npm package (src/engines/websocket/CMakeLists.txt lists them).
// Each is the file's bytes, exactly; the engine serves them at / and /dashboard/*.
#pragma once

#include <string_view>

namespace nautilus::websocket::assets {

extern const std::string_view dashboard_html;
extern const std::string_view dashboard_css;
extern const std::string_view dashboard_js;
extern const std::string_view uplot_js;   // uPlot.iife.min.js: defines the global uPlot
extern const std::string_view uplot_css;  // uPlot.min.css

}  // namespace nautilus::websocket::assets
