// The `nautilus` binary as a user runs it: a real process, real signals, real output.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "nautilus/bus_redis/transport.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/model/market_data.hpp"
#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/redis_server.hpp"
#include "support/tls_certs.hpp"

namespace {

// How long a whole `nautilus run` (every engine) may take to drain and stop: under
// ThreadSanitizer on the 2-core CI machine twelve engines need more than 10 s.
constexpr std::chrono::seconds kRunExit{30};

using nautilus::test::Child;
using nautilus::test::spawn;

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// The default ports of the build's engines, from `nautilus engines` ("<name> <port> ...").
const std::vector<int>& engine_ports();

// A --port-offset at which every engine of the build can listen.
std::string free_offset() {
  return std::to_string(nautilus::test::free_port_offset(engine_ports()));
}

const std::vector<int>& engine_ports() {
  static const std::vector<int> ports = [] {
    std::vector<int> out;
    Child c = spawn({"engines"});
    c.wait_exit(std::chrono::seconds(10));
    std::istringstream lines(c.text);
    std::string name;
    int port = 0;
    std::string rest;
    while (lines >> name >> port && std::getline(lines, rest)) out.push_back(port);
    return out;
  }();
  return ports;
}

TEST(Cli, HelpListsTheSubcommands) {
  Child c = spawn({"--help"});
  EXPECT_EQ(c.wait_exit(std::chrono::seconds(10)), 0);
  EXPECT_TRUE(contains(c.text, "run")) << c.text;
  EXPECT_TRUE(contains(c.text, "bench")) << c.text;
}

TEST(Cli, UnknownSubcommandOrBadOptionFailsWithAMessage) {
  Child bad = spawn({"bogus"});
  EXPECT_NE(bad.wait_exit(std::chrono::seconds(10)), 0);
  EXPECT_TRUE(contains(bad.text, "bogus")) << bad.text;
  Child runs = spawn({"bench", "bus", "--runs", "0"});
  EXPECT_NE(runs.wait_exit(std::chrono::seconds(10)), 0);
  EXPECT_TRUE(contains(runs.text, "--runs")) << runs.text;
}

TEST(Cli, RunStopsCleanlyOnCtrlC) {
  Child c = spawn({"run", "--status-interval", "0.2", "--port-offset", free_offset()});
  ASSERT_TRUE(c.read_until([](const std::string& t) { return contains(t, "bus:"); },
                           std::chrono::seconds(10)))
      << c.text;
  ::kill(c.pid, SIGINT);
  EXPECT_EQ(c.wait_exit(kRunExit), 0);
  EXPECT_TRUE(contains(c.text, "SIGINT received")) << c.text;
  EXPECT_TRUE(contains(c.text, "stopped cleanly")) << c.text;
}

TEST(Cli, RunServesTheGuidesEndpointsAndSaysHowLongStartingTook) {
  const std::string offset = free_offset();
  const int port = 8800 + std::stoi(offset);
  Child c = spawn({"run", "--port-offset", offset, "--speed", "0"});
  ASSERT_TRUE(c.read_until([](const std::string& t) { return contains(t, "try `curl"); },
                           std::chrono::seconds(10)))
      << c.text;
  // "1 engine(s) up in 3.1 ms": measured from process start-up to every server listening. How
  // long is for `nautilus bench http` (run.startup_ms) to say, not a timed test: under
  // ThreadSanitizer on a busy CI machine it takes seconds.
  const std::regex up_re(R"re(engine\(s\) up in ([0-9.]+) ms)re");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(c.text, m, up_re)) << c.text;
  EXPECT_GT(std::stod(m[1]), 0.0) << c.text;
  // The documented checks (docs/OPERATIONS.md), with curl itself, against localhost.
  for (const char* path : {"/health", "/messagebus/status", "/messagebus/subscriptions", "/metrics",
                           "/hardware/status"}) {
    const std::string cmd =
        "curl -sf --max-time 5 http://localhost:" + std::to_string(port) + path + " 2>&1";
    std::FILE* f = ::popen(cmd.c_str(), "r");
    ASSERT_NE(f, nullptr);
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
    EXPECT_EQ(::pclose(f), 0) << path << ": " << out;
    EXPECT_FALSE(out.empty()) << path;
  }
  ::kill(c.pid, SIGINT);
  EXPECT_EQ(c.wait_exit(kRunExit), 0) << c.text;
  EXPECT_TRUE(contains(c.text, "stopped cleanly")) << c.text;
}

TEST(Cli, EngineRunsOneEngineAndRefusesUnknownOnes) {
  const std::string offset = free_offset();
  Child one = spawn({"engine", "marketdata", "--port", std::to_string(8800 + std::stoi(offset)),
                     "--duration", "0.3", "--set", "marketdata.source=synthetic"});
  EXPECT_EQ(one.wait_exit(std::chrono::seconds(10)), 0) << one.text;
  EXPECT_TRUE(contains(one.text, "1 engine(s) up")) << one.text;
  Child unknown = spawn({"engine", "nonesuch"});
  EXPECT_EQ(unknown.wait_exit(std::chrono::seconds(10)), 2);
  EXPECT_TRUE(contains(unknown.text, "no engine named 'nonesuch' (this build has: marketdata"))
      << unknown.text;
  Child bad_set = spawn({"run", "--set", "marketdata.speed=fast", "--port-offset", offset});
  EXPECT_EQ(bad_set.wait_exit(std::chrono::seconds(10)), 2);
  EXPECT_TRUE(contains(bad_set.text, "marketdata.speed: must be a number, not 'fast'"))
      << bad_set.text;
}

std::string write_temp(std::string_view suffix, std::string_view content) {
  std::string path = "/tmp/nautilus-cli-XXXXXX" + std::string(suffix);
  const int fd = ::mkstemps(path.data(), static_cast<int>(suffix.size()));
  if (fd < 0) return {};
  const auto n = ::write(fd, content.data(), content.size());
  ::close(fd);
  return n == static_cast<ssize_t>(content.size()) ? path : std::string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Cli, EngineSettingsAreCheckedAtStartUpNamingEngineAndKey) {
  // The crash this replaced: a symbol that is not one aborted the process (exit 134).
  Child symbols = spawn({"run", "--set", "marketdata.source=synthetic", "--set",
                         "marketdata.symbols=AAPL,bad sym!", "--duration", "1"});
  EXPECT_EQ(symbols.wait_exit(std::chrono::seconds(10)), 2) << symbols.text;
  EXPECT_TRUE(contains(symbols.text, "marketdata.symbols: 'bad sym!'")) << symbols.text;
  Child unknown = spawn({"run", "--set", "marketdata.sped=2", "--duration", "1"});
  EXPECT_EQ(unknown.wait_exit(std::chrono::seconds(10)), 2);
  EXPECT_TRUE(contains(unknown.text, "marketdata.sped: no such setting (settings: source, speed"))
      << unknown.text;
  Child range = spawn({"run", "--set", "marketdata.days=0", "--duration", "1"});
  EXPECT_EQ(range.wait_exit(std::chrono::seconds(10)), 2);
  EXPECT_TRUE(contains(range.text, "marketdata.days: must be an integer in [1, 260], not 0"))
      << range.text;
  // A TOML file keeps its types: a string where a number belongs is refused as such.
  const auto path = write_temp(".toml", "[engines.marketdata]\nspeed = \"fast\"\n");
  ASSERT_FALSE(path.empty());
  Child typed = spawn({"run", "--config", path, "--duration", "1"});
  EXPECT_EQ(typed.wait_exit(std::chrono::seconds(10)), 2);
  EXPECT_TRUE(contains(typed.text, "marketdata.speed: must be a number, not a string"))
      << typed.text;
  ::unlink(path.c_str());
}

