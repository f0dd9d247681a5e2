// The MarketData hub (port 8800): the only engine that talks to the outside world. It replays
// CSV files or runs the synthetic generator, fetches from Alpha Vantage, FRED and SEC EDGAR
// through a cache, and publishes market_data.<symbol>.<bar|trade|quote>,
// price.update.<symbol> and volume.update.<symbol>.
//
// Settings ([engines.marketdata] or `--set marketdata.<key>=<value>`):
//   source   = "replay" (default) | "synthetic" | "none"
//   files    = comma-separated CSV paths (default: the bundled sample in data_dir)
//   data_dir = where the sample lives (default $NAUTILUS_DATA_DIR or the source tree's data/sample)
//   speed    = replay speed: 1 real time, N times faster, 0 as fast as possible (default 60)
//   seed, symbols (comma-separated), days: for the synthetic source
//   alphavantage_url, fred_url, edgar_url: base URLs of the HTTP sources (tests point them at
//   a loopback server); API keys come from ALPHAVANTAGE_API_KEY and FRED_API_KEY.
#pragma once

#include <memory>

#include "nautilus/engine/engine.hpp"

namespace nautilus::marketdata {

[[nodiscard]] std::unique_ptr<engine::Engine> make_engine();

}  // namespace nautilus::marketdata
