#include "nautilus/engine/host.hpp"

#include <fmt/format.h>

#include <atomic>
#include <thread>

#include "nautilus/net/http.hpp"
#include "standard_routes.hpp"

namespace nautilus::engine {

struct EngineHost::Impl {
  struct Slot {
    std::unique_ptr<Engine> engine;
    std::unique_ptr<EngineContext> context;
    std::shared_ptr<bus::Mailbox> mailbox;
    std::unique_ptr<bus::MailboxThread> thread;
    std::unique_ptr<net::HttpServer> http;
    std::atomic<const net::HttpServer*> http_view{nullptr};  // read by /metrics
  };
  bus::MessageBus* bus = nullptr;
  HostOptions options;
  std::vector<std::unique_ptr<Slot>> slots;  // stable addresses: routes point into them
  bool stopped = false;

  void stop_all();
};

void EngineHost::Impl::stop_all() {
  if (stopped) return;
  stopped = true;
  for (auto& s : slots) s->engine->drain();
  // Let the engines handle what is already queued, bounded so a stuck handler cannot hang exit.
  const auto deadline = std::chrono::steady_clock::now() + options.drain_timeout;
  for (auto& s : slots) {
    while (s->thread && s->mailbox->depth() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  for (auto& s : slots) {
    if (s->http) s->http->stop();
  }
  for (auto& s : slots) {
    if (s->thread) s->thread->stop();
  }
  for (auto& s : slots) s->engine->stop();
}

core::Result<std::unique_ptr<EngineHost>> EngineHost::start(
    bus::MessageBus& bus, std::vector<std::unique_ptr<Engine>> engines, HostOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->bus = &bus;
  impl->options = std::move(options);
  const auto& o = impl->options;
  const auto started = std::chrono::steady_clock::now();

  // Phase 1: every engine subscribes before any source produces, so nothing published at
  // start-up is missed by an engine of the same host.
  for (auto& e : engines) {
    auto slot = std::make_unique<Impl::Slot>();
    const std::string name = e->info().name;
    slot->mailbox = bus.create_mailbox({.name = name});
    const auto cfg = o.configs.find(name);
    slot->context = std::make_unique<EngineContext>(
        bus, name, slot->mailbox, cfg == o.configs.end() ? EngineConfig{} : cfg->second);
    slot->engine = std::move(e);
    impl->slots.push_back(std::move(slot));
    if (auto r = impl->slots.back()->engine->start(*impl->slots.back()->context); !r) {
      impl->slots.back()->engine->stop();
      impl->stopped = true;
      for (auto& s : impl->slots) s->engine->stop();
      return core::fail(r.error().code, fmt::format("engine {}: {}", name, r.error().message));
    }
  }
  for (auto& s : impl->slots) s->thread = std::make_unique<bus::MailboxThread>(s->mailbox);

  // Phase 2: the HTTP servers.
  for (auto& s : impl->slots) {
    const auto& info = s->engine->info();
    std::uint16_t port = info.default_port;
    if (auto it = o.ports.find(info.name); it != o.ports.end()) port = it->second;
    if (o.ephemeral_ports) port = 0;
    net::Router router;
    detail::add_standard_routes(router, {.engine = s->engine.get(),
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
                                                           .bearer_token = o.bearer_token});
    if (!http) {
      impl->stop_all();
      return core::fail(http.error().code,
                        fmt::format("engine {}: {}", info.name, http.error().message));
    }
    s->http = std::move(*http);
    s->http_view.store(s->http.get(), std::memory_order_release);
  }

  // Phase 3: sources begin.
  for (auto& s : impl->slots) s->engine->begin();
  return std::unique_ptr<EngineHost>(new EngineHost(std::move(impl)));
}

EngineHost::EngineHost(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EngineHost::~EngineHost() { impl_->stop_all(); }

void EngineHost::drain_and_stop() { impl_->stop_all(); }

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
