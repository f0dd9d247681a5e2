// The backtesting engine over real HTTP on loopback: a submitted config runs as a job and its
// report is the one run_backtest writes for that config; bad configs, data outside data_dirs and
// a full queue are refused with the right status and counted in /metrics; a running job can be
// cancelled. The backtests replay the synthetic market (marketdata.source = "synthetic"), so no
// file is needed.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "nautilus/backtest/backtest.hpp"
#include "nautilus/bus/message_bus.hpp"
#include "nautilus/engine/host.hpp"
#include "nautilus/engines/registry.hpp"
#include "support/http_client.hpp"

namespace nautilus {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// `days` of the synthetic market for three symbols, through the trading loop.
std::string config(int days) {
  return R"([backtest]
engines = ["marketdata", "strategy", "risk", "portfolio", "analytics"]
benchmark = "SPY"

[engines.marketdata]
source = "synthetic"
symbols = ["AAPL", "MSFT", "SPY"]
days = )" +
         std::to_string(days) +
         R"(

[engines.strategy]
strategy = "momentum"
lookback = 30
threshold = 0.002
)";
}

struct Server {
  fs::path data;
  bus::MessageBus bus;
  std::unique_ptr<engine::EngineHost> host;
  std::uint16_t port = 0;

  // data_dirs: a temporary directory, or `dirs` when given.
  explicit Server(int max_concurrent, int max_queued, const std::string& dirs = "") {
    data = fs::temp_directory_path() / ("nautilus-backtesting-" + std::to_string(::getpid()));
    fs::create_directories(data);
    engine::EngineConfig cfg;
    cfg.set("max_concurrent", std::to_string(max_concurrent));
    cfg.set("max_queued", std::to_string(max_queued));
    cfg.set("data_dirs", dirs.empty() ? data.string() : dirs);
    std::vector<std::unique_ptr<engine::Engine>> engines;
    engines.push_back(engines::find_engine("backtesting")->create());
    auto h = engine::EngineHost::start(
        bus, std::move(engines), {.ephemeral_ports = true, .configs = {{"backtesting", cfg}}});
    if (!h) throw std::runtime_error(h.error().message);
    host = std::move(*h);
    port = host->engines()[0].port;
  }
  ~Server() {
    host->drain_and_stop();
    std::error_code ec;
    fs::remove_all(data, ec);
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  test::HttpResult post(const std::string& body) const {
    return test::http_request(port, "POST", "/backtests", body);
  }
  json::object job(const std::string& id) const {
    const auto r = test::http_get(port, "/backtests/" + id);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? json::parse(r.body).as_object() : json::object{};
  }
  // Polls the job until it leaves queued/running (at most `limit`).
  json::object wait(const std::string& id, std::chrono::seconds limit = 300s) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto j = job(id);
      const auto state = j.contains("state") ? std::string(j.at("state").as_string()) : "";
      if (state != "queued" && state != "running") return j;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "job " << id << " did not finish";
    return {};
  }
};

std::string id_of(const test::HttpResult& r) {
  return std::string(json::parse(r.body).at("id").as_string());
}

TEST(BacktestingEngine, ASubmittedConfigRunsAsAJobWhoseReportIsTheBacktests) {
  Server s(1, 4);
  const auto accepted = s.post(config(2));
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  const std::string id = id_of(accepted);
  const auto done = s.wait(id);
  ASSERT_EQ(done.at("state").as_string(), "done") << json::serialize(done);
  EXPECT_GT(done.at("fills").to_number<double>(), 0);
  EXPECT_GT(done.at("progress").at("events").to_number<double>(), 0);
  EXPECT_TRUE(done.at("metrics").as_object().contains("sharpe_ratio"));

  const auto report = test::http_get(s.port, "/backtests/" + id + "/report");
  ASSERT_EQ(report.status, 200);
  // The same config run here, with the origin the engine gave it, writes the same bytes.
  auto spec = backtest::load_spec_text(
      config(2), (fs::weakly_canonical(s.data) / ("backtest-" + id + ".toml")).string(), {});
  ASSERT_TRUE(spec) << spec.error().message;
  auto direct = backtest::run_backtest(*spec);
  ASSERT_TRUE(direct) << direct.error().message;
  EXPECT_EQ(report.body, direct->json);

  const auto page = test::http_get(s.port, "/backtests/" + id + "/report.html");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.headers.find("text/html"), std::string::npos) << page.headers;
  EXPECT_NE(page.body.find("<html"), std::string::npos);

  const auto list = test::http_get(s.port, "/backtests");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(json::parse(list.body).at("jobs").as_array().size(), 1U);
  // A finished job can be forgotten; then it is a 404.
  EXPECT_EQ(test::http_request(s.port, "DELETE", "/backtests/" + id).status, 200);
  EXPECT_EQ(test::http_get(s.port, "/backtests/" + id).status, 404);
}

