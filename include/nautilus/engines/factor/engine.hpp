// The factor engine (port 8300): style exposures (momentum, value, size, volatility,
// liquidity; styles.hpp) per symbol and date over the hub's research universe, each winsorized
// and standardized across the universe. Its data comes from the universe feed
// (universe_feed.hpp: the hub's universe, daily bars and filings, then the live daily bars).
//
// Publishes, per date: `factor.calculation.<model>` (factor_calculation: what each style was
// computed from); and `factor.update.<symbol>` (factor_exposures) for the last date of the
// history and for each live date. REST: GET /factor/exposures, GET /factor/exposures/{symbol},
// GET /factor/calculation[?limit=N].
//
//   const auto& info = factor::engine_info();
//   std::unique_ptr<engine::Engine> e = factor::make_engine();
#pragma once

#include <memory>

#include "nautilus/engine/engine.hpp"

namespace nautilus::factor {

[[nodiscard]] const engine::EngineInfo& engine_info();
[[nodiscard]] std::unique_ptr<engine::Engine> make_engine();

}  // namespace nautilus::factor
