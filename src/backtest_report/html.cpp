#include "nautilus/backtest_report/html.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "assets.hpp"

namespace nautilus::backtest_report {
namespace {

enum class Escape : std::uint8_t { kNone, kJsonInScript, kHtmlText };

struct Placeholder {
  std::string_view name;
  const std::string_view* value;
  Escape escape;
};

// The template's placeholders, each between "@@" pairs.
const std::array<Placeholder, 6> kPlaceholders{{
    {"UPLOT_CSS", &assets::uplot_css, Escape::kNone},
    {"REPORT_CSS", &assets::report_css, Escape::kNone},
    {"UPLOT_JS", &assets::uplot_js, Escape::kNone},
    {"REPORT_JS", &assets::report_js, Escape::kNone},
    {"UPLOT_LICENSE", &assets::uplot_license, Escape::kHtmlText},
    {"REPORT_JSON", nullptr, Escape::kJsonInScript},  // the report itself
}};

void append(std::string& out, std::string_view text, Escape escape) {
  if (escape == Escape::kNone) {
    out.append(text);
    return;
  }
  for (const char c : text) {
    if (escape == Escape::kJsonInScript && c == '<') {
      out.append("\\u003c");
    } else if (escape == Escape::kHtmlText && (c == '<' || c == '>' || c == '&')) {
      out.append(c == '<' ? "&lt;" : c == '>' ? "&gt;" : "&amp;");
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace

std::string render_report_html(std::string_view report_json) {
  const std::string_view tpl = assets::report_html;
  std::string out;
  out.reserve(tpl.size() + assets::uplot_js.size() + assets::uplot_css.size() +
              assets::report_js.size() + assets::report_css.size() + assets::uplot_license.size() +
              report_json.size() + report_json.size() / 8);
  // One pass over the template: what goes in is never searched for placeholders itself (uPlot
  // or a report may well hold "@@").
  std::size_t pos = 0;
  while (pos < tpl.size()) {
    const std::size_t open = tpl.find("@@", pos);
    const std::size_t close = open == std::string_view::npos ? open : tpl.find("@@", open + 2);
    if (close == std::string_view::npos) break;
    const std::string_view name = tpl.substr(open + 2, close - open - 2);
    const Placeholder* hit = nullptr;
    for (const auto& p : kPlaceholders) {
      if (p.name == name) hit = &p;
    }
    if (hit == nullptr) {  // not one of ours: copied as it is
      out.append(tpl.substr(pos, open + 2 - pos));
      pos = open + 2;
      continue;
    }
    out.append(tpl.substr(pos, open - pos));
    append(out, hit->value != nullptr ? *hit->value : report_json, hit->escape);
    pos = close + 2;
  }
  out.append(tpl.substr(std::min(pos, tpl.size())));
  return out;
}

}  // namespace nautilus::backtest_report
