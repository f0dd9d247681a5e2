#include "redis_suite.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "client_compare.hpp"
#include "cluster_compare.hpp"
#include "nautilus/bus/codec.hpp"
#include "nautilus/bus_redis/sharding.hpp"
#include "nautilus/bus_redis/streams.hpp"
#include "nautilus/bus_redis/transport.hpp"
#include "nautilus/model/market_data.hpp"
#include "support/redis_server.hpp"
#include "support/tls_certs.hpp"

namespace nautilus::bench {
namespace {

using bus_redis::RedisClient;
using testing::RedisServer;
using SteadyClock = std::chrono::steady_clock;

model::TradeTick trade(std::int64_t n) {
  return {core::Symbol::from_trusted("AAPL"), *core::Price::from_string("189.11"),
          *core::Quantity::from_string("5"),  model::AggressorSide::kBuyer,
          static_cast<std::uint64_t>(n),      n};
}

// Redis's own CPU (user + sys) in seconds, from INFO CPU.
double server_cpu_s(RedisClient& c) {
  auto r = c.command({"INFO", "CPU"});
  if (!r) return 0;
  double total = 0;
  for (const char* key : {"used_cpu_sys:", "used_cpu_user:"}) {
    const auto pos = r->str.find(key);
    if (pos != std::string::npos) total += std::stod(r->str.substr(pos + std::strlen(key)));
  }
  return total;
}

// The anchor: redis-benchmark, pipelined XADD from 50 clients, against the same server.
double redis_benchmark_xadd(std::uint16_t port, std::size_t n) {
  const std::string cmd = fmt::format(
      "redis-benchmark -h 127.0.0.1 -p {} -P 32 -c 50 -n {} --csv XADD rb:anchor '*' f v "
      "2>/dev/null",
      port, n);
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return 0;
  char line[512];
  double rps = 0;
  while (std::fgets(line, sizeof line, p)) {
    std::string s(line);
    if (s.rfind("\"XADD", 0) != 0) continue;
    const auto a = s.find("\",\"");
    if (a != std::string::npos) rps = std::stod(s.substr(a + 3));
  }
  ::pclose(p);
  return rps;
}

// Two engine hosts over one Redis: the publisher's bus and the subscriber's bus.
struct Pair {
  bus::MessageBus a, b;
  std::unique_ptr<bus_redis::RedisTransport> ta, tb;
  std::atomic<std::size_t> received{0};
  std::mutex mu;
  bus::LatencyHistogram latency;        // all messages, publish -> subscriber
  bus::LatencyHistogram flash_latency;  // FLASH_CRASH only

