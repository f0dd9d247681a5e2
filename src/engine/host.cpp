#include "nautilus/engine/host.hpp"

#include <fmt/format.h>

#include <atomic>
#include <limits>
#include <thread>

#include "nautilus/model/risk.hpp"
#include "nautilus/net/http.hpp"
#include "standard_routes.hpp"
#include "timer_service.hpp"

namespace nautilus::engine {

struct EngineHost::Impl {
  struct Slot {
    std::unique_ptr<Engine> engine;
    std::unique_ptr<EngineContext> context;
    std::shared_ptr<bus::Mailbox> mailbox;
    std::unique_ptr<bus::MailboxThread> thread;
    std::unique_ptr<net::HttpServer> http;
    std::atomic<const net::HttpServer*> http_view{nullptr};  // read by /metrics
    std::optional<bus::Publisher> health_publisher;          // the engine thread's
    // The mailbox's count at the last heartbeat, for its message rate (the engine thread's).
    std::uint64_t delivered_at_health = 0;
    core::UnixNanos health_at = 0;
  };
  bus::MessageBus* bus = nullptr;
  HostOptions options;
  std::unique_ptr<detail::TimerService> timers;
  std::vector<std::unique_ptr<Slot>> slots;  // stable addresses: routes point into them
  core::UnixNanos started_at = 0;            // on the host's clock
  std::atomic<bool> stopped{false};          // engine threads read it (health)

