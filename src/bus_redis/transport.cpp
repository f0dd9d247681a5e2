#include "nautilus/bus_redis/transport.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "nautilus/bus/codec.hpp"
#include "nautilus/bus_redis/streams.hpp"

namespace nautilus::bus_redis {
namespace {

using core::ErrorCode;
using core::fail;
using core::Result;
using SteadyClock = std::chrono::steady_clock;

// Packing several messages into one stream entry divides Redis's per-entry work among them.
constexpr std::size_t kMaxPerEntry = 256;
constexpr std::size_t kMaxEntryBytes = 256 * 1024;

bool is_market_data(std::string_view topic) {
  const auto family = bus::topic_family(topic);
  return family == "market_data" || topic.starts_with("price.update.") ||
         topic.starts_with("volume.update.");
}

std::string default_consumer() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return fmt::format("{}-{}", host, ::getpid());
}

// Capped exponential backoff between connection attempts.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max) : min_(min), max_(max) {}
  [[nodiscard]] bool due() const { return SteadyClock::now() >= next_; }
  void failed() {
    delay_ = delay_.count() == 0 ? min_ : std::min(delay_ * 2, max_);
    next_ = SteadyClock::now() + delay_;
  }
  void succeeded() { delay_ = {}; }
  [[nodiscard]] SteadyClock::time_point next() const { return next_; }

 private:
  std::chrono::milliseconds min_, max_, delay_{};
  SteadyClock::time_point next_{};
};

// Recently seen (source, sequence, ts_publish): a resend after a failover, or an entry claimed
// twice, is delivered once. FIFO-bounded.
class Dedup {
 public:
  explicit Dedup(std::size_t window) : window_(window) {}
  // True if new (and remembers it).
  bool insert(const bus::Envelope& e) {
    const Key k{e.source.data(), e.sequence, e.ts_publish};
    if (!seen_.insert(k).second) return false;
    order_.push_back(k);
    if (order_.size() > window_) {
      seen_.erase(order_.front());
      order_.pop_front();
    }
    return true;
  }

 private:
  struct Key {
    const char* source;
    std::uint64_t seq;
    core::UnixNanos ts;
    bool operator==(const Key&) const = default;
  };
  struct Hash {
    std::size_t operator()(const Key& k) const noexcept {
      std::size_t h = std::hash<const void*>{}(k.source);
      h ^= std::hash<std::uint64_t>{}(k.seq) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
      h ^= std::hash<std::int64_t>{}(k.ts) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
      return h;
    }
  };
  std::size_t window_;
  std::unordered_set<Key, Hash> seen_;
  std::deque<Key> order_;
};

}  // namespace

// One Redis bus (MarketData or Engine Logic): its writer state (owned by the writer thread),
// its reader thread, and counters any thread may read.
struct Link {
  std::string name;
  config::RedisEndpoint endpoint;
  std::string stream;
  std::string urgent_stream;
  std::string dead_stream;

  // Writer thread only.
  std::optional<RedisClient> writer;
  Backoff writer_backoff;
  std::array<std::deque<std::string>, bus::kPriorityCount> pending;  // encoded, by priority
  std::size_t pending_bytes = 0;
  SteadyClock::time_point oldest_pending{};
  bool flush_now = false;

  std::jthread reader;

  std::atomic<bool> writer_connected{false};
  std::atomic<bool> reader_connected{false};
  std::atomic<core::UnixNanos> degraded_since{0};
  std::atomic<std::uint64_t> backlog_messages{0}, backlog_bytes{0};
  std::atomic<std::uint64_t> exported{0}, imported{0}, duplicates{0}, skipped_own{0},
      dead_lettered{0}, reconnects{0}, failed_reads{0}, group_recreations{0};
  std::array<std::atomic<std::uint64_t>, bus::kPriorityCount> overflow_dropped{};