TEST(Cli, EnginesSettingsPrintsTheTablesTheDocsShow) {
  Child c = spawn({"engines", "--settings"});
  ASSERT_EQ(c.wait_exit(std::chrono::seconds(10)), 0) << c.text;
  EXPECT_TRUE(contains(c.text, "| `speed` | number >= 0 | `60` |")) << c.text;
  const std::string docs = read_file(NAUTILUS_SOURCE_DIR "/docs/CONFIGURATION.md");
  EXPECT_TRUE(contains(docs, c.text))
      << "docs/CONFIGURATION.md is out of date: paste `nautilus engines --settings`:\n"
      << c.text;
}

// Every line of a --record file as JSON.
std::vector<boost::json::object> records(const std::string& text) {
  std::vector<boost::json::object> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    out.push_back(boost::json::parse(line).as_object());
  }
  return out;
}

TEST(Cli, DeterministicRunsRecordTheSameBytesAndTimersFireOnSimulatedTime) {
  const std::string a = write_temp(".jsonl", ""), b = write_temp(".jsonl", "");
  ASSERT_FALSE(a.empty() || b.empty());
  for (const auto& path : {a, b}) {
    Child c =
        spawn({"run", "--deterministic", "--record", path, "--until", "2026-01-05T14:45:00Z"});
    ASSERT_EQ(c.wait_exit(std::chrono::seconds(60)), 0) << c.text;
    EXPECT_TRUE(contains(c.text,
                         "deterministic run from 2026-01-05T14:30:01.162Z to "
                         "2026-01-05T14:45:00Z"))
        << c.text;
  }
  const std::string first = read_file(a);
  EXPECT_GT(first.size(), 100'000u);
  EXPECT_TRUE(first == read_file(b)) << "two deterministic runs wrote different bytes";
  const auto lines = records(first);
  const std::int64_t t0 = 1'767'623'401'162'000'000;  // 2026-01-05T14:30:01.162Z, the first trade
  const std::int64_t until = 1'767'624'300'000'000'000;
  std::vector<std::int64_t> health;
  std::int64_t last = 0;
  std::size_t bars = 0;
  for (const auto& l : lines) {
    const auto ts = l.at("ts_pub").as_int64();
    EXPECT_GE(ts, last) << "the simulated clock only moves forward";
    EXPECT_LE(ts, until);
    last = ts;
    if (l.at("type").as_string() == "bar") {
      ++bars;
      EXPECT_EQ(ts, l.at("payload").at("ts_event").as_int64()) << "released at its own time";
    }
    if (l.at("topic").as_string() == "system.health.marketdata") health.push_back(ts - t0);
  }
  EXPECT_EQ(bars, 20u * 15)
      << "the sample's 20 symbols, 1-minute bars 14:31 .. 14:45 (--until is inclusive)";
  // The host's heartbeat timer, every 10 simulated seconds from the start.
  ASSERT_EQ(health.size(), 89u);
  for (std::size_t k = 0; k < health.size(); ++k) {
    EXPECT_EQ(health[k], static_cast<std::int64_t>(k + 1) * 10'000'000'000) << k;
  }
  ::unlink(a.c_str());
  ::unlink(b.c_str());
}

TEST(Cli, RunForAFixedDuration) {
  Child c = spawn({"run", "--duration", "0.3", "--port-offset", free_offset()});
  EXPECT_EQ(c.wait_exit(kRunExit), 0);
  EXPECT_TRUE(contains(c.text, "stopped cleanly")) << c.text;
}

TEST(Cli, RunRefusesBadConfigurationNamingTheVariable) {
  Child env = spawn({"run", "--duration", "0.1"}, {"REDIS_PORT=http"});
  EXPECT_EQ(env.wait_exit(kRunExit), 2);
  EXPECT_TRUE(contains(env.text, "REDIS_PORT")) << env.text;

  char path[] = "/tmp/nautilus-cli-XXXXXX.toml";
  const int fd = ::mkstemps(path, 5);
  ASSERT_GE(fd, 0);
  const std::string toml = "[messagebus]\nbufer_size = 10\n";
  ASSERT_EQ(::write(fd, toml.data(), toml.size()), static_cast<ssize_t>(toml.size()));
  ::close(fd);
  Child file = spawn({"run", "--duration", "0.1", "--config", path});
  EXPECT_EQ(file.wait_exit(kRunExit), 2);
  EXPECT_TRUE(contains(file.text, "messagebus.bufer_size")) << file.text;
  ::unlink(path);

  Child ok = spawn({"run", "--duration", "0.1", "--port-offset", free_offset()},
                   {"MESSAGEBUS_BUFFER_SIZE=500", "MESSAGEBUS_BUFFER_INTERVAL=7"});
  EXPECT_EQ(ok.wait_exit(kRunExit), 0) << ok.text;
  EXPECT_TRUE(contains(ok.text, "stopped cleanly")) << ok.text;
}

// `nautilus bench <suite> --json --quick --runs 1`: every line one figure in the documented
// form; the names seen, and those with an anchor.
struct BenchFigures {
  std::set<std::string> seen, anchored;
};
BenchFigures bench_figures(const std::string& suite) {
  Child c = spawn({"bench", suite, "--json", "--quick", "--runs", "1"});
  EXPECT_EQ(c.wait_exit(std::chrono::seconds(240)), 0) << c.text;
  const std::regex line_re(
      R"re(^\{"bench": "([a-z0-9_.]+)", "value": [-+0-9.e]+, "unit": "[A-Za-z/]+")re"
      R"re((, "anchor": "[a-z0-9_]+", "anchor_value": [-+0-9.e]+, "ratio": [-+0-9.e]+)?)re"
      R"re(, "runs": 1(, "note": "[^"]*")?\}$)re");
  BenchFigures out;
  std::istringstream lines(c.text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    EXPECT_TRUE(std::regex_match(line, m, line_re)) << "not a bench line: " << line;
    if (!m[1].matched) continue;
    out.seen.insert(m[1]);
    if (m[2].matched) out.anchored.insert(m[1]);
  }
  return out;
}

TEST(Cli, BenchJsonPrintsOneObjectPerFigureWithAnchors) {
  const auto f = bench_figures("bus");
  for (const char* name :
       {"bus.inproc.same_thread", "bus.inproc.cross_thread", "bus.inproc.latency_p50_ns",
        "bus.inproc.latency_p99_ns", "bus.match.1000_patterns_us", "bus.priority.overtake_ns"}) {
    EXPECT_TRUE(f.seen.count(name)) << name << " missing";
    EXPECT_TRUE(f.anchored.count(name)) << name << " has no anchor";
  }
}

// `nautilus bench loop`: the trading loop's figures, each with its anchor where it has one (the
// VaR's anchor is numpy, run with /usr/bin/python3). A few seconds with --quick.
TEST(Cli, BenchLoopPrintsTheTradingLoopFigures) {
  const auto f = bench_figures("loop");
  for (const char* name : {"risk.pretrade_p50_ns", "risk.pretrade_p99_ns",
                           "risk.pretrade_uncapped_p50_ns", "risk.pretrade_uncapped_p99_ns",
                           "portfolio.fills_per_s", "loop.orders_per_s", "loop.inline_orders_per_s",
                           "risk.mc_var_ratio_vs_numpy", "risk.mc_var_full_ratio_vs_numpy"}) {
    EXPECT_TRUE(f.seen.count(name)) << name << " missing";
    EXPECT_TRUE(f.anchored.count(name)) << name << " has no anchor";
  }
  for (const char* name : {"portfolio.paper_fills_per_s", "risk.mc_var_seconds",
                           "risk.mc_var_2t_seconds", "risk.mc_var_full_matrix_seconds"}) {
    EXPECT_TRUE(f.seen.count(name)) << name << " missing";
  }
}

// `nautilus bench backtest`: whole backtests against the pandas/numpy anchor (run with
// /usr/bin/python3), a sweep on one worker and on two, memory over repeated backtests.
TEST(Cli, BenchBacktestPrintsTheBacktestFigures) {
  const auto f = bench_figures("backtest");
  for (const char* name : {"backtest.bars_per_s", "backtest.ratio_vs_numpy",
                           "backtest.sweep_scaling", "backtest.rss_growth_pct"}) {
    EXPECT_TRUE(f.seen.count(name)) << name << " missing";
    EXPECT_TRUE(f.anchored.count(name)) << name << " has no anchor";
  }
  EXPECT_TRUE(f.seen.count("backtest.rss_mb")) << "backtest.rss_mb missing";
}

// The command the docs give, with curl itself; returns curl's exit status and output.
std::pair<int, std::string> curl(const std::string& args) {
  std::FILE* f = ::popen(("curl -s --max-time 5 " + args + " 2>&1").c_str(), "r");
  if (f == nullptr) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  const int status = ::pclose(f);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(Cli, RunServesHttpsWhenGivenACertificateAndRefusesHalfASetting) {
  nautilus::testing::TestCertificates certs;
  const std::string offset = free_offset();
  const std::string port = std::to_string(8800 + std::stoi(offset));
  Child c = spawn({"run", "--port-offset", offset}, {"NAUTILUS_TLS_CERT_FILE=" + certs.server_cert,
                                                     "NAUTILUS_TLS_KEY_FILE=" + certs.server_key});
  ASSERT_TRUE(c.read_until([](const std::string& t) { return contains(t, "try `curl"); },
                           std::chrono::seconds(10)))
      << c.text;
  const auto [ok, health] =
      curl("-f --cacert " + certs.ca + " https://localhost:" + port + "/health");
  EXPECT_EQ(ok, 0) << health;
  EXPECT_TRUE(contains(health, "\"healthy\"")) << health;
  const auto [dash, page] = curl("-f --cacert " + certs.ca + " https://127.0.0.1:" +
                                 std::to_string(8600 + std::stoi(offset)) + "/");
  EXPECT_EQ(dash, 0) << "the dashboard over HTTPS: " << page;
  const auto [untrusted, why] = curl("https://localhost:" + port + "/health");
  EXPECT_EQ(untrusted, 60) << why;  // curl: the peer's certificate could not be verified
  const auto [plain, nothing] = curl("http://localhost:" + port + "/health");
  EXPECT_NE(plain, 0) << nothing;  // no plain HTTP on an HTTPS port
  ::kill(c.pid, SIGINT);
  EXPECT_EQ(c.wait_exit(kRunExit), 0) << c.text;
  Child half = spawn({"run", "--duration", "1"}, {"NAUTILUS_TLS_CERT_FILE=" + certs.server_cert});
  EXPECT_EQ(half.wait_exit(std::chrono::seconds(10)), 2);
  EXPECT_TRUE(contains(half.text, "NAUTILUS_TLS_KEY_FILE")) << half.text;
}

TEST(Cli, RunOnTheRedisBusRegistersAndStatusListsIt) {
  nautilus::testing::RedisServer redis;
  const std::string port = std::to_string(redis.port());
  const std::vector<std::string> env = {"REDIS_PORT=" + port, "MARKETDATA_REDIS_PORT=" + port,
                                        "ENGINE_LOGIC_REDIS_PORT=" + port};
  Child run = spawn({"run", "--bus", "redis", "--group", "risk", "--status-interval", "0.2",
                     "--port-offset", free_offset()},
                    env);
  ASSERT_TRUE(
      run.read_until([](const std::string& t) { return contains(t, "writer up, reader up"); },
                     std::chrono::seconds(20)))
      << run.text;
  Child status = spawn({"status"}, env);
  EXPECT_EQ(status.wait_exit(std::chrono::seconds(10)), 0);
  EXPECT_TRUE(contains(status.text, "marketdata ")) << status.text;
  // Every engine of the build registers: as many as `nautilus engines` lists.
  Child list = spawn({"engines"});
  ASSERT_EQ(list.wait_exit(std::chrono::seconds(10)), 0);
  const auto engines = std::count(list.text.begin(), list.text.end(), '\n');
  EXPECT_TRUE(contains(status.text, std::to_string(engines) + " engine(s) registered"))
      << status.text;
  ::kill(run.pid, SIGINT);
  EXPECT_EQ(run.wait_exit(std::chrono::seconds(20)), 0) << run.text;
  Child after = spawn({"status"}, env);
  EXPECT_EQ(after.wait_exit(std::chrono::seconds(10)), 0);
  EXPECT_TRUE(contains(after.text, "0 engine(s) registered")) << after.text;  // deregistered
}

TEST(Cli, ReplayPrintsARangeFilteredByTopicInIdOrder) {
  using namespace nautilus;
  nautilus::testing::RedisServer redis;
  const std::string port = std::to_string(redis.port());
  const std::vector<std::string> env = {"REDIS_PORT=" + port, "MARKETDATA_REDIS_PORT=" + port,
                                        "ENGINE_LOGIC_REDIS_PORT=" + port};
  {
    config::BusConfig cfg;
    cfg.main = cfg.marketdata = cfg.logic = redis.endpoint();
    bus::MessageBus b;
    auto t = *bus_redis::RedisTransport::start(b, {.config = cfg, .group = "writer"});
    auto pub = *b.publisher("risk");
    const model::TradeTick tick{core::Symbol::from_trusted("AAPL"),
                                *core::Price::from_string("1.25"),
                                *core::Quantity::from_string("1"),
                                model::AggressorSide::kNone,
                                1,
                                1};
    (void)pub.publish("risk.alert.AAPL", tick);
    (void)pub.publish("strategy.signal.AAPL", tick);
    (void)pub.publish("risk.alert.MSFT", tick, {.priority = bus::Priority::kFlashCrash});
    ASSERT_TRUE(t->flush(std::chrono::seconds(10)));
  }
  Child c = spawn({"replay", "--bus", "logic", "--from", "-", "--topic", "risk.*"}, env);
  ASSERT_EQ(c.wait_exit(std::chrono::seconds(10)), 0) << c.text;
  std::istringstream lines(c.text);
  std::vector<std::string> got;
  for (std::string line; std::getline(lines, line);) got.push_back(line);
  ASSERT_EQ(got.size(), 2u) << c.text;
  // Both risk.* messages and nothing else. The FLASH_CRASH took the urgent path (its own writer
  // and stream), so it may have reached Redis first: replay orders by stream id, not by
  // publish order.
  const std::string all = got[0] + got[1];
  EXPECT_TRUE(contains(all, "\"topic\":\"risk.alert.AAPL\"")) << all;
  EXPECT_TRUE(contains(all, "\"topic\":\"risk.alert.MSFT\"")) << all;
  EXPECT_FALSE(contains(all, "strategy.signal")) << all;
  EXPECT_TRUE(contains(all, "nautilus:engine_communication:urgent")) << all;
  EXPECT_TRUE(contains(all, "\"price\":\"1.25\"")) << all;
  auto id_of = [](const std::string& line) {
    const auto at = line.find("\"id\":\"") + 6;
    const std::string id = line.substr(at, line.find('"', at) - at);
    const auto dash = id.find('-');
    return std::pair{std::stoull(id.substr(0, dash)), std::stoull(id.substr(dash + 1))};
  };
  EXPECT_LE(id_of(got[0]), id_of(got[1]));  // in id order across the two streams

  Child future = spawn({"replay", "--bus", "logic", "--from", "2100-01-01T00:00:00Z"}, env);
  EXPECT_EQ(future.wait_exit(std::chrono::seconds(10)), 0);
  EXPECT_TRUE(future.text.empty()) << future.text;

  Child bad = spawn({"replay", "--bus", "logic", "--from", "yesterday"}, env);
  EXPECT_EQ(bad.wait_exit(std::chrono::seconds(10)), 2);
  EXPECT_TRUE(contains(bad.text, "--from")) << bad.text;

  const auto before = redis.client().command({"XLEN", "nautilus:engine_communication"})->integer;
  Child again = spawn({"replay", "--bus", "logic", "--from", "-", "--republish"}, env);
  EXPECT_EQ(again.wait_exit(std::chrono::seconds(10)), 0) << again.text;
  EXPECT_TRUE(contains(again.text, "republished 3 message(s)")) << again.text;
  EXPECT_EQ(redis.client().command({"XLEN", "nautilus:engine_communication"})->integer, before + 3);
}

// --- nautilus compute --------------------------------------------------------------------------

// The rows of a CSV text, each split at its commas (no quoting in these files).
std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> cells;
    std::size_t from = 0;
    for (std::size_t comma; (comma = line.find(',', from)) != std::string::npos; from = comma + 1)
      cells.push_back(line.substr(from, comma - from));
    cells.push_back(line.substr(from));
    rows.push_back(std::move(cells));
  }
  return rows;
}