  [[nodiscard]] bool deterministic() const { return options.simulated_clock != nullptr; }
  void stop_all();
  std::size_t drain_queues();
  void publish_health(Slot& s, core::UnixNanos now);
};

// Deterministic mode: every mailbox in engine order, over and over, until a whole round finds
// nothing (what one engine publishes is handled by the others in the same call).
std::size_t EngineHost::Impl::drain_queues() {
  std::size_t total = 0;
  while (true) {
    std::size_t round = 0;
    for (auto& s : slots) round += s->mailbox->poll();
    if (round == 0) return total;
    total += round;
  }
}

void EngineHost::Impl::publish_health(Slot& s, core::UnixNanos now) {
  if (!s.health_publisher) return;
  const Health h = s.engine->health();
  const std::string_view name = s.engine->info().name;
  // Messages per second since the last heartbeat (since the start, for the first), and the
  // p99 of publish -> handler since the start: both on the host's clock.
  const bus::MailboxStats st = s.mailbox->stats();
  const core::UnixNanos since = s.health_at != 0 ? s.health_at : started_at;
  const double rate = now > since ? static_cast<double>(st.delivered - s.delivered_at_health) /
                                        (static_cast<double>(now - since) / 1e9)
                                  : std::numeric_limits<double>::quiet_NaN();
  s.delivered_at_health = st.delivered;
  s.health_at = now;
  model::EngineHealth m{
      .engine = *core::FixedString<31>::create(name.substr(0, 31)),
      .state = stopped.load()
                   ? model::EngineState::kStopping
                   : (h.healthy ? model::EngineState::kRunning : model::EngineState::kDegraded),
      .healthy = h.healthy,
      .queue_depth = s.mailbox->depth(),
      .errors = st.handler_errors,
      .messages_per_s = rate,
      .lag_us = st.lag_samples > 0 ? st.lag_p99_ns / 1e3 : std::numeric_limits<double>::quiet_NaN(),
      .uptime_s = static_cast<double>(now - started_at) / 1e9,
      .ts_event = now};
  (void)s.health_publisher->publish(fmt::format("system.health.{}", name), m);
}

void EngineHost::Impl::stop_all() {
  if (stopped.exchange(true)) return;
  timers->stop();
  for (auto& s : slots) s->engine->drain();
  if (deterministic()) {
    drain_queues();
  } else {
    // Let the engines handle what is already queued, bounded so a stuck handler cannot hang exit.
    const auto deadline = std::chrono::steady_clock::now() + options.drain_timeout;
    for (auto& s : slots) {
      while (s->thread && s->mailbox->depth() > 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
  }
  for (auto& s : slots) {
    if (s->http) s->http->stop();
  }
  for (auto& s : slots) {
    if (s->thread) s->thread->stop();
  }
  for (auto& s : slots) s->engine->stop();
  // Unwired from the bus: nothing is queued for a mailbox nobody drains any more, and a
  // transport no longer waits on it for acknowledgements.
  for (auto& s : slots) {
    for (const auto id : s->context->subscriptions()) (void)bus->unsubscribe(id);
    bus->retire_mailbox(s->mailbox);
  }
}

core::Result<std::unique_ptr<EngineHost>> EngineHost::start(
    bus::MessageBus& bus, std::vector<std::unique_ptr<Engine>> engines, HostOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->bus = &bus;
  impl->options = std::move(options);
  const auto& o = impl->options;
  if (impl->deterministic() && &bus.clock() != o.simulated_clock) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      "deterministic host: the bus must run on the host's simulated clock");
  }
  impl->timers = std::make_unique<detail::TimerService>(bus.clock());
  const auto started = std::chrono::steady_clock::now();

  // Phase 1: every engine subscribes before any source produces, so nothing published at
  // start-up is missed by an engine of the same host.
  for (auto& e : engines) {
    auto slot = std::make_unique<Impl::Slot>();
    const std::string name = e->info().name;
    // Deterministic without HTTP: one thread publishes, polls and handles everything (no
    // engine threads, sources without loader threads, no live streams), so the lanes need no
    // atomics. With HTTP servers, a REST handler may publish (risk's kill switch) and
    // /metrics reads depths from their threads: the shared rings then.
    slot->mailbox =
        bus.create_mailbox({.name = name, .single_thread = impl->deterministic() && !o.serve_http});
    const auto cfg = o.configs.find(name);
    auto settings = resolve_settings(name, e->info().settings,
                                     cfg == o.configs.end() ? EngineConfig{} : cfg->second);
    if (!settings) {
      impl->stopped.store(true);
      for (auto& s : impl->slots) s->engine->stop();
      return std::unexpected(settings.error());  // it names <engine>.<key>
    }
    slot->context = std::make_unique<EngineContext>(bus, name, slot->mailbox, std::move(*settings),
                                                    impl->timers.get(), impl->slots.size(),
                                                    impl->deterministic());
    slot->context->set_state_store(o.state_store);
    slot->engine = std::move(e);
    impl->slots.push_back(std::move(slot));
    core::Result<void> r;
    try {
      r = impl->slots.back()->engine->start(*impl->slots.back()->context);
    } catch (const std::exception& ex) {
      // Nothing a user supplies may abort the process: an engine that throws at start-up
      // (a bug: it should return an error) fails the start like any error.
      r = core::fail(core::ErrorCode::kInternal, fmt::format("start threw: {}", ex.what()));
    }
    if (!r) {
      impl->slots.back()->engine->stop();
      impl->stopped.store(true);
      for (auto& s : impl->slots) s->engine->stop();
      return core::fail(r.error().code, fmt::format("engine {}: {}", name, r.error().message));
    }
  }
  // A simulated clock nobody has set starts where the data does.
  if (impl->deterministic() && o.simulated_clock->now() == 0) {
    std::optional<core::UnixNanos> first;
    for (const auto& s : impl->slots) {
      if (auto t = s->engine->start_time(); t && (!first || *t < *first)) first = t;
    }
    if (first) (void)o.simulated_clock->set(*first);
  }
  impl->started_at = bus.clock().now();
  if (!impl->deterministic()) {
    for (auto& s : impl->slots) s->thread = std::make_unique<bus::MailboxThread>(s->mailbox);
    Impl* raw = impl.get();
    impl->timers->start_realtime([raw](std::size_t slot, std::function<void()> fn) {
      return raw->slots[slot]->mailbox->post_barrier(bus::Priority::kHigh, std::move(fn));
    });
  }

  // Phase 2: the HTTP servers.
  for (auto& s : impl->slots) {
    if (!o.serve_http) break;
    const auto& info = s->engine->info();
    std::uint16_t port = info.default_port;
    if (auto it = o.ports.find(info.name); it != o.ports.end()) port = it->second;
    if (o.ephemeral_ports) port = 0;
    net::Router router;
    detail::add_standard_routes(router, {.engine = s->engine.get(),
                                         .settings = &s->context->settings(),
                                         .bus = &bus,
                                         .transport = o.transport,
                                         .mailbox = s->mailbox,
                                         .started = started,
                                         .http = &s->http_view,
                                         .auto_hardware_routing = o.auto_hardware_routing});
    s->engine->add_routes(router);
    auto http = net::HttpServer::start(std::move(router), {.bind = o.bind,
                                                           .port = port,
                                                           .threads = o.http_threads,
                                                           .idle_timeout = o.http_idle_timeout,
                                                           .read_timeout = o.http_read_timeout,
                                                           .bearer_token = o.bearer_token,
                                                           .tls_cert_file = o.tls_cert_file,
                                                           .tls_key_file = o.tls_key_file});
    if (!http) {
      impl->stop_all();
      return core::fail(http.error().code,
                        fmt::format("engine {}: {}", info.name, http.error().message));
    }
    s->http = std::move(*http);
    s->http_view.store(s->http.get(), std::memory_order_release);
  }

  // Phase 3: heartbeats, then sources begin (timers are open from here: the clock is set).
  for (auto& s : impl->slots) s->context->open_timers();
  if (o.health_interval.count() > 0) {
    for (auto& s : impl->slots) {
      auto pub = bus.publisher(s->engine->info().name);
      if (!pub) continue;
      s->health_publisher.emplace(std::move(*pub));
      Impl* raw = impl.get();
      Impl::Slot* slot = s.get();
      (void)s->context->set_timer_every(
          "_health", o.health_interval,
          [raw, slot](core::UnixNanos due) { raw->publish_health(*slot, due); });
    }
  }
  for (auto& s : impl->slots) s->engine->begin();
  return std::unique_ptr<EngineHost>(new EngineHost(std::move(impl)));
}

EngineHost::EngineHost(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EngineHost::~EngineHost() { impl_->stop_all(); }

void EngineHost::drain_and_stop() { impl_->stop_all(); }

bool EngineHost::deterministic() const noexcept { return impl_->deterministic(); }

core::Result<std::size_t> EngineHost::run_until(core::UnixNanos t) {
  auto& im = *impl_;
  if (!im.deterministic()) {
    return core::fail(core::ErrorCode::kInvalidArgument, "run_until needs a deterministic host");
  }
  if (im.stopped.load()) return core::fail(core::ErrorCode::kClosed, "the host has stopped");
  auto& clock = *im.options.simulated_clock;
  if (t < clock.now()) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("run_until: {} is before the clock ({})", t, clock.now()));
  }
  std::size_t handled = im.drain_queues();
  while (auto f = im.timers->pop_due(t)) {
    if (f->due > clock.now()) {
      (void)clock.set(f->due);
      im.bus->expire_requests();
    }
    f->run();
    handled += im.drain_queues();
  }
  (void)clock.set(t);
  im.bus->expire_requests();
  return handled + im.drain_queues();
}