  Link(std::string n, config::RedisEndpoint ep, std::string s, const TransportOptions& o)
      : name(std::move(n)),
        endpoint(std::move(ep)),
        stream(std::move(s)),
        urgent_stream(stream + ":urgent"),
        dead_stream(stream + ":dead"),
        writer_backoff(o.reconnect_min, o.reconnect_max) {}

  [[nodiscard]] std::size_t pending_count() const {
    std::size_t n = 0;
    for (const auto& q : pending) n += q.size();
    return n;
  }
};

struct RedisTransport::Impl {
  bus::MessageBus& bus;
  TransportOptions options;
  std::string instance;                        // this process: written as each entry's origin
  std::array<std::unique_ptr<Link>, 2> links;  // [0] marketdata, [1] logic
  std::shared_ptr<bus::Mailbox> outbox;
  bus::SubscriptionId subscription = 0;
  std::jthread writer;
  std::atomic<std::uint64_t> unencodable{0};
  std::atomic<std::uint64_t> accepted{0};  // local messages handed to a link's buffer
  std::atomic<std::uint64_t> settled{0};   // ... and since written or dropped

  Impl(bus::MessageBus& b, TransportOptions o) : bus(b), options(std::move(o)) {}

  Link& route(std::string_view topic) { return *links[is_market_data(topic) ? 0 : 1]; }

  // ---- out ----------------------------------------------------------------------------

