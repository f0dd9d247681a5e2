#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>

#include "commands.hpp"
#include "nautilus/bus/message_bus.hpp"
#include "nautilus/bus_redis/registry.hpp"
#include "nautilus/bus_redis/transport.hpp"
#include "nautilus/config/bus_config.hpp"

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

}  // namespace

int run_platform(const RunOptions& o) {
  // Configuration errors stop start-up with the variable or key named (SPEC §3).
  auto cfg = load_config(o.config_path, "run");
  if (!cfg) return 2;

  // Signals are taken synchronously by this thread (sigtimedwait), so no handler runs at an
  // arbitrary point and every thread started below inherits the blocked mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  const auto t0 = std::chrono::steady_clock::now();
  bus::MessageBus bus;
  fmt::print(
      "nautilus run: in-process MessageBus up; engines arrive with later issues "
      "(none are started yet). Ctrl-C to stop.\n");
  fmt::print(
      "nautilus run: configuration valid (buffer {} ms / {} msgs; Redis buses main {}:{}, "
      "marketdata {}:{}, logic {}:{})\n",
      cfg->buffer_interval.count(), cfg->buffer_size, cfg->main.host, cfg->main.port,
      cfg->marketdata.host, cfg->marketdata.port, cfg->logic.host, cfg->logic.port);
  std::unique_ptr<bus_redis::RedisTransport> transport;
  std::unique_ptr<bus_redis::Registration> registration;
  if (o.bus == "redis") {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    const std::string instance = fmt::format("{}-{}", host, ::getpid());
    auto t = bus_redis::RedisTransport::start(
        bus, {.config = *cfg, .group = o.group, .consumer = instance});
    if (!t) {
      fmt::print(stderr, "nautilus run: {}\n", t.error().message);
      return 2;
    }
    transport = std::move(*t);
    auto r = bus_redis::Registration::start(
        cfg->main, {.name = o.group, .instance = instance, .host = "127.0.0.1"});
    if (!r) {
      fmt::print(stderr, "nautilus run: {}\n", r.error().message);
      return 2;
    }
    registration = std::move(*r);
    fmt::print("nautilus run: on the dual Redis bus as group '{}', instance {}\n", o.group,
               instance);
  }
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
      fmt::print("nautilus run: {} received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    if (o.duration_s > 0 && uptime() >= o.duration_s) break;
    if (uptime() >= next_status) {
      print_status(bus, transport.get(), uptime());
      next_status += o.status_interval_s;
    }
  }
  print_status(bus, transport.get(), uptime());
  fmt::print("nautilus run: stopped cleanly\n");
  return 0;
}

}  // namespace nautilus::app