// A trade file of `symbols` symbols over `days` sessions from 2026-01-05 (14:30 to 21:00 UTC),
// `per_day` trades a symbol a day at random milliseconds, random-walk prices, integer-nanosecond
// timestamps; the same bytes for the same seed.
std::string synthetic_trades(int symbols, int per_day, int days, std::uint64_t seed) {
  std::uint64_t x = seed;
  const auto next = [&x] {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x >> 33;
  };
  const char* names[] = {"AAA", "BBB", "CCC", "DDD"};
  std::vector<std::int64_t> cents(static_cast<std::size_t>(symbols), 10'000);
  std::string out = "ts,symbol,price,size,side\n";
  const std::int64_t midnight = 1'767'571'200;  // 2026-01-05T00:00:00Z, seconds
  for (int d = 0; d < days; ++d) {
    std::vector<std::pair<std::int64_t, int>> day;  // (ms since the open, symbol)
    for (int s = 0; s < symbols; ++s) {
      for (int k = 0; k < per_day; ++k) day.emplace_back(next() % (390 * 60 * 1000), s);
    }
    std::sort(day.begin(), day.end());
    for (const auto& [ms, s] : day) {
      auto& c = cents[static_cast<std::size_t>(s)];
      c += static_cast<std::int64_t>(next() % 21) - 10;
      const std::int64_t ns =
          ((midnight + d * 86'400 + 14 * 3600 + 30 * 60) * 1000 + ms) * 1'000'000;
      out += std::to_string(ns) + "," + names[s] + "," + std::to_string(c / 100) + "." +
             std::to_string(c % 100 / 10) + std::to_string(c % 10) + "," +
             std::to_string(100 * (1 + next() % 9)) + "," + "BSN"[next() % 3] + "\n";
    }
  }
  return out;
}

// "" is NaN (the empty cell of a warming value).
double cell(const std::string& s) { return s.empty() ? std::nan("") : std::stod(s); }

bool same(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::abs(a - b) <= 1e-12 * std::max(std::abs(a), std::abs(b));
}

TEST(Cli, ComputeFeaturesWritesTheDocumentedColumnsAndEchoesTimestampsAsWritten) {
  const std::string header =
      "ts,symbol,sma20,ema20,rsi14,macd,macd_signal,macd_hist,bb_mid,bb_up,bb_dn,atr14,obv,vwap,"
      "log_return,realized_vol";
  const auto nanos = write_temp(".csv",
                                "ts,symbol,open,high,low,close,volume\n"
                                "1767623460000000000,AAPL,10,11,9,10.5,100\n"
                                "1767623520000000000,AAPL,10.5,11,10,10.8,200\n"
                                "1767623580000000000,AAPL,10.8,11.2,10.6,11,150\n");
  const auto out = write_temp(".csv", "");
  ASSERT_FALSE(nanos.empty() || out.empty());
  Child c = spawn({"compute", "features", "--bars", nanos, "--out", out});
  ASSERT_EQ(c.wait_exit(std::chrono::seconds(30)), 0) << c.text;
  EXPECT_TRUE(c.text.empty()) << "nothing but errors on stderr: " << c.text;
  const auto rows = csv_rows(read_file(out));
  ASSERT_EQ(rows.size(), 4u) << read_file(out);
  EXPECT_EQ(read_file(out).substr(0, header.size() + 1), header + "\n");
  EXPECT_EQ(rows[1][0], "1767623460000000000") << "ts echoed as written";
  EXPECT_EQ(rows[3][0], "1767623580000000000");
  for (const auto& r : rows) ASSERT_EQ(r.size(), 16u);
  // Warm-up: SMA 20 and RSI 14 are empty cells; OBV and VWAP have a value from the first bar,
  // the log return from the second.
  EXPECT_EQ(rows[3][2], "");
  EXPECT_EQ(rows[3][4], "");
  EXPECT_EQ(rows[1][12], "100");
  EXPECT_EQ(rows[3][12], "450");
  EXPECT_EQ(rows[1][14], "");
  EXPECT_NEAR(std::stod(rows[2][14]), std::log(10.8 / 10.5), 1e-15);

  // ISO timestamps, to standard output.
  const auto iso = write_temp(".csv",
                              "ts,symbol,open,high,low,close,volume\n"
                              "2026-01-05T14:31:00Z,MSFT,10,11,9,10.5,100\n"
                              "2026-01-05 14:32:00.5,MSFT,10.5,11,10,10.8,200\n");
  ASSERT_FALSE(iso.empty());
  Child std_out = spawn({"compute", "features", "--bars", iso, "--out", "-"});
  ASSERT_EQ(std_out.wait_exit(std::chrono::seconds(30)), 0) << std_out.text;
  const auto printed = csv_rows(std_out.text);
  ASSERT_EQ(printed.size(), 3u) << std_out.text;
  EXPECT_TRUE(std_out.text.starts_with(header + "\n")) << std_out.text;
  EXPECT_EQ(printed[1][0], "2026-01-05T14:31:00Z");
  EXPECT_EQ(printed[2][0], "2026-01-05 14:32:00.5");
  EXPECT_EQ(printed[2][1], "MSFT");
  for (const auto& p : {nanos, out, iso}) ::unlink(p.c_str());
}

TEST(Cli, ComputeFeaturesRefusesAMalformedRowOrAnotherKindOfFileNamingIt) {
  const auto bad = write_temp(".csv",
                              "ts,symbol,open,high,low,close,volume\n"
                              "2026-01-05T14:31:00Z,AAPL,10,11,9,10.5,100\n"
                              "2026-01-05T14:32:00Z,AAPL,10.5,11,10,10.8,200\n"
                              "2026-01-05T14:33:00Z,AAPL,10.8,11.2,10.6,eleven,150\n");
  const auto trades =
      write_temp(".csv", "ts,symbol,price,size,side\n2026-01-05T14:31:00Z,A,1,1,B\n");
  ASSERT_FALSE(bad.empty() || trades.empty());
  Child row = spawn({"compute", "features", "--bars", bad, "--out", "-"});
  EXPECT_EQ(row.wait_exit(std::chrono::seconds(30)), 2) << row.text;
  EXPECT_TRUE(contains(row.text, bad + ":4: column 'close': 'eleven' is not a decimal"))
      << row.text;
  Child kind = spawn({"compute", "features", "--bars", trades, "--out", "-"});
  EXPECT_EQ(kind.wait_exit(std::chrono::seconds(30)), 2) << kind.text;
  EXPECT_TRUE(contains(kind.text, trades + ": is a trade file; --bars wants ts,symbol,open,high,"
                                           "low,close,volume"))
      << kind.text;
  ::unlink(bad.c_str());
  ::unlink(trades.c_str());
}

// symbol -> its rows, checking that each symbol's rows are together and numbered from 0.
std::map<std::string, std::vector<std::vector<std::string>>> by_symbol(
    const std::vector<std::vector<std::string>>& rows) {
  std::map<std::string, std::vector<std::vector<std::string>>> out;
  std::string last;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto& r = rows[i];
    auto& list = out[r.at(0)];
    EXPECT_TRUE(r[0] == last || list.empty()) << "rows of " << r[0] << " are not together";
    EXPECT_EQ(r.at(1), std::to_string(list.size())) << r[0];
    list.push_back(r);
    last = r[0];
  }
  return out;
}

TEST(Cli, ComputeVpinOnTheSampleFillsAboutFiftyBucketsASymbolADay) {
  const std::string sample = NAUTILUS_SOURCE_DIR "/data/sample/trades.csv.gz";
  ASSERT_TRUE(std::filesystem::exists(sample)) << sample << " (regenerate: nautilus sample)";
  const auto out = write_temp(".csv", "");
  ASSERT_FALSE(out.empty());
  for (const std::size_t window : {50u, 10u}) {
    std::vector<std::string> args = {"compute", "vpin", "--trades", sample, "--out", out};
    if (window != 50) args.insert(args.end(), {"--window", std::to_string(window)});
    Child c = spawn(args);
    ASSERT_EQ(c.wait_exit(std::chrono::seconds(60)), 0) << c.text;
    EXPECT_TRUE(c.text.empty()) << c.text;
    const std::string text = read_file(out);
    EXPECT_TRUE(text.starts_with("symbol,bucket,ts,vpin,cdf\n")) << text.substr(0, 100);
    const auto rows = csv_rows(text);
    const auto symbols = by_symbol(rows);
    EXPECT_EQ(symbols.size(), 20u);
    for (const auto& [sym, list] : symbols) {
      // V is the file's own ADV / 50: 21 days give 50 a day.
      EXPECT_NEAR(static_cast<double>(list.size()), 21.0 * 50, 21 * 50 * 0.15) << sym;
      for (std::size_t k = 0; k < list.size(); ++k) {
        const auto& r = list[k];
        ASSERT_EQ(r.size(), 5u);
        EXPECT_TRUE(r[2].ends_with("Z")) << r[2];
        if (k + 1 < window) {
          EXPECT_EQ(r[3], "") << sym << " bucket " << k << ": VPIN warms up over the window";
          EXPECT_EQ(r[4], "");
          continue;
        }
        ASSERT_NE(r[3], "") << sym << " bucket " << k;
        const double v = std::stod(r[3]);
        EXPECT_GE(v, 0.0);
        EXPECT_LE(v, 1.0);
        if (!r[4].empty()) {
          EXPECT_GT(std::stod(r[4]), 0.0);
          EXPECT_LE(std::stod(r[4]), 1.0);
        }
      }
      EXPECT_NE(list.back()[4], "") << sym << ": the CDF is known by the end";
    }
  }
  ::unlink(out.c_str());
}

TEST(Cli, ComputeVpinAgreesWithTheEngineGivenTheSameBucketSize) {
  const auto trades = write_temp(".csv", synthetic_trades(2, 1500, 2, 7));
  const auto out = write_temp(".csv", ""), record = write_temp(".jsonl", "");
  ASSERT_FALSE(trades.empty() || out.empty() || record.empty());
  const std::string v = "5000";
  Child file = spawn({"compute", "vpin", "--trades", trades, "--out", out, "--sigma", "rolling",
                      "--sigma-window", "300", "--bucket-volume", v});
  ASSERT_EQ(file.wait_exit(std::chrono::seconds(30)), 0) << file.text;
  Child live = spawn({"run", "--deterministic", "--engines", "marketdata,vpin", "--set",
                      "marketdata.files=" + trades, "--set", "vpin.input=trades", "--set",
                      "vpin.bucket_volume=" + v, "--set", "vpin.sigma=rolling", "--set",
                      "vpin.sigma_window=300", "--record", record});
  ASSERT_EQ(live.wait_exit(std::chrono::seconds(60)), 0) << live.text;
  EXPECT_FALSE(contains(live.text, "dropped")) << live.text;

  std::map<std::pair<std::string, std::uint64_t>, std::vector<std::string>> computed;
  for (const auto& [sym, list] : by_symbol(csv_rows(read_file(out)))) {
    for (const auto& r : list) computed[{sym, std::stoull(r[1])}] = r;
  }
  ASSERT_GT(computed.size(), 400u) << "enough buckets to warm VPIN and its CDF";
  std::size_t compared = 0, with_cdf = 0;
  for (const auto& l : records(read_file(record))) {
    if (l.at("type").as_string() != "vpin_update") continue;
    const auto& p = l.at("payload").as_object();
    const std::string sym(p.at("symbol").as_string());
    const auto bucket = p.at("bucket").to_number<std::uint64_t>();
    const auto it = computed.find({sym, bucket});
    ASSERT_NE(it, computed.end()) << sym << " bucket " << bucket << " is not in the file's";
    const auto num = [&](const char* k) {
      return p.at(k).is_null() ? std::nan("") : p.at(k).to_number<double>();
    };
    EXPECT_TRUE(same(num("vpin"), cell(it->second[3])))
        << sym << " bucket " << bucket << ": " << num("vpin") << " vs " << it->second[3];
    EXPECT_TRUE(same(num("cdf"), cell(it->second[4])))
        << sym << " bucket " << bucket << ": " << num("cdf") << " vs " << it->second[4];
    EXPECT_EQ(nautilus::core::format_timestamp(p.at("ts_event").as_int64()), it->second[2]);
    ++compared;
    if (!p.at("cdf").is_null()) ++with_cdf;
  }
  // The engine buckets a bar when the next interval's trade arrives, so the file's last bar of
  // each symbol is bucketed by compute only.
  EXPECT_GE(compared + 2, computed.size());
  EXPECT_GT(with_cdf, 100u);
  for (const auto& p : {trades, out, record}) ::unlink(p.c_str());
}

TEST(Cli, ComputeEnhancedVpinWritesEachHorizonOnceItIsWarm) {
  const std::string text = synthetic_trades(2, 1500, 2, 11);
  const auto trades = write_temp(".csv", text);
  const auto out = write_temp(".csv", "");
  ASSERT_FALSE(trades.empty() || out.empty());
  Child c = spawn({"compute", "enhanced-vpin", "--trades", trades, "--out", out});
  ASSERT_EQ(c.wait_exit(std::chrono::seconds(30)), 0) << c.text;
  EXPECT_TRUE(c.text.empty()) << c.text;
  const std::string csv = read_file(out);
  EXPECT_TRUE(csv.starts_with("symbol,bucket,ts,vpin10,vpin50,vpin250,cdf,bucket_volume\n"))
      << csv.substr(0, 100);
  const auto rows = csv_rows(csv);
  ASSERT_GT(rows.size(), 150u);
  // The first date's volume of each symbol, the initial V's source.
  std::map<std::string, double> first_day;
  for (const auto& r : csv_rows(text)) {
    if (r[0] != "ts" && std::stoll(r[0]) < 1'767'657'600'000'000'000) first_day[r[1]] += cell(r[3]);
  }
  std::map<std::string, std::size_t> seen;
  std::size_t first10 = 0, first50 = 0;
  std::int64_t last_ts = 0;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto& r = rows[i];
    ASSERT_EQ(r.size(), 8u);
    const std::size_t k = seen[r[0]]++;
    EXPECT_EQ(r[1], std::to_string(k)) << r[0];
    const auto ts = nautilus::core::parse_timestamp(r[2]);
    ASSERT_TRUE(ts.has_value()) << r[2];
    EXPECT_GE(*ts, last_ts) << "rows in bucket completion order: " << r[2];
    last_ts = *ts;
    EXPECT_EQ(r[3].empty(), k < 9) << r[0] << " bucket " << k;
    EXPECT_EQ(r[4].empty(), k < 49) << r[0] << " bucket " << k;
    EXPECT_EQ(r[5], "") << "only two days: 250 buckets never fill";
    if (!r[3].empty() && first10 == 0) first10 = i;
    if (!r[4].empty() && first50 == 0) first50 = i;
    if (k == 0) {
      EXPECT_TRUE(same(cell(r[7]), first_day[r[0]] / 50)) << r[0] << ": " << r[7];
    }
  }
  EXPECT_GT(first10, 0u);
  EXPECT_GT(first50, first10) << "vpin10 is warm before vpin50";
  EXPECT_EQ(seen.size(), 2u);

  Child bad =
      spawn({"compute", "enhanced-vpin", "--trades", trades, "--out", "-", "--horizons", "10,x"});
  EXPECT_EQ(bad.wait_exit(std::chrono::seconds(30)), 2) << bad.text;
  EXPECT_TRUE(contains(bad.text, "--horizons '10,x': 'x' is not a positive integer")) << bad.text;
  Child own = spawn({"compute", "enhanced-vpin", "--trades", trades, "--out", "-", "--horizons",
                     "5,20", "--classify", "bvc"});
  EXPECT_EQ(own.wait_exit(std::chrono::seconds(30)), 0) << own.text;
  EXPECT_TRUE(own.text.starts_with("symbol,bucket,ts,vpin5,vpin20,cdf,bucket_volume\n"))
      << own.text.substr(0, 100);
  ::unlink(trades.c_str());
  ::unlink(out.c_str());
}

TEST(Cli, ComputeVpinRefusesBadTradesNamingFileAndLine) {
  const std::string head =
      "ts,symbol,price,size,side\n2026-01-05T14:31:00Z,AAPL,10,100,B\n2026-01-05T14:31:01Z,AAPL,";
  const auto negative = write_temp(".csv", head + "10,-5,S\n");
  const auto side = write_temp(".csv", head + "10,5,X\n");
  ASSERT_FALSE(negative.empty() || side.empty());
  Child neg = spawn({"compute", "vpin", "--trades", negative, "--out", "-"});
  EXPECT_EQ(neg.wait_exit(std::chrono::seconds(30)), 2) << neg.text;
  EXPECT_TRUE(contains(neg.text, negative + ":3: column 'size'")) << neg.text;
  Child bad_side = spawn({"compute", "vpin", "--trades", side, "--out", "-"});
  EXPECT_EQ(bad_side.wait_exit(std::chrono::seconds(30)), 2) << bad_side.text;
  EXPECT_TRUE(contains(bad_side.text, side + ":3: column 'side': 'X' is not B, S or N"))
      << bad_side.text;
  Child missing = spawn({"compute", "vpin", "--trades", "/nonexistent/trades.csv", "--out", "-"});
  EXPECT_EQ(missing.wait_exit(std::chrono::seconds(30)), 2) << missing.text;
  EXPECT_TRUE(contains(missing.text, "/nonexistent/trades.csv: cannot open")) << missing.text;
  ::unlink(negative.c_str());
  ::unlink(side.c_str());
}

TEST(Cli, ComputeRefusesHugeWindowsWithAMessageNotAnAbort) {
  const auto trades = write_temp(".csv",
                                 "ts,symbol,price,size,side\n"
                                 "2026-01-05T14:31:00Z,AAPL,10,100,B\n");
  ASSERT_FALSE(trades.empty());
  const std::vector<std::vector<std::string>> cases = {
      {"vpin", "--cdf-history", "100000000000"},
      {"vpin", "--sigma", "rolling", "--sigma-window", "100000000"},
      {"enhanced-vpin", "--horizons", "100000000000"}};
  for (const auto& args : cases) {
    std::vector<std::string> argv = {"compute"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--trades", trades, "--out", "-"});
    Child c = spawn(argv);
    EXPECT_EQ(c.wait_exit(std::chrono::seconds(30)), 2) << c.text;
    EXPECT_TRUE(contains(c.text, "at most 10000000")) << c.text;
  }
  ::unlink(trades.c_str());
}

TEST(Cli, StatusWithoutRedisSaysWhy) {
  std::uint16_t port;
  {
    nautilus::testing::RedisServer gone;
    port = gone.port();
  }
  Child c = spawn({"status"}, {"REDIS_PORT=" + std::to_string(port)});
  EXPECT_EQ(c.wait_exit(std::chrono::seconds(10)), 1);
  EXPECT_TRUE(contains(c.text, std::to_string(port))) << c.text;
}

}  // namespace

// `nautilus sample --universe`: the research universe (docs/MARKET_DATA.md).
namespace {

TEST(Cli, SampleUniverseWritesTheResearchUniverseFiles) {
  const std::string dir = "/tmp/nautilus-cli-universe-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  Child c = spawn(
      {"sample", "--universe", "--symbols", "40", "--days", "25", "--seed", "9", "--out", dir});
  EXPECT_EQ(c.wait_exit(std::chrono::seconds(60)), 0) << c.text;
  EXPECT_TRUE(contains(c.text, "seed 9, 40 symbols, 25 trading days from 2023-01-03")) << c.text;
  for (const auto* f : {"daily_bars.csv.gz", "reference.csv.gz", "universe.csv.gz",
                        "truth_factor_returns.csv", "truth_exposures.csv.gz", "README.md"}) {
    EXPECT_GT(std::filesystem::file_size(dir + "/" + f), 0U) << f;
  }
  const auto truth = read_file(dir + "/truth_factor_returns.csv");
  EXPECT_TRUE(truth.starts_with("date,market,Communication Services,")) << truth.substr(0, 200);
  EXPECT_EQ(std::count(truth.begin(), truth.end(), '\n'), 26);
  // The bars are the hub's format: its own tools read them.
  Child features =
      spawn({"compute", "features", "--bars", dir + "/daily_bars.csv.gz", "--out", "-"});
  EXPECT_EQ(features.wait_exit(std::chrono::seconds(60)), 0) << features.text.substr(0, 500);
  // One bar per symbol and day, the 524 burn-in days included.
  EXPECT_EQ(std::count(features.text.begin(), features.text.end(), '\n'), 1 + 40 * (524 + 25));
  EXPECT_TRUE(contains(features.text, "2023-01-03T21:00:00Z,")) << features.text.substr(0, 500);
  // The toraniko model over it: a row of factor returns per written day, 40 residuals each.
  Child toraniko = spawn(
      {"compute", "toraniko", "--universe", dir + "/universe.csv.gz", "--out", dir + "/toraniko"});
  EXPECT_EQ(toraniko.wait_exit(std::chrono::seconds(60)), 0) << toraniko.text;
  EXPECT_TRUE(contains(toraniko.text, "549 dates: 25 fitted")) << toraniko.text;
  const auto factors = read_file(dir + "/toraniko/factor_returns.csv");
  EXPECT_TRUE(factors.starts_with("date,market,Communication Services,")) << factors.substr(0, 200);
  EXPECT_TRUE(contains(factors, ",mom,sze,val\n2023-01-03,")) << factors.substr(0, 400);
  EXPECT_EQ(std::count(factors.begin(), factors.end(), '\n'), 26);
  const auto residuals = read_file(dir + "/toraniko/residuals.csv");
  EXPECT_EQ(std::count(residuals.begin(), residuals.end(), '\n'), 1 + 40 * 25);
  std::filesystem::remove_all(dir);
}

TEST(Cli, ComputeFactorRefusesBarsThatAreNotDaily) {
  const std::string dir = "/tmp/nautilus-cli-factor-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir + "/bars.csv") << "ts,symbol,open,high,low,close,volume,interval_s\n"
                                        "2024-01-02T21:00:00Z,AAA,10,11,9,10.5,1000,86400\n"
                                        "2024-01-02T21:01:00Z,AAA,10,11,9,10.5,1000,60\n";
    std::ofstream(dir + "/ref.csv")
        << "as_of,symbol,sector,industry,shares_outstanding,book_value,sales,operating_cash_flow\n"
           "2023-01-01,AAA,Energy,Oil,1000000,5000000,9000000,1000000\n";
  }
  Child c = spawn({"compute", "factor", "--bars", dir + "/bars.csv", "--reference",
                   dir + "/ref.csv", "--out", dir + "/out.csv"});
  EXPECT_EQ(c.wait_exit(std::chrono::seconds(30)), 2) << c.text;
  EXPECT_TRUE(contains(c.text, "bars.csv:3: column interval_s: 60")) << c.text;
  std::filesystem::remove_all(dir);
}