TEST(BacktestingEngine, BadConfigsOutsideDataAndAFullQueueAreRefusedAndCounted) {
  Server s(1, 0);
  auto r = s.post("");
  EXPECT_EQ(r.status, 400);
  r = s.post("[backtest]\nbogus = 1\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("backtest.bogus"), std::string::npos) << r.body;
  r = s.post("[backtest\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(":1:"), std::string::npos) << r.body;  // line and column
  // Data outside data_dirs, as [backtest] data or as a file setting of an engine; a path that
  // does not exist is refused the same way (the answer must not tell what exists outside).
  r = s.post("[backtest]\ndata = \"/etc/passwd\"\n");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("outside data_dirs"), std::string::npos) << r.body;
  r = s.post("[backtest]\ndata = \"/no/such/dir/bars.csv\"\n");
  EXPECT_EQ(r.status, 403) << r.body;
  r = s.post(config(1) + "[engines.ml]\nmodel_file = \"/etc/hostname\"\n");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("ml.model_file"), std::string::npos) << r.body;
  // A list setting given as one string is split on its commas by the engine: checked so.
  r = s.post(
      "[backtest]\nengines = [\"marketdata\"]\n[engines.marketdata]\nsource = \"replay\"\n"
      "files = \"" +
      (s.data / "bars.csv").string() + ",/etc/passwd\"\n");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("marketdata.files: /etc/passwd"), std::string::npos) << r.body;
  r = s.post("[backtest]\nengines = [\"backtesting\"]\n");
  EXPECT_EQ(r.status, 400);

  // One worker and no queue: the room is full as soon as one job is in, running or not yet
  // taken by the worker, so the next submission is a 429 however quickly it comes. The long
  // job can be cancelled and ends as cancelled.
  const auto long_job = s.post(config(250));
  ASSERT_EQ(long_job.status, 202) << long_job.body;
  const std::string id = id_of(long_job);
  const auto busy = s.post(config(1));
  EXPECT_EQ(busy.status, 429) << busy.body;
  EXPECT_EQ(test::http_request(s.port, "DELETE", "/backtests/" + id).status / 100, 2);
  const auto cancelled = s.wait(id);
  EXPECT_EQ(cancelled.at("state").as_string(), "cancelled") << json::serialize(cancelled);
  EXPECT_EQ(test::http_get(s.port, "/backtests/" + id + "/report").status, 409);

  const auto metrics = test::http_get(s.port, "/metrics");
  EXPECT_NE(metrics.body.find("nautilus_backtesting_refused_total{engine=\"backtesting\"} 9"),
            std::string::npos)
      << metrics.body;
  EXPECT_EQ(test::http_get(s.port, "/backtests/999").status, 404);
}

// A job still waiting for the worker is cancelled at once (200), without having run.
TEST(BacktestingEngine, AQueuedJobIsCancelledBeforeItRuns) {
  Server s(1, 1);
  const auto first = s.post(config(250));
  ASSERT_EQ(first.status, 202) << first.body;
  const auto second = s.post(config(1));
  ASSERT_EQ(second.status, 202) << second.body;
  const auto del = test::http_request(s.port, "DELETE", "/backtests/" + id_of(second));
  EXPECT_EQ(del.status, 200) << del.body;
  const auto j = s.job(id_of(second));
  EXPECT_EQ(j.at("state").as_string(), "cancelled");
  EXPECT_TRUE(j.at("started").is_null()) << "it never ran";
  EXPECT_EQ(test::http_request(s.port, "DELETE", "/backtests/" + id_of(first)).status / 100, 2);
  EXPECT_EQ(s.wait(id_of(first)).at("state").as_string(), "cancelled");
}

// The README's example job: its data, relative to the first data directory, is the sample's.
TEST(BacktestingEngine, TheExampleJobOfTheReadmeIsAcceptedAgainstTheSample) {
  const std::string source = NAUTILUS_SOURCE_DIR;
  Server s(1, 1, source + "/data/sample");
  std::ifstream in(source + "/examples/backtest/rest.toml");
  std::stringstream text;
  text << in.rdbuf();
  const auto r = s.post(text.str());
  ASSERT_EQ(r.status, 202) << r.body;
  const auto job = json::parse(r.body).as_object();
  const auto& data = job.at("data").as_array();
  ASSERT_EQ(data.size(), 2U);
  EXPECT_NE(std::string(data[0].as_string()).find("data/sample/bars_1m.csv.gz"), std::string::npos)
      << r.body;
  EXPECT_EQ(test::http_request(s.port, "DELETE", "/backtests/" + id_of(r)).status / 100, 2);
  const auto ended = s.wait(id_of(r));
  EXPECT_TRUE(ended.at("state").as_string() == "cancelled" ||
              ended.at("state").as_string() == "done")
      << json::serialize(ended);
}

}  // namespace
}  // namespace nautilus
