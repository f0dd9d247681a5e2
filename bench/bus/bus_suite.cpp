#include "bus_suite.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "nautilus/bus/message_bus.hpp"

namespace nautilus::bench {
namespace {

using bus::Envelope;
using bus::MessageBus;
using Clock = std::chrono::steady_clock;

struct Tick {
  static constexpr std::string_view kTypeName = "bench_tick";
  std::int64_t n = 0;
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void cpu_relax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

// ---- anchor: a bare SPSC ring between two threads (Lamport queue with cached indices) ----

template <class T, std::size_t N>
class SpscRing {
  static_assert((N & (N - 1)) == 0);

 public:
  bool push(const T& v) {
    const std::size_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_cache_ == N) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (t - head_cache_ == N) return false;
    }
    buf_[t & (N - 1)] = v;
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }
  bool pop(T& v) {
    const std::size_t h = head_.load(std::memory_order_relaxed);
    if (h == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (h == tail_cache_) return false;
    }
    v = buf_[h & (N - 1)];
    head_.store(h + 1, std::memory_order_release);
    return true;
  }

 private:
  alignas(64) std::atomic<std::size_t> head_{0};
  std::size_t tail_cache_ = 0;  // consumer's view of tail
  alignas(64) std::atomic<std::size_t> tail_{0};
  std::size_t head_cache_ = 0;  // producer's view of head
  alignas(64) T buf_[N];
};

// Both anchor and bus runs put the producer on CPU 0 and the consumer on CPU 1, so they
// cross the same pair of cores.
constexpr int kProducerCpu = 0;
constexpr int kConsumerCpu = 1;

double spsc_throughput(std::size_t n) {
  auto ring = std::make_unique<SpscRing<std::int64_t, 1 << 16>>();
  std::int64_t sum = 0;
  const auto t0 = Clock::now();
  std::thread consumer([&] {
    (void)bus::pin_current_thread(kConsumerCpu);
    std::int64_t v;
    for (std::size_t got = 0; got < n;) {
      if (ring->pop(v)) {
        sum += v;
        ++got;
      } else {
        cpu_relax();
      }
    }
  });
  for (std::size_t i = 0; i < n; ++i) {
    while (!ring->push(static_cast<std::int64_t>(i))) cpu_relax();
  }
  consumer.join();
  const double s = seconds_since(t0);
  if (sum < 0) std::abort();
  return static_cast<double>(n) / s;
}

// Publishes `n` items paced at `rate` per second; `publish(ts)` gets the stamp to send.
template <class Publish>
void paced(std::size_t n, double rate, Publish&& publish) {
  const core::Clock& clock = core::realtime_clock();
  const auto gap = static_cast<core::UnixNanos>(1e9 / rate);
  core::UnixNanos next = clock.now();
  for (std::size_t i = 0; i < n; ++i) {
    core::UnixNanos now;
    while ((now = clock.now()) < next) cpu_relax();
    publish(now);
    next += gap;
  }
}

struct Percentiles {
  double p50 = 0;
  double p99 = 0;
};

Percentiles spsc_latency(std::size_t n, double rate) {
  auto ring = std::make_unique<SpscRing<core::UnixNanos, 1 << 16>>();
  bus::LatencyHistogram h;
  std::thread consumer([&] {
    (void)bus::pin_current_thread(kConsumerCpu);
    const core::Clock& clock = core::realtime_clock();
    core::UnixNanos ts;
    for (std::size_t got = 0; got < n;) {
      if (ring->pop(ts)) {
        h.record(clock.now() - ts);
        ++got;
      } else {
        cpu_relax();
      }
    }
  });
  paced(n, rate, [&](core::UnixNanos ts) {
    while (!ring->push(ts)) cpu_relax();
  });
  consumer.join();
  return {h.percentile(0.5), h.percentile(0.99)};
}

// ---- the bus --------------------------------------------------------------------------

double same_thread(std::size_t n) {
  MessageBus b;
  std::int64_t sum = 0;
  (void)b.subscribe("market_data.*", [&](const Envelope& e) { sum += e.get<Tick>()->n; });
  auto pub = *b.publisher("bench");
  auto topic = *b.topic("market_data.AAPL.trade");
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) pub.publish(topic, Tick{static_cast<std::int64_t>(i)});
  const double s = seconds_since(t0);
  if (sum < 0) std::abort();
  return static_cast<double>(n) / s;
}

struct CrossThread {
  MessageBus bus;
  std::shared_ptr<bus::Mailbox> mb;
  std::atomic<std::size_t> received{0};
  bus::Publisher pub = *bus.publisher("bench");
  bus::TopicHandle topic = *bus.topic("market_data.AAPL.trade");