TEST(Cli, ComputeToranikoNamesTheFileLineAndColumnOfABadCell) {
  const std::string dir = "/tmp/nautilus-cli-toraniko-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir + "/u.csv") << "date,symbol,return,market_cap,sector\n"
                                     "2024-01-02,AAA,0.01,1e9,Energy\n"
                                     "2024-01-02,BBB,0.02,-5,Energy\n";
  }
  Child c = spawn({"compute", "toraniko", "--universe", dir + "/u.csv", "--out", dir + "/out"});
  EXPECT_EQ(c.wait_exit(std::chrono::seconds(30)), 2) << c.text;
  EXPECT_TRUE(contains(c.text, "u.csv:3: column 'market_cap': -5 is not positive")) << c.text;
  Child missing =
      spawn({"compute", "toraniko", "--universe", dir + "/nope.csv", "--out", dir + "/out"});
  EXPECT_EQ(missing.wait_exit(std::chrono::seconds(30)), 2) << missing.text;
  EXPECT_TRUE(contains(missing.text, "nope.csv: cannot open")) << missing.text;
  std::filesystem::remove_all(dir);
}

TEST(Cli, SampleUniverseRefusesAnOutItCannotCreateAndBadSizes) {
  const auto file = write_temp(".txt", "not a directory");
  ASSERT_FALSE(file.empty());
  Child below = spawn({"sample", "--universe", "--out", file + "/universe"});
  EXPECT_EQ(below.wait_exit(std::chrono::seconds(30)), 2) << below.text;
  EXPECT_TRUE(contains(below.text, "nautilus sample: cannot create " + file + "/universe: "))
      << below.text;
  Child onto = spawn({"sample", "--universe", "--out", file});
  EXPECT_EQ(onto.wait_exit(std::chrono::seconds(30)), 2) << onto.text;
  EXPECT_TRUE(contains(onto.text, "cannot create " + file + ": Not a directory")) << onto.text;
  Child few = spawn({"sample", "--universe", "--symbols", "5", "--out", file + ".d"});
  EXPECT_EQ(few.wait_exit(std::chrono::seconds(30)), 2) << few.text;
  EXPECT_TRUE(contains(few.text, "--symbols must be 33 to 5000")) << few.text;
  Child days = spawn({"sample", "--universe", "--days", "0", "--out", file + ".d"});
  EXPECT_EQ(days.wait_exit(std::chrono::seconds(30)), 2) << days.text;
  EXPECT_TRUE(contains(days.text, "--days must be 1 to 10000 with --universe, not 0")) << days.text;
  Child minute = spawn({"sample", "--symbols", "50"});
  EXPECT_NE(minute.wait_exit(std::chrono::seconds(30)), 0) << minute.text;
  EXPECT_TRUE(contains(minute.text, "--symbols requires --universe")) << minute.text;
  EXPECT_FALSE(std::filesystem::exists(file + ".d"));
  ::unlink(file.c_str());
}