  // Runs on the writer thread (it polls the outbox).
  void on_local(const bus::Envelope& env) {
    if (env.remote) return;  // came from Redis: never re-export
    std::string bytes;
    if (!bus::codec::encode(env, bytes)) {
      unencodable.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    Link& link = route(env.topic.value());
    if (link.pending_count() == 0) link.oldest_pending = SteadyClock::now();
    link.pending_bytes += bytes.size();
    link.pending[bus::index(env.priority)].push_back(std::move(bytes));
    if (bus::is_critical(env.priority)) link.flush_now = true;
    accepted.fetch_add(1, std::memory_order_relaxed);
    enforce_bound(link);
    publish_backlog(link);
  }

  // Over the byte bound: drop the oldest of the lowest priority first, counting every drop.
  void enforce_bound(Link& link) {
    while (link.pending_bytes > options.failover_buffer_bytes) {
      auto it = std::find_if(link.pending.begin(), link.pending.end(),
                             [](const auto& q) { return !q.empty(); });
      if (it == link.pending.end()) return;
      const auto prio = static_cast<std::size_t>(it - link.pending.begin());
      link.pending_bytes -= it->front().size();
      it->pop_front();
      link.overflow_dropped[prio].fetch_add(1, std::memory_order_relaxed);
      settled.fetch_add(1, std::memory_order_relaxed);
      if (bus::is_critical(static_cast<bus::Priority>(prio))) {
        // Never silent: counted above and said here.
        fmt::print(stderr, "redis transport: {} buffer full, dropped a {} message\n", link.name,
                   bus::to_string(static_cast<bus::Priority>(prio)));
      }
    }
  }

  void publish_backlog(Link& link) {
    link.backlog_messages.store(link.pending_count(), std::memory_order_relaxed);
    link.backlog_bytes.store(link.pending_bytes, std::memory_order_relaxed);
  }

  void mark_degraded(Link& link) {
    core::UnixNanos zero = 0;
    link.degraded_since.compare_exchange_strong(zero, bus.clock().now());
  }

  bool connect_writer(Link& link) {
    if (link.writer && link.writer->healthy()) return true;
    link.writer.reset();
    link.writer_connected.store(false);
    if (!link.writer_backoff.due()) return false;
    auto c = RedisClient::connect(link.endpoint, options.connect_timeout);
    if (!c) {
      link.writer_backoff.failed();
      mark_degraded(link);
      return false;
    }
    link.writer.emplace(std::move(*c));
    link.writer_backoff.succeeded();
    link.writer_connected.store(true);
    link.reconnects.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // Writes the link's pending messages: urgent stream first, then the normal stream from HIGH
  // down. On failure everything stays pending, to be resent in order after a reconnect
  // (consumers de-duplicate whatever the broken pipeline had already written).
  void flush(Link& link) {
    link.flush_now = false;
    if (link.pending_count() == 0) return;
    if (!connect_writer(link)) return;
    const Trim trim = options.config.retention == config::Retention::kMaxLen
                          ? Trim{.maxlen = options.config.retention_maxlen}
                          : Trim{.min_age = options.config.retention_minid_age};
    StreamWriter urgent(*link.writer, link.urgent_stream, trim);
    StreamWriter normal(*link.writer, link.stream, trim);
    for (std::size_t p = bus::kPriorityCount; p-- > 0;) {
      auto& q = link.pending[p];
      StreamWriter& out = bus::is_critical(static_cast<bus::Priority>(p)) ? urgent : normal;
      while (!q.empty()) {
        // One round trip carries up to buffer_size messages, packed into entries of up to
        // kMaxPerEntry messages / kMaxEntryBytes; a lone message is a plain "d" entry.
        const std::size_t round =
            std::min(q.size(), std::max<std::size_t>(options.config.buffer_size, 1));
        std::vector<std::string> packed;
        packed.reserve(round);  // views into it must not move
        std::vector<EntryData> entries;
        std::size_t i = 0, bytes = 0;
        while (i < round) {
          std::size_t j = i, entry_bytes = 0;
          while (j < round && j - i < kMaxPerEntry &&
                 (j == i || entry_bytes + q[j].size() <= kMaxEntryBytes)) {
            entry_bytes += q[j].size();
            ++j;
          }
          if (j - i == 1) {
            entries.push_back({kDataField, q[i]});
          } else {
            std::vector<std::string> group(q.begin() + static_cast<std::ptrdiff_t>(i),
                                           q.begin() + static_cast<std::ptrdiff_t>(j));
            packed.emplace_back();
            bus::codec::encode_batch(group, packed.back());
            entries.push_back({kBatchField, packed.back()});
          }
          bytes += entry_bytes;
          i = j;
        }
        if (!out.append(entries, instance)) {
          // Everything stays pending, to be resent after a reconnect.
          link.writer.reset();
          link.writer_connected.store(false);
          link.writer_backoff.failed();
          mark_degraded(link);
          return;
        }
        q.erase(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(round));
        link.pending_bytes -= bytes;
        link.exported.fetch_add(round, std::memory_order_relaxed);
        settled.fetch_add(round, std::memory_order_relaxed);
        publish_backlog(link);
      }
    }
    link.degraded_since.store(0);
  }

  void writer_loop(const std::stop_token& stop) {
    const auto interval = options.config.buffer_interval;
    const std::size_t chunk = 256;
    while (!stop.stop_requested()) {
      const std::size_t got = outbox->poll(chunk);
      const auto now = SteadyClock::now();
      for (auto& l : links) {
        const bool idle = got < chunk;  // nothing more queued: batching must not add latency
        if (l->flush_now || idle || l->pending_count() >= options.config.buffer_size ||
            now - l->oldest_pending >= interval) {
          flush(*l);
        }
      }
      if (got == 0) {
        auto wait = std::chrono::nanoseconds(interval.count() > 0 ? interval
                                                                  : std::chrono::milliseconds(1));
        for (auto& l : links) {
          if (l->pending_count() > 0) {
            wait = std::min<std::chrono::nanoseconds>(
                wait, std::max(l->writer_backoff.next() - now, SteadyClock::duration::zero()));
          }
        }
        (void)outbox->wait(std::max<std::chrono::nanoseconds>(wait, std::chrono::microseconds(100)),
                           stop);
      }
    }
    // Drain: take what is queued and try to write it, a bounded number of times.
    while (outbox->poll(SIZE_MAX) > 0) {
    }
    for (int attempt = 0; attempt < 20; ++attempt) {
      bool left = false;
      for (auto& l : links) {
        flush(*l);
        left = left || l->pending_count() > 0;
      }
      if (!left) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // ---- in ------------------------------------------------------------------------------

  void reader_loop(Link& link, const std::stop_token& stop) {
    auto publisher = bus.publisher("redis." + link.name);
    if (!publisher) return;
    Dedup dedup(options.dedup_window);
    std::unordered_map<std::string, bus::TopicHandle> topics;
    Backoff backoff(options.reconnect_min, options.reconnect_max);
    std::optional<RedisClient> client;
    std::optional<GroupReader> reader;
    std::uint64_t reported_failed = 0, reported_recreated = 0;
    bool first_connect = true;

    auto drop = [&] {  // the reader refers to the client: release it first
      reader.reset();
      client.reset();
      link.reader_connected.store(false);
    };
    while (!stop.stop_requested()) {
      if (!client || !client->healthy()) {
        drop();
        if (!backoff.due()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          continue;
        }
        auto c = RedisClient::connect(link.endpoint, options.connect_timeout);
        if (!c) {
          backoff.failed();
          mark_degraded(link);
          continue;
        }
        client.emplace(std::move(*c));
        (void)client->set_timeout(options.read_block + options.connect_timeout);
        reader.emplace(*client, std::vector<std::string>{link.urgent_stream, link.stream},
                       options.group, options.consumer);
        // First connect: new entries only. A reconnect: "0", because if the server came back
        // empty everything in it was written since and is unread; if it kept its data the
        // group exists (BUSYGROUP) and keeps its position.
        if (auto ok = reader->ensure_group(first_connect ? "$" : "0"); !ok) {
          drop();
          backoff.failed();
          continue;
        }
        reported_failed = reported_recreated = 0;
        first_connect = false;
        backoff.succeeded();
        link.reader_connected.store(true);
      }
      auto batch = reader->read(options.read_count, options.read_block);
      link.failed_reads.fetch_add(reader->failed_reads() - reported_failed);
      link.group_recreations.fetch_add(reader->group_recreations() - reported_recreated);
      reported_failed = reader->failed_reads();
      reported_recreated = reader->group_recreations();
      if (!batch) {
        drop();
        backoff.failed();
        mark_degraded(link);
        continue;
      }
      std::unordered_map<std::string, std::vector<std::string>> acks;
      for (auto& entry : *batch) {
        acks[entry.stream].push_back(entry.id);
        if (entry.origin == instance) {
          link.skipped_own.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        if (entry.malformed) {
          dead_letter(*client, link, entry, "entry has neither field d nor b");
          continue;
        }
        if (!entry.batch) {
          deliver(link, *publisher, dedup, topics, bus::codec::decode(entry.data), *client, entry);
          continue;
        }
        auto batch_envs = bus::codec::decode_batch(entry.data);
        if (!batch_envs) {
          dead_letter(*client, link, entry, batch_envs.error().message);
          continue;
        }
        for (auto& env : *batch_envs) {
          deliver(link, *publisher, dedup, topics, std::move(env), *client, entry);
        }
      }
      for (const auto& [stream, ids] : acks) {
        if (!reader->ack(stream, ids)) {
          drop();  // unacknowledged entries stay pending in the group, redelivered later
          break;
        }
      }
    }
  }

  // One decoded message from an entry: dead-lettered if it did not decode, dropped if already
  // seen, else delivered to local subscribers.
  void deliver(Link& link, bus::Publisher& publisher, Dedup& dedup,
               std::unordered_map<std::string, bus::TopicHandle>& topics, Result<bus::Envelope> env,
               RedisClient& client, const StreamEntry& entry) {
    if (!env) {
      dead_letter(client, link, entry, env.error().message);
      return;
    }
    if (!dedup.insert(*env)) {
      link.duplicates.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    auto it = topics.find(std::string(env->topic.value()));
    if (it == topics.end()) {
      auto h = bus.topic(env->topic.value());
      if (!h) return;  // decode validated the topic
      it = topics.emplace(std::string(env->topic.value()), *h).first;
    }
    env->remote = true;
    (void)publisher.forward(it->second, *env);
    link.imported.fetch_add(1, std::memory_order_relaxed);
  }

  void dead_letter(RedisClient& c, Link& link, const StreamEntry& e, const std::string& why) {
    (void)c.command({"XADD", link.dead_stream, "MAXLEN", "~", "100000", "*", "d", e.data, "reason",
                     why, "stream", e.stream, "id", e.id});
    link.dead_lettered.fetch_add(1, std::memory_order_relaxed);
  }
};

RedisTransport::RedisTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<RedisTransport>> RedisTransport::start(bus::MessageBus& bus,
                                                              TransportOptions options) {
  if (options.consumer.empty()) options.consumer = default_consumer();
  if (options.group.empty()) return fail(ErrorCode::kInvalidArgument, "transport: empty group");
  auto impl = std::make_unique<Impl>(bus, std::move(options));
  Impl& i = *impl;
  i.instance = i.options.consumer;
  const auto& cfg = i.options.config;
  i.links[0] =
      std::make_unique<Link>("marketdata", cfg.marketdata, cfg.marketdata_stream, i.options);
  i.links[1] = std::make_unique<Link>("logic", cfg.logic, cfg.logic_stream, i.options);
  i.outbox =
      bus.create_mailbox({.name = "redis.out", .lane_capacity = {8192, 65536, 8192, 4096, 4096}});
  auto sub = bus.subscribe("*", [&i](const bus::Envelope& e) { i.on_local(e); },
                           {.mailbox = i.outbox, .owner = "redis-transport"});
  if (!sub) return std::unexpected(sub.error());
  i.subscription = *sub;
  i.writer = std::jthread([&i](const std::stop_token& st) { i.writer_loop(st); });
  for (auto& l : i.links) {
    Link* link = l.get();
    link->reader =
        std::jthread([&i, link](const std::stop_token& st) { i.reader_loop(*link, st); });
  }
  return std::unique_ptr<RedisTransport>(new RedisTransport(std::move(impl)));
}

RedisTransport::~RedisTransport() {
  (void)impl_->bus.unsubscribe(impl_->subscription);
  impl_->writer.request_stop();  // the writer sees it within one wait (<= buffer interval)
  if (impl_->writer.joinable()) impl_->writer.join();
  for (auto& l : impl_->links) {
    l->reader.request_stop();
    if (l->reader.joinable()) l->reader.join();
  }
}

bool RedisTransport::flush(std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    // Everything published before this call is in the outbox or beyond.
    if (impl_->outbox->depth() == 0 && impl_->settled.load(std::memory_order_relaxed) ==
                                           impl_->accepted.load(std::memory_order_relaxed)) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TransportStatus RedisTransport::status() const {
  TransportStatus s;
  s.unencodable = impl_->unencodable.load();
  for (const auto& l : impl_->links) {
    LinkStatus ls;
    ls.name = l->name;
    ls.endpoint = fmt::format("{}:{}", l->endpoint.host, l->endpoint.port);
    ls.stream = l->stream;
    ls.writer_connected = l->writer_connected.load();
    ls.reader_connected = l->reader_connected.load();
    ls.degraded_since = l->degraded_since.load();
    ls.backlog_messages = l->backlog_messages.load();
    ls.backlog_bytes = l->backlog_bytes.load();
    ls.exported = l->exported.load();
    ls.imported = l->imported.load();
    ls.duplicates = l->duplicates.load();
    ls.skipped_own = l->skipped_own.load();
    ls.dead_lettered = l->dead_lettered.load();
    ls.reconnects = l->reconnects.load();
    ls.failed_reads = l->failed_reads.load();
    ls.group_recreations = l->group_recreations.load();
    for (std::size_t p = 0; p < bus::kPriorityCount; ++p) {
      ls.overflow_dropped[p] = l->overflow_dropped[p].load();
    }
    s.links.push_back(std::move(ls));
  }
  return s;
}

}  // namespace nautilus::bus_redis
