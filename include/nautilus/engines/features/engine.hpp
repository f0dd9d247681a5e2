// The features engine (port 8500): per-symbol streaming indicators on the hub's bars
// (`market_data.<symbol>.bar`), published after every bar as `feature.update.<symbol>`
// (a model::FeatureUpdate: sma20, ema20, rsi14, macd, ..., NaN while warming up).
// REST: GET /features/symbols, GET /features/latest/{symbol} (values and the periods in force
// for that symbol). Settings (`[engines.features]`, `--set features.<key>=<value>`): the
// periods, and per-symbol overrides such as `symbol_periods = ["AAPL.rsi_period=9"]`.
//
//   const auto& info = features::engine_info();
//   std::unique_ptr<engine::Engine> e = features::make_engine();
#pragma once

#include <memory>

#include "nautilus/engine/engine.hpp"

namespace nautilus::features {

[[nodiscard]] const engine::EngineInfo& engine_info();
[[nodiscard]] std::unique_ptr<engine::Engine> make_engine();

}  // namespace nautilus::features
