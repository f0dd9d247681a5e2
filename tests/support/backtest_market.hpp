// What the backtest suites share: a temporary directory per test, whole-file reads and writes,
// `nautilus backtest` run as a user runs it, and a five-day market written once per test binary.
// The binary's path comes from NAUTILUS_BIN (a compile definition of the suite).
//
//   const auto [status, out] = test::backtest_market(config, dir.str());
//   const auto report = boost::json::parse(test::read(dir.str("report.json")));
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "support/run_command.hpp"

namespace nautilus::test {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("nautilus-backtest-test-" + std::to_string(::getpid()) + "-" +
            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] std::string str(const std::string& name = "") const {
    return (path / name).string();
  }
};

inline std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// The momentum strategy and the loop behind it, without the signal engines it does not use
// (features, VPIN, ml, collateral): a sweep runs it many times.
inline const std::string kMomentumLoop = R"(
[backtest]
engines = ["marketdata", "strategy", "risk", "portfolio", "analytics"]
benchmark = "SPY"
chart_symbol = "AAPL"
rolling_window = 2

[engines.strategy]
strategy = "momentum"
lookback = 60
threshold = 0.01
notional = 20000

[engines.risk]
max_order_notional = 100000
max_gross_exposure = 500000
max_net_exposure = 250000

[engines.portfolio]
initial_cash = 1000000
fee_bps = 0.5
slippage_bps = 1
)";

inline std::pair<int, std::string> backtest(const std::string& config, const std::string& out,
                                            const std::string& extra = "") {
  return run_command(std::string(NAUTILUS_BIN) + " backtest --config " + config + " --out " + out +
                     " " + extra);
}

// Five days of the sample's synthetic market (bars and trades of its 20 symbols, SPY among
// them), written once for the whole binary: the bundled 21 take minutes under ASan.
inline const std::string& market() {
  static const std::string dir = [] {
    const auto d = std::filesystem::temp_directory_path() /
                   ("nautilus-backtest-market-" + std::to_string(::getpid()));
    const auto [status, out] =
        run_command(std::string(NAUTILUS_BIN) + " sample --days 5 --out " + d.string());
    if (status != 0) throw std::runtime_error("nautilus sample: " + out);
    return d.string();
  }();
  return dir;
}
// Registered once per binary (AddGlobalTestEnvironment), it removes the market at the end.
struct RemoveMarket : ::testing::Environment {
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(market(), ec);
  }
};

inline std::pair<int, std::string> backtest_market(const std::string& config,
                                                   const std::string& out,
                                                   const std::string& extra = "") {
  return backtest(config, out, "--data " + market() + " " + extra);
}

}  // namespace nautilus::test
