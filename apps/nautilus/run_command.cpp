#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <map>

#include "commands.hpp"
#include "nautilus/bus/message_bus.hpp"
#include "nautilus/bus_redis/registry.hpp"
#include "nautilus/bus_redis/state_store.hpp"
#include "nautilus/bus_redis/transport.hpp"
#include "nautilus/config/bus_config.hpp"
#include "nautilus/core/process.hpp"
#include "nautilus/engine/host.hpp"
#include "nautilus/engine/settings.hpp"
#include "nautilus/engines/registry.hpp"

namespace nautilus::app {
namespace {

void print_status(const bus::MessageBus& b, const bus_redis::RedisTransport* t, double uptime_s) {
  const auto m = b.metrics();
  fmt::print(
      "[{:8.1f}s] bus: {} topics, {} subscriptions, published {}, delivered {}, "
      "dropped {}, p99 {:.0f} ns\n",
      uptime_s, m.topics, m.subscriptions, m.total_published(), m.total_delivered(),
      m.total_dropped(), m.latency.percentile(0.99));
  if (t != nullptr) {
    for (const auto& l : t->status().links) {
      fmt::print(
          "[{:8.1f}s] redis {} {} {}: writer {}, reader {}, exported {}, imported {}, "
          "backlog {}, dead-lettered {}, failed reads {}\n",
          uptime_s, l.name, l.endpoint, l.stream, l.writer_connected ? "up" : "down",
          l.reader_connected ? "up" : "down", l.exported, l.imported, l.backlog_messages,
          l.dead_lettered, l.failed_reads);
    }
  }
  std::fflush(stdout);
}

// "<engine>.<key>=<value>" into per-engine settings; unknown engines are an error.
bool parse_sets(const RunOptions& o, std::map<std::string, engine::EngineConfig>& out) {
  for (const auto& s : o.sets) {
    const auto dot = s.find('.');
    const auto eq = s.find('=');
    if (dot == std::string::npos || eq == std::string::npos || dot > eq) {
      fmt::print(stderr, "nautilus {}: --set wants <engine>.<key>=<value>, not '{}'\n", o.command,
                 s);
      return false;
    }
    const std::string engine = s.substr(0, dot);
    if (engines::find_engine(engine) == nullptr) {
      fmt::print(stderr, "nautilus {}: --set {}: no engine named '{}'\n", o.command, s, engine);
      return false;
    }
    out[engine].set(s.substr(dot + 1, eq - dot - 1), s.substr(eq + 1));
  }
  if (o.speed) out["marketdata"].set("speed", fmt::format("{}", *o.speed));
  return true;
}

}  // namespace

int list_engines(bool settings) {
  for (const auto& e : engines::available_engines()) {
    if (!settings) {
      fmt::print("{} {} {}\n", e.name(), e.default_port(), e.description());
      continue;
    }
    // Markdown: readable in a terminal, and what docs/CONFIGURATION.md's tables are made of.
    fmt::print("### {} (port {})\n\n{}\n\n{}\n", e.name(), e.default_port(), e.description(),
               engine::settings_markdown(e.info().settings));
  }
  return 0;
}

int run_platform(const RunOptions& o) {
  // Configuration errors stop start-up with the variable or key named.
  auto cfg = load_config(o.config_path, o.command.c_str());
  if (!cfg) return 2;

  std::vector<std::unique_ptr<engine::Engine>> engines;
  if (o.engines.empty()) {
    for (const auto& e : engines::available_engines()) engines.push_back(e.create());
  } else {
    for (const auto& name : o.engines) {
      const auto* e = engines::find_engine(name);
      if (e == nullptr) {
        std::string names;
        for (const auto& a : engines::available_engines()) names += std::string(a.name()) + " ";
        fmt::print(stderr, "nautilus {}: no engine named '{}' (this build has: {})\n", o.command,
                   name, names);
        return 2;
      }
      engines.push_back(e->create());
    }
  }
  engine::HostOptions host_options{.bind = o.bind,
                                   .http_threads = o.http_threads,
                                   .auto_hardware_routing = cfg->auto_hardware_routing};
  for (const auto& [engine, settings] : cfg->engine_settings) {
    if (engines::find_engine(engine) == nullptr) {
      fmt::print(stderr, "nautilus {}: configuration error: [engines.{}]: no such engine\n",
                 o.command, engine);
      return 2;
    }
    for (const auto& [k, v] : settings) host_options.configs[engine].set_typed(k, v);
  }
  if (!parse_sets(o, host_options.configs)) return 2;
  // Every engine's settings against its declaration, before anything starts: an unknown key or
  // a bad value stops here with `engine.key` named (exit 2).
  for (const auto& [name, given] : host_options.configs) {
    const auto* e = engines::find_engine(name);
    if (auto ok = engine::resolve_settings(name, e->info().settings, given); !ok) {
      fmt::print(stderr, "nautilus {}: configuration error: {}\n", o.command, ok.error().message);
      return 2;
    }
  }
  for (const auto& e : engines) {
    const int port = (o.port ? *o.port : e->info().default_port) + o.port_offset;
    if (port < 1 || port > 65535) {
      fmt::print(stderr, "nautilus {}: port {} for {} is out of range\n", o.command, port,
                 e->info().name);
      return 2;
    }
    host_options.ports[e->info().name] = static_cast<std::uint16_t>(port);
  }
  if (const char* token = std::getenv("NAUTILUS_API_TOKEN"); token != nullptr) {
    host_options.bearer_token = token;
  }
  {
    const char* cert = std::getenv("NAUTILUS_TLS_CERT_FILE");
    const char* key = std::getenv("NAUTILUS_TLS_KEY_FILE");
    if ((cert == nullptr) != (key == nullptr)) {
      fmt::print(stderr,
                 "nautilus {}: HTTPS needs both NAUTILUS_TLS_CERT_FILE and NAUTILUS_TLS_KEY_FILE\n",
                 o.command);
      return 2;
    }
    if (cert != nullptr) {
      host_options.tls_cert_file = cert;
      host_options.tls_key_file = key;
    }
  }
  if (o.deterministic) {
    if (o.bus != "inprocess") {
      fmt::print(stderr, "nautilus {}: --deterministic runs on the in-process bus only\n",
                 o.command);
      return 2;
    }
    return run_deterministic(o, std::move(engines), std::move(host_options));
  }
  if (!o.record_path.empty() || !o.until.empty()) {
    fmt::print(stderr, "nautilus {}: --record and --until need --deterministic\n", o.command);
    return 2;
  }

  // Signals are taken synchronously by this thread (sigtimedwait), so no handler runs at an
  // arbitrary point and every thread started below inherits the blocked mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  const auto t0 = std::chrono::steady_clock::now();
  bus::MessageBus bus;
  const std::string group =
      !o.group.empty() ? o.group
                       : (o.command == "engine" ? engines.front()->info().name : "nautilus");
  const std::string instance = fmt::format("{}-{}", group, core::host_and_pid());
  std::unique_ptr<bus_redis::RedisTransport> transport;
  std::unique_ptr<bus_redis::RedisStateStore> state_store;
  if (o.bus == "redis") {
    auto t = bus_redis::RedisTransport::start(
        bus, {.config = *cfg, .group = group, .consumer = instance});
    if (!t) {
      fmt::print(stderr, "nautilus {}: {}\n", o.command, t.error().message);
      return 2;
    }
    transport = std::move(*t);
    host_options.transport = transport.get();
    auto store = bus_redis::RedisStateStore::connect(cfg->main);
    if (!store) {
      fmt::print(stderr, "nautilus {}: {}\n", o.command, store.error().message);
      return 2;
    }
    state_store = std::move(*store);
    host_options.state_store = state_store.get();
  }

  const char* scheme = host_options.tls_cert_file.empty() ? "http" : "https";
  auto hosted = engine::EngineHost::start(bus, std::move(engines), std::move(host_options));
  if (!hosted) {
    fmt::print(stderr, "nautilus {}: {}\n", o.command, hosted.error().message);
    return 2;
  }
  auto& engine_host = *hosted;
  const double startup_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  std::vector<std::unique_ptr<bus_redis::Registration>> registrations;
  if (transport) {
    for (const auto& e : engine_host->engines()) {
      auto r = bus_redis::Registration::start(
          cfg->main, {.name = e.name, .instance = instance, .host = o.bind, .port = e.port});
      if (!r) {
        fmt::print(stderr, "nautilus {}: {}\n", o.command, r.error().message);
        return 2;
      }
      registrations.push_back(std::move(*r));
    }
  }
  std::string list;
  for (const auto& e : engine_host->engines()) list += fmt::format(" {}:{}", e.name, e.port);
  fmt::print("nautilus {}: {} engine(s) up in {:.1f} ms on the {} bus:{}\n", o.command,
             engine_host->engines().size(), startup_ms, transport ? "dual Redis" : "in-process",
             list);
  fmt::print("nautilus {}: try `curl {}://{}:{}/health`; Ctrl-C drains and stops\n", o.command,
             scheme, o.bind, engine_host->engines().front().port);
  std::fflush(stdout);

  auto uptime = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  double next_status = o.status_interval_s;
  while (true) {
    double wait_s = next_status - uptime();
    if (o.duration_s > 0) wait_s = std::min(wait_s, o.duration_s - uptime());
    if (wait_s < 0) wait_s = 0;
    timespec ts{
        static_cast<time_t>(wait_s),
        static_cast<long>((wait_s - static_cast<double>(static_cast<time_t>(wait_s))) * 1e9)};
    const int sig = sigtimedwait(&sigs, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) {
      fmt::print("nautilus {}: {} received, draining\n", o.command,
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    if (o.duration_s > 0 && uptime() >= o.duration_s) break;
    if (uptime() >= next_status) {
      print_status(bus, transport.get(), uptime());
      next_status += o.status_interval_s;
    }
  }
  engine_host->drain_and_stop();
  registrations.clear();
  if (transport) (void)transport->flush(std::chrono::seconds(2));
  print_status(bus, transport.get(), uptime());
  fmt::print("nautilus {}: stopped cleanly\n", o.command);
  return 0;
}

}  // namespace nautilus::app
