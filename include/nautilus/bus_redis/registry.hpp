// Engine discovery: each engine registers itself in the main Redis as a hash
// `nautilus:engines:<name>:<instance>` (name, instance, host, port, subscriptions, version,
// heartbeat) with a TTL that a heartbeat thread keeps refreshing. Peers appear when they start
// and expire when they stop or die; `nautilus status` lists them.
//
//   auto reg = Registration::start(cfg.main, {.name = "risk", .instance = "host-123",
//                                             .host = "127.0.0.1", .port = 8200});
//   auto engines = list_engines(cfg.main);   // Result<std::vector<EngineRecord>>
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nautilus/config/bus_config.hpp"
#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"

namespace nautilus::bus_redis {

inline constexpr std::string_view kRegistryPrefix = "nautilus:engines:";

struct EngineRecord {
  std::string name;
  std::string instance;
  std::string host;
  std::uint16_t port = 0;
  std::vector<std::string> subscriptions;
  std::string version = "0.1.0";
  core::UnixNanos started = 0;
  core::UnixNanos heartbeat = 0;  // filled in by the registration
};

class Registration {
 public:
  // Registers from its own thread at once, then every ttl/3, riding out Redis outages (an
  // engine runs without Redis; it is listed again once Redis is back). Only invalid arguments
  // are errors. Destruction deregisters.
  [[nodiscard]] static core::Result<std::unique_ptr<Registration>> start(
      const config::RedisEndpoint& main, EngineRecord record,
      std::chrono::seconds ttl = std::chrono::seconds(10));
  ~Registration();
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

  struct Impl;

 private:
  explicit Registration(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Every engine registered now, sorted by name then instance.
[[nodiscard]] core::Result<std::vector<EngineRecord>> list_engines(
    const config::RedisEndpoint& main);

}  // namespace nautilus::bus_redis
