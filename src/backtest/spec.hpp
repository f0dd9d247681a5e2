// What load_spec and load_sweep_spec share: a BacktestSpec from a config's parsed tables (its
// [backtest] table and [engines.*]), every engine's settings checked; a config file's text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "nautilus/backtest/backtest.hpp"
#include "nautilus/config/bus_config.hpp"

namespace nautilus::backtest::detail {

[[nodiscard]] core::Result<BacktestSpec> spec_from_tables(config::EngineTables& tables,
                                                          std::string_view origin,
                                                          const std::vector<std::string>& data);

// A config file's text; kNotFound naming it when it cannot be read.
[[nodiscard]] core::Result<std::string> read_config(const std::string& config_path);

}  // namespace nautilus::backtest::detail
