// hiredis synchronous versus hiredis under Boost.Asio, against one redis-server on `port`
// (client_compare.cpp). Kept in its own file: the only Asio in the redis suite.
#pragma once

#include <cstdint>

namespace nautilus::bench {

struct ClientComparison {
  double sync_single_entries_per_s = 0, asio_single_entries_per_s = 0;  // 3000 XADD a round
  double sync_packed_mb_per_s = 0, asio_packed_mb_per_s = 0;            // 12 x 40 KB a round
  double sync_rtt_us = 0, asio_rtt_us = 0;                              // one PING at a time
};

[[nodiscard]] ClientComparison compare_redis_clients(std::uint16_t port, bool quick);

}  // namespace nautilus::bench
