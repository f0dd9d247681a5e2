// The VPIN engine (port 10000): BVC-VPIN per symbol on the hub's 1-minute bars (or on time bars
// it builds from trades), published per completed volume bucket as `vpin.calculation.<symbol>`
// (model::VpinUpdate, method bvc) and, when VPIN's CDF crosses the threshold upwards, as
// `toxicity.alert.<symbol>` (model::ToxicityAlert). REST: GET /vpin/symbols, GET /vpin/{symbol}
// (VPIN, CDF, σ, the bucket size and fill), GET /vpin/{symbol}/buckets?limit=N.
// The choices the paper leaves open are settings (docs/VPIN.md, docs/CONFIGURATION.md).
//
//   const auto& info = vpin::engine_info();
//   std::unique_ptr<engine::Engine> e = vpin::make_engine();
#pragma once

#include <memory>

#include "nautilus/engine/engine.hpp"

namespace nautilus::vpin {

[[nodiscard]] const engine::EngineInfo& engine_info();
[[nodiscard]] std::unique_ptr<engine::Engine> make_engine();

}  // namespace nautilus::vpin
