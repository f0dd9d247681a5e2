// The toraniko engine (port 8950): the toraniko factor model (factor_model.hpp) on the hub's
// research universe, on the bus.
//
// At begin() it asks the hub for its universe (marketdata.universe: the symbols with
// reference data, and their sectors), then each symbol's daily bars (marketdata.history) and
// filings (marketdata.filings), all as of where the hub's data is up to, and fits every date
// it can. After that each completed date of daily bars (`market_data.<symbol>.bar`, 86400 s)
// is fitted as it closes: a date is complete when every symbol has its bar, or when a bar of a
// later date arrives; the filings are refreshed first.
//
// Publishes, per fitted date: `factor.return.<model>` (factor_returns: market, sectors,
// styles, assets, R²), then `factor.model.<model>.<symbol>` (factor_exposures) for the last
// date only: the style exposures each symbol's next return will load on.
// REST: GET /toraniko/factor_returns[?start=DATE&end=DATE&limit=N],
//       GET /toraniko/exposures, GET /toraniko/exposures/{symbol}.
//
//   const auto& info = toraniko::engine_info();
//   std::unique_ptr<engine::Engine> e = toraniko::make_engine();
#pragma once

#include <memory>

#include "nautilus/engine/engine.hpp"

namespace nautilus::toraniko {

[[nodiscard]] const engine::EngineInfo& engine_info();
[[nodiscard]] std::unique_ptr<engine::Engine> make_engine();

}  // namespace nautilus::toraniko
