// EngineHost runs a set of engines in one process: each on its own mailbox thread with its own
// HTTP server (standard endpoints + its routes). `nautilus run` hosts every engine on the
// in-process bus; `nautilus engine <name> --bus redis` hosts one over the Redis transport.
//
//   bus::MessageBus bus;
//   std::vector<std::unique_ptr<engine::Engine>> engines;
//   engines.push_back(engine::find_engine("marketdata")->create());
//   auto host = engine::EngineHost::start(bus, std::move(engines), {});
//   ...
//   (*host)->drain_and_stop();
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/engine/engine.hpp"

namespace nautilus::bus_redis {
class RedisTransport;
}

namespace nautilus::engine {

struct HostOptions {
  std::string bind = "127.0.0.1";
  std::map<std::string, std::uint16_t> ports;  // per engine; absent: its default port
  bool ephemeral_ports = false;                // every server on a free port (tests)
  std::string bearer_token;                    // guards mutating routes when set
  std::size_t http_threads = 1;                // per engine
  std::chrono::milliseconds http_idle_timeout{30'000};
  std::chrono::milliseconds http_read_timeout{5'000};
  std::map<std::string, EngineConfig> configs;  // per engine
  // The Redis transport when the bus is distributed; nullptr for the in-process bus.
  const bus_redis::RedisTransport* transport = nullptr;
  std::chrono::milliseconds drain_timeout{5'000};
  bool auto_hardware_routing = true;  // AUTO_HARDWARE_ROUTING, reported on /hardware/status
};

struct HostedEngine {
  std::string name;
  std::uint16_t port = 0;  // where its HTTP server listens
};

class EngineHost {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<EngineHost>> start(
      bus::MessageBus& bus, std::vector<std::unique_ptr<Engine>> engines, HostOptions options);
  ~EngineHost();  // drain_and_stop() if not done
  EngineHost(const EngineHost&) = delete;
  EngineHost& operator=(const EngineHost&) = delete;

  [[nodiscard]] std::vector<HostedEngine> engines() const;
  [[nodiscard]] std::vector<Engine*> engine_objects() const;
  // Sources stop, queued messages are handled (up to drain_timeout), then all stops.
  void drain_and_stop();

  struct Impl;

 private:
  explicit EngineHost(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nautilus::engine
