// Sweeps across machines (sweep_queue.hpp): `nautilus backtest --queue redis` puts a sweep's
// backtests on a real redis-server as jobs, `nautilus worker` processes run them, and the
// submitter writes what a local sweep of the same config writes, byte for byte, even when a
// worker is killed mid-job (its job is taken over and run again). A result that comes twice
// counts once; a job that keeps killing its workers is failed, not retried for ever; unreadable
// jobs and results are dropped with the reason; a submitter no worker answers gives up after its
// timeout naming the Redis it waited on.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "support/backtest_market.hpp"
#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/redis_server.hpp"

namespace nautilus {
namespace {

namespace json = boost::json;
using test::Child;
using test::read;
using test::spawn;
using test::TempDir;
using test::write;

const auto* const kRemoveMarket = ::testing::AddGlobalTestEnvironment(new test::RemoveMarket);

const std::string kSweep = test::kMomentumLoop + R"(
[sweep]
metric = "sharpe_ratio"
workers = 1

[grid]
strategy.lookback = [30, 60]
strategy.threshold = [0.005, 0.01]
)";

constexpr std::string_view kJobs = "nautilus:sweep:jobs";

std::vector<std::string> redis_env(const testing::RedisServer& redis) {
  return {"REDIS_PORT=" + std::to_string(redis.port())};
}

std::string all_text(std::vector<Child>& children) {
  std::string out;
  for (auto& c : children) {
    c.read_until([](const std::string&) { return false; }, std::chrono::milliseconds(10));
    out += c.text;
  }
  return out;
}

// Job s/1.0 of sweep "s" as the submitter writes it (the queue's wire format, v1).
std::string job_json(const std::string& results, json::array data) {
  return json::serialize(json::object{{"v", 1},
                                      {"id", "s/1.0"},
                                      {"sweep", "s"},
                                      {"results", results},
                                      {"config", kSweep},
                                      {"origin", "sweep.toml"},
                                      {"data", std::move(data)},
                                      {"settings", json::array{}},
                                      {"report", false}});
}

// The jobs stream and its workers' group, the sweep's results stream (it exists while its sweep
// does: workers answer with XADD NOMKSTREAM), and job s/1.0 on it; its entry id.
core::Result<bus_redis::RedisReply> queue_one_job(bus_redis::RedisClient& c,
                                                  const std::string& results, json::array data) {
  const std::string jobs(kJobs);
  for (auto [stream, group, from] :
       {std::tuple{jobs, "nautilus-workers", "0"}, std::tuple{results, "submitter", "$"}}) {
    auto made = c.command({"XGROUP", "CREATE", stream, group, from, "MKSTREAM"});
    if (!made) return made;
  }
  return c.command({"XADD", jobs, "*", "d", job_json(results, std::move(data))});
}

std::size_t count(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(SweepQueue, ThreeWorkersRankWhatALocalSweepRanksAndAWorkerKilledMidJobLosesNothing) {
  testing::RedisServer redis;
  TempDir dir;
  const std::string config = dir.str("sweep.toml");
  write(config, kSweep);
  const auto [local_status, local_out] = test::backtest_market(config, dir.str("local"));
  ASSERT_EQ(local_status, 0) << local_out;

  // Two entries that are not jobs, queued first: each worker that meets one drops it, naming why.
  auto c = redis.client();
  const std::string jobs(kJobs);
  ASSERT_TRUE(c.command({"XADD", jobs, "*", "d", "{\"v\":1,\"id\":"}));
  ASSERT_TRUE(c.command({"XADD", jobs, "*", "x", "y"}));

  std::vector<Child> workers;
  for (int i = 0; i < 3; ++i) {
    workers.push_back(spawn({"worker", "--name", "w" + std::to_string(i), "--claim-idle", "1"},
                            redis_env(redis)));
  }
  Child submitter = spawn({"backtest", "--config", config, "--data", test::market(), "--out",
                           dir.str("queued"), "--queue", "redis", "--queue-timeout", "300"},
                          redis_env(redis));
  // The first worker to start a backtest is killed in the middle of it.
  int victim = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (victim < 0 && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 3 && victim < 0; ++i) {
      if (workers[i].read_until(
              [](const std::string& t) { return t.find("started (attempt 1)") != t.npos; },
              std::chrono::milliseconds(20))) {
        victim = i;
      }
    }
  }
  ASSERT_GE(victim, 0) << all_text(workers) << submitter.text;
  ::kill(workers[victim].pid, SIGKILL);
  // Its output up to the kill: the job it had started and not finished.
  const std::string victim_text = workers[victim].text;
  const auto started = victim_text.find(" started (attempt 1)");
  const auto job_at = victim_text.rfind("job ", started) + 4;
  const std::string victim_job = victim_text.substr(job_at, started - job_at);
  ASSERT_EQ(submitter.wait_exit(std::chrono::seconds(300)), 0)
      << submitter.text << all_text(workers);

  // The same ranking, the same numbers, the same reports as the sweep run here.
  EXPECT_EQ(read(dir.str("queued/summary.json")), read(dir.str("local/summary.json")));
  EXPECT_EQ(read(dir.str("queued/summary.csv")), read(dir.str("local/summary.csv")));
  for (int i = 0; i < 4; ++i) {
    const std::string run = "/runs/" + std::to_string(i) + "/report.json";
    EXPECT_EQ(read(dir.str("queued") + run), read(dir.str("local") + run)) << run;
  }
  EXPECT_FALSE(read(dir.str("queued/runs/0/report.html")).empty() &&
               read(dir.str("queued/runs/1/report.html")).empty() &&
               read(dir.str("queued/runs/2/report.html")).empty() &&
               read(dir.str("queued/runs/3/report.html")).empty());

  for (int i = 0; i < 3; ++i) {
    if (i != victim) ::kill(workers[i].pid, SIGINT);
  }
  std::string others;
  for (int i = 0; i < 3; ++i) {
    if (i == victim) continue;
    EXPECT_EQ(workers[i].wait_exit(std::chrono::seconds(30)), 0) << workers[i].text;
    others += workers[i].text;
  }
  // The killed worker's job was taken over and run from the start, by another worker.
  EXPECT_NE(others.find("job " + victim_job + " started (attempt 2)"), std::string::npos)
      << victim_job << "\n"
      << others;
  // Each job answered once (the victim answered none of its last), and the two entries that
  // were not jobs dropped with their reasons.
  EXPECT_EQ(count(others, " done in "), 4 - count(victim_text, " done in ")) << others;
  EXPECT_NE((victim_text + others).find("not JSON"), std::string::npos) << others;
  EXPECT_NE((victim_text + others).find("is not a job (no field 'd')"), std::string::npos)
      << others;
  EXPECT_NE(submitter.text.find("0 duplicate and 0 unreadable"), std::string::npos)
      << submitter.text;
  // The sweep leaves nothing behind: its jobs, results and liveness key are gone.
  auto left = c.command({"XLEN", jobs});
  ASSERT_TRUE(left);
  EXPECT_EQ(left->integer, 2) << "only the two entries that were not jobs";
  auto keys = c.command({"KEYS", "nautilus:sweep:jobs:*"});
  ASSERT_TRUE(keys);
  EXPECT_TRUE(keys->elements.empty()) << keys->elements.front().str;
}

// Walk-forward is two rounds of jobs (every fold's training grid, then each fold's test of the
// point its training chose): the same folds, choices and files as the local walk-forward.
TEST(SweepQueue, AWalkForwardOverTheQueueWritesEveryFileTheLocalOneWrites) {
  testing::RedisServer redis;
  TempDir dir;
  const std::string config = dir.str("walk.toml");
  std::string text = kSweep;
  text.replace(text.find("[grid]"), 6, "[walk_forward]\ntrain_days = 3\ntest_days = 1\n\n[grid]");
  text.replace(text.find("strategy.threshold = [0.005, 0.01]"), 34, "");
  write(config, text);
  const auto [local_status, local_out] = test::backtest_market(config, dir.str("local"));
  ASSERT_EQ(local_status, 0) << local_out;
  std::vector<Child> workers;
  for (int i = 0; i < 2; ++i) {
    workers.push_back(spawn({"worker", "--idle-exit", "60"}, redis_env(redis)));
  }
  Child submitter = spawn({"backtest", "--config", config, "--data", test::market(), "--out",
                           dir.str("queued"), "--queue", "redis", "--queue-timeout", "300"},
                          redis_env(redis));
  ASSERT_EQ(submitter.wait_exit(std::chrono::seconds(300)), 0) << submitter.text;
  EXPECT_NE(submitter.text.find("4 backtests queued"), std::string::npos) << "two folds' grids";
  EXPECT_NE(submitter.text.find("2 backtests queued"), std::string::npos) << "two folds' tests";
  for (const std::string f : {"summary.json", "summary.csv", "folds/0/report.json",
                              "folds/1/report.json", "folds/1/report.html"}) {
    EXPECT_EQ(read(dir.str("queued/" + f)), read(dir.str("local/" + f))) << f;
  }
  EXPECT_FALSE(read(dir.str("queued/folds/1/report.json")).empty());
  for (auto& w : workers) {
    ::kill(w.pid, SIGTERM);
    EXPECT_EQ(w.wait_exit(std::chrono::seconds(30)), 0) << w.text;
  }
}

// The test plays the worker: it answers every job twice and adds one unreadable result.
TEST(SweepQueue, AResultThatComesTwiceCountsOnceAndAnUnreadableOneIsIgnored) {
  testing::RedisServer redis;
  TempDir dir;
  const std::string config = dir.str("sweep.toml");
  write(config, kSweep);
  Child submitter = spawn({"backtest", "--config", config, "--data", test::market(), "--out",
                           dir.str("out"), "--queue", "redis", "--queue-timeout", "60"},
                          redis_env(redis));
  ASSERT_TRUE(submitter.read_until(
      [](const std::string& t) { return t.find("backtests queued") != t.npos; },
      std::chrono::seconds(60)))
      << submitter.text;
  auto c = redis.client();
  const std::string jobs(kJobs);
  auto read_jobs = c.command(
      {"XREADGROUP", "GROUP", "nautilus-workers", "test", "COUNT", "10", "STREAMS", jobs, ">"});
  ASSERT_TRUE(read_jobs && read_jobs->elements.size() == 1);
  const auto& entries = read_jobs->elements[0].elements[1].elements;
  ASSERT_EQ(entries.size(), 4U);
  // Every answer carries a recorded report, so the best point's tearsheet can be written.
  const std::string report =
      read(std::string(NAUTILUS_SOURCE_DIR) + "/tests/fixtures/backtest/report_sample.json");
  ASSERT_FALSE(report.empty());
  std::string results;
  double sharpe = 4;
  std::vector<std::string> last_answer;  // the last job's: posted last, so all before it is read
  for (std::size_t n = 0; n < entries.size(); ++n) {
    const json::object job = json::parse(entries[n].elements[1].elements[1].str).as_object();
    results = std::string(job.at("results").as_string());
    const std::string id(job.at("id").as_string());
    if (n == 0) {  // one unreadable result first
      ASSERT_TRUE(c.command({"XADD", results, "*", "r", "{\"v\":1}"}));
    }
    // Each point its own Sharpe ratio: 4, 3, 2, 1 in queue order; a second copy says 100.
    for (const double s : {sharpe, 100.0}) {
      const std::string r =
          json::serialize(json::object{{"v", 1},
                                       {"job", id},
                                       {"worker", "test"},
                                       {"attempt", 1},
                                       {"metrics", {{"sharpe_ratio", std::to_string(s)}}},
                                       {"fills", 7},
                                       {"events", 9},
                                       {"final_nav", "1000000"},
                                       {"wall_s", "0.5"},
                                       {"error", ""},
                                       {"error_code", 11}});
      if (n + 1 == entries.size()) {
        if (s == sharpe) last_answer = {"XADD", results, "*", "r", r, "report", report};
      } else {
        ASSERT_TRUE(c.command({"XADD", results, "*", "r", r, "report", report}));
      }
    }
    sharpe -= 1;
  }
  ASSERT_TRUE(c.command(last_answer));
  ASSERT_EQ(submitter.wait_exit(std::chrono::seconds(60)), 0) << submitter.text;
  EXPECT_NE(submitter.text.find("3 duplicate and 1 unreadable result(s) ignored"),
            std::string::npos)
      << submitter.text;
  EXPECT_NE(submitter.text.find("the first answer stands"), std::string::npos);
  EXPECT_NE(submitter.text.find("field 'job' is missing"), std::string::npos) << submitter.text;
  const json::object s = json::parse(read(dir.str("out/summary.json"))).as_object();
  const auto& runs = s.at("runs").as_array();
  ASSERT_EQ(runs.size(), 4U);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i].as_object();
    EXPECT_EQ(r.at("index").to_number<std::size_t>(), i) << "ranked 4, 3, 2, 1: queue order";
    EXPECT_EQ(r.at("score").to_number<double>(), 4.0 - static_cast<double>(i));
    EXPECT_EQ(r.at("fills").to_number<int>(), 7);
    EXPECT_EQ(read(dir.str("out/runs/" + std::to_string(i) + "/report.json")), report);
  }
  EXPECT_FALSE(read(dir.str("out/runs/0/report.html")).empty());
}

