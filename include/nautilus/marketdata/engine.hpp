// The MarketData hub (port 8800): the only engine that talks to the outside world. It replays
// CSV files or runs the synthetic generator, fetches from Alpha Vantage, FRED and SEC EDGAR
// through a cache, and publishes market_data.<symbol>.<bar|trade|quote>,
// price.update.<symbol> and volume.update.<symbol>.
//
// Its settings (`[engines.marketdata]` or `--set marketdata.<key>=<value>`) are declared in
// engine_info(): `nautilus engines --settings` lists them, docs/CONFIGURATION.md has the table.
// API keys come from ALPHAVANTAGE_API_KEY and FRED_API_KEY, never from a file.
//
//   const auto& info = marketdata::engine_info();   // name, port, topics, settings
//   std::unique_ptr<engine::Engine> hub = marketdata::make_engine();
#pragma once

#include <memory>

#include "nautilus/engine/engine.hpp"

namespace nautilus::marketdata {

[[nodiscard]] const engine::EngineInfo& engine_info();
[[nodiscard]] std::unique_ptr<engine::Engine> make_engine();

}  // namespace nautilus::marketdata
