// One Redis server against a three-master Redis Cluster, the same market-data load through
// the transport in the same run (cluster_compare.cpp): what the cluster client costs, and how
// evenly the shards spread over the masters.
#pragma once

#include <cstddef>

namespace nautilus::bench {

struct ClusterComparison {
  double single_msgs_per_s = 0, cluster_msgs_per_s = 0;
  // Redis CPU (INFO CPU, user + sys) per message: the one server's, and summed over the masters.
  double single_cpu_us_per_msg = 0, cluster_cpu_us_per_msg = 0;
  // Messages the subscriber read through each master's shards: the busiest over the quietest.
  double shard_balance = 0;
};

// `messages` trades over `symbols` symbols, published as fast as the pipeline takes them,
// through one server and then through a cluster of three masters (no replicas: a replica's
// CPU is not the client's cost) with `shards` shards a bus (0: the defaults, 12 and 4).
// NAUTILUS_BENCH_COMMANDSTATS=1 prints each server's INFO COMMANDSTATS after its run.
[[nodiscard]] ClusterComparison compare_single_and_cluster(std::size_t messages,
                                                           std::size_t symbols,
                                                           std::size_t shards = 0);

}  // namespace nautilus::bench