TEST(SweepQueue, AJobThatKeepsKillingItsWorkersIsFailedWithTheReasonNotRetriedForEver) {
  testing::RedisServer redis;
  auto c = redis.client();
  const std::string jobs(kJobs);
  const std::string results = jobs + ":results:s";
  auto id = queue_one_job(c, results, {});
  ASSERT_TRUE(id);
  // Three workers took it and died (the group's delivery count says so).
  ASSERT_TRUE(
      c.command({"XREADGROUP", "GROUP", "nautilus-workers", "ghost", "STREAMS", jobs, ">"}));
  ASSERT_TRUE(c.command({"XCLAIM", jobs, "nautilus-workers", "ghost", "0", id->str, "RETRYCOUNT",
                         "3", "IDLE", "100000"}));
  Child worker = spawn({"worker", "--claim-idle", "0.2", "--max-attempts", "3", "--max-jobs", "1"},
                       redis_env(redis));
  ASSERT_EQ(worker.wait_exit(std::chrono::seconds(60)), 0) << worker.text;
  EXPECT_NE(worker.text.find("given up after 3 attempts"), std::string::npos) << worker.text;
  auto answer = c.command({"XRANGE", results, "-", "+"});
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->elements.size(), 1U);
  const json::object r = json::parse(answer->elements[0].elements[1].elements[1].str).as_object();
  EXPECT_EQ(r.at("job").as_string(), "s/1.0");
  EXPECT_NE(std::string(r.at("error").as_string()).find("given up after 3 attempts"),
            std::string::npos);
  auto pending = c.command({"XPENDING", jobs, "nautilus-workers"});
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->elements[0].integer, 0) << "acknowledged";
}

