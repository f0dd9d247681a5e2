// One engine on a bus of its own with a simulated clock and no HTTP, for engine tests: start it
// with its settings, collect what it publishes by pattern, publish its inputs, move the clock.
//
//   nautilus::test::EngineHarness h(kT0);
//   ASSERT_TRUE(h.start(risk::make_engine(), "risk", cfg));
//   std::vector<model::OrderDenied> denied;
//   h.collect("order.event.*", denied);
//   ASSERT_TRUE(h.pub->publish("order.new.AAA", order));
//   h.step(1'000'000);   // the clock moves on and the host runs what is due
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/engine/host.hpp"

namespace nautilus::test {

struct EngineHarness {
  core::SimulatedClock clock;
  bus::MessageBus bus{{.clock = &clock, .request_timer_thread = false}};
  std::unique_ptr<engine::EngineHost> host;
  std::optional<bus::Publisher> pub;

  explicit EngineHarness(core::UnixNanos t0) : clock(t0) {}
  ~EngineHarness() {
    if (host) host->drain_and_stop();
  }
  EngineHarness(const EngineHarness&) = delete;
  EngineHarness& operator=(const EngineHarness&) = delete;

  core::Result<void> start(std::unique_ptr<engine::Engine> e, const std::string& name,
                           engine::EngineConfig cfg = {}) {
    std::vector<std::unique_ptr<engine::Engine>> engines;
    engines.push_back(std::move(e));
    auto h = engine::EngineHost::start(
        bus, std::move(engines),
        {.configs = {{name, std::move(cfg)}}, .simulated_clock = &clock, .serve_http = false});
    if (!h) return std::unexpected(h.error());
    host = std::move(*h);
    pub.emplace(*bus.publisher("test"));
    return {};
  }
  // Every message of type T on `pattern`, appended to `into` (which must outlive the harness).
  template <class T>
  void collect(const std::string& pattern, std::vector<T>& into) {
    (void)bus.subscribe(pattern, [&into](const bus::Envelope& e) {
      if (const auto* m = e.get<T>()) into.push_back(*m);
    });
  }
  void step(core::UnixNanos by) {
    ASSERT_TRUE(clock.set(clock.now() + by));
    ASSERT_TRUE(host->run_until(clock.now()));
  }
};

}  // namespace nautilus::test
