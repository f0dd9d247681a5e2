#include "python_anchor.hpp"

#include <fmt/format.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <string>

namespace nautilus::bench {

std::optional<boost::json::object> run_python_anchor(std::string_view script, std::string_view args,
                                                     std::string_view who) {
  const std::string cmd =
      fmt::format("env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 {}/{} {} 2>&1",
                  NAUTILUS_SOURCE_DIR, script, args);
  std::FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return std::nullopt;
  std::string text;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), f) != nullptr) text += buf.data();
  if (::pclose(f) != 0) {
    fmt::print(stderr, "{}: the Python anchor {} failed: {}\n", who, script, text);
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) {
    fmt::print(stderr, "{}: the Python anchor {} printed {}\n", who, script, text);
    return std::nullopt;
  }
  return v.as_object();
}

}  // namespace nautilus::bench