core::Result<std::optional<core::UnixNanos>> EngineHost::step() {
  auto& im = *impl_;
  if (!im.deterministic()) {
    return core::fail(core::ErrorCode::kInvalidArgument, "step needs a deterministic host");
  }
  if (im.stopped.load()) return core::fail(core::ErrorCode::kClosed, "the host has stopped");
  im.drain_queues();
  auto f = im.timers->pop_due(std::numeric_limits<core::UnixNanos>::max());
  if (!f) return std::optional<core::UnixNanos>{};
  auto& clock = *im.options.simulated_clock;
  if (f->due > clock.now()) {
    (void)clock.set(f->due);
    im.bus->expire_requests();
  }
  f->run();
  im.drain_queues();
  return std::optional<core::UnixNanos>{clock.now()};
}

core::Result<std::size_t> EngineHost::run() { return run(std::function<bool()>{}); }

core::Result<std::size_t> EngineHost::run(const std::function<bool()>& between) {
  auto& im = *impl_;
  if (!im.deterministic()) {
    return core::fail(core::ErrorCode::kInvalidArgument, "run needs a deterministic host");
  }
  if (im.stopped.load()) return core::fail(core::ErrorCode::kClosed, "the host has stopped");
  std::size_t handled = im.drain_queues();
  while (im.timers->has_one_shot()) {
    const auto next = im.timers->next_due();
    if (!next) break;
    auto r = run_until(std::max(*next, im.options.simulated_clock->now()));
    if (!r) return r;
    handled += *r;
    if (between && !between()) break;
  }
  return handled;
}

std::vector<HostedEngine> EngineHost::engines() const {
  std::vector<HostedEngine> out;
  for (const auto& s : impl_->slots) {
    out.push_back({s->engine->info().name, s->http ? s->http->port() : std::uint16_t{0}});
  }
  return out;
}

std::vector<Engine*> EngineHost::engine_objects() const {
  std::vector<Engine*> out;
  for (const auto& s : impl_->slots) out.push_back(s->engine.get());
  return out;
}

}  // namespace nautilus::engine
