// `nautilus bench bus`: the in-process MessageBus figures of the Foundation issue, each with
// its anchor measured in the same run (a bare SPSC ring, raw pattern matching, FIFO drain).
#pragma once

#include "../common/report.hpp"

namespace nautilus::bench {

void run_bus_suite(const SuiteOptions& options);

}  // namespace nautilus::bench
