// The VPIN half of `nautilus bench signals` (signals_vpin.cpp): VPIN's bar path and enhanced
// VPIN's trade classification, each on one core.
#pragma once

#include "../common/report.hpp"

namespace nautilus::bench {

// `sink` accumulates results so that no loop is optimised away.
void run_vpin_benches(const SuiteOptions& options, double& sink);

}  // namespace nautilus::bench
