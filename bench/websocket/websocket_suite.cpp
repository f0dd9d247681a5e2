#include "websocket_suite.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "../common/process.hpp"
#include "nautilus/bus/codec.hpp"
#include "nautilus/engine/host.hpp"
#include "nautilus/engines/registry.hpp"
#include "nautilus/model/market_data.hpp"

namespace nautilus::bench {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::size_t kPerGenerator = 5'000;  // connections per load-generator process
constexpr std::size_t kPerAddress = 900;      // under the engine's 1,000 per address
constexpr double kP99TargetMs = 50;

// Open files: the soft limit up to the hard one (the server holds a socket per client).
void raise_open_files() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &r);
  }
}

std::size_t open_files_limit() {
  rlimit r{};
  return ::getrlimit(RLIMIT_NOFILE, &r) == 0 ? static_cast<std::size_t>(r.rlim_cur) : 0;
}

// What the generators saw, together: the p99 is the worst process's (percentiles do not add;
// this is the conservative side).
struct Load {
  std::size_t clients = 0;
  std::size_t connected = 0;
  std::size_t closed = 0;
  double frames_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_rss_mb = 0;  // the server's (this process), sampled while they ran
  std::string error;
};

// `clients` connections spread over generator processes and source addresses, subscribed to
// `pattern`, measured for `seconds` after a warm-up.
Load run_load(std::uint16_t port, std::size_t clients, double seconds, const fs::path& dir) {
  Load l;
  l.clients = clients;
  const std::size_t procs = (clients + kPerGenerator - 1) / kPerGenerator;
  std::vector<pid_t> pids;
  std::vector<fs::path> outs;
  int next_ip = 2;
  for (std::size_t p = 0; p < procs; ++p) {
    const std::size_t share = clients / procs + (p < clients % procs ? 1 : 0);
    const int ips = static_cast<int>((share + kPerAddress - 1) / kPerAddress);
    outs.push_back(dir / fmt::format("load-{}.json", p));
    pids.push_back(
        spawn({NAUTILUS_WS_LOAD, "--port", std::to_string(port), "--clients", std::to_string(share),
               "--first-ip", std::to_string(next_ip), "--ips", std::to_string(ips), "--seconds",
               fmt::format("{}", seconds), "--warmup", "3", "--subscribe", "market_data.*"},
              outs.back().string()));
    next_ip += ips;
  }
  // Wait for them, sampling our RSS meanwhile.
  for (std::size_t i = 0; i < pids.size(); ++i) {
    while (pids[i] > 0 && ::waitpid(pids[i], nullptr, WNOHANG) == 0) {
      l.max_rss_mb = std::max(l.max_rss_mb, rss_mb());
      std::this_thread::sleep_for(200ms);
    }
  }
  double frames = 0;
  for (const auto& out : outs) {
    std::ifstream in(out);
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    auto v = json::parse(text.str(), ec);
    if (ec || !v.is_object()) {
      l.error = fmt::format("a load generator printed no result: {}", text.str().substr(0, 200));
      continue;
    }
    const auto& o = v.as_object();
    const auto num = [&](const char* k) { return o.at(k).to_number<double>(); };
    l.connected += static_cast<std::size_t>(num("connected"));
    l.closed += static_cast<std::size_t>(num("closed"));
    frames += num("frames");
    l.p50_ms = std::max(l.p50_ms, num("p50_ms"));
    l.p99_ms = std::max(l.p99_ms, num("p99_ms"));
    if (const auto& e = o.at("error").as_string(); !e.empty() && l.error.empty()) {
      l.error = std::string(e);
    }
  }
  l.frames_per_s = frames / seconds;
  return l;
}

// Connection threads of the server: NAUTILUS_BENCH_WS_THREADS, else 1 (as Node has one).
std::size_t threads() {
  const char* v = std::getenv("NAUTILUS_BENCH_WS_THREADS");
  return v != nullptr ? std::max<std::size_t>(1, std::strtoul(v, nullptr, 10)) : 1;
}

