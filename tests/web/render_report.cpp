// backtest_report_render REPORT.json PAGE.html: the page render_report_html writes for a report
// file, for the page test (tests/web/report_page_test.mjs) and for looking at a fixture by hand.
// Creates PAGE's directory if needed. Exit status 0 when written, 1 otherwise (said why).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "nautilus/backtest_report/html.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s REPORT.json PAGE.html\n", argv[0]);
    return 1;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "backtest_report_render: cannot read %s\n", argv[1]);
    return 1;
  }
  const std::string json{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const std::filesystem::path out(argv[2]);
  std::error_code ec;
  if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path(), ec);
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  const std::string page = nautilus::backtest_report::render_report_html(json);
  file.write(page.data(), static_cast<std::streamsize>(page.size()));
  file.close();
  if (!file) {
    std::fprintf(stderr, "backtest_report_render: cannot write %s\n", argv[2]);
    return 1;
  }
  return 0;
}