TEST(Cli, ComputeAnalyticsWritesTheMetricsAsOneJsonObject) {
  const std::string dir = "/tmp/nautilus-cli-analytics-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  {
    // Wealth 1.1, 0.88, 0.924, 1.0164; the benchmark is twice the returns, and has one date
    // more, which is left out.
    std::ofstream(dir + "/r.csv") << "date,return\n2024-01-30,0.10\n2024-01-31,-0.20\n"
                                     "2024-02-01,0.05\n2024-02-02,0.10\n";
    std::ofstream(dir + "/b.csv") << "date,return\n2024-01-29,0.3\n2024-01-30,0.20\n"
                                     "2024-01-31,-0.40\n2024-02-01,0.10\n2024-02-02,0.20\n";
  }
  Child c = spawn({"compute", "analytics", "--returns", dir + "/r.csv", "--benchmark",
                   dir + "/b.csv", "--out", dir + "/m.json"});
  ASSERT_EQ(c.wait_exit(std::chrono::seconds(30)), 0) << c.text;
  EXPECT_TRUE(contains(c.text, "4 days (0 missing), 4 with the benchmark")) << c.text;
  const auto m = boost::json::parse(read_file(dir + "/m.json")).as_object();
  const auto num = [&](const char* key) { return m.at(key).to_number<double>(); };
  EXPECT_EQ(m.at("days").to_number<int>(), 4);
  EXPECT_NEAR(num("cum_returns_final"), 0.0164, 1e-15);
  // mean 0.0125, ddof-1 variance 0.020625 (metrics_test.cpp works them out).
  EXPECT_NEAR(num("sharpe_ratio"), 0.0125 / std::sqrt(0.020625) * std::sqrt(252.0), 1e-12);
  EXPECT_NEAR(num("max_drawdown"), -0.2, 1e-15);
  EXPECT_EQ(m.at("max_drawdown_peak").as_string(), "2024-01-30");
  EXPECT_TRUE(m.at("max_drawdown_recovery").is_null());
  EXPECT_NEAR(num("beta"), 0.5, 1e-15);
  EXPECT_NEAR(num("alpha"), 0.0, 1e-14);
  EXPECT_EQ(m.at("benchmark_days").to_number<int>(), 4);
  const auto& months = m.at("monthly_returns").as_array();
  ASSERT_EQ(months.size(), 2U);
  EXPECT_EQ(months[1].as_object().at("month").to_number<int>(), 2);
  EXPECT_NEAR(months[1].as_object().at("return").to_number<double>(), 0.155, 1e-15);
  // Without a benchmark, on standard output: no benchmark keys.
  Child alone = spawn({"compute", "analytics", "--returns", dir + "/r.csv", "--out", "-"});
  ASSERT_EQ(alone.wait_exit(std::chrono::seconds(30)), 0) << alone.text;
  const auto json = alone.text.substr(0, alone.text.find('\n'));
  const auto a = boost::json::parse(json).as_object();
  EXPECT_FALSE(a.contains("beta"));
  EXPECT_EQ(a.at("omega_ratio").to_number<double>(), 1.25);
  std::filesystem::remove_all(dir);
}

