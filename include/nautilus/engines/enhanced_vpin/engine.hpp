// The enhanced VPIN engine (port 10001): VPIN from trades classified one by one (the feed's
// aggressor side, Lee–Ready against the hub's quotes, or the tick rule) or in bulk with a
// Student-t BVC, a bucket size that follows the rolling average daily volume, and VPIN over
// several horizons at once. Per completed bucket it publishes one model::VpinUpdate per horizon
// on `vpin.enhanced.<symbol>` (method enhanced; `window` tells the horizons apart, the primary
// horizon's carries the CDF, the others' CDF is NaN), and `toxicity.alert.<symbol>` (method
// enhanced) when the primary VPIN's CDF crosses the threshold upwards. REST:
// GET /enhanced_vpin/symbols, GET /enhanced_vpin/{symbol}, GET /enhanced_vpin/{symbol}/buckets.
// docs/VPIN.md compares it with the plain VPIN engine.
//
//   const auto& info = enhanced_vpin::engine_info();
//   std::unique_ptr<engine::Engine> e = enhanced_vpin::make_engine();
#pragma once

#include <memory>

#include "nautilus/engine/engine.hpp"

namespace nautilus::enhanced_vpin {

[[nodiscard]] const engine::EngineInfo& engine_info();
[[nodiscard]] std::unique_ptr<engine::Engine> make_engine();

}  // namespace nautilus::enhanced_vpin