  CrossThread() {
    mb = bus.create_mailbox({.name = "consumer",
                             .lane_capacity = {1024, 1 << 16, 1024, 1024, 1024},
                             .spin_before_park = std::chrono::milliseconds(1)});
    (void)bus.subscribe("market_data.*",
                        [this](const Envelope&) {
                          received.store(received.load(std::memory_order_relaxed) + 1,
                                         std::memory_order_release);
                        },
                        {.mailbox = mb,
                         .policy = bus::OverflowPolicy::kBlock,
                         .block_bound = std::chrono::seconds(10)});
  }
  void wait_for(std::size_t n) {
    while (received.load(std::memory_order_acquire) < n) cpu_relax();
  }
};

double cross_thread(std::size_t n) {
  CrossThread ct;
  bus::MailboxThread consumer(ct.mb, kConsumerCpu);
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) ct.pub.publish(ct.topic, Tick{static_cast<std::int64_t>(i)});
  ct.wait_for(n);
  return static_cast<double>(n) / seconds_since(t0);
}

Percentiles cross_thread_latency(std::size_t n, double rate) {
  CrossThread ct;
  bus::MailboxThread consumer(ct.mb, kConsumerCpu);
  paced(n, rate, [&](core::UnixNanos) { ct.pub.publish(ct.topic, Tick{1}); });
  ct.wait_for(n);
  const auto m = ct.bus.metrics();
  return {m.latency.percentile(0.5), m.latency.percentile(0.99)};
}

std::vector<std::string> thousand_patterns() {
  const char* families[] = {"market_data", "portfolio", "risk",   "strategy",   "vpin",
                            "feature",     "ml",        "factor", "collateral", "analytics"};
  std::vector<std::string> p;
  for (int i = 0; p.size() < 1000; ++i) {
    const std::string fam = families[i % 10];
    const std::string sym = "SYM" + std::to_string(i);
    switch (i % 4) {
      case 0:
        p.push_back(fam + "." + sym + ".*");
        break;
      case 1:
        p.push_back("*." + sym + ".trade");
        break;
      case 2:
        p.push_back(fam + ".alert.?" + sym.substr(1));
        break;
      default:
        p.push_back(fam + ".*." + sym);
        break;
    }
  }
  return p;
}

// Microseconds to resolve one never-seen topic with 1,000 pattern subscriptions present.
double resolve_us(std::size_t topics) {
  MessageBus b;
  for (const auto& p : thousand_patterns()) (void)b.subscribe(p, [](const Envelope&) {});
  static std::atomic<int> round{0};
  const int r = round.fetch_add(1);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < topics; ++i) {
    names.push_back("market_data.SYM" + std::to_string(i) + ".trade" + std::to_string(r));
  }
  const auto t0 = Clock::now();
  for (const auto& n : names) (void)b.topic(n);
  return seconds_since(t0) * 1e6 / static_cast<double>(topics);
}

// Anchor: the bare matching work, the same topics against the same 1,000 patterns.
double raw_match_us(std::size_t topics) {
  const auto patterns = thousand_patterns();
  std::vector<std::string> names;
  for (std::size_t i = 0; i < topics; ++i) {
    names.push_back("market_data.SYM" + std::to_string(i) + ".trade");
  }
  std::size_t hits = 0;
  const auto t0 = Clock::now();
  for (const auto& n : names) {
    for (const auto& p : patterns) hits += bus::is_matching(n, p);
  }
  const double us = seconds_since(t0) * 1e6 / static_cast<double>(topics);
  if (hits == SIZE_MAX) std::abort();
  return us;
}

struct Overtake {
  double flash_ns = 0;
  double fifo_drain_ns = 0;
  std::size_t normals_before = 0;
};

// A FLASH_CRASH published behind 100,000 queued NORMALs on a busy consumer: how long it
// takes to reach its handler, against how long the backlog takes to drain (what FIFO gives).
Overtake overtake(std::size_t backlog) {
  MessageBus b;
  auto mb = b.create_mailbox({.name = "risk", .lane_capacity = {1024, 1 << 17, 1024, 1024, 1024}});
  const core::Clock& clock = core::realtime_clock();
  std::atomic<std::size_t> normals{0};
  std::atomic<core::UnixNanos> flash_seen{0}, last_normal{0};
  std::atomic<std::size_t> normals_before{0};
  (void)b.subscribe("risk.*",
                    [&](const Envelope& e) {
                      if (e.priority == bus::Priority::kFlashCrash) {
                        flash_seen.store(clock.now());
                        normals_before.store(normals.load());
                        return;
                      }
                      volatile double x =
                          1;  // ~100 ns of handler work, so the backlog stays a backlog
                      for (int i = 0; i < 40; ++i) x = x * 1.0000001 + 0.5;
                      normals.fetch_add(1, std::memory_order_relaxed);
                      last_normal.store(clock.now(), std::memory_order_relaxed);
                    },
                    {.mailbox = mb,
                     .policy = bus::OverflowPolicy::kBlock,
                     .block_bound = std::chrono::seconds(10)});
  auto pub = *b.publisher("risk");
  auto topic = *b.topic("risk.alert.AAPL");
  for (std::size_t i = 0; i < backlog; ++i) pub.publish(topic, Tick{});
  bus::MailboxThread consumer(mb, kConsumerCpu);
  while (normals.load() < 10) cpu_relax();  // the consumer is busy draining
  const core::UnixNanos t_flash = clock.now();
  pub.publish(topic, Tick{}, {.priority = bus::Priority::kFlashCrash});
  while (normals.load() < backlog) cpu_relax();
  consumer.stop();
  return {static_cast<double>(flash_seen.load() - t_flash),
          static_cast<double>(last_normal.load() - t_flash), normals_before.load()};
}

