// `nautilus worker`: sweep backtests from the main Redis's jobs stream (sweep_queue.hpp), one
// consumer per --threads, until SIGINT/SIGTERM, --max-jobs or --idle-exit. Progress and errors on
// standard error, one line each.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "nautilus/core/process.hpp"
#include "nautilus/sweep_queue/sweep_queue.hpp"

namespace nautilus::app {

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
            .log = [&](std::string_view line) {
              std::lock_guard lock(out);
              fmt::print(stderr, "nautilus {}\n", line);
              std::fflush(stderr);
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