// The websocket engine alone on an in-process bus with one connection thread, and a thread
// publishing one bar topic at `rate` messages a second.
class OurServer {
 public:
  bool start(std::string* why) {
    std::vector<std::unique_ptr<engine::Engine>> engines;
    engines.push_back(engines::find_engine("websocket")->create());
    engine::EngineConfig cfg;
    cfg.set("forward", "market_data.*");
    cfg.set("max_clients", "20000");
    auto host = engine::EngineHost::start(bus_, std::move(engines),
                                          {.ephemeral_ports = true,
                                           .http_threads = 1,
                                           .configs = {{"websocket", cfg}},
                                           .health_interval = std::chrono::seconds(0)});
    if (!host) {
      *why = host.error().message;
      return false;
    }
    host_ = std::move(*host);
    port_ = host_->engines().front().port;
    publisher_ = std::jthread([this](const std::stop_token& st) { publish(st); });
    return true;
  }
  void set_rate(double per_s) { rate_.store(per_s); }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  // One frame as the engine sends it (the anchor sends the same bytes).
  static std::string sample_frame() {
    bus::Envelope env;
    env.topic = *bus::Topic::create("market_data.TICK.bar");
    env.source = *core::EngineId::create("bench");
    env.sequence = 1;
    env.ts_event = env.ts_publish = 1'767'625'200'000'000'000;
    env.payload.emplace(bar());
    auto text = bus::codec::to_json(env);
    return text ? *text : std::string();
  }
  void stop() {
    publisher_ = {};
    host_.reset();
  }
  ~OurServer() { stop(); }

 private:
  static model::Bar bar() {
    model::Bar b;
    b.symbol = *core::Symbol::create("TICK");
    b.open = *core::Price::from_double(100.25, 2);
    b.high = *core::Price::from_double(100.50, 2);
    b.low = *core::Price::from_double(100.00, 2);
    b.close = *core::Price::from_double(100.40, 2);
    b.volume = *core::Quantity::from_double(1200, 0);
    return b;
  }
  void publish(const std::stop_token& st) {
    auto pub = bus_.publisher("bench");
    if (!pub) return;
    auto topic = bus_.topic("market_data.TICK.bar");
    if (!topic) return;
    auto next = std::chrono::steady_clock::now();
    model::Bar b = bar();
    while (!st.stop_requested()) {
      const double rate = rate_.load();
      if (rate <= 0) {
        std::this_thread::sleep_for(10ms);
        next = std::chrono::steady_clock::now();
        continue;
      }
      next += std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / rate));
      std::this_thread::sleep_until(next);
      b.ts_event = bus_.clock().now();
      (void)pub->publish(*topic, b);
    }
  }

  bus::MessageBus bus_;
  std::unique_ptr<engine::EngineHost> host_;
  std::uint16_t port_ = 0;
  std::atomic<double> rate_{0};
  std::jthread publisher_;
};

}  // namespace

