#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.hpp"
#include "nautilus/bus_redis/registry.hpp"
#include "nautilus/config/bus_config.hpp"

namespace nautilus::app {

int show_status(const StatusOptions& o) {
  auto cfg = load_config(o.config_path, "status");
  if (!cfg) return 2;
  auto engines = bus_redis::list_engines(cfg->main);
  if (!engines) {
    fmt::print(stderr, "nautilus status: {}\n", engines.error().message);
    return 1;
  }
  const auto now = core::realtime_clock().now();
  fmt::print("{:<16} {:<32} {:<22} {:<8} {:>10}  {}\n", "ENGINE", "INSTANCE", "ADDRESS", "VERSION",
             "HEARTBEAT", "SUBSCRIPTIONS");
  for (const auto& e : *engines) {
    fmt::print("{:<16} {:<32} {:<22} {:<8} {:>8.1f}s  {}\n", e.name, e.instance,
               fmt::format("{}:{}", e.host, e.port), e.version,
               static_cast<double>(now - e.heartbeat) / 1e9,
               e.subscriptions.empty() ? "-" : fmt::format("{}", fmt::join(e.subscriptions, ",")));
  }
  std::string where = fmt::format("{}:{}", cfg->main.host, cfg->main.port);
  if (cfg->main.is_cluster()) {
    where = "the cluster at";
    for (const auto& s : cfg->main.cluster) where += fmt::format(" {}:{}", s.host, s.port);
  }
  fmt::print("{} engine(s) registered in {}\n", engines->size(), where);
  return 0;
}

}  // namespace nautilus::app
