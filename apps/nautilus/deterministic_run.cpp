// `nautilus run --deterministic --record FILE [--until TIME]`: the engines on one thread,
// driven by a simulated clock that starts where the data starts, every bus message written to
// FILE as one JSON line (the wire format's JSON). The same data and settings give the same
// bytes on every run of the same build: no wall time, no thread scheduling, no randomness.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "nautilus/bus/codec.hpp"
#include "nautilus/bus/message_bus.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/engine/host.hpp"

namespace nautilus::app {
namespace {

// Every message, in the order the bus delivers it, on the publishing thread (the host's).
class Recorder {
 public:
  explicit Recorder(std::FILE* out) : out_(out) {}
  void on_message(const bus::Envelope& env) {
    auto line = bus::codec::to_json(env);
    if (!line) {
      ++failed_;
      return;
    }
    line->push_back('\n');
    if (std::fwrite(line->data(), 1, line->size(), out_) != line->size()) {
      ++failed_;
      return;
    }
    ++written_;
  }
  [[nodiscard]] std::uint64_t written() const { return written_; }
  [[nodiscard]] std::uint64_t failed() const { return failed_; }

 private:
  std::FILE* out_;
  std::uint64_t written_ = 0;
  std::uint64_t failed_ = 0;
};

}  // namespace

int run_deterministic(const RunOptions& o, std::vector<std::unique_ptr<engine::Engine>> engines,
                      engine::HostOptions host_options) {
  std::optional<core::UnixNanos> until;
  if (!o.until.empty()) {
    auto t = core::parse_timestamp(o.until);
    if (!t) {
      fmt::print(stderr, "nautilus {}: --until: {}\n", o.command, t.error().message);
      return 2;
    }
    until = *t;
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(nullptr, &std::fclose);
  if (!o.record_path.empty()) {
    file.reset(o.record_path == "-" ? nullptr : std::fopen(o.record_path.c_str(), "wb"));
    if (!file && o.record_path != "-") {
      fmt::print(stderr, "nautilus {}: --record: cannot write '{}'\n", o.command, o.record_path);
      return 2;
    }
  }
  const auto wall0 = std::chrono::steady_clock::now();
  core::SimulatedClock clock;
  bus::MessageBus bus(
      {.clock = &clock, .request_timer_thread = false, .reply_endpoint = "_reply.deterministic"});
  Recorder recorder(o.record_path == "-" ? stdout : file.get());
  if (!o.record_path.empty()) {
    auto sub = bus.subscribe("*", [&](const bus::Envelope& e) { recorder.on_message(e); },
                             {.owner = "recorder"});
    if (!sub) {
      fmt::print(stderr, "nautilus {}: {}\n", o.command, sub.error().message);
      return 2;
    }
  }
  host_options.simulated_clock = &clock;
  host_options.serve_http = false;
  auto hosted = engine::EngineHost::start(bus, std::move(engines), std::move(host_options));
  if (!hosted) {
    fmt::print(stderr, "nautilus {}: {}\n", o.command, hosted.error().message);
    return 2;
  }
  auto& host = *hosted;
  const core::UnixNanos t0 = clock.now();
  if (t0 == 0) {
    fmt::print(stderr,
               "nautilus {}: no engine has data to start the simulated clock from (is "
               "marketdata.source \"none\"?)\n",
               o.command);
    return 2;
  }
  if (until && *until < t0) {
    fmt::print(stderr, "nautilus {}: --until {} is before the data begins ({})\n", o.command,
               o.until, core::format_timestamp(t0));
    return 2;
  }
  auto handled = until ? host->run_until(*until) : host->run();
  if (!handled) {
    fmt::print(stderr, "nautilus {}: {}\n", o.command, handled.error().message);
    return 1;
  }
  host->drain_and_stop();
  // A record that did not reach the disk whole is a failed run, not a short one.
  if (file && (std::fflush(file.get()) != 0 || std::ferror(file.get()) != 0)) {
    fmt::print(stderr, "nautilus {}: --record: writing '{}' failed\n", o.command, o.record_path);
    return 1;
  }
  if (file && std::fclose(file.release()) != 0) {
    fmt::print(stderr, "nautilus {}: --record: closing '{}' failed\n", o.command, o.record_path);
    return 1;
  }
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  // Progress goes to stderr, so `--record -` keeps stdout for the messages alone.
  fmt::print(stderr,
             "nautilus {}: deterministic run from {} to {}: {} messages recorded, {} handled by "
             "engines, {:.2f} s wall\n",
             o.command, core::format_timestamp(t0), core::format_timestamp(clock.now()),
             recorder.written(), *handled, wall_s);
  if (recorder.failed() > 0) {
    fmt::print(stderr, "nautilus {}: {} messages could not be recorded\n", o.command,
               recorder.failed());
    return 1;
  }
  // Nothing drains a mailbox while a timer's work runs: a burst larger than a lane is dropped
  // (the overflow policy), deterministically but for real. Say so rather than stay quiet.
  if (const auto dropped = bus.metrics().total_dropped(); dropped > 0) {
    fmt::print(stderr,
               "nautilus {}: warning: {} messages were dropped by full mailboxes (see "
               "/messagebus/status in a live run; docs/ARCHITECTURE.md)\n",
               o.command, dropped);
  }
  return 0;
}

}  // namespace nautilus::app
