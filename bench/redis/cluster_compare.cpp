#include "cluster_compare.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>
#include <vector>

#include "nautilus/bus_redis/transport.hpp"
#include "nautilus/model/market_data.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_server.hpp"

namespace nautilus::bench {
namespace {

using bus_redis::RedisClient;
using SteadyClock = std::chrono::steady_clock;

double server_cpu_s(std::vector<RedisClient>& nodes) {
  double total = 0;
  for (auto& c : nodes) {
    auto r = c.command({"INFO", "CPU"});
    if (!r) continue;
    for (const char* key : {"used_cpu_sys:", "used_cpu_user:"}) {
      const auto pos = r->str.find(key);
      if (pos != std::string::npos) total += std::stod(r->str.substr(pos + std::strlen(key)));
    }
  }
  return total;
}

struct Run {
  double msgs_per_s = 0, cpu_us_per_msg = 0;
  std::map<std::string, std::uint64_t> per_master;  // messages read through each master
};

// A publishing host and a subscribing host over the buses of `cfg`; `nodes` are the servers
// whose CPU counts (every master).
Run run_quotes(const config::BusConfig& cfg, std::vector<RedisClient> nodes, std::size_t n,
               std::size_t symbols) {
  bus::MessageBus a, b;
  std::atomic<std::size_t> received{0};
  (void)b.subscribe("market_data.*", [&](const bus::Envelope&) {
    received.fetch_add(1, std::memory_order_release);
  });
  auto ta = std::move(*bus_redis::RedisTransport::start(a, {.config = cfg, .group = "bench-a"}));
  auto tb = std::move(*bus_redis::RedisTransport::start(b, {.config = cfg, .group = "bench-b"}));
  for (int i = 0; i < 2000; ++i) {
    bool up = true;
    for (const auto& l : tb->status().links) up = up && l.reader_connected;
    for (const auto& l : ta->status().links) up = up && l.writer_connected;
    if (up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto pub = *a.publisher("bench");
  std::vector<bus::TopicHandle> topics;
  std::vector<core::Symbol> names;
  for (std::size_t s = 0; s < symbols; ++s) {
    names.push_back(core::Symbol::from_trusted(fmt::format("S{:04}", s)));
    topics.push_back(*a.topic(fmt::format("market_data.{}.trade", names.back().value())));
  }
  const auto price = *core::Price::from_string("189.11");
  const auto size = *core::Quantity::from_string("5");
  const double cpu0 = server_cpu_s(nodes);
  const auto t0 = SteadyClock::now();
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t s = i % symbols;
    const auto ts = static_cast<std::int64_t>(i);
    pub.publish(topics[s], model::TradeTick{names[s], price, size, model::AggressorSide::kBuyer,
                                            static_cast<std::uint64_t>(i), ts});
    // Fewer in flight than the outbox holds (65,536 NORMAL messages); sleep, not spin, so the
    // publisher leaves the second core to the pipeline.
    if ((i & 4095) == 4095) {
      while (received.load(std::memory_order_relaxed) + 50'000 < i) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    }
  }
  const auto deadline = SteadyClock::now() + std::chrono::seconds(120);
  while (received.load(std::memory_order_acquire) < n) {
    if (SteadyClock::now() > deadline) return {};
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const double s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  Run out{.msgs_per_s = static_cast<double>(n) / s,
          .cpu_us_per_msg = (server_cpu_s(nodes) - cpu0) * 1e6 / static_cast<double>(n),
          .per_master = {}};
  if (std::getenv("NAUTILUS_BENCH_COMMANDSTATS")) {
    for (auto& c : nodes) {
      auto r = c.command({"INFO", "COMMANDSTATS"});
      if (r) fmt::print(stderr, "---\n{}\n", r->str);
    }
  }
  for (const auto& l : tb->status().links) {
    if (l.name.starts_with("marketdata")) out.per_master[l.endpoint] += l.imported;
  }
  return out;
}

}  // namespace

ClusterComparison compare_single_and_cluster(std::size_t messages, std::size_t symbols,
                                             std::size_t shards) {
  ClusterComparison out;
  {
    testing::RedisServer server;
    config::BusConfig cfg;
    cfg.main = cfg.marketdata = cfg.logic = server.endpoint();
    std::vector<RedisClient> nodes;
    nodes.push_back(server.client());
    const auto r = run_quotes(cfg, std::move(nodes), messages, symbols);
    out.single_msgs_per_s = r.msgs_per_s;
    out.single_cpu_us_per_msg = r.cpu_us_per_msg;
  }
  {
    testing::RedisCluster cluster(3, 1000, /*replicas=*/0);
    testing::RedisServer main;  // the registry's server; no bus traffic
    config::BusConfig cfg;
    cfg.main = main.endpoint();
    for (auto* bus : {&cfg.marketdata, &cfg.logic}) {
      bus->cluster.clear();
      for (const auto& s : cluster.seeds()) bus->cluster.push_back({s.host, s.port});
      bus->shards = shards;
    }
    std::vector<RedisClient> nodes;
    for (const auto& m : cluster.masters()) nodes.push_back(cluster.node_at(m.port).client());
    const auto r = run_quotes(cfg, std::move(nodes), messages, symbols);
    out.cluster_msgs_per_s = r.msgs_per_s;
    out.cluster_cpu_us_per_msg = r.cpu_us_per_msg;
    std::uint64_t lo = UINT64_MAX, hi = 0;
    for (const auto& [endpoint, count] : r.per_master) {
      lo = std::min(lo, count);
      hi = std::max(hi, count);
    }
    out.shard_balance = r.per_master.size() == 3 && lo > 0 ? static_cast<double>(hi) / lo : 0;
  }
  return out;
}

}  // namespace nautilus::bench