TEST(SweepQueue, AWorkerThatStalledDoesNotTakeBackAJobAnotherWorkerClaimed) {
  testing::RedisServer redis;
  auto c = redis.client();
  const std::string jobs(kJobs);
  const std::string results = jobs + ":results:s";
  ASSERT_TRUE(c.command({"SET", jobs + ":live:s", "1"}));  // the submitter is waiting
  auto id = queue_one_job(c, results, {test::market()});
  ASSERT_TRUE(id);
  Child worker = spawn(
      {"worker", "--name", "stalled", "--claim-idle", "0.4", "--max-jobs", "1", "--idle-exit", "2"},
      redis_env(redis));
  ASSERT_TRUE(worker.read_until(
      [](const std::string& t) { return t.find("job s/1.0 started") != std::string::npos; },
      std::chrono::seconds(30)))
      << worker.text;
  // The worker stalls (SIGSTOP) past claim_idle, and another worker takes the job over, as its
  // XAUTOCLAIM would.
  ::kill(worker.pid, SIGSTOP);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto taken = c.command({"XCLAIM", jobs, "nautilus-workers", "other", "400", id->str, "JUSTID"});
  ASSERT_TRUE(taken);
  ASSERT_EQ(taken->elements.size(), 1U) << "the job was not idle long enough to take over";
  // The other worker is alive: it renews its claim as a worker does, so nobody may take it.
  std::atomic<bool> done{false};
  std::thread other([&] {
    auto oc = redis.client();
    while (!done) {
      (void)oc.command({"XCLAIM", jobs, "nautilus-workers", "other", "0", id->str, "JUSTID"});
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  ::kill(worker.pid, SIGCONT);
  const int exit_status = worker.wait_exit(std::chrono::seconds(60));
  done = true;
  other.join();
  ASSERT_EQ(exit_status, 0) << worker.text;
  EXPECT_NE(worker.text.find("job s/1.0 was taken over by other"), std::string::npos)
      << worker.text;
  // Still the other's, unanswered by the stalled one: it did not claim it back.
  auto owner = c.command({"XPENDING", jobs, "nautilus-workers", id->str, id->str, "1"});
  ASSERT_TRUE(owner);
  ASSERT_EQ(owner->elements.size(), 1U);
  EXPECT_EQ(owner->elements[0].elements[1].str, "other");
  auto answers = c.command({"XLEN", results});
  ASSERT_TRUE(answers);
  EXPECT_EQ(answers->integer, 0);
}

// `nautilus worker --port`: /metrics counts what the worker answered and dropped, /health says
// whether it reaches Redis (503 once it does not), and a port that is taken stops it at start.
TEST(SweepQueue, AWorkerServesMetricsOfItsJobsAndHealthThatFollowsRedis) {
  auto redis = std::make_unique<testing::RedisServer>();
  auto c = redis->client();
  const std::string jobs(kJobs);
  const std::string results = jobs + ":results:s";
  ASSERT_TRUE(c.command({"SET", jobs + ":live:s", "1"}));  // the submitter is waiting
  ASSERT_TRUE(queue_one_job(c, results, {"/no/such/bars.csv"}));
  ASSERT_TRUE(c.command({"XADD", jobs, "*", "d", "not a job"}));
  const std::uint16_t port = test::free_port();
  Child worker = spawn({"worker", "--port", std::to_string(port)}, redis_env(*redis));
  const auto metric = [&](std::string_view line) {
    for (int i = 0; i < 300; ++i) {
      if (test::http_get(port, "/metrics").body.find(line) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  EXPECT_TRUE(metric("\nnautilus_worker_jobs_total 1\n")) << test::http_get(port, "/metrics").body;
  EXPECT_TRUE(metric("\nnautilus_worker_jobs_failed_total 1\n")) << "the bars file is missing";
  EXPECT_TRUE(metric("nautilus_worker_jobs_dropped_total{reason=\"malformed\"} 1\n"));
  EXPECT_TRUE(metric("nautilus_http_requests_total{engine=\"worker\"}"));
  auto health = test::http_get(port, "/health");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_NE(health.body.find("\"redis_connected_threads\":1"), std::string::npos) << health.body;
  // A second worker on the same port refuses to start, naming it.
  Child second = spawn({"worker", "--port", std::to_string(port)}, redis_env(*redis));
  EXPECT_EQ(second.wait_exit(std::chrono::seconds(30)), 2);
  EXPECT_NE(second.text.find("cannot serve HTTP on 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << second.text;
  // Redis goes away: the worker stays up, unhealthy, and counts the loss.
  redis.reset();
  for (int i = 0; i < 100 && test::http_get(port, "/health").status != 503; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  health = test::http_get(port, "/health");
  EXPECT_EQ(health.status, 503) << health.body;
  EXPECT_NE(health.body.find("\"status\":\"degraded\""), std::string::npos) << health.body;
  EXPECT_TRUE(metric("\nnautilus_worker_redis_errors_total 1\n"));
  ::kill(worker.pid, SIGTERM);
  EXPECT_EQ(worker.wait_exit(std::chrono::seconds(30)), 0) << worker.text;
}

TEST(SweepQueue, ASubmitterNoWorkerAnswersGivesUpAfterItsTimeoutNamingTheRedis) {
  testing::RedisServer redis;
  TempDir dir;
  const std::string config = dir.str("sweep.toml");
  write(config, kSweep);
  Child submitter = spawn({"backtest", "--config", config, "--data", test::market(), "--out",
                           dir.str("out"), "--queue", "redis", "--queue-timeout", "1.5"},
                          redis_env(redis));
  EXPECT_EQ(submitter.wait_exit(std::chrono::seconds(60)), 1) << submitter.text;
  EXPECT_NE(submitter.text.find("no result for 1500 ms with 4 of 4 backtests unanswered"),
            std::string::npos)
      << submitter.text;
  EXPECT_NE(submitter.text.find("127.0.0.1:" + std::to_string(redis.port())), std::string::npos);
  // Its jobs are taken back: a worker started later finds nothing of it.
  auto c = redis.client();
  auto left = c.command({"XLEN", std::string(kJobs)});
  ASSERT_TRUE(left);
  EXPECT_EQ(left->integer, 0);
  // And a Redis that is not there is named at once.
  Child nowhere = spawn({"backtest", "--config", config, "--data", test::market(), "--out",
                         dir.str("out2"), "--queue", "redis", "--queue-timeout", "1"},
                        {"REDIS_PORT=1"});
  EXPECT_EQ(nowhere.wait_exit(std::chrono::seconds(60)), 1) << nowhere.text;
  EXPECT_NE(nowhere.text.find("127.0.0.1:1"), std::string::npos) << nowhere.text;
}

}  // namespace
}  // namespace nautilus