TEST(Cli, ComputeAnalyticsNamesTheFileLineAndColumnOfABadCell) {
  const std::string dir = "/tmp/nautilus-cli-analytics-bad-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir + "/r.csv") << "date,return\n2024-01-02,0.01\n2024-01-03,1,5\n";
    std::ofstream(dir + "/ok.csv") << "date,return\n2024-01-02,0.01\n2024-01-03,0.02\n";
    std::ofstream(dir + "/b.csv") << "date,return\n2023-01-02,0.01\n";
  }
  Child c = spawn({"compute", "analytics", "--returns", dir + "/r.csv", "--out", "-"});
  EXPECT_EQ(c.wait_exit(std::chrono::seconds(30)), 2) << c.text;
  EXPECT_TRUE(contains(c.text, "r.csv:3: 3 fields, the header has 2")) << c.text;
  Child other = spawn({"compute", "analytics", "--returns", dir + "/ok.csv", "--benchmark",
                       dir + "/b.csv", "--out", "-"});
  EXPECT_EQ(other.wait_exit(std::chrono::seconds(30)), 2) << other.text;
  EXPECT_TRUE(contains(other.text, "b.csv: none of its dates is in " + dir + "/ok.csv"))
      << other.text;
  std::filesystem::remove_all(dir);
}

}  // namespace
