// The endpoints every engine serves (docs/ENGINES.md): /health, /messagebus/status,
// /messagebus/subscriptions, /metrics, /hardware/status, /settings.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/engine/engine.hpp"
#include "nautilus/net/http.hpp"

namespace nautilus::bus_redis {
class RedisTransport;
}

namespace nautilus::engine::detail {

struct StandardRouteContext {
  Engine* engine;
  const EngineSettings* settings;  // the engine's, validated (its context's)
  bus::MessageBus* bus;
  const bus_redis::RedisTransport* transport;  // nullptr: in-process bus
  std::shared_ptr<bus::Mailbox> mailbox;
  std::chrono::steady_clock::time_point started;
  // Filled in once the server is up, while it may already be serving: hence atomic.
  const std::atomic<const net::HttpServer*>* http;
  bool auto_hardware_routing = true;
};

void add_standard_routes(net::Router& router, const StandardRouteContext& ctx);

}  // namespace nautilus::engine::detail
