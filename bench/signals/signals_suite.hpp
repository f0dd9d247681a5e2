// `nautilus bench signals`: the features, VPIN and enhanced VPIN algorithms on one core, and
// the features engine end to end on the in-process bus. The anchor is TA-Lib itself (its C
// source, cmake/TaLib.cmake): its batch functions for SMA 20, EMA 20, RSI 14, MACD 12/26/9,
// Bollinger 20/2, ATR 14 and OBV over the same 1M bars, in the same run.
#pragma once

#include "../common/report.hpp"

namespace nautilus::bench {

void run_signals_suite(const SuiteOptions& options);

}  // namespace nautilus::bench
