// `nautilus bench websocket`: the websocket engine under load from separate generator
// processes (bench/websocket/ws_load.cpp, Beast clients spread over 127.0.0.x source
// addresses): p99 publish -> receipt and server RSS with 15,000 clients at 10 msgs/s each, the
// most clients that keep p99 within 50 ms, and fan-out capacity against Node's `ws` server
// (bench/websocket/ws_node_fanout.mjs) on the same clients in the same run.
#pragma once

#include "../common/report.hpp"

namespace nautilus::bench {

void run_websocket_suite(const SuiteOptions& options);

}  // namespace nautilus::bench
