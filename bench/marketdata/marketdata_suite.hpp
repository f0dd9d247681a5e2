// `nautilus bench marketdata`: the hub's distribution latency (a source record to a
// subscriber's handler, in process and over the dual Redis bus), a cached history request
// answered over the bus, and the Binance stream decoder's rate. Anchors, in the same run: a
// bare bus hop, the machine's own wake-up stalls, a bare request/reply, Boost.JSON parsing the
// same frames.
#pragma once

#include "../common/report.hpp"

namespace nautilus::bench {

void run_marketdata_suite(const SuiteOptions& options);

}  // namespace nautilus::bench