void run_websocket_suite(const SuiteOptions& o) {
  raise_open_files();
  const fs::path dir =
      fs::temp_directory_path() / ("nautilus-bench-websocket-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  OurServer ours;
  std::string why;
  if (!ours.start(&why)) {
    fmt::print(stderr, "bench websocket: {}\n", why);
    return;
  }
  const std::size_t fd_limit = open_files_limit();
  const char* base_env = std::getenv("NAUTILUS_BENCH_WS_CLIENTS");
  const std::size_t base =
      base_env != nullptr ? std::strtoul(base_env, nullptr, 10) : (o.quick ? 500 : 15'000);
  const double seconds = o.quick ? 3 : 10;

  if (o.wants("ws.clients_15k_p99_ms") || o.wants("ws.rss_mb_15k") || o.wants("ws.max_clients")) {
    // Each client receives 10 messages a second: one topic published at 10 Hz.
    ours.set_rate(10);
    std::vector<double> p99s, rss;
    Load last;
    for (std::size_t r = 0; r < std::max<std::size_t>(1, std::min<std::size_t>(o.runs, 3)); ++r) {
      last = run_load(ours.port(), base, seconds, dir);
      p99s.push_back(last.p99_ms);
      rss.push_back(last.max_rss_mb);
    }
    std::sort(p99s.begin(), p99s.end());
    std::sort(rss.begin(), rss.end());
    const std::string note = fmt::format(
        "{} clients ({} connected, {} closed), one topic at 10 msgs/s each, {:.0f} frames/s "
        "delivered; publish -> receipt, the worst generator's p99; one connection thread; "
        "open files limit {}{}",
        base, last.connected, last.closed, last.frames_per_s, fd_limit,
        last.error.empty() ? "" : "; " + last.error);
    print({.bench = "ws.clients_15k_p99_ms",
           .value = p99s[p99s.size() / 2],
           .unit = "ms",
           .anchor = "target_50ms",
           .anchor_value = kP99TargetMs,
           .runs = p99s.size(),
           .note = note},
          o.json);
    print({.bench = "ws.rss_mb_15k",
           .value = rss[rss.size() / 2],
           .unit = "MB",
           .anchor = "target_600MB",
           .anchor_value = 600,
           .runs = rss.size(),
           .note = fmt::format("the server process's RSS while {} clients were served", base)},
          o.json);

    if (o.wants("ws.max_clients")) {
      // Upwards from 15,000 while p99 stays within 50 ms and every client connects, bounded by
      // the process's open files (the kernel's cap: 20,000 on the machine this was built on).
      const std::size_t step = o.quick ? 500 : 2'000;
      const std::size_t cap = fd_limit > 200 ? fd_limit - 200 : 0;
      const auto passes = [&](const Load& l, std::size_t n) {
        return l.connected == n && l.p99_ms <= kP99TargetMs;
      };
      std::size_t best = 0;
      std::string stopped;
      if (passes(last, base) && p99s[p99s.size() / 2] <= kP99TargetMs) {
        best = base;
        stopped = "every step passed";
        for (std::size_t n = base + step; n <= cap; n += step) {
          const Load l = run_load(ours.port(), n, seconds, dir);
          if (!passes(l, n)) {
            stopped =
                fmt::format("{} clients: {} connected, p99 {:.1f} ms", n, l.connected, l.p99_ms);
            break;
          }
          best = n;
        }
      } else {
        // Downwards, halving, to the largest count that passes.
        stopped = fmt::format("{} clients: p99 {:.1f} ms", base, p99s[p99s.size() / 2]);
        for (std::size_t n = base / 2; n >= 250; n /= 2) {
          const Load l = run_load(ours.port(), n, seconds, dir);
          if (passes(l, n)) {
            best = n;
            break;
          }
          stopped += fmt::format("; {}: p99 {:.1f} ms", n, l.p99_ms);
        }
      }
      print({.bench = "ws.max_clients",
             .value = static_cast<double>(best),
             .unit = "clients",
             .anchor = "target_19000",
             .anchor_value = 19'000,
             .note = fmt::format("from {} clients, up in steps of {} while p99 <= 50 ms, or "
                                 "down by halves until it is; open files limit {} (the server "
                                 "needs one per client); {}",
                                 base, step, fd_limit, stopped)},
            o.json);
    }
  }

  if (o.wants("ws.ratio_vs_node_ws")) {
    // Fan-out capacity: the same clients, a frame offered to each 1,000 times a second (more
    // than either server can write), frames delivered per second counted at the clients.
    const std::size_t clients = o.quick ? 200 : 1'000;
    const double rate = 1'000;
    const fs::path ws_dir = "/opt/nautilus-deps/ws-8.18.0/node_modules/ws";
    const fs::path frame = dir / "frame.json";
    std::ofstream(frame) << OurServer::sample_frame();
    std::vector<double> our_rates, node_rates, ratios;
    const bool have_node =
        fs::exists(ws_dir / "index.js") && std::system("command -v node >/dev/null 2>&1") == 0;
    for (std::size_t r = 0; r < std::max<std::size_t>(1, std::min<std::size_t>(o.runs, 3)); ++r) {
      ours.set_rate(rate);
      const Load mine = run_load(ours.port(), clients, seconds, dir);
      ours.set_rate(0);
      our_rates.push_back(mine.frames_per_s);
      if (!have_node) continue;
      const std::uint16_t node_port = static_cast<std::uint16_t>(ours.port() + 1 + r);
      const fs::path log = dir / "node.log";
      const pid_t node =
          spawn({"node", NAUTILUS_SOURCE_DIR "/bench/websocket/ws_node_fanout.mjs", ws_dir.string(),
                 std::to_string(node_port), fmt::format("{}", rate), frame.string()},
                log.string());
      for (int i = 0; i < 100; ++i) {
        std::ifstream in(log);
        std::string line;
        if (std::getline(in, line) && line == "listening") break;
        std::this_thread::sleep_for(50ms);
      }
      const Load theirs = run_load(node_port, clients, seconds, dir);
      stop(node);
      node_rates.push_back(theirs.frames_per_s);
      if (theirs.frames_per_s > 0) ratios.push_back(mine.frames_per_s / theirs.frames_per_s);
    }
    const auto med = [](std::vector<double> v) {
      if (v.empty()) return 0.0;
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    Report rep{.bench = "ws.ratio_vs_node_ws",
               .value = med(ratios),
               .unit = "x",
               .anchor = "node_ws_8.18.0",
               .runs = ratios.size(),
               .note = fmt::format("{} clients, one frame offered to each 1,000 times a second; "
                                   "delivered frames/s: ours {:.0f}, Node's ws {:.0f}; both "
                                   "servers on one thread, the same load generator",
                                   clients, med(our_rates), med(node_rates)),
               .ratio = med(ratios)};
    if (!node_rates.empty()) rep.anchor_value = med(node_rates);
    if (!have_node) rep.note = "skipped: node or npm's ws (scripts/install-deps.sh) missing";
    print(rep, o.json);
  }
  ours.stop();
  fs::remove_all(dir);
}

}  // namespace nautilus::bench
