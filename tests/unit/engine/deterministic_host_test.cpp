// The engine host's timers and its deterministic mode: engines on one thread, a simulated
// clock, the same order of events on every run.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/engine/host.hpp"
#include "nautilus/model/risk.hpp"

namespace nautilus::engine {
namespace {

using namespace std::chrono_literals;
constexpr core::UnixNanos kT0 = 1'767'605'400'000'000'000;  // 2026-01-05T09:30:00Z
constexpr core::UnixNanos kSec = 1'000'000'000;

struct Ping {
  static constexpr std::string_view kTypeName = "test_ping";
  std::uint64_t n = 0;
};

// What every test engine saw, in order: "<clock> <who> <what>".
struct Trace {
  std::mutex mu;
  std::vector<std::string> lines;
  void add(core::UnixNanos t, std::string_view who, std::string_view what) {
    std::lock_guard lock(mu);
    lines.push_back(std::to_string((t - kT0) / 1'000'000) + "ms " + std::string(who) + " " +
                    std::string(what));
  }
};

// Sets the timers a test asks for in begin(), as engines should; records each firing.
class TimerEngine final : public Engine {
 public:
  TimerEngine(std::string name, Trace& trace) : trace_(&trace) { info_.name = std::move(name); }
  const EngineInfo& info() const override { return info_; }
  core::Result<void> start(EngineContext& ctx) override {
    ctx_ = &ctx;
    NAUTILUS_TRY(pub, ctx.publisher());
    pub_.emplace(std::move(pub));
    // Timers wait for begin(): in start() a deterministic host's clock is not yet set.
    early_timer_refused_ = !ctx.set_timer_at("early", 0, [](core::UnixNanos) {});
    // Where this engine's handlers run, to compare with where its timers run.
    auto sub = ctx.subscribe("probe." + info_.name, [this](const bus::Envelope&) {
      handler_thread_ = std::this_thread::get_id();
    });
    if (!sub) return std::unexpected(sub.error());
    return {};
  }
  void begin() override {
    for (auto& [name, at] : at_) {
      (void)ctx_->set_timer_at(name, at, [this, n = name](core::UnixNanos due) {
        trace_->add(due, info_.name, "at " + n);
        EXPECT_EQ(ctx_->clock().now(), due) << "a timer runs with the clock at its due time";
      });
    }
    for (auto& [name, every] : every_) {
      ids_.push_back(*ctx_->set_timer_every(name, every, [this, n = name](core::UnixNanos due) {
        trace_->add(due, info_.name, "every " + n);
        if (publish_) (void)pub_->publish("ping." + info_.name, Ping{++sent_});
        thread_ = std::this_thread::get_id();
      }));
    }
  }
  std::optional<core::UnixNanos> start_time() const override { return start_; }

  EngineInfo info_;
  Trace* trace_;
  EngineContext* ctx_ = nullptr;
  std::optional<bus::Publisher> pub_;
  std::vector<std::pair<std::string, core::UnixNanos>> at_;
  std::vector<std::pair<std::string, std::chrono::nanoseconds>> every_;
  std::vector<TimerId> ids_;
  std::optional<core::UnixNanos> start_;
  bool publish_ = false;
  bool early_timer_refused_ = false;
  std::uint64_t sent_ = 0;
  std::atomic<std::thread::id> thread_{};
  std::atomic<std::thread::id> handler_thread_{};
};

// Answers every ping with a ping of its own: messages that cause messages.
class EchoEngine final : public Engine {
 public:
  explicit EchoEngine(Trace& trace) : trace_(&trace) { info_.name = "echo"; }
  const EngineInfo& info() const override { return info_; }
  core::Result<void> start(EngineContext& ctx) override {
    ctx_ = &ctx;
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    pub_.emplace(std::move(*pub));
    auto sub = ctx.subscribe("ping.*", [this](const bus::Envelope& e) {
      trace_->add(ctx_->clock().now(), "echo", std::string(e.topic.value()));
      if (e.topic.value() != "ping.echo") (void)pub_->publish("ping.echo", Ping{1});
    });
    if (!sub) return std::unexpected(sub.error());
    return {};
  }
  EngineInfo info_;
  Trace* trace_;
  EngineContext* ctx_ = nullptr;
  std::optional<bus::Publisher> pub_;
};

struct Deterministic {
  core::SimulatedClock clock{kT0};
  bus::MessageBus bus{{.clock = &clock, .request_timer_thread = false}};
  std::unique_ptr<EngineHost> host;

