// The collateral engine (port 9000): the account's margin (margin.hpp) on every account
// snapshot. Subscribes portfolio.fill.* and market_data.* (the book), portfolio.update.account
// (the equity); publishes collateral.margin.account (margin_update) and margin.alert.warning /
// margin.alert.call (margin_alert, with the liquidation that would cure a call). REST:
// GET /collateral/margin.
//
//   std::unique_ptr<engine::Engine> e = collateral::make_engine();
#pragma once

#include <memory>

#include "nautilus/engine/engine.hpp"

namespace nautilus::collateral {

[[nodiscard]] const engine::EngineInfo& engine_info();
[[nodiscard]] std::unique_ptr<engine::Engine> make_engine();

}  // namespace nautilus::collateral
