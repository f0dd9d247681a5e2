#include "../../bench/backtest/backtest_suite.hpp"
#include "../../bench/bus/bus_suite.hpp"
#include "../../bench/codec/codec_suite.hpp"
#include "../../bench/http/http_suite.hpp"
#include "../../bench/loop/loop_suite.hpp"
#include "../../bench/marketdata/marketdata_suite.hpp"
#include "../../bench/models/models_suite.hpp"
#include "../../bench/redis/redis_suite.hpp"
#include "../../bench/signals/signals_suite.hpp"
#include "../../bench/websocket/websocket_suite.hpp"
#include "commands.hpp"

namespace nautilus::app {

int run_bench(const BenchOptions& o) {
  const bench::SuiteOptions so{.json = o.json, .runs = o.runs, .quick = o.quick, .only = o.only};
  if (o.suite == "bus" || o.suite == "all") bench::run_bus_suite(so);
  if (o.suite == "codec" || o.suite == "all") bench::run_codec_suite(so);
  if (o.suite == "redis" || o.suite == "all") bench::run_redis_suite(so);
  if (o.suite == "http" || o.suite == "all") bench::run_http_suite(so);
  if (o.suite == "signals" || o.suite == "all") bench::run_signals_suite(so);
  if (o.suite == "marketdata" || o.suite == "all") bench::run_marketdata_suite(so);
  if (o.suite == "models" || o.suite == "all") bench::run_models_suite(so);
  if (o.suite == "loop" || o.suite == "all") bench::run_loop_suite(so);
  if (o.suite == "backtest" || o.suite == "all") bench::run_backtest_suite(so);
  if (o.suite == "websocket" || o.suite == "all") bench::run_websocket_suite(so);
  return 0;
}

}  // namespace nautilus::app
