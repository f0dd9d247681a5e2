// The engine abstraction: a long-running component that reacts to bus messages on its own
// thread, publishes its results, and serves REST resources. Engines never call each other;
// the EngineHost gives each one a context (bus, clock, mailbox, publisher, settings, timers).
// Time comes only from ctx.clock() and periodic work only from ctx timers, so the same engine
// runs live (a thread per engine, wall time) and in a deterministic host (one thread, a
// simulated clock) unchanged.
//
//   class VpinEngine final : public engine::Engine {
//     const EngineInfo& info() const override { return kInfo; }
//     core::Result<void> start(EngineContext& ctx) override {
//       auto sub = ctx.subscribe("market_data.*.bar", [this](const auto& e) { on_bar(e); });
//       if (!sub) return std::unexpected(sub.error());
//       ctx_ = &ctx;
//       return {};
//     }
//     void begin() override {  // timers are set here, once the host's clock is where it starts
//       ctx_->set_timer_every("snapshot", std::chrono::seconds(1),
//                             [this](core::UnixNanos now) { publish_snapshot(now); });
//     }
//     void add_routes(net::Router& r) override { r.get("/vpin/{symbol}", ...); }
//   };
#pragma once

#include <atomic>
#include <boost/json/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/engine/settings.hpp"

namespace nautilus::net {
class Router;
class PrometheusText;
}  // namespace nautilus::net

namespace nautilus::engine {

namespace detail {
class TimerService;
}

using TimerId = std::uint64_t;
// Called with the time the timer was due (on the host's clock), on the engine's own thread.
using TimerCallback = std::function<void(core::UnixNanos due)>;

class StateStore;

struct EngineInfo {
  std::string name;                     // "marketdata", "vpin", ...
  std::uint16_t default_port = 0;       // docs/ENGINES.md
  std::vector<std::string> subscribes;  // patterns, as documented (the bus has the live list)
  std::vector<std::string> publishes;   // topic patterns it publishes
  std::string description;
  std::vector<Setting> settings;  // what `[engines.<name>]` and `--set <name>.<key>=` may set
};

struct Health {
  bool healthy = true;
  std::string detail;  // why it is degraded
};

class EngineContext {
 public:
  EngineContext(bus::MessageBus& bus, std::string name, std::shared_ptr<bus::Mailbox> mailbox,
                EngineSettings settings, detail::TimerService* timers = nullptr,
                std::size_t slot = 0, bool simulated = false);

  [[nodiscard]] bus::MessageBus& bus() noexcept { return *bus_; }
  [[nodiscard]] const core::Clock& clock() const noexcept { return bus_->clock(); }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  // The engine's declared settings, validated, defaults filled in.
  [[nodiscard]] const EngineSettings& settings() const noexcept { return settings_; }
  [[nodiscard]] const std::shared_ptr<bus::Mailbox>& mailbox() const noexcept { return mailbox_; }

  // Subscribes on the engine's own mailbox (its thread), owned by the engine's name. With
  // kBlock a publisher facing a full lane waits up to kEngineBlockBound for room before it
  // drops (and counts) the message: long enough to ride out a descheduled engine thread on a
  // busy machine, short enough that a stuck engine cannot hold a publisher for long. Inputs
  // whose loss would make results wrong (bars for indicators, trades for VPIN) use it.
  static constexpr std::chrono::milliseconds kEngineBlockBound{100};
  core::Result<bus::SubscriptionId> subscribe(
      std::string_view pattern, bus::Handler handler,
      bus::OverflowPolicy policy = bus::OverflowPolicy::kDropLowFirst);
  // Serves requests sent to `endpoint` (one engine per name across the platform), on the
  // engine's thread; answer them with a Publisher's reply(). Over Redis, requests from other
  // processes arrive here too.
  core::Result<bus::SubscriptionId> serve(std::string_view endpoint, bus::Handler handler);
  // A publisher with this engine as its source. A Publisher belongs to one thread: take one
  // per thread that publishes.
  [[nodiscard]] core::Result<bus::Publisher> publisher();

  // Timers, driven by the host's clock and run on this engine's thread: once at `at`, or every
  // `interval` starting `interval` from now. Timers due at the same time fire in (name, order
  // of creation) order. Set them from begin() on: during start() a deterministic host's clock
  // is not yet where the data starts, so they are refused (kClosed) then, and outside a host.
  // kInvalidArgument for a non-positive interval.
  core::Result<TimerId> set_timer_at(std::string_view name, core::UnixNanos at, TimerCallback fn);
  core::Result<TimerId> set_timer_every(std::string_view name, std::chrono::nanoseconds interval,
                                        TimerCallback fn);
  void cancel_timer(TimerId id);
  // True when the host runs on a simulated clock (deterministic mode): a data source then
  // releases records at their own timestamps instead of pacing them against wall time.
  [[nodiscard]] bool simulated() const noexcept { return simulated_; }
  // Where to save state that must survive a restart (state_store.hpp); nullptr without one.
  [[nodiscard]] StateStore* state_store() const noexcept { return state_store_; }
  // For the host.
  void set_state_store(StateStore* store) noexcept { state_store_ = store; }

  // For the host: timers may be set from now on (just before begin()).
  void open_timers() noexcept { timers_open_.store(true, std::memory_order_release); }
  // For the host: the subscriptions made through subscribe(), removed when the engine stops.
  [[nodiscard]] const std::vector<bus::SubscriptionId>& subscriptions() const noexcept {
    return subscriptions_;
  }

 private:
  bus::MessageBus* bus_;
  std::string name_;
  std::shared_ptr<bus::Mailbox> mailbox_;
  EngineSettings settings_;
  detail::TimerService* timers_;
  std::size_t slot_;
  bool simulated_;
  StateStore* state_store_ = nullptr;
  std::atomic<bool> timers_open_{false};
  std::vector<bus::SubscriptionId> subscriptions_;

  [[nodiscard]] core::Result<void> timers_usable(std::string_view name) const;
};

class Engine {
 public:
  virtual ~Engine() = default;
  [[nodiscard]] virtual const EngineInfo& info() const = 0;

  // Subscribes, takes publishers, starts any worker threads. An error stops the host's start.
  [[nodiscard]] virtual core::Result<void> start(EngineContext& ctx) = 0;
  // Every engine of the host has started (so has subscribed): sources may begin producing.
  virtual void begin() {}
  // Stop producing new work (sources stop); queued messages are still handled after this.
  virtual void drain() {}
  // Everything is handled; release threads and resources.
  virtual void stop() {}

  // Where the engine's data begins, if it knows (a replay's first record): a deterministic host
  // whose clock was not set starts its simulated clock there. Asked after start().
  [[nodiscard]] virtual std::optional<core::UnixNanos> start_time() const { return std::nullopt; }

  [[nodiscard]] virtual Health health() const { return {}; }
  // The engine's own REST resources, served beside the standard endpoints.
  virtual void add_routes(net::Router& /*router*/) {}
  // The engine's own Prometheus families, appended to /metrics.
  virtual void add_metrics(net::PrometheusText& /*out*/) const {}
  // Extra members for /health, e.g. out["symbols"] = 20.
  virtual void add_health_fields(boost::json::object& /*out*/) const {}
};

}  // namespace nautilus::engine
