// The sweep queue's jobs and results as JSON (sweep_queue.hpp): what a worker rebuilds a
// backtest from, and the numbers it sends back, bit for bit; what cannot be read is refused with
// the field named.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "nautilus/sweep_queue/sweep_queue.hpp"

namespace nautilus::sweep_queue {
namespace {

TEST(SweepQueueWire, AJobReadsBackAsTheSameConfigDataSettingsAndReportFlag) {
  const Job job{
      .id = "h-1-2/1.3",
      .sweep = "h-1-2",
      .results = "nautilus:sweep:jobs:results:h-1-2",
      .config = "[backtest]\nengines = [\"marketdata\"] # \"quoted\" \\ and a tab\t\n",
      .origin = "/etc/sweep.toml",
      .data = {"/data/bars.csv.gz", "/data/trades.csv.gz"},
      .settings = {{.engine = "strategy", .key = "lookback", .value = "30"},
                   {.engine = "marketdata", .key = "replay_from", .value = "2026-01-05T00:00:00Z"}},
      .report = true};
  auto back = decode_job(encode_job(job));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->id, job.id);
  EXPECT_EQ(back->sweep, job.sweep);
  EXPECT_EQ(back->results, job.results);
  EXPECT_EQ(back->config, job.config);
  EXPECT_EQ(back->origin, job.origin);
  EXPECT_EQ(back->data, job.data);
  ASSERT_EQ(back->settings.size(), 2U);
  EXPECT_EQ(back->settings[1].engine, "marketdata");
  EXPECT_EQ(back->settings[1].key, "replay_from");
  EXPECT_EQ(back->settings[1].value, "2026-01-05T00:00:00Z");
  EXPECT_TRUE(back->report);
}

TEST(SweepQueueWire, AResultKeepsEveryDoubleToTheLastBitNanAndInfinityIncluded) {
  Result r{.job = "j", .worker = "w-1", .attempt = 2, .run = {}};
  // Values whose shortest text is long, and ones a parser easily rounds wrongly.
  r.run.metrics = {{"sharpe_ratio", 0.1 + 0.2},
                   {"a", 2.2250738585072014e-308},
                   {"b", 4.9406564584124654e-324},
                   {"c", 1.7976931348623157e308},
                   {"d", -0.0},
                   {"nan", std::numeric_limits<double>::quiet_NaN()},
                   {"inf", -std::numeric_limits<double>::infinity()}};
  r.run.fills = 1517;
  r.run.events = 443'890;
  r.run.final_nav = 1'000'127.123456789;
  r.run.wall_s = 0.36;
  r.run.error = "a \"quoted\" reason";
  r.run.error_code = core::ErrorCode::kInvalidArgument;
  auto back = decode_result(encode_result(r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->job, "j");
  EXPECT_EQ(back->worker, "w-1");
  EXPECT_EQ(back->attempt, 2U);
  ASSERT_EQ(back->run.metrics.size(), r.run.metrics.size());
  for (const auto& [k, v] : r.run.metrics) {
    const double got = back->run.metrics.at(k);
    if (std::isnan(v)) {
      EXPECT_TRUE(std::isnan(got)) << k;
    } else {
      EXPECT_EQ(std::bit_cast<std::uint64_t>(got), std::bit_cast<std::uint64_t>(v)) << k;
    }
  }
  EXPECT_EQ(back->run.fills, 1517U);
  EXPECT_EQ(back->run.events, 443'890U);
  EXPECT_EQ(back->run.final_nav, r.run.final_nav);
  EXPECT_EQ(back->run.error, r.run.error);
  EXPECT_EQ(back->run.error_code, core::ErrorCode::kInvalidArgument);
}

TEST(SweepQueueWire, WhatCannotBeReadIsRefusedNamingTheField) {
  const auto job_error = [](std::string_view text) {
    auto j = decode_job(text);
    EXPECT_FALSE(j) << text;
    return j ? std::string() : j.error().message;
  };
  EXPECT_NE(job_error("not json").find("not JSON"), std::string::npos);
  EXPECT_NE(job_error("[1,2]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(job_error(R"({"v":2})").find("field 'v'"), std::string::npos);
  EXPECT_NE(job_error(R"({"v":1,"id":"a"})").find("field 'sweep' is missing"), std::string::npos);
  const std::string head = R"({"v":1,"id":"a","sweep":"s","results":"r","config":"","origin":"o",)";
  EXPECT_NE(job_error(head + R"("data":"x","settings":[],"report":true})").find("field 'data'"),
            std::string::npos);
  EXPECT_NE(job_error(head + R"("data":[],"settings":[["a","b"]],"report":true})")
                .find("field 'settings'"),
            std::string::npos);
  EXPECT_NE(job_error(head + R"("data":[],"settings":[],"report":1})").find("field 'report'"),
            std::string::npos);
  EXPECT_TRUE(decode_job(head + R"("data":[],"settings":[],"report":false})"));

  const std::string result =
      R"({"v":1,"job":"j","worker":"w","attempt":1,"metrics":{"m":"1.5"},"fills":1,)"
      R"("events":2,"final_nav":"3","wall_s":"0.1","error":"",)";
  EXPECT_TRUE(decode_result(result + R"("error_code":11})"));
  auto code = decode_result(result + R"("error_code":99})");
  ASSERT_FALSE(code);
  EXPECT_NE(code.error().message.find("field 'error_code'"), std::string::npos);
  auto nav = decode_result(
      R"({"v":1,"job":"j","worker":"w","attempt":1,"metrics":{},"fills":1,"events":2,)"
      R"("final_nav":"3x","wall_s":"0.1","error":"","error_code":11})");
  ASSERT_FALSE(nav);
  EXPECT_NE(nav.error().message.find("field 'final_nav' is not a number"), std::string::npos);
  auto fills = decode_result(
      R"({"v":1,"job":"j","worker":"w","attempt":1,"metrics":{},"fills":-1,"events":2,)"
      R"("final_nav":"3","wall_s":"0.1","error":"","error_code":11})");
  ASSERT_FALSE(fills);
  EXPECT_NE(fills.error().message.find("field 'fills'"), std::string::npos);
}

}  // namespace
}  // namespace nautilus::sweep_queue
