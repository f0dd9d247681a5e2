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
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "nautilus/bus_redis/transport.hpp"
#include "nautilus/model/market_data.hpp"
#include "support/http_client.hpp"
#include "support/redis_server.hpp"

namespace {

struct Child {
  pid_t pid = -1;
  int out = -1;  // stdout and stderr together
  std::string text;

  // Reads what is available until `pred(text)` holds or `timeout` passes.
  bool read_until(const std::function<bool(const std::string&)>& pred,
                  std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred(text)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{out, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(out, buf, sizeof buf);
      if (n <= 0) return pred(text);
      text.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  // Waits for exit (reading output meanwhile); returns the exit status or -1 on timeout.
  int wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      read_until([](const std::string&) { return false; }, std::chrono::milliseconds(50));
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        read_until([](const std::string&) { return false; }, std::chrono::milliseconds(50));
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return -1;
  }
};

Child spawn(std::vector<std::string> args, std::vector<std::string> extra_env = {}) {
  args.insert(args.begin(), NAUTILUS_BIN);
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  for (auto& e : extra_env) envp.push_back(e.data());
  envp.push_back(nullptr);
  Child c;
  if (posix_spawn(&c.pid, argv[0], &fa, nullptr, argv.data(), envp.data()) != 0) std::abort();
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  c.out = fds[0];
  return c;
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// A --port-offset that puts the MarketData hub (8800) on a port that was free just now, so
// tests do not collide with each other or with a platform already running on this machine.
std::string free_offset() {
  return std::to_string(static_cast<int>(nautilus::test::free_port()) - 8800);
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
  EXPECT_EQ(c.wait_exit(std::chrono::seconds(10)), 0);
  EXPECT_TRUE(contains(c.text, "SIGINT received")) << c.text;
  EXPECT_TRUE(contains(c.text, "stopped cleanly")) << c.text;
}

TEST(Cli, RunServesTheGuidesEndpointsWithinASecond) {
  const std::string offset = free_offset();
  const int port = 8800 + std::stoi(offset);
  Child c = spawn({"run", "--port-offset", offset, "--speed", "0"});
  ASSERT_TRUE(c.read_until([](const std::string& t) { return contains(t, "try `curl"); },
                           std::chrono::seconds(10)))
      << c.text;
  // "1 engine(s) up in 3.1 ms": measured from process start-up to every server listening.
  const std::regex up_re(R"re(engine\(s\) up in ([0-9.]+) ms)re");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(c.text, m, up_re)) << c.text;
  EXPECT_LT(std::stod(m[1]), 1000.0);
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
  EXPECT_EQ(c.wait_exit(std::chrono::seconds(10)), 0) << c.text;
  EXPECT_TRUE(contains(c.text, "stopped cleanly")) << c.text;
}

TEST(Cli, EngineRunsOneEngineAndRefusesUnknownOnes) {
  const std::string offset = free_offset();
  Child one = spawn({"engine", "marketdata", "--port", std::to_string(8800 + std::stoi(offset)),
                     "--duration", "0.3", "--set", "marketdata.source=synthetic"});
  EXPECT_EQ(one.wait_exit(std::chrono::seconds(10)), 0) << one.text;
  EXPECT_TRUE(contains(one.text, "1 engine(s) up")) << one.text;
  Child unknown = spawn({"engine", "risk"});
  EXPECT_EQ(unknown.wait_exit(std::chrono::seconds(10)), 2);
  EXPECT_TRUE(contains(unknown.text, "no engine named 'risk' (this build has: marketdata"))
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
  EXPECT_EQ(c.wait_exit(std::chrono::seconds(10)), 0);
  EXPECT_TRUE(contains(c.text, "stopped cleanly")) << c.text;
}

TEST(Cli, RunRefusesBadConfigurationNamingTheVariable) {
  Child env = spawn({"run", "--duration", "0.1"}, {"REDIS_PORT=http"});
  EXPECT_EQ(env.wait_exit(std::chrono::seconds(10)), 2);
  EXPECT_TRUE(contains(env.text, "REDIS_PORT")) << env.text;

  char path[] = "/tmp/nautilus-cli-XXXXXX.toml";
  const int fd = ::mkstemps(path, 5);
  ASSERT_GE(fd, 0);
  const std::string toml = "[messagebus]\nbufer_size = 10\n";
  ASSERT_EQ(::write(fd, toml.data(), toml.size()), static_cast<ssize_t>(toml.size()));
  ::close(fd);
  Child file = spawn({"run", "--duration", "0.1", "--config", path});
  EXPECT_EQ(file.wait_exit(std::chrono::seconds(10)), 2);
  EXPECT_TRUE(contains(file.text, "messagebus.bufer_size")) << file.text;
  ::unlink(path);

  Child ok = spawn({"run", "--duration", "0.1", "--port-offset", free_offset()},
                   {"MESSAGEBUS_BUFFER_SIZE=500", "MESSAGEBUS_BUFFER_INTERVAL=7"});
  EXPECT_EQ(ok.wait_exit(std::chrono::seconds(10)), 0) << ok.text;
  EXPECT_TRUE(contains(ok.text, "stopped cleanly")) << ok.text;
}

TEST(Cli, BenchJsonPrintsOneObjectPerFigureWithAnchors) {
  Child c = spawn({"bench", "bus", "--json", "--quick", "--runs", "1"});
  ASSERT_EQ(c.wait_exit(std::chrono::seconds(240)), 0) << c.text;
  const std::regex line_re(
      R"re(^\{"bench": "([a-z0-9_.]+)", "value": [-+0-9.e]+, "unit": "[a-z/]+")re"
      R"re((, "anchor": "[a-z0-9_]+", "anchor_value": [-+0-9.e]+, "ratio": [-+0-9.e]+)?)re"
      R"re(, "runs": 1(, "note": "[^"]*")?\}$)re");
  std::set<std::string> seen, anchored;
  std::istringstream lines(c.text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, line_re)) << "not a bench line: " << line;
    seen.insert(m[1]);
    if (m[2].matched) anchored.insert(m[1]);
  }
  for (const char* name :
       {"bus.inproc.same_thread", "bus.inproc.cross_thread", "bus.inproc.latency_p50_ns",
        "bus.inproc.latency_p99_ns", "bus.match.1000_patterns_us", "bus.priority.overtake_ns"}) {
    EXPECT_TRUE(seen.count(name)) << name << " missing";
    EXPECT_TRUE(anchored.count(name)) << name << " has no anchor";
  }
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
