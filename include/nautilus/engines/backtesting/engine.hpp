// The backtesting engine (port 8110): backtests as background jobs over REST. A job is a
// backtest config (the TOML of `nautilus backtest`, docs/BACKTESTING.md) run on one of
// max_concurrent worker threads, each backtest on its own bus, clock and engines; the rest wait
// in a queue of at most max_queued. Its data may only come from the engine's data_dirs.
//   POST   /backtests               body: the config; 202 {"id":"3","state":"queued"}
//   GET    /backtests               every job kept (the last max_jobs), newest first
//   GET    /backtests/{id}          state, progress (events, data time, share done, ETA), metrics
//   GET    /backtests/{id}/report   report.json; /report.html the tearsheet (409 until done)
//   DELETE /backtests/{id}          cancels a queued or running job
//
//   std::unique_ptr<engine::Engine> e = backtesting::make_engine();
#pragma once

#include <memory>

#include "nautilus/engine/engine.hpp"

namespace nautilus::backtesting {

[[nodiscard]] const engine::EngineInfo& engine_info();
[[nodiscard]] std::unique_ptr<engine::Engine> make_engine();

}  // namespace nautilus::backtesting
