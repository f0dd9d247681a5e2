// The engine abstraction: a long-running component that reacts to bus messages on its own
// thread, publishes its results, and serves REST resources. Engines never call each other;
// the EngineHost gives each one a context (bus, clock, mailbox, publisher, settings).
//
//   class VpinEngine final : public engine::Engine {
//     const EngineInfo& info() const override { return kInfo; }
//     core::Result<void> start(EngineContext& ctx) override {
//       auto sub = ctx.subscribe("market_data.*.bar", [this](const auto& e) { on_bar(e); });
//       if (!sub) return std::unexpected(sub.error());
//       return {};
//     }
//     void add_routes(net::Router& r) override { r.get("/vpin/{symbol}", ...); }
//   };
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/core/error.hpp"

namespace nautilus::net {
class Router;
class PrometheusText;
}  // namespace nautilus::net

namespace nautilus::engine {

struct EngineInfo {
  std::string name;                     // "marketdata", "vpin", ...
  std::uint16_t default_port = 0;       // SPEC §2
  std::vector<std::string> subscribes;  // patterns, as documented (the bus has the live list)
  std::vector<std::string> publishes;   // topic patterns it publishes
  std::string description;
};

// Engine settings: `[engines.<name>]` in the TOML file and `--set key=value` on the command line.
// Values are strings; the typed getters refuse what does not parse, naming the key.
class EngineConfig {
 public:
  using Values = std::map<std::string, std::string, std::less<>>;
  EngineConfig() = default;
  explicit EngineConfig(Values values) : values_(std::move(values)) {}

  [[nodiscard]] std::string get(std::string_view key, std::string_view fallback = {}) const;
  [[nodiscard]] core::Result<double> get_double(std::string_view key, double fallback) const;
  [[nodiscard]] core::Result<std::int64_t> get_int(std::string_view key,
                                                   std::int64_t fallback) const;
  [[nodiscard]] bool has(std::string_view key) const;
  void set(std::string key, std::string value) { values_[std::move(key)] = std::move(value); }
  [[nodiscard]] const Values& values() const noexcept { return values_; }

 private:
  Values values_;
};

struct Health {
  bool healthy = true;
  std::string detail;  // why it is degraded
};

class EngineContext {
 public:
  EngineContext(bus::MessageBus& bus, std::string name, std::shared_ptr<bus::Mailbox> mailbox,
                EngineConfig config);

  [[nodiscard]] bus::MessageBus& bus() noexcept { return *bus_; }
  [[nodiscard]] const core::Clock& clock() const noexcept { return bus_->clock(); }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const EngineConfig& config() const noexcept { return config_; }
  [[nodiscard]] const std::shared_ptr<bus::Mailbox>& mailbox() const noexcept { return mailbox_; }

  // Subscribes on the engine's own mailbox (its thread), owned by the engine's name.
  core::Result<bus::SubscriptionId> subscribe(
      std::string_view pattern, bus::Handler handler,
      bus::OverflowPolicy policy = bus::OverflowPolicy::kDropLowFirst);
  // A publisher with this engine as its source. A Publisher belongs to one thread: take one
  // per thread that publishes.
  [[nodiscard]] core::Result<bus::Publisher> publisher();

 private:
  bus::MessageBus* bus_;
  std::string name_;
  std::shared_ptr<bus::Mailbox> mailbox_;
  EngineConfig config_;
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

  [[nodiscard]] virtual Health health() const { return {}; }
  // The engine's own REST resources, served beside the standard endpoints.
  virtual void add_routes(net::Router& /*router*/) {}
  // The engine's own Prometheus families, appended to /metrics.
  virtual void add_metrics(net::PrometheusText& /*out*/) const {}
  // Extra fields for /health, as a JSON object's members without braces ("" for none),
  // e.g. R"("symbols":20,"replay":"running")".
  [[nodiscard]] virtual std::string health_fields() const { return {}; }
};

}  // namespace nautilus::engine
