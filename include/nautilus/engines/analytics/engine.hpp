// The analytics engine (port 8100): performance of the account's marked-to-market equity.
// Subscribes portfolio.update.account (the NAV; the last snapshot of each UTC date is its
// close), portfolio.fill.* (turnover) and the benchmark's market_data.<benchmark>.bar; publishes
// performance.metric.account (performance_metrics) as each date completes. REST:
// GET /analytics/metrics (since inception, every metric of metrics.hpp by empyrical's names),
// GET /analytics/rolling?days=N, GET /analytics/equity.
//
//   std::unique_ptr<engine::Engine> e = analytics::make_engine();
#pragma once

#include <memory>

#include "nautilus/engine/engine.hpp"

namespace nautilus::analytics {

[[nodiscard]] const engine::EngineInfo& engine_info();
[[nodiscard]] std::unique_ptr<engine::Engine> make_engine();

}  // namespace nautilus::analytics
