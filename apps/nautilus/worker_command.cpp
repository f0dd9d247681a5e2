// `nautilus worker`: sweep backtests from the main Redis's jobs stream (sweep_queue.hpp), one
// consumer per --threads, until SIGINT/SIGTERM, --max-jobs or --idle-exit. Progress and errors on
// standard error, one line each; with --port, /health and /metrics for monitoring.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "nautilus/core/process.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"
#include "nautilus/sweep_queue/sweep_queue.hpp"

namespace nautilus::app {
namespace {

// What every worker thread reported last (WorkerOptions::progress), for the HTTP endpoints.
struct Live {
  std::mutex mu;
  std::vector<sweep_queue::WorkerStats> stats;
  std::vector<bool> connected;

  sweep_queue::WorkerStats sum(std::size_t& connected_threads) {
    std::lock_guard lock(mu);
    sweep_queue::WorkerStats s;
    connected_threads = 0;
    for (std::size_t t = 0; t < stats.size(); ++t) {
      const auto& r = stats[t];
      s.jobs += r.jobs;
      s.failed += r.failed;
      s.claimed += r.claimed;
      s.malformed += r.malformed;
      s.abandoned += r.abandoned;
      s.given_up += r.given_up;
      s.taken_over += r.taken_over;
      s.redis_errors += r.redis_errors;
      connected_threads += connected[t] ? 1 : 0;
    }
    return s;
  }
};

// /health: 200 while any thread reaches Redis, else 503 "degraded"; /metrics: the counts.
net::Router worker_routes(Live& live, const std::string& name,
                          const std::atomic<const net::HttpServer*>* server) {
  net::Router r;
  r.get("/health", [&live, name](const net::Request&) {
    std::size_t up = 0;
    const auto s = live.sum(up);
    const bool ok = up > 0;
    return net::Response::json(boost::json::object{{"status", ok ? "healthy" : "degraded"},
                                                   {"role", "worker"},
                                                   {"name", name},
                                                   {"threads", live.stats.size()},
                                                   {"redis_connected_threads", up},
                                                   {"jobs", s.jobs},
                                                   {"failed", s.failed}},
                               ok ? 200 : 503);
  });
  r.get("/metrics", [&live, server](const net::Request&) {
    std::size_t up = 0;
    const auto s = live.sum(up);
    net::PrometheusText p;
    p.family("nautilus_worker_jobs_total", "counter", "sweep jobs answered (results written)");
    p.sample("nautilus_worker_jobs_total", {}, static_cast<double>(s.jobs));
    p.family("nautilus_worker_jobs_failed_total", "counter",
             "answered jobs whose backtest failed (the result says why)");
    p.sample("nautilus_worker_jobs_failed_total", {}, static_cast<double>(s.failed));
    p.family("nautilus_worker_jobs_claimed_total", "counter",
             "jobs taken over from a worker that stopped");
    p.sample("nautilus_worker_jobs_claimed_total", {}, static_cast<double>(s.claimed));
    p.family("nautilus_worker_jobs_dropped_total", "counter", "jobs dropped, by reason");
    p.sample("nautilus_worker_jobs_dropped_total", {{"reason", "malformed"}},
             static_cast<double>(s.malformed));
    p.sample("nautilus_worker_jobs_dropped_total", {{"reason", "abandoned"}},
             static_cast<double>(s.abandoned));
    p.sample("nautilus_worker_jobs_dropped_total", {{"reason", "taken_over"}},
             static_cast<double>(s.taken_over));
    p.family("nautilus_worker_jobs_given_up_total", "counter",
             "jobs failed after max_attempts deliveries");
    p.sample("nautilus_worker_jobs_given_up_total", {}, static_cast<double>(s.given_up));
    p.family("nautilus_worker_redis_errors_total", "counter", "Redis connection losses");
    p.sample("nautilus_worker_redis_errors_total", {}, static_cast<double>(s.redis_errors));
    p.family("nautilus_worker_redis_connected_threads", "gauge",
             "worker threads whose Redis connection is up");
    p.sample("nautilus_worker_redis_connected_threads", {}, static_cast<double>(up));
    // Set once the server is up, which its own threads may already be answering from.
    if (const auto* http = server->load(std::memory_order_acquire); http != nullptr) {
      p.append(http->metrics().to_prometheus("worker"));
    }
    return net::Response::text(p.str());
  });
  return r;
}

}  // namespace

int run_worker_command(const WorkerOptions& o) {
  auto cfg = load_config(o.config_path, "worker");
  if (!cfg) return 2;
  if (cfg->main.is_cluster()) {
    fmt::print(stderr, "nautilus worker: {}\n", kQueueNeedsOneServer);
    return 2;
  }
  // Signals are taken by a thread of their own (sigwait), so no handler runs at an arbitrary
  // point; the worker threads inherit the blocked mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> running{o.threads};
  std::jthread signals([&] {
    timespec tick{0, 100'000'000};
    while (running > 0) {
      const int sig = sigtimedwait(&sigs, nullptr, &tick);
      if (sig == SIGINT || sig == SIGTERM) {
        fmt::print(stderr, "nautilus worker: {} received, stopping\n",
                   sig == SIGINT ? "SIGINT" : "SIGTERM");
        stop = true;
      }
    }
  });
  std::mutex out;
  const std::string base = o.name.empty() ? core::host_and_pid() : o.name;
  Live live;
  live.stats.resize(o.threads);
  live.connected.resize(o.threads);
  // Started before the threads, so a port that is taken stops the worker before it takes a job.
  std::atomic<const net::HttpServer*> server_view{nullptr};
  std::unique_ptr<net::HttpServer> server;
  if (o.port != 0) {
    auto s = net::HttpServer::start(worker_routes(live, base, &server_view),
                                    {.bind = o.bind, .port = o.port});
    if (!s) {
      fmt::print(stderr, "nautilus worker: cannot serve HTTP on {}:{}: {}\n", o.bind, o.port,
                 s.error().message);
      running = 0;
      return 2;
    }
    server = std::move(*s);
    server_view.store(server.get(), std::memory_order_release);
    fmt::print(stderr, "nautilus worker: /health and /metrics on http://{}:{}\n", o.bind,
               server->port());
  }
  std::vector<core::Result<sweep_queue::WorkerStats>> results(o.threads);
  {
    std::vector<std::jthread> threads;
    for (std::size_t t = 0; t < o.threads; ++t) {
      // A thread that cannot start is one fewer for the signal thread to wait for.
      struct Uncount {
        std::atomic<std::size_t>& running;
        bool started = false;
        ~Uncount() {
          if (!started) --running;
        }
      } uncount{running};
      threads.emplace_back([&, t] {
        sweep_queue::WorkerOptions w{
            .queue = {.redis = cfg->main},
            .name = o.threads == 1 ? base : fmt::format("{}-{}", base, t + 1),
            .max_jobs = o.max_jobs,
            .idle_exit = std::chrono::milliseconds(static_cast<std::int64_t>(o.idle_exit_s * 1e3)),
            .log =
                [&](std::string_view line) {
                  std::lock_guard lock(out);
                  fmt::print(stderr, "nautilus {}\n", line);
                  std::fflush(stderr);
                },
            .progress =
                [&live, t](const sweep_queue::WorkerStats& st, bool connected) {
                  std::lock_guard lock(live.mu);
                  live.stats[t] = st;
                  live.connected[t] = connected;
                }};
        w.queue.claim_idle =
            std::chrono::milliseconds(static_cast<std::int64_t>(o.claim_idle_s * 1e3));
        w.queue.max_attempts = o.max_attempts;
        results[t] = sweep_queue::run_worker(w, stop);
        --running;
      });
      uncount.started = true;
    }
  }
  int status = 0;
  sweep_queue::WorkerStats sum;
  for (const auto& r : results) {
    if (!r) {
      fmt::print(stderr, "nautilus worker: {}\n", r.error().message);
      status = 2;
      continue;
    }
    sum.jobs += r->jobs;
    sum.failed += r->failed;
    sum.claimed += r->claimed;
    sum.malformed += r->malformed;
    sum.abandoned += r->abandoned;
    sum.given_up += r->given_up;
    sum.taken_over += r->taken_over;
    sum.redis_errors += r->redis_errors;
  }
  fmt::print(stderr,
             "nautilus worker: {} job(s) answered ({} failed, {} taken over from stopped "
             "workers, {} given up), {} unreadable and {} abandoned job(s) dropped, {} left to "
             "a worker that took them while this one stalled, {} redis error(s)\n",
             sum.jobs, sum.failed, sum.claimed, sum.given_up, sum.malformed, sum.abandoned,
             sum.taken_over, sum.redis_errors);
  return status;
}

}  // namespace nautilus::app