  explicit Pair(const RedisServer& server, std::size_t pack_max = config::BusConfig{}.pack_max,
                config::Durability durability = config::Durability::kLocal)
      : Pair(server.endpoint(), pack_max, durability) {}
  // Over `endpoint` (the server's plaintext port, or its TLS port).
  explicit Pair(const config::RedisEndpoint& endpoint, std::size_t pack_max,
                config::Durability durability = config::Durability::kLocal) {
    config::BusConfig cfg;
    cfg.main = cfg.marketdata = cfg.logic = endpoint;
    cfg.logic.durability = durability;
    cfg.pack_max = pack_max;
    (void)b.subscribe("*", [this](const bus::Envelope& e) {
      const auto d = core::realtime_clock().now() - e.ts_publish;
      if (e.priority == bus::Priority::kFlashCrash) {
        std::lock_guard l(mu);
        flash_latency.record(d);
      } else {
        latency.record(d);
      }
      received.fetch_add(1, std::memory_order_release);
    });
    ta = std::move(*bus_redis::RedisTransport::start(a, {.config = cfg, .group = "bench-a"}));
    tb = std::move(*bus_redis::RedisTransport::start(b, {.config = cfg, .group = "bench-b"}));
    for (int i = 0; i < 1000; ++i) {
      bool up = true;
      for (const auto& l : tb->status().links) up = up && l.reader_connected;
      if (up) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  bool wait_for(std::size_t n, std::chrono::seconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (received.load(std::memory_order_acquire) < n) {
      if (SteadyClock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
  }
};

struct Throughput {
  double msgs_per_s = 0;
  double cpu_us_per_msg = 0;
};

// Publish -> Redis -> XREADGROUP -> handler -> XACK, as fast as it goes, with up to
// `pack_max` messages per stream entry.
Throughput end_to_end_on(const RedisServer& server, const config::RedisEndpoint& endpoint,
                         std::size_t n, std::size_t pack_max) {
  Pair pair(endpoint, pack_max);
  auto probe = server.client();
  auto pub = *pair.a.publisher("bench");
  auto topic = *pair.a.topic("strategy.signal.AAPL");
  const double cpu0 = server_cpu_s(probe);
  const auto t0 = SteadyClock::now();
  for (std::size_t i = 0; i < n; ++i) {
    pub.publish(topic, trade(static_cast<std::int64_t>(i)));
    // The transport's outbox holds 65,536 NORMAL messages: keep fewer in flight than that.
    if ((i & 4095) == 4095) {
      // Sleep, not spin: on two cores a spinning publisher takes the time the pipeline needs.
      while (pair.received.load(std::memory_order_relaxed) + 50'000 < i) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    }
  }
  if (!pair.wait_for(n, std::chrono::seconds(120))) return {};
  const double s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  const double cpu = server_cpu_s(probe) - cpu0;
  if (std::getenv("NAUTILUS_BENCH_COMMANDSTATS")) {
    auto r = probe.command({"INFO", "COMMANDSTATS"});
    if (r) fmt::print(stderr, "{}\n", r->str);
  }
  return {static_cast<double>(n) / s, cpu * 1e6 / static_cast<double>(n)};
}

Throughput end_to_end(std::size_t n, std::size_t pack_max) {
  RedisServer server;
  return end_to_end_on(server, server.endpoint(), n, pack_max);
}

struct TlsComparison {
  double plain_msgs_per_s = 0, tls_msgs_per_s = 0;
  double plain_cpu_us_per_msg = 0, tls_cpu_us_per_msg = 0;  // redis-server's (INFO CPU)
  std::string protocol;                                     // as agreed with the server
};

// The same server through its plaintext port and its TLS port (certificates made for the run,
// the server's verified), in turn: plaintext first when `plain_first`, so that neither side
// always runs on a warmer server.
TlsComparison plaintext_and_tls(std::size_t n, bool plain_first) {
  testing::TestCertificates certs;
  const std::uint16_t tls_port = RedisServer::free_port();
  RedisServer server({.password = {}, .extra = certs.redis_args(tls_port)});
  config::RedisEndpoint tls{.host = "127.0.0.1", .port = tls_port};
  tls.tls = {.enabled = true, .ca_file = certs.ca};
  const auto pack = config::BusConfig{}.pack_max;
  Throughput plain, secure;
  if (plain_first) plain = end_to_end_on(server, server.endpoint(), n, pack);
  secure = end_to_end_on(server, tls, n, pack);
  if (!plain_first) plain = end_to_end_on(server, server.endpoint(), n, pack);
  auto probe = RedisClient::connect(tls, std::chrono::seconds(2));
  return {plain.msgs_per_s, secure.msgs_per_s, plain.cpu_us_per_msg, secure.cpu_us_per_msg,
          probe ? probe->tls_protocol() : "no connection"};
}

// The way before batching: one XADD per message, read with XREADGROUP COUNT 1, one XACK each.
double naive_cpu_us_per_msg(std::size_t n) {
  RedisServer server;
  auto w = server.client();
  auto r = server.client();
  auto probe = server.client();
  bus_redis::GroupReader reader(r, "naive", "g", "c");
  (void)reader.ensure_group();
  bus::Envelope env;
  env.topic = bus::Topic::from_trusted("strategy.signal.AAPL");
  env.source = core::EngineId::from_trusted("bench");
  env.payload = bus::Payload::make(trade(1));
  std::string bytes;
  (void)bus::codec::encode(env, bytes);
  const double cpu0 = server_cpu_s(probe);
  std::thread consumer([&] {
    for (std::size_t got = 0; got < n;) {
      auto batch = reader.read(1, std::chrono::milliseconds(100));
      if (!batch) return;
      for (const auto& e : *batch) {
        (void)reader.ack({e.id});
        ++got;
      }
    }
  });
  for (std::size_t i = 0; i < n; ++i) {
    (void)w.command({"XADD", "naive", "*", "d", bytes});
  }
  consumer.join();
  return (server_cpu_s(probe) - cpu0) * 1e6 / static_cast<double>(n);
}

struct Latency {
  double p50_us = 0, p999_us = 0;
};

// `replicated`: the Logic bus (where these messages go) with a replica and durability
// "replicated", so every write round waits for WAIT 1 before the next one goes.
Latency paced_latency(std::size_t n, double rate, bool replicated = false) {
  RedisServer server;
  std::optional<RedisServer> replica;
  if (replicated) {
    replica.emplace(RedisServer::Options{
        .password = {}, .extra = {"--replicaof", "127.0.0.1", std::to_string(server.port())}});
    auto c = replica->client();
    for (int i = 0; i < 500; ++i) {
      auto r = c.command({"INFO", "replication"});
      if (r && r->str.find("master_link_status:up") != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  Pair pair(server, config::BusConfig{}.pack_max,
            replicated ? config::Durability::kReplicated : config::Durability::kLocal);
  auto pub = *pair.a.publisher("bench");
  auto topic = *pair.a.topic("strategy.signal.AAPL");
  const auto gap = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / rate));
  // Paced by sleeping until each message is due (a late wake-up publishes what is due at
  // once, so the offered rate holds): a spinning publisher would take one of the two cores
  // from the pipeline it measures.
  auto next = SteadyClock::now();
  for (std::size_t i = 0; i < n; ++i) {
    std::this_thread::sleep_until(next);
    pub.publish(topic, trade(static_cast<std::int64_t>(i)));
    next += gap;
  }
  if (!pair.wait_for(n, std::chrono::seconds(60))) return {};
  return {pair.latency.percentile(0.5) / 1e3, pair.latency.percentile(0.999) / 1e3};
}

struct Flash {
  double p99_us = 0;
  std::size_t during_drain = 0;  // flashes that arrived while the backlog was still draining
};

// FLASH_CRASH messages published while the subscriber drains a real backlog: `backlog` NORMAL
// messages already written to Redis and unread by its group (it was away while they were
// published). The urgent stream has its own reader, so they should not wait for the backlog.
Flash flash_behind_backlog(std::size_t backlog, std::size_t flashes) {
  RedisServer server;
  config::BusConfig cfg;
  cfg.main = cfg.marketdata = cfg.logic = server.endpoint();
  bus::MessageBus a, b;
  std::atomic<std::size_t> normal{0}, during{0}, flashed{0};
  std::mutex mu;
  bus::LatencyHistogram latency;
  (void)b.subscribe("*", [&](const bus::Envelope& e) {
    if (e.priority != bus::Priority::kFlashCrash) {
      normal.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const auto d = core::realtime_clock().now() - e.ts_publish;
    if (normal.load(std::memory_order_relaxed) < backlog) during.fetch_add(1);
    std::lock_guard l(mu);
    latency.record(d);
    flashed.fetch_add(1);
  });
  auto start_b = [&] {
    return std::move(*bus_redis::RedisTransport::start(b, {.config = cfg, .group = "bench-b"}));
  };
  auto wait_until = [](const auto& done, std::chrono::seconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (!done() && SteadyClock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return done();
  };
  auto connected = [](const bus_redis::RedisTransport& t) {
    for (const auto& l : t.status().links) {
      if (!l.reader_connected) return false;
    }
    return true;
  };
  {
    auto tb = start_b();  // creates the group: it reads from here on, when it is back
    (void)wait_until([&] { return connected(*tb); }, std::chrono::seconds(10));
  }
  auto ta = std::move(*bus_redis::RedisTransport::start(a, {.config = cfg, .group = "bench-a"}));
  auto pub = *a.publisher("bench");
  auto topic = *a.topic("risk.alert.AAPL");
  auto exported = [&] {
    std::uint64_t n = 0;
    for (const auto& l : ta->status().links) n += l.exported;
    return n;
  };
  for (std::size_t i = 0; i < backlog; ++i) {
    pub.publish(topic, trade(static_cast<std::int64_t>(i)));
    if ((i & 4095) == 4095) {
      while (exported() + 50'000 < i) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  (void)ta->flush(std::chrono::seconds(60));
  auto tb = start_b();
  (void)wait_until([&] { return normal.load() > 0; }, std::chrono::seconds(10));
  for (std::size_t k = 0; k < flashes; ++k) {
    pub.publish(topic, trade(-1), {.priority = bus::Priority::kFlashCrash});
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  (void)wait_until([&] { return flashed.load() == flashes && normal.load() == backlog; },
                   std::chrono::seconds(120));
  std::lock_guard l(mu);
  return {latency.percentile(0.99) / 1e3, during.load()};
}

}  // namespace

void run_redis_suite(const SuiteOptions& o) {
  const std::size_t scale = o.quick ? 20 : 1;
  const std::size_t runs = o.runs;
  auto med = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  const bool packed =
      o.wants("redis.e2e_msgs_per_s") || o.wants("redis.server_cpu") || o.wants("redis.cpu_ratio");
  const bool single = o.wants("redis.e2e_single_entry");
  if (packed || single) {
    // Each run: the anchor, then each mode, against the same fresh server kind; ratios are
    // taken per run (the machine's speed drifts between runs).
    std::vector<double> anchor, e2e, e2e_ratio, cpu, one, one_ratio;
    for (std::size_t i = 0; i < runs; ++i) {
      double a = 0;
      {
        RedisServer server;
        a = redis_benchmark_xadd(server.port(), 1'000'000 / scale);
      }
      anchor.push_back(a);
      if (packed) {
        const auto t = end_to_end(1'000'000 / scale, config::BusConfig{}.pack_max);
        e2e.push_back(t.msgs_per_s);
        e2e_ratio.push_back(a > 0 ? t.msgs_per_s / a : 0);
        cpu.push_back(t.cpu_us_per_msg);
      }
      if (single) {
        const auto t = end_to_end(300'000 / scale, 1);
        one.push_back(t.msgs_per_s);
        one_ratio.push_back(a > 0 ? t.msgs_per_s / a : 0);
      }
    }
    const double anchor_rps = med(anchor);
    if (packed) {
      print({"redis.e2e_msgs_per_s", med(e2e), "msgs/s", "redis_benchmark_xadd_P32_c50", anchor_rps,
             runs, "publish -> XADD -> XREADGROUP -> handler -> XACK, one Redis, packed entries",
             med(e2e_ratio)},
            o.json);
      const double ours = med(cpu);
      const double naive = naive_cpu_us_per_msg(50'000 / scale);
      print({"redis.server_cpu_us_per_msg", ours, "us", "naive_cpu_us_per_msg", naive, runs,
             "INFO CPU delta / messages; naive = one XADD per message, XREADGROUP COUNT 1, XACK "
             "each"},
            o.json);
      print({"redis.cpu_ratio_vs_naive",
             ours > 0 ? naive / ours : 0,
             "x",
             "",
             {},
             runs,
             "how many times less Redis CPU per message than the naive way"},
            o.json);
    }
    if (single) {
      print({"redis.e2e_single_entry_msgs_per_s", med(one), "msgs/s",
             "redis_benchmark_xadd_P32_c50", anchor_rps, runs,
             "the same path with one message per stream entry (MESSAGEBUS_PACK_MAX=1)",
             med(one_ratio)},
            o.json);
    }
  }
  if (o.wants("redis.client")) {
    // The client choice (docs/ARCHITECTURE.md): ratios above 1 favour the synchronous client.
    std::vector<ClientComparison> c;
    for (std::size_t i = 0; i < runs; ++i) {
      RedisServer server;
      c.push_back(compare_redis_clients(server.port(), o.quick));
    }
    auto col = [&](double ClientComparison::* f) {
      std::vector<double> v;
      for (const auto& x : c) v.push_back(x.*f);
      return med(v);
    };
    auto ratio = [&](double ClientComparison::* a, double ClientComparison::* b) {
      std::vector<double> v;
      for (const auto& x : c) v.push_back(x.*b > 0 ? x.*a / x.*b : 0);
      return med(v);
    };
    using C = ClientComparison;
    print({"redis.client.sync_xadd_entries_per_s", col(&C::sync_single_entries_per_s), "entries/s",
           "asio_xadd_entries_per_s", col(&C::asio_single_entries_per_s), runs,
           "rounds of 3000 pipelined one-message XADDs",
           ratio(&C::sync_single_entries_per_s, &C::asio_single_entries_per_s)},
          o.json);
    print({"redis.client.sync_xadd_packed_mb_per_s", col(&C::sync_packed_mb_per_s), "MB/s",
           "asio_xadd_packed_mb_per_s", col(&C::asio_packed_mb_per_s), runs,
           "rounds of 12 pipelined 40 KB XADDs",
           ratio(&C::sync_packed_mb_per_s, &C::asio_packed_mb_per_s)},
          o.json);
    print({"redis.client.sync_rtt_us", col(&C::sync_rtt_us), "us", "asio_rtt_us",
           col(&C::asio_rtt_us), runs, "one PING at a time; below 1 favours the synchronous client",
           ratio(&C::sync_rtt_us, &C::asio_rtt_us)},
          o.json);
  }
  if (o.wants("redis.latency")) {
    std::vector<double> p50, p999, stalls, wake_p999;
    std::string each;
    for (std::size_t i = 0; i < runs; ++i) {
      // The machine's own stalls, just before: a 2 ms stall in any thread of the pipeline
      // delays every message published meanwhile, and p99.9 of 20,000 is the 20th worst.
      const auto w =
          measure_wakeups(std::chrono::milliseconds(2000 / scale), std::chrono::microseconds(100));
      stalls.push_back(w.over_2ms_per_s);
      wake_p999.push_back(w.p999_us);
      const auto l = paced_latency(20'000 / scale, 10'000);
      p50.push_back(l.p50_us);
      p999.push_back(l.p999_us);
      each += fmt::format("{}{:.0f}", i ? ", " : "", l.p999_us);
    }
    print({"redis.latency_p50_us", med(p50), "us", "", {}, runs, "10k msgs/s offered"}, o.json);
    print({"redis.latency_p999_us", med(p999), "us", "machine_wakeup_p999_us", med(wake_p999), runs,
           fmt::format("10k msgs/s offered, {:g} s a run; runs: {} us; anchor: one thread "
                       "sleeping 100 us at a time, how late it wakes",
                       2.0 / static_cast<double>(scale), each)},
          o.json);
    print({"redis.latency_machine_stalls_per_s",
           med(stalls),
           "stalls/s",
           "",
           {},
           runs,
           "wake-ups of that lone thread later than 2 ms, per second, measured for as long as "
           "each latency run, just before it"},
          o.json);
  }
  if (o.wants("redis.replicated")) {
    // The same paced run twice, local then replicated durability, alternating per run.
    std::vector<double> local, replicated;
    for (std::size_t i = 0; i < runs; ++i) {
      local.push_back(paced_latency(20'000 / scale, 10'000).p50_us);
      replicated.push_back(paced_latency(20'000 / scale, 10'000, true).p50_us);
    }
    print({"redis.replicated_latency_p50_us", med(replicated), "us", "local_latency_p50_us",
           med(local), runs,
           "10k msgs/s offered, publish to subscriber, the Logic bus with one replica and "
           "durability replicated (WAIT 1 after each write round) against local in the same run"},
          o.json);
  }
  if (o.wants("redis.tls")) {
    std::vector<double> plain, secure, ratio, plain_cpu, tls_cpu;
    std::string protocol;
    for (std::size_t i = 0; i < runs; ++i) {
      const auto t = plaintext_and_tls(1'000'000 / scale, i % 2 == 0);
      protocol = t.protocol;
      plain_cpu.push_back(t.plain_cpu_us_per_msg);
      tls_cpu.push_back(t.tls_cpu_us_per_msg);
      plain.push_back(t.plain_msgs_per_s);
      secure.push_back(t.tls_msgs_per_s);
      ratio.push_back(t.plain_msgs_per_s > 0 ? t.tls_msgs_per_s / t.plain_msgs_per_s : 0);
    }
    print({"redis.tls_e2e_ratio", med(secure), "msgs/s", "plaintext_msgs_per_s", med(plain), runs,
           fmt::format("publish -> XADD -> XREADGROUP -> handler -> XACK through one server's "
                       "TLS port ({}, certificate verified) against its plaintext port, in turn; "
                       "redis-server CPU per message {:.2f} us over TLS, {:.2f} us plaintext",
                       protocol, med(tls_cpu), med(plain_cpu)),
           med(ratio)},
          o.json);
  }
  if (o.wants("redis.cluster")) {
    // One server, then a three-master cluster, per run; ratios taken per run.
    // NAUTILUS_BENCH_CLUSTER_SHARDS sets both buses' shard counts (default 12 market data, 4
    // logic); this run's traffic is all market data.
    const char* shards_env = std::getenv("NAUTILUS_BENCH_CLUSTER_SHARDS");
    const std::size_t shards = shards_env ? std::strtoul(shards_env, nullptr, 10) : 0;
    const std::size_t shown = shards > 0 ? shards : bus_redis::kDefaultMarketDataShards;
    std::vector<ClusterComparison> c;
    for (std::size_t i = 0; i < runs; ++i)
      c.push_back(compare_single_and_cluster(600'000 / scale, 1000, shards));
    auto col = [&](auto f) {
      std::vector<double> v;
      for (const auto& x : c) v.push_back(f(x));
      return med(v);
    };
    using C = ClusterComparison;
    print(
        {"redis.cluster_e2e_ratio", col([](const C& x) { return x.cluster_msgs_per_s; }), "msgs/s",
         "single_server_msgs_per_s", col([](const C& x) { return x.single_msgs_per_s; }), runs,
         fmt::format("trades over 1,000 symbols, publish -> XADD -> XREADGROUP -> handler -> "
                     "XACK; a cluster of 3 masters ({} market-data shards) against one server",
                     shown),
         col([](const C& x) {
           return x.single_msgs_per_s > 0 ? x.cluster_msgs_per_s / x.single_msgs_per_s : 0;
         })},
        o.json);
    print(
        {"redis.cluster_cpu_ratio", col([](const C& x) { return x.cluster_cpu_us_per_msg; }), "us",
         "single_server_cpu_us_per_msg", col([](const C& x) { return x.single_cpu_us_per_msg; }),
         runs, "Redis CPU per message (INFO CPU) summed over the 3 masters, against one server's",
         col([](const C& x) {
           return x.single_cpu_us_per_msg > 0 ? x.cluster_cpu_us_per_msg / x.single_cpu_us_per_msg
                                              : 0;
         })},
        o.json);
    print({"redis.cluster_shard_balance",
           col([](const C& x) { return x.shard_balance; }),
           "x",
           "",
           {},
           runs,
           fmt::format("messages read through the busiest master's shards over the quietest's, "
                       "1,000 symbols over {} shards and 3 masters",
                       shown)},
          o.json);
  }
  if (o.wants("redis.flash_crash")) {
    std::vector<double> flash;
    std::size_t during = 0;
    const std::size_t n = std::min<std::size_t>(runs, 3);
    for (std::size_t i = 0; i < n; ++i) {
      const auto f = flash_behind_backlog(1'000'000 / scale, 100);
      flash.push_back(f.p99_us);
      during += f.during_drain;
    }
    print({"redis.flash_crash_p99_us",
           med(flash),
           "us",
           "",
           {},
           flash.size(),
           fmt::format("100 FLASH_CRASH published while the subscriber drains {} NORMAL "
                       "messages waiting in Redis; {} of {} arrived before the backlog had drained",
                       1'000'000 / scale, during, 100 * n)},
          o.json);
  }
}

}  // namespace nautilus::bench
