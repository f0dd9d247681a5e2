// The tearsheet page render_report_html writes (html.hpp): self-contained (uPlot and the page's
// own CSS and JS inlined, nothing it points at on the network), and the report's JSON carried
// safely inside its <script> element, whatever its strings hold. What the page then draws is
// tests/web/report_page_test.mjs's, in Chromium.
#include "nautilus/backtest_report/html.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cstddef>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace nautilus::backtest_report {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string fixture(const std::string& name) {
  return read_file(std::string(NAUTILUS_SOURCE_DIR) + "/tests/fixtures/backtest/" + name);
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// The text of the report-data element, \u003c turned back into "<" (what JSON.parse reads it as,
// inside a string).
std::string embedded_json(const std::string& page) {
  const std::string open = R"(<script type="application/json" id="report-data">)";
  const std::size_t from = page.find(open);
  EXPECT_NE(from, std::string::npos);
  const std::size_t begin = from + open.size();
  const std::size_t end = page.find("</script>", begin);
  EXPECT_NE(end, std::string::npos);
  const std::string_view text = std::string_view(page).substr(begin, end - begin);
  std::string json;
  for (std::size_t i = 0; i < text.size();) {
    if (text.substr(i, 6) == "\\u003c") {
      json.push_back('<');
      i += 6;
    } else {
      json.push_back(text[i++]);
    }
  }
  return json;
}

// Where `page` names something on the network: an attribute `name` (src, href, any case) or a
// CSS url( whose value starts with http:, https: or // (protocol-relative), after spaces and an
// opening quote. What is found, in context.
std::vector<std::string> network_references(const std::string& page) {
  std::string low = page;
  for (char& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto skip = [&](std::size_t i, std::string_view chars) {
    while (i < low.size() && chars.find(low[i]) != std::string_view::npos) ++i;
    return i;
  };
  std::vector<std::string> out;
  for (const std::string_view name : {"src", "href", "url("}) {
    for (std::size_t at = low.find(name); at != std::string::npos; at = low.find(name, at + 1)) {
      std::size_t i = at + name.size();
      if (name != "url(") {
        i = skip(i, " \t\r\n");
        if (i >= low.size() || low[i] != '=') continue;
        ++i;
      }
      const std::string_view value = std::string_view(low).substr(skip(i, " \t\r\n\"'"), 8);
      if (value.starts_with("http:") || value.starts_with("https:") || value.starts_with("//")) {
        out.push_back(page.substr(at, 60));
      }
    }
  }
  return out;
}

// The @@NAME@@ placeholders of the template (NAME of capitals and _) left in `page`.
std::vector<std::string> placeholders_left(const std::string& page) {
  std::vector<std::string> out;
  for (std::size_t at = page.find("@@"); at != std::string::npos; at = page.find("@@", at + 2)) {
    std::size_t i = at + 2;
    while (i < page.size() &&
           (std::isupper(static_cast<unsigned char>(page[i])) || page[i] == '_')) {
      ++i;
    }
    if (i > at + 2 && page.compare(i, 2, "@@") == 0) out.push_back(page.substr(at, i + 2 - at));
  }
  return out;
}

TEST(ReportHtml, SelfContained) {
  const std::string page = render_report_html(fixture("report_sample.json"));
  // Nothing the page points at is on the network, and nothing is loaded from a file beside it
  // either: no <link>, no <script src>, no CSS @import.
  EXPECT_EQ(network_references(page), std::vector<std::string>{});
  EXPECT_EQ(count(page, "<link"), 0U);
  EXPECT_EQ(count(page, "<script src"), 0U);
  EXPECT_EQ(count(page, "@import"), 0U);
  EXPECT_EQ(placeholders_left(page), std::vector<std::string>{});
  EXPECT_TRUE(page.starts_with("<!doctype html>"));
}

TEST(ReportHtml, TheChecksFindWhatTheyLookFor) {
  // The two scanners above, on what they must catch and what they must let be.
  EXPECT_EQ(network_references(R"(<img SRC = 'https://x/y.png'>)").size(), 1U);
  EXPECT_EQ(network_references(R"(<a href="//cdn.example/u.js">)").size(), 1U);
  EXPECT_EQ(network_references(R"(a{background:url( "http://x/i.png")})").size(), 1U);
  EXPECT_EQ(network_references(R"(<img srcset="a.png"> <a href="#top"> src=data:x)").size(), 0U);
  EXPECT_EQ(placeholders_left("x @@REPORT_JSON@@ y").size(), 1U);
  EXPECT_EQ(placeholders_left("x @@ y @@ z @@a@@").size(), 0U);
}

TEST(ReportHtml, InlinesUplotAndThePagesOwnFiles) {
  const std::string page = render_report_html("{}");
  EXPECT_NE(page.find("var uPlot="), std::string::npos) << "uPlot's JS (uPlot.iife.min.js)";
  EXPECT_NE(page.find(".uplot"), std::string::npos) << "uPlot's CSS";
  EXPECT_NE(page.find("The MIT License"), std::string::npos) << "uPlot's license";
  EXPECT_NE(page.find("window.__charts"), std::string::npos) << "report.js";
  EXPECT_NE(page.find("--strategy:"), std::string::npos) << "report.css";
  EXPECT_NE(page.find(R"(id="fig-cumulative")"), std::string::npos) << "report.html";
  // Three scripts (the JSON, uPlot, report.js), each closed once: no inlined file ends one early.
  EXPECT_EQ(count(page, "<script"), 3U);
  EXPECT_EQ(count(page, "</script"), 3U);
  EXPECT_EQ(count(page, "<style"), 2U);
  EXPECT_EQ(count(page, "</style"), 2U);
}

TEST(ReportHtml, TheJsonSurvivesAScriptCloseInAString) {
  const std::string json =
      R"({"version":1,"backtest":{"strategy":"</script><script>alert(1)</script>",)"
      R"("config":"<!-- a <b>comment</b> -->","data":["a</SCRIPT >b"]},"x":"@@REPORT_JSON@@"})";
  const std::string page = render_report_html(json);
  EXPECT_EQ(page.find("<script>alert"), std::string::npos);
  EXPECT_EQ(page.find("<!-- a <b>"), std::string::npos);
  EXPECT_EQ(count(page, "</script"), 3U);
  EXPECT_EQ(count(page, "</SCRIPT"), 0U);
  // The same JSON, character for character, once \u003c is read back as "<"; and the report's
  // own "@@...@@" is not taken for a placeholder.
  EXPECT_EQ(embedded_json(page), json);
}

TEST(ReportHtml, TheFixtureGoesInWhole) {
  const std::string json = fixture("report_sample.json");
  EXPECT_EQ(embedded_json(render_report_html(json)), json);
  const std::string empty = fixture("report_empty.json");
  EXPECT_EQ(embedded_json(render_report_html(empty)), empty);
}

TEST(ReportHtml, AnyTextIsAPage) {
  // Not JSON at all: still the page (report.js says on it that it cannot read the report).
  for (const std::string text : {"", "not json", "<", "{\"version\":1"}) {
    const std::string page = render_report_html(text);
    EXPECT_NE(page.find("</html>"), std::string::npos);
    EXPECT_EQ(count(page, "</script"), 3U) << text;
  }
}

}  // namespace
}  // namespace nautilus::backtest_report
