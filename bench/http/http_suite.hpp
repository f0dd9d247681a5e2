// `nautilus bench http`: /health under wrk against Debian's nginx serving a file of the same
// size in the same run (the anchor), and `nautilus run`'s start-up time and idle RSS.
// wrk and nginx must be on PATH (scripts/install-deps.sh installs them).
#pragma once

#include "../common/report.hpp"

namespace nautilus::bench {

void run_http_suite(const SuiteOptions& options);

}  // namespace nautilus::bench