// One run = the anchor then the bus figure, back to back, so both see the same machine
// state; the reported ratio is the median of the per-run ratios.
struct Paired {
  double value = 0;
  double anchor = 0;
  double ratio = 0;
};
Paired paired(std::size_t runs, const std::function<std::pair<double, double>()>& once) {
  std::vector<double> v, a, r;
  for (std::size_t i = 0; i < runs; ++i) {
    const auto [value, anchor] = once();
    v.push_back(value);
    a.push_back(anchor);
    r.push_back(anchor != 0 ? value / anchor : 0);
  }
  auto med = [](std::vector<double> x) {
    std::sort(x.begin(), x.end());
    return x.size() % 2 ? x[x.size() / 2] : (x[x.size() / 2 - 1] + x[x.size() / 2]) / 2;
  };
  return {med(v), med(a), med(r)};
}

void report(const SuiteOptions& o, const std::string& bench, const Paired& p, const char* unit,
            const std::string& anchor, std::size_t runs, const std::string& note = "") {
  Report r{bench, p.value, unit, anchor, p.anchor, runs, note};
  r.ratio = p.ratio;
  print(r, o.json);
}

}  // namespace

void run_bus_suite(const SuiteOptions& o) {
  (void)bus::pin_current_thread(kProducerCpu);
  const std::size_t scale = o.quick ? 20 : 1;
  const std::size_t runs = o.runs;

  Paired st = paired(runs, [&] {
    return std::pair{same_thread(20'000'000 / scale), spsc_throughput(20'000'000 / scale)};
  });
  report(o, "bus.inproc.same_thread", st, "msgs/s", "spsc_ring", runs);

  Paired ct = paired(runs, [&] {
    return std::pair{cross_thread(10'000'000 / scale), spsc_throughput(10'000'000 / scale)};
  });
  report(o, "bus.inproc.cross_thread", ct, "msgs/s", "spsc_ring", runs);

  const std::size_t paced_n = 500'000 / scale;
  std::vector<Percentiles> ring_lat, bus_lat;
  for (std::size_t i = 0; i < runs; ++i) {
    bus_lat.push_back(cross_thread_latency(paced_n, 1e6));
    ring_lat.push_back(spsc_latency(paced_n, 1e6));
  }
  auto pair_of = [&](double Percentiles::* f) {
    std::size_t i = 0;
    return paired(runs, [&] {
      const auto r = std::pair{bus_lat[i].*f, ring_lat[i].*f};
      ++i;
      return r;
    });
  };
  const std::string lat_note = "1M msgs/s offered";
  report(o, "bus.inproc.latency_p50_ns", pair_of(&Percentiles::p50), "ns", "spsc_ring_p50", runs,
         lat_note);
  report(o, "bus.inproc.latency_p99_ns", pair_of(&Percentiles::p99), "ns", "spsc_ring_p99", runs,
         lat_note);

  const std::size_t topics = o.quick ? 20 : 200;
  Paired match = paired(runs, [&] { return std::pair{resolve_us(topics), raw_match_us(topics)}; });
  report(o, "bus.match.1000_patterns_us", match, "us", "raw_is_matching_x1000", runs);
  // µs per 1,000 matches is numerically ns per match.
  print({"bus.match.pattern_ns",
         match.anchor,
         "ns",
         "",
         {},
         runs,
         "one topic against one pattern, mean over the 1,000"},
        o.json);

  std::vector<Overtake> ov;
  for (std::size_t i = 0; i < runs; ++i) ov.push_back(overtake(100'000));
  std::size_t k = 0;
  Paired over = paired(runs, [&] {
    const auto r = std::pair{ov[k].flash_ns, ov[k].fifo_drain_ns};
    ++k;
    return r;
  });
  std::sort(ov.begin(), ov.end(), [](auto& a, auto& b) { return a.flash_ns < b.flash_ns; });
  report(o, "bus.priority.overtake_ns", over, "ns", "fifo_drain_100k", runs,
         "median run: " + std::to_string(ov[ov.size() / 2].normals_before) +
             " of 100000 NORMALs handled before the FLASH_CRASH");
}

}  // namespace nautilus::bench