  void start(std::vector<std::unique_ptr<Engine>> engines,
             std::chrono::nanoseconds health = std::chrono::nanoseconds(0)) {
    auto h = EngineHost::start(
        bus, std::move(engines),
        {.simulated_clock = &clock, .health_interval = health, .serve_http = false});
    ASSERT_TRUE(h) << h.error().message;
    host = std::move(*h);
  }
};

TEST(DeterministicHost, TimersFireAtTheirSimulatedTimesInTimeThenNameOrder) {
  Trace trace;
  auto e = std::make_unique<TimerEngine>("timers", trace);
  e->at_ = {{"b", kT0 + 5 * kSec}, {"a", kT0 + 5 * kSec}, {"late", kT0 + 60 * kSec}};
  e->every_ = {{"tick", 2s}};
  Deterministic d;
  d.start([&] {
    std::vector<std::unique_ptr<Engine>> v;
    v.push_back(std::move(e));
    return v;
  }());
  ASSERT_TRUE(d.host->run_until(kT0 + 6 * kSec));
  EXPECT_EQ(d.clock.now(), kT0 + 6 * kSec);
  EXPECT_EQ(trace.lines,
            (std::vector<std::string>{"2000ms timers every tick", "4000ms timers every tick",
                                      "5000ms timers at a", "5000ms timers at b",
                                      "6000ms timers every tick"}));
  EXPECT_FALSE(d.host->run_until(kT0)) << "the clock does not go back";
  EXPECT_TRUE(static_cast<TimerEngine*>(d.host->engine_objects()[0])->early_timer_refused_);
  d.host->drain_and_stop();
  EXPECT_FALSE(d.host->run_until(kT0 + 7 * kSec)) << "a stopped host runs nothing";
  EXPECT_EQ(trace.lines.size(), 5u);
}

TEST(DeterministicHost, RunEndsWhenOnlyRepeatingTimersAreLeft) {
  Trace trace;
  auto e = std::make_unique<TimerEngine>("timers", trace);
  e->at_ = {{"end", kT0 + 7 * kSec}};
  e->every_ = {{"tick", 3s}};
  Deterministic d;
  std::vector<std::unique_ptr<Engine>> v;
  v.push_back(std::move(e));
  d.start(std::move(v));
  ASSERT_TRUE(d.host->run());
  EXPECT_EQ(d.clock.now(), kT0 + 7 * kSec);
  EXPECT_EQ(trace.lines,
            (std::vector<std::string>{"3000ms timers every tick", "6000ms timers every tick",
                                      "7000ms timers at end"}));
}

TEST(DeterministicHost, StepGoesOneTimerAtATime) {
  Trace trace;
  auto e = std::make_unique<TimerEngine>("timers", trace);
  e->at_ = {{"first", kT0 + 1 * kSec}, {"second", kT0 + 3 * kSec}};
  Deterministic d;
  std::vector<std::unique_ptr<Engine>> v;
  v.push_back(std::move(e));
  d.start(std::move(v));
  auto t = d.host->step();
  ASSERT_TRUE(t && *t);
  EXPECT_EQ(**t, kT0 + 1 * kSec);
  EXPECT_EQ(trace.lines, (std::vector<std::string>{"1000ms timers at first"}));
  t = d.host->step();
  ASSERT_TRUE(t && *t);
  EXPECT_EQ(**t, kT0 + 3 * kSec);
  t = d.host->step();
  ASSERT_TRUE(t);
  EXPECT_FALSE(*t) << "no timer left";
  EXPECT_EQ(trace.lines.size(), 2u);
}

TEST(DeterministicHost, ACancelledTimerDoesNotFire) {
  Trace trace;
  auto e = std::make_unique<TimerEngine>("timers", trace);
  e->every_ = {{"tick", 1s}};
  auto* raw = e.get();
  Deterministic d;
  std::vector<std::unique_ptr<Engine>> v;
  v.push_back(std::move(e));
  d.start(std::move(v));
  ASSERT_TRUE(d.host->run_until(kT0 + 2 * kSec));
  raw->ctx_->cancel_timer(raw->ids_.front());
  ASSERT_TRUE(d.host->run_until(kT0 + 10 * kSec));
  EXPECT_EQ(trace.lines.size(), 2u);
}

// Two engines exchanging messages, run twice: the same trace, every message handled at the
// simulated time it was caused.
std::vector<std::string> ping_pong_trace() {
  Trace trace;
  auto a = std::make_unique<TimerEngine>("alpha", trace);
  a->every_ = {{"tick", 1500ms}};
  a->publish_ = true;
  auto b = std::make_unique<TimerEngine>("beta", trace);
  b->every_ = {{"tick", 1s}};
  b->publish_ = true;
  Deterministic d;
  std::vector<std::unique_ptr<Engine>> v;
  v.push_back(std::move(a));
  v.push_back(std::make_unique<EchoEngine>(trace));
  v.push_back(std::move(b));
  d.start(std::move(v));
  EXPECT_TRUE(d.host->run_until(kT0 + 4 * kSec));
  d.host->drain_and_stop();
  return trace.lines;
}

TEST(DeterministicHost, EnginesExchangingMessagesGiveTheSameTraceEveryRun) {
  const auto first = ping_pong_trace();
  EXPECT_EQ(first, ping_pong_trace());
  EXPECT_EQ(first,
            (std::vector<std::string>{
                "1000ms beta every tick", "1000ms echo ping.beta", "1000ms echo ping.echo",
                "1500ms alpha every tick", "1500ms echo ping.alpha", "1500ms echo ping.echo",
                "2000ms beta every tick", "2000ms echo ping.beta", "2000ms echo ping.echo",
                // Due at the same time, same name: alpha's tick first (created first), and what it
                // causes is handled before beta's tick fires.
                "3000ms alpha every tick", "3000ms echo ping.alpha", "3000ms echo ping.echo",
                "3000ms beta every tick", "3000ms echo ping.beta", "3000ms echo ping.echo",
                "4000ms beta every tick", "4000ms echo ping.beta", "4000ms echo ping.echo"}));
}

TEST(DeterministicHost, AnUnsetClockStartsWhereTheDataStarts) {
  Trace trace;
  auto e = std::make_unique<TimerEngine>("source", trace);
  e->start_ = kT0 + 42 * kSec;
  core::SimulatedClock clock;  // at 0
  bus::MessageBus bus({.clock = &clock, .request_timer_thread = false});
  std::vector<std::unique_ptr<Engine>> v;
  v.push_back(std::move(e));
  auto host =
      EngineHost::start(bus, std::move(v), {.simulated_clock = &clock, .serve_http = false});
  ASSERT_TRUE(host) << host.error().message;
  EXPECT_EQ(clock.now(), kT0 + 42 * kSec);
}

TEST(DeterministicHost, EveryEnginePublishesItsHealthOnTheSimulatedClock) {
  Trace trace;
  Deterministic d;
  std::vector<core::UnixNanos> seen;
  auto sub = d.bus.subscribe("system.health.*", [&](const bus::Envelope& env) {
    const auto* h = env.get<model::EngineHealth>();
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->engine.view(), "quiet");
    EXPECT_EQ(env.ts_publish, h->ts_event);
    seen.push_back(h->ts_event - kT0);
  });
  ASSERT_TRUE(sub);
  std::vector<std::unique_ptr<Engine>> v;
  v.push_back(std::make_unique<TimerEngine>("quiet", trace));
  d.start(std::move(v), 10s);
  ASSERT_TRUE(d.host->run_until(kT0 + 35 * kSec));
  EXPECT_EQ(seen, (std::vector<core::UnixNanos>{10 * kSec, 20 * kSec, 30 * kSec}));
}

TEST(DeterministicHost, TheBusMustRunOnTheHostsClock) {
  core::SimulatedClock clock;
  bus::MessageBus bus;  // realtime
  auto host = EngineHost::start(bus, {}, {.simulated_clock = &clock, .serve_http = false});
  ASSERT_FALSE(host);
  EXPECT_NE(host.error().message.find("simulated clock"), std::string::npos);
}

TEST(RealtimeHost, TimersRunOnTheEnginesOwnThreadAndRunUntilIsRefused) {
  Trace trace;
  auto e = std::make_unique<TimerEngine>("live", trace);
  e->every_ = {{"tick", 20ms}};
  auto* raw = e.get();
  bus::MessageBus bus;
  std::vector<std::unique_ptr<Engine>> v;
  v.push_back(std::move(e));
  auto host = EngineHost::start(bus, std::move(v), {.serve_http = false});
  ASSERT_TRUE(host) << host.error().message;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (raw->thread_.load() == std::thread::id{} && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_NE(raw->thread_.load(), std::thread::id{}) << "the timer fired";
  // ... on the thread that runs the engine's message handlers (its mailbox thread).
  auto pub = bus.publisher("test");
  ASSERT_TRUE(pub);
  ASSERT_TRUE(pub->publish("probe.live", Ping{1}));
  while (raw->handler_thread_.load() == std::thread::id{} &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(raw->thread_.load(), raw->handler_thread_.load());
  EXPECT_NE(raw->thread_.load(), std::this_thread::get_id());
  EXPECT_FALSE((*host)->run_until(bus.clock().now() + kSec));
  EXPECT_FALSE(raw->ctx_->set_timer_every("bad", 0s, [](core::UnixNanos) {}));
  (*host)->drain_and_stop();
}

}  // namespace
}  // namespace nautilus::engine
