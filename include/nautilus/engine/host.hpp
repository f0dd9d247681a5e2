// EngineHost runs a set of engines in one process, in one of two modes:
// - realtime (the default, `nautilus run`): each engine on its own mailbox thread with its own
//   HTTP server (standard endpoints + its routes), timers fired on wall time;
// - deterministic (HostOptions::simulated_clock, `nautilus run --deterministic`, backtests):
//   every engine on the calling thread in a fixed order, driven by a SimulatedClock through
//   run_until()/run(). The same inputs give the same messages in the same order, every time.
//
//   bus::MessageBus bus;
//   std::vector<std::unique_ptr<engine::Engine>> engines;
//   engines.push_back(engines::find_engine("marketdata")->create());
//   auto host = engine::EngineHost::start(bus, std::move(engines), {});
//   ...
//   (*host)->drain_and_stop();
//
//   core::SimulatedClock sim;                        // deterministic
//   bus::MessageBus bus({.clock = &sim, .request_timer_thread = false});
//   auto host = engine::EngineHost::start(bus, std::move(engines),
//                                         {.simulated_clock = &sim, .serve_http = false});
//   (*host)->run_until(t);                            // or run(): until the data ends
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/engine/engine.hpp"
#include "nautilus/engine/state_store.hpp"

namespace nautilus::bus_redis {
class RedisTransport;
}

namespace nautilus::engine {

struct HostOptions {
  std::string bind = "127.0.0.1";
  std::map<std::string, std::uint16_t> ports;  // per engine; absent: its default port
  bool ephemeral_ports = false;                // every server on a free port (tests)
  std::string bearer_token;                    // guards mutating routes when set
  // HTTPS (and wss://) on every engine's port, when both are set (NAUTILUS_TLS_CERT_FILE,
  // NAUTILUS_TLS_KEY_FILE): the certificate chain and key, PEM.
  std::string tls_cert_file, tls_key_file;
  std::size_t http_threads = 1;  // per engine
  std::chrono::milliseconds http_idle_timeout{30'000};
  std::chrono::milliseconds http_read_timeout{5'000};
  std::map<std::string, EngineConfig> configs;  // per engine
  // The Redis transport when the bus is distributed; nullptr for the in-process bus.
  const bus_redis::RedisTransport* transport = nullptr;
  std::chrono::milliseconds drain_timeout{5'000};
  bool auto_hardware_routing = true;  // AUTO_HARDWARE_ROUTING, reported on /hardware/status
  // Deterministic mode: the bus's clock (it must be the one the bus was created with, and the
  // bus without its request timer thread). nullptr: realtime.
  core::SimulatedClock* simulated_clock = nullptr;
  // Each engine publishes engine_health on system.health.<name> this often (0: never).
  std::chrono::nanoseconds health_interval = std::chrono::seconds(10);
  bool serve_http = true;  // an HTTP server per engine
  // Where engines save the state they restore after a restart (main Redis); nullptr: none.
  StateStore* state_store = nullptr;
};

struct HostedEngine {
  std::string name;
  std::uint16_t port = 0;  // where its HTTP server listens
};

// The bus must outlive the host: stopping unsubscribes the engines and retires their mailboxes.
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

  // Deterministic mode only. Fires every timer due up to `t` in (time, name) order, moving the
  // clock to each one's time first, and handles every message that causes, engines polled in
  // the order they were given; the clock then stands at `t`. Returns the messages handled.
  // kInvalidArgument in realtime mode or for a `t` before the clock.
  [[nodiscard]] core::Result<std::size_t> run_until(core::UnixNanos t);
  // Deterministic mode only: the next due timer (the clock moved to its time first) and
  // everything it causes; returns that time, or nullopt when no timer is left. What a backtest
  // calls to go one event at a time.
  [[nodiscard]] core::Result<std::optional<core::UnixNanos>> step();
  // Deterministic mode only: runs until no one-shot timer is left (every source has finished)
  // and every queue is empty. Repeating timers fire on the way, not after.
  [[nodiscard]] core::Result<std::size_t> run();
  // The same, calling `between` after the work of each due time (a backtest's progress line:
  // it may read the bus's metrics and the clock, and must not publish); when it returns false
  // the run stops there (a cancelled backtest), with what was handled so far.
  [[nodiscard]] core::Result<std::size_t> run(const std::function<bool()>& between);
  [[nodiscard]] bool deterministic() const noexcept;

  struct Impl;

 private:
  explicit EngineHost(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nautilus::engine
