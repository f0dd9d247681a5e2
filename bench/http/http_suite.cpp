#include "http_suite.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "../common/process.hpp"
#include "nautilus/engine/host.hpp"
#include "nautilus/engines/registry.hpp"
#include "support/http_client.hpp"

namespace nautilus::bench {
namespace {

using namespace std::chrono_literals;

using test::free_port;

bool on_path(const char* tool) {
  return std::system(fmt::format("command -v {} >/dev/null 2>&1", tool).c_str()) == 0;
}

struct WrkResult {
  double rps = 0;
  double p99_ms = 0;
  bool errors = false;
};

// wrk --latency output: "Requests/sec: 12345.67" and "     99%    5.12ms".
WrkResult run_wrk(std::uint16_t port, const std::string& path, int seconds) {
  const std::string cmd =
      fmt::format("wrk -t2 -c256 -d{}s --latency http://127.0.0.1:{}{} 2>&1", seconds, port, path);
  std::FILE* f = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  ::pclose(f);
  WrkResult r;
  std::smatch m;
  if (std::regex_search(out, m, std::regex(R"(Requests/sec:\s+([0-9.]+))")))
    r.rps = std::stod(m[1]);
  if (std::regex_search(out, m, std::regex(R"(99%\s+([0-9.]+)(us|ms|s))"))) {
    const double v = std::stod(m[1]);
    r.p99_ms = m[2] == "us" ? v / 1000 : m[2] == "s" ? v * 1000 : v;
  }
  r.errors =
      out.find("Non-2xx") != std::string::npos || out.find("Socket errors") != std::string::npos;
  return r;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::size_t http_threads() {
  const char* v = std::getenv("NAUTILUS_BENCH_HTTP_THREADS");
  return v != nullptr ? std::strtoul(v, nullptr, 10) : 2;
}

void health_vs_nginx(const SuiteOptions& o) {
  if (!on_path("wrk") || !on_path("nginx")) {
    print({"http.health_rps", 0, "req/s", "", {}, 0, "skipped: wrk or nginx not on PATH"}, o.json);
    return;
  }
  // Our side: the MarketData hub with no source (HTTP only), 2 HTTP threads as nginx has 2
  // workers on this 2-core machine.
  bus::MessageBus bus;
  std::vector<std::unique_ptr<engine::Engine>> engines;
  engines.push_back(engines::find_engine("marketdata")->create());
  engine::EngineConfig cfg;
  cfg.set("source", "none");
  auto host = engine::EngineHost::start(
      bus, std::move(engines),
      {.ephemeral_ports = true, .http_threads = http_threads(), .configs = {{"marketdata", cfg}}});
  if (!host) {
    print({"http.health_rps", 0, "req/s", "", {}, 0, "failed: " + host.error().message}, o.json);
    return;
  }
  const std::uint16_t ours = (*host)->engines().front().port;
  const std::string health = test::http_get(ours, "/health").body;

  // The anchor: nginx serving a file of the same size, keep-alive on (its default).
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("nautilus-nginx-{}", ::getpid());
  std::filesystem::create_directories(dir / "www");
  std::ofstream(dir / "www" / "health") << health;
  const std::uint16_t nginx_port = free_port();
  std::ofstream(dir / "nginx.conf") << fmt::format(
      "worker_processes auto;\ndaemon off;\npid {0}/nginx.pid;\nerror_log {0}/error.log;\n"
      "events {{ worker_connections 4096; }}\n"
      "http {{ access_log off; client_body_temp_path {0}/tmp; proxy_temp_path {0}/tmp;\n"
      "  fastcgi_temp_path {0}/tmp; uwsgi_temp_path {0}/tmp; scgi_temp_path {0}/tmp;\n"
      "  default_type application/json;\n"
      "  server {{ listen 127.0.0.1:{1}; location / {{ root {0}/www; }} }} }}\n",
      dir.string(), nginx_port);
  const pid_t nginx = spawn({"nginx", "-c", (dir / "nginx.conf").string(), "-p", dir.string()},
                            (dir / "nginx.out").string());
  for (int i = 0; i < 200 && test::http_get(nginx_port, "/health").status != 200; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  const int seconds = o.quick ? 2 : 10;
  const std::size_t runs = o.quick ? 1 : o.runs;
  std::vector<double> rps, p99, anchor, anchor_p99, ratio;
  bool errors = false;
  for (std::size_t i = 0; i < runs; ++i) {
    // Alternate, so drift in the VM's speed hits both sides alike.
    const auto n = run_wrk(nginx_port, "/health", seconds);
    const auto a = run_wrk(ours, "/health", seconds);
    anchor.push_back(n.rps);
    anchor_p99.push_back(n.p99_ms);
    rps.push_back(a.rps);
    p99.push_back(a.p99_ms);
    ratio.push_back(n.rps > 0 ? a.rps / n.rps : 0);
    errors = errors || a.errors;
  }
  stop(nginx, SIGQUIT);
  std::filesystem::remove_all(dir);
  const std::string note = errors ? "wrk reported errors" : "wrk -t2 -c256 keep-alive";
  print({"http.health_rps", median(rps), "req/s", "nginx_static_file", median(anchor), runs, note,
         median(ratio)},
        o.json);
  print({"http.ratio_vs_nginx", median(ratio), "x", "", {}, runs, "target >= 1.0"}, o.json);
  print({"http.health_p99_ms", median(p99), "ms", "nginx_p99_ms", median(anchor_p99), runs,
         "target <= 5"},
        o.json);
}

void startup_and_rss(const SuiteOptions& o) {
  const std::size_t runs = o.quick ? 1 : o.runs;
  std::vector<double> startup, rss;
  const auto engines = engines::available_engines();
  for (std::size_t i = 0; i < runs; ++i) {
    const int offset = static_cast<int>(free_port()) - 8800;
    const std::string log = fmt::format("/tmp/nautilus-bench-run-{}.log", ::getpid());
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t pid = spawn({"/proc/self/exe", "run", "--port-offset", std::to_string(offset),
                             "--status-interval", "3600"},
                            log);
    // Start-up ends when every engine's /health answers.
    std::size_t up = 0;
    while (up < engines.size() && std::chrono::steady_clock::now() - t0 < 10s) {
      up = 0;
      for (const auto& e : engines) {
        up += test::http_get(static_cast<std::uint16_t>(e.default_port() + offset), "/health")
                  .status == 200;
      }
      if (up < engines.size()) std::this_thread::sleep_for(1ms);
    }
    startup.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    std::this_thread::sleep_for(o.quick ? 1s : 3s);  // idle: sample replay at its default speed
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    for (std::string line; std::getline(status, line);) {
      if (line.starts_with("VmRSS:")) rss.push_back(std::stod(line.substr(6)) / 1024.0);
    }
    stop(pid, SIGINT);
    std::filesystem::remove(log);
  }
  const std::string n = fmt::format("{} engine(s)", engines.size());
  print({"run.startup_ms",
         median(startup),
         "ms",
         "",
         {},
         runs,
         n + "; spawn to every /health; target < 1000"},
        o.json);
  print({"run.idle_rss_mb", median(rss), "MB", "", {}, runs, n + "; target < 100"}, o.json);
}

}  // namespace

void run_http_suite(const SuiteOptions& o) {
  health_vs_nginx(o);
  startup_and_rss(o);
}

}  // namespace nautilus::bench
