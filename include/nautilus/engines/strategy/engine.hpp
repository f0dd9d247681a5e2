// The strategy engine (port 8700): runs one Strategy (strategy.hpp) on its thread.
//
//   market_data.*, feature.update.*, ml.prediction.*, vpin.calculation.*   the strategy's inputs
//   toxicity.alert.*     stands the symbol down for toxicity_cooldown_s: no new exposure
//   portfolio.fill.*, order.event.*                                        positions, open orders
//
// Publishes strategy.signal.<symbol> (signal), portfolio.rebalance.<symbol> (target_position),
// and the orders that close the gap to a target: order.new.<symbol> (market, DAY) and
// order.cancel.<symbol> for open orders going the other way. REST: GET /strategy/state.
//
//   std::unique_ptr<engine::Engine> e = strategy::make_engine();
#pragma once

#include <memory>

#include "nautilus/engine/engine.hpp"

namespace nautilus::strategy {

[[nodiscard]] const engine::EngineInfo& engine_info();
[[nodiscard]] std::unique_ptr<engine::Engine> make_engine();

}  // namespace nautilus::strategy
