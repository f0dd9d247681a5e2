// `nautilus bench redis`: the Redis Streams transport's figures (docs/PERFORMANCE.md), with
// redis-benchmark run against the same kind of server in the same run as the anchor. Starts its own
// redis-server processes on free loopback ports (redis-server and redis-benchmark must be on
// PATH; scripts/install-deps.sh installs them).
#pragma once

#include "../common/report.hpp"

namespace nautilus::bench {

void run_redis_suite(const SuiteOptions& options);

}  // namespace nautilus::bench
