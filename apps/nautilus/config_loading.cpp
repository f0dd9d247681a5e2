#include <fmt/format.h>

#include "commands.hpp"

namespace nautilus::app {

std::optional<config::BusConfig> load_config(const std::string& path, const char* command) {
  auto cfg = config::load_bus_config(
      config::process_env(), path.empty() ? std::nullopt : std::optional<std::string>(path));
  if (!cfg) {
    fmt::print(stderr, "nautilus {}: configuration error: {}\n", command, cfg.error().message);
    return std::nullopt;
  }
  return std::move(*cfg);
}

}  // namespace nautilus::app
