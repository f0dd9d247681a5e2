#include "nautilus/bus_redis/transport.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <climits>
#include <deque>
#include <functional>
#include <iterator>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "nautilus/bus/codec.hpp"
#include "nautilus/bus_redis/streams.hpp"

// The optionals below (a writer's or reader's client and reader, the shared dedup set) are
// engaged on every path that dereferences them: by the connect step just before, or at start.
// clang-tidy's optional-access check does not follow those loop invariants.
// NOLINTBEGIN(bugprone-unchecked-optional-access)
namespace nautilus::bus_redis {
namespace {

using core::ErrorCode;
using core::fail;
using core::Result;
using SteadyClock = std::chrono::steady_clock;

// Resolved topics by their interned name (one pointer per name), so the per-message lookup
// neither hashes the string nor allocates.
using TopicCache = std::unordered_map<const char*, bus::TopicHandle>;

// Packing several messages into one stream entry (up to BusConfig::pack_max) divides Redis's
// per-entry work among them.
constexpr std::size_t kMaxEntryBytes = std::size_t{256} * 1024;
// Entries per read at most (one-message entries).
constexpr std::size_t kMaxReadCount = 4096;

bool is_market_data(std::string_view topic) {
  const auto family = bus::topic_family(topic);
  return family == "market_data" || topic.starts_with("price.update.") ||
         topic.starts_with("volume.update.");
}

// Unique per transport, not just per process: the consumer name is also the origin id a
// transport uses to skip its own entries, and two transports in one process (tests, bench)
// must not take each other's messages for their own.
std::string default_consumer() {
  static std::atomic<unsigned> counter{0};
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return fmt::format("{}-{}-{}", host, ::getpid(), counter.fetch_add(1));
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

// Recently seen messages, by writer and source: for each (origin, source) a ring of its last
// `window` sequence numbers (a power of two), indexed by sequence, holding the ts_publish seen
// with each. A resend after a failover, an entry delivered twice, or a message that came over
// both buses while migrating is dropped: same writing transport (the entry's origin), source,
// sequence and ts_publish. Keying by the writer too keeps apart processes that share an engine
// name (an engine scaled out to several processes), whose sequences overlap. Consecutive
// messages of a source touch neighbouring slots, so this stays in cache at millions of
// messages a second, where a hash set of keys did not.
//
// What it cannot see: a duplicate more than `window` sequence numbers behind its source's
// newest message. It is delivered again, never lost.
class Dedup {
 public:
  explicit Dedup(std::size_t window) : size_(std::bit_ceil(std::max<std::size_t>(window, 64))) {}

  // True if new (and remembers it). `origin`: the entry's writer (field "o"; empty if absent).
  bool insert(std::string_view origin, const bus::Envelope& e) {
    Slot& slot = ring(origin, e.source.data())[e.sequence & (size_ - 1)];
    if (slot.sequence == e.sequence && slot.ts_publish == e.ts_publish) return false;
    slot = {e.sequence, e.ts_publish};
    return true;
  }

 private:
  struct Slot {
    std::uint64_t sequence = UINT64_MAX;  // none
    core::UnixNanos ts_publish = INT64_MIN;
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using Sources = std::unordered_map<const char*, std::vector<Slot>>;  // by interned source

  // Rings beyond this many (256 KB each) are not remembered separately: the table starts over
  // (duplicates may pass for a moment; memory stays bounded whatever arrives).
  static constexpr std::size_t kMaxRings = 256;

  std::vector<Slot>& ring(std::string_view origin, const char* source) {
    if (source == last_source_ && origin == last_origin_) return *last_ring_;
    auto o = origins_.find(origin);
    if (o == origins_.end()) o = origins_.emplace(std::string(origin), Sources{}).first;
    auto it = o->second.find(source);
    if (it == o->second.end()) {
      if (rings_ >= kMaxRings) {
        origins_.clear();
        rings_ = 0;
        o = origins_.emplace(std::string(origin), Sources{}).first;
      }
      it = o->second.emplace(source, std::vector<Slot>(size_)).first;
      ++rings_;
    }
    last_origin_.assign(origin);
    last_source_ = source;
    last_ring_ = &it->second;
    return it->second;
  }

  std::size_t size_;
  std::unordered_map<std::string, Sources, NameHash, std::equal_to<>> origins_;
  std::size_t rings_ = 0;
  std::string last_origin_;
  const char* last_source_ = nullptr;
  std::vector<Slot>* last_ring_ = nullptr;
};

}  // namespace

// What one outbound path's writer thread holds for one Redis bus: its own connection, and the
// encoded messages not yet written, by priority.
struct LinkWriter {
  std::optional<RedisClient> client;
  Backoff backoff;
  std::array<std::deque<std::string>, bus::kPriorityCount> pending;
  // The round sent and not yet answered: its messages, taken from the front of one priority's
  // queue, kept until Redis acknowledges them (resent in order if it does not). They are out
  // of `pending`, so the overflow policy cannot drop what Redis may already hold.
  struct InFlight {
    std::vector<std::string> messages;
    std::size_t priority = 0;
    std::size_t entries = 0;  // XADD replies to take
    std::size_t bytes = 0;
    bool active = false;
  } in_flight;
  std::size_t pending_bytes = 0;  // queued and in flight
  SteadyClock::time_point oldest_pending{};
  bool flush_now = false;
  std::atomic<bool> connected{false};
  std::atomic<std::uint64_t> backlog_messages{0}, backlog_bytes{0};

  explicit LinkWriter(const TransportOptions& o) : backoff(o.reconnect_min, o.reconnect_max) {}
  [[nodiscard]] std::size_t pending_count() const {
    std::size_t n = 0;
    for (const auto& q : pending) n += q.size();
    return n;
  }
};

// The two outbound paths: FLASH_CRASH/URGENT never wait behind a NORMAL round trip, because
// they have their own subscription, thread and connection.
enum Path : std::uint8_t { kNormalPath = 0, kUrgentPath = 1 };

// One Redis bus (MarketData or Engine Logic): a writer per outbound path, a reader thread per
// stream (normal and urgent), and counters any thread may read.
struct Link {
  std::string name;
  config::RedisEndpoint endpoint;
  std::string stream;
  std::string urgent_stream;
  std::string dead_stream;
  std::array<std::unique_ptr<LinkWriter>, 2> writers;  // by Path
  std::array<std::jthread, 2> readers;                 // by Path

  std::array<std::atomic<bool>, 2> reader_connected{};
  std::atomic<core::UnixNanos> degraded_since{0};
  std::atomic<std::uint64_t> exported{0}, imported{0}, duplicates{0}, skipped_own{0},
      dead_lettered{0}, reconnects{0}, failed_reads{0}, failed_acks{0}, group_recreations{0},
      claimed{0}, group_pending{0}, group_lag{0};
  std::array<std::atomic<std::uint64_t>, bus::kPriorityCount> overflow_dropped{};

  Link(std::string n, config::RedisEndpoint ep, std::string s, const TransportOptions& o)
      : name(std::move(n)),
        endpoint(std::move(ep)),
        stream(std::move(s)),
        urgent_stream(stream + ":urgent"),
        dead_stream(stream + ":dead"),
        writers{std::make_unique<LinkWriter>(o), std::make_unique<LinkWriter>(o)} {}

  const std::string& stream_of(Path path) const {
    return path == kUrgentPath ? urgent_stream : stream;
  }
};

// One outbound path: a mailbox fed by a priority-filtered subscription, and its writer thread.
struct Outbound {
  std::shared_ptr<bus::Mailbox> outbox;
  bus::SubscriptionId subscription = 0;
  std::jthread thread;
  std::atomic<std::uint64_t> accepted{0};  // local messages handed to a link's buffer
  std::atomic<std::uint64_t> settled{0};   // ... and since written or dropped
};

struct RedisTransport::Impl {
  bus::MessageBus& bus;
  TransportOptions options;
  std::string instance;  // this transport: written as each entry's origin
  // [0] marketdata, [1] logic; while migrating from single-Redis also [2] and [3], the same
  // streams on the legacy server, written and read alongside.
  std::vector<std::unique_ptr<Link>> links;
  // One for all readers: with a legacy server every message can arrive twice.
  std::mutex dedup_mu;
  std::optional<Dedup> dedup;
  std::array<Outbound, 2> out;  // by Path
  std::atomic<std::uint64_t> unencodable{0};

  Impl(bus::MessageBus& b, TransportOptions o) : bus(b), options(std::move(o)) {}

  // What a batch delivered: whether anything, and the lowest priority among it (where the
  // acknowledgement barrier goes).
  struct Delivered {
    bool any = false;
    bus::Priority lowest = bus::Priority::kFlashCrash;
  };
  struct DeadLetter {
    std::string data, reason, stream, id;
  };
  // Entry ids whose handlers have all run, waiting for the reader to XACK them.
  struct Completions {
    std::mutex mu;
    std::vector<std::string> ids;
  };

  [[nodiscard]] static std::size_t route(std::string_view topic) {
    return is_market_data(topic) ? 0 : 1;
  }

  void mark_degraded(Link& link) {
    core::UnixNanos zero = 0;
    link.degraded_since.compare_exchange_strong(zero, bus.clock().now());
  }

  // ---- out ----------------------------------------------------------------------------

  // Runs on the path's writer thread (it polls the path's outbox).
  void on_local(Path path, const bus::Envelope& env) {
    if (env.remote) return;  // came from Redis: never re-export
    std::string bytes;
    if (!bus::codec::encode(env, bytes)) {
      unencodable.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const std::size_t primary = route(env.topic.value());
    if (links.size() > 2) enqueue(*links[primary + 2], path, env.priority, bytes);  // migration
    enqueue(*links[primary], path, env.priority, std::move(bytes));
  }

  void enqueue(Link& link, Path path, bus::Priority priority, std::string bytes) {
    LinkWriter& w = *link.writers[path];
    if (w.pending_count() == 0) w.oldest_pending = SteadyClock::now();
    w.pending_bytes += bytes.size();
    w.pending[bus::index(priority)].push_back(std::move(bytes));
    if (path == kUrgentPath) w.flush_now = true;
    out[path].accepted.fetch_add(1, std::memory_order_relaxed);
    enforce_bound(link, path);
    publish_backlog(w);
  }

  // Over the byte bound: drop the oldest of the lowest priority first, counting every drop.
  void enforce_bound(Link& link, Path path) {
    LinkWriter& w = *link.writers[path];
    while (w.pending_bytes > options.failover_buffer_bytes) {
      auto it = std::find_if(w.pending.begin(), w.pending.end(),
                             [](const auto& q) { return !q.empty(); });
      if (it == w.pending.end()) return;
      const auto prio = static_cast<std::size_t>(it - w.pending.begin());
      w.pending_bytes -= it->front().size();
      it->pop_front();
      link.overflow_dropped[prio].fetch_add(1, std::memory_order_relaxed);
      out[path].settled.fetch_add(1, std::memory_order_relaxed);
      if (bus::is_critical(static_cast<bus::Priority>(prio))) {
        // Never silent: counted above and said here.
        fmt::print(stderr, "redis transport: {} buffer full, dropped a {} message\n", link.name,
                   bus::to_string(static_cast<bus::Priority>(prio)));
      }
    }
  }

  static void publish_backlog(LinkWriter& w) {
    w.backlog_messages.store(w.pending_count() + w.in_flight.messages.size(),
                             std::memory_order_relaxed);
    w.backlog_bytes.store(w.pending_bytes, std::memory_order_relaxed);
  }

  bool connect_writer(Link& link, LinkWriter& w) {
    if (w.client && w.client->healthy()) return true;
    w.client.reset();
    w.connected.store(false);
    if (!w.backoff.due()) return false;
    auto c = RedisClient::connect(link.endpoint, options.connect_timeout);
    if (!c) {
      w.backoff.failed();
      mark_degraded(link);
      return false;
    }
    (void)w.client.emplace(std::move(*c));
    w.backoff.succeeded();
    w.connected.store(true);
    link.reconnects.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // Sends one round: up to buffer_size pending messages, highest priority first, packed into
  // entries of up to pack_max messages / kMaxEntryBytes (a lone message is a "d" entry). The
  // writer encodes what arrives meanwhile and takes the replies with finish_round. Returns
  // false when nothing was sent (nothing pending, no connection, or the write failed).
  bool send_round(Link& link, Path path) {
    LinkWriter& w = *link.writers[path];
    w.flush_now = false;
    auto it = std::find_if(w.pending.rbegin(), w.pending.rend(),
                           [](const auto& q) { return !q.empty(); });
    if (it == w.pending.rend()) return false;
    if (!connect_writer(link, w)) return false;
    auto& q = *it;
    auto& f = w.in_flight;
    f.priority = static_cast<std::size_t>(std::distance(w.pending.begin(), it.base()) - 1);
    const std::size_t round =
        std::min(q.size(), std::max<std::size_t>(options.config.buffer_size, 1));
    f.messages.clear();
    f.messages.reserve(round);  // views into it must not move
    std::move(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(round),
              std::back_inserter(f.messages));
    q.erase(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(round));
    const auto& m = f.messages;
    const std::size_t pack_max = std::max<std::size_t>(options.config.pack_max, 1);
    std::vector<std::string> packed;
    packed.reserve(round);  // views into it must not move
    std::vector<EntryData> entries;
    std::size_t i = 0;
    f.bytes = 0;
    while (i < round) {
      std::size_t j = i, entry_bytes = 0;
      while (j < round && j - i < pack_max &&
             (j == i || entry_bytes + m[j].size() <= kMaxEntryBytes)) {
        entry_bytes += m[j].size();
        ++j;
      }
      if (j - i == 1) {
        entries.push_back({kDataField, m[i]});
      } else {
        std::string& b = packed.emplace_back();
        b.reserve(entry_bytes + 5);
        bus::codec::encode_batch_header(j - i, b);
        for (std::size_t k = i; k < j; ++k) b.append(m[k]);
        entries.push_back({kBatchField, b});
      }
      f.bytes += entry_bytes;
      i = j;
    }
    f.entries = entries.size();
    f.active = true;
    if (!StreamWriter(*w.client, link.stream_of(path), trim()).send_append(entries, instance)) {
      fail_round(link, w);
      return false;
    }
    return true;
  }

  // Takes the replies of the round in flight. On failure everything stays pending and is
  // resent after a reconnect; consumers de-duplicate whatever the broken pipeline had
  // already written.
  bool finish_round(Link& link, Path path) {
    LinkWriter& w = *link.writers[path];
    auto& f = w.in_flight;
    if (!f.active) return false;
    if (!StreamWriter(*w.client, link.stream_of(path), trim()).receive_append(f.entries)) {
      fail_round(link, w);
      return false;
    }
    const std::size_t n = f.messages.size();
    f.messages.clear();
    f.active = false;
    w.pending_bytes -= f.bytes;
    link.exported.fetch_add(n, std::memory_order_relaxed);
    out[path].settled.fetch_add(n, std::memory_order_relaxed);
    publish_backlog(w);
    link.degraded_since.store(0);
    return true;
  }

  // The round goes back to the front of its queue, in order, and the connection is dropped.
  void fail_round(Link& link, LinkWriter& w) {
    auto& f = w.in_flight;
    auto& q = w.pending[f.priority];
    q.insert(q.begin(), std::make_move_iterator(f.messages.begin()),
             std::make_move_iterator(f.messages.end()));
    f.messages.clear();
    f.active = false;
    w.client.reset();
    w.connected.store(false);
    w.backoff.failed();
    mark_degraded(link);
  }

  // One whole round trip (the one in flight first, if any).
  bool write_round(Link& link, Path path) {
    (void)finish_round(link, path);
    return send_round(link, path) && finish_round(link, path);
  }

  [[nodiscard]] Trim trim() const {
    return options.config.retention == config::Retention::kMaxLen
               ? Trim{.maxlen = options.config.retention_maxlen}
               : Trim{.min_age = options.config.retention_minid_age};
  }

  void writer_loop(Path path, const std::stop_token& stop) {
    const auto interval = options.config.buffer_interval;
    const std::size_t chunk = 256;
    auto& outbox = *out[path].outbox;
    while (!stop.stop_requested()) {
      const std::size_t got = outbox.poll(chunk);
      const bool idle = got < chunk;  // nothing more queued: batching must not add latency
      const auto now = SteadyClock::now();
      bool waiting = false;  // a round is in flight
      for (auto& l : links) {
        LinkWriter& w = *l->writers[path];
        // Connect eagerly: status then tells the truth while idle, and the first message does
        // not pay for the connection.
        if (!w.client) (void)connect_writer(*l, w);
        const bool due = w.flush_now || idle || w.pending_count() >= options.config.buffer_size ||
                         (w.pending_count() > 0 && now - w.oldest_pending >= interval);
        // While Redis appends one round, the next is polled and encoded; its replies are taken
        // only when another round is due (at once when the outbox is empty: no added latency).
        if (w.in_flight.active && due) (void)finish_round(*l, path);
        if (!w.in_flight.active && due) (void)send_round(*l, path);
        waiting = waiting || w.in_flight.active;
      }
      if (got == 0 && !waiting) {
        std::chrono::nanoseconds wait = interval.count() > 0 ? std::chrono::nanoseconds(interval)
                                                             : std::chrono::milliseconds(1);
        for (auto& l : links) {
          const LinkWriter& w = *l->writers[path];
          if (w.pending_count() > 0) {
            wait = std::min<std::chrono::nanoseconds>(
                wait, std::max<SteadyClock::duration>(w.backoff.next() - now, {}));
          }
        }
        (void)outbox.wait(std::max<std::chrono::nanoseconds>(wait, std::chrono::microseconds(100)),
                          stop);
      }
    }
    // Drain: take what is queued and try to write it for up to two seconds (a Redis that is
    // down must not hold up shutdown; what is left is counted in the backlog).
    while (outbox.poll(SIZE_MAX) > 0) {
    }
    const auto deadline = SteadyClock::now() + std::chrono::seconds(2);
    while (SteadyClock::now() < deadline) {
      bool left = false;
      for (auto& l : links) {
        (void)write_round(*l, path);
        left = left || l->writers[path]->pending_count() > 0 || l->writers[path]->in_flight.active;
      }
      if (!left) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  // ---- in ------------------------------------------------------------------------------

  void reader_loop(Link& link, Path path, const std::stop_token& stop) {
    auto publisher = bus.publisher(
        fmt::format("redis.{}.{}", link.name, path == kUrgentPath ? "urgent" : "normal"));
    if (!publisher) return;
    TopicCache topics;
    auto completions = std::make_shared<Completions>();
    Backoff backoff(options.reconnect_min, options.reconnect_max);
    std::optional<RedisClient> client;
    std::optional<GroupReader> reader;
    std::uint64_t reported_failed = 0, reported_recreated = 0, reported_acks = 0;
    std::vector<std::string> to_ack;     // handled: acknowledged with the next read
    std::vector<std::string> acks_sent;  // sent with the read in flight
    std::vector<DeadLetter> dead;        // written when no read is in flight
    bool in_flight = false;              // a read has been sent, its reply not yet taken
    bool first_connect = true;
    auto last_claim = SteadyClock::now();
    // Urgent entries are few and must not wait: read them as they come. Normal entries may
    // carry hundreds of messages or one (writers choose, MESSAGEBUS_PACK_MAX): each read asks
    // for about read_bytes, in entries of the size seen last.
    std::size_t count = path == kUrgentPath ? 64 : options.read_count;
    auto drop = [&] {  // the reader refers to the client: release it first
      reader.reset();
      client.reset();
      in_flight = false;
      link.reader_connected[path].store(false);
    };
    auto report = [&] {
      link.failed_reads.fetch_add(reader->failed_reads() - reported_failed);
      link.failed_acks.fetch_add(reader->failed_acks() - reported_acks);
      link.group_recreations.fetch_add(reader->group_recreations() - reported_recreated);
      reported_failed = reader->failed_reads();
      reported_acks = reader->failed_acks();
      reported_recreated = reader->group_recreations();
    };
    auto restore_acks = [&] {  // their round trip failed: send them again later
      to_ack.insert(to_ack.end(), std::make_move_iterator(acks_sent.begin()),
                    std::make_move_iterator(acks_sent.end()));
      acks_sent.clear();
    };
    auto take_completions = [&] {
      std::lock_guard lock(completions->mu);
      to_ack.insert(to_ack.end(), std::make_move_iterator(completions->ids.begin()),
                    std::make_move_iterator(completions->ids.end()));
      completions->ids.clear();
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
        (void)client.emplace(std::move(*c));
        (void)client->set_timeout(options.read_block + options.connect_timeout);
        (void)reader.emplace(*client, link.stream_of(path), options.group, options.consumer);
        // First connect: new entries only. A reconnect: "0", because if the server came back
        // empty everything in it was written since and is unread; if it kept its data the
        // group exists (BUSYGROUP) and keeps its position.
        if (auto ok = reader->ensure_group(first_connect ? "$" : "0"); !ok) {
          drop();
          backoff.failed();
          continue;
        }
        reported_failed = reported_recreated = reported_acks = 0;
        first_connect = false;
        backoff.succeeded();
        link.reader_connected[path].store(true);
      }
      // Ids whose handlers have run are acknowledged in the same round trip as a read. If it
      // fails they stay pending in the group and are claimed again later (at least once;
      // consumers de-duplicate); after a reconnect they are sent again, which is harmless.
      if (!in_flight) {
        write_dead_letters(*client, link, dead);  // before the XACKs of their entries
        if (!send_read(*reader, count, to_ack, acks_sent)) {
          report();
          restore_acks();
          drop();
          backoff.failed();
          mark_degraded(link);
          continue;
        }
        in_flight = true;
      }
      auto batch = reader->receive_read();
      in_flight = false;
      report();
      if (!batch) {
        restore_acks();
        drop();
        backoff.failed();
        mark_degraded(link);
        continue;
      }
      acks_sent.clear();
      // Nothing is in flight now: the synchronous commands go here.
      write_dead_letters(*client, link, dead);
      std::vector<StreamEntry> claimed;
      if (SteadyClock::now() - last_claim >= options.claim_interval) {
        last_claim = SteadyClock::now();
        if (auto c = reader->claim(options.claim_idle, count)) {
          link.claimed.fetch_add(c->size(), std::memory_order_relaxed);
          claimed = std::move(*c);
        }
        if (path == kNormalPath) refresh_group_info(*client, link);
      }
      if (path == kNormalPath && !batch->empty()) {
        std::size_t bytes = 0;
        for (const auto& e : *batch) bytes += e.data.size();
        const std::size_t per_entry = std::max<std::size_t>(1, bytes / batch->size());
        count = std::clamp(options.read_bytes / per_entry, options.read_count, kMaxReadCount);
      }
      // The next read goes out before this batch is handled: Redis prepares it meanwhile.
      bool broken = false;
      if (!stop.stop_requested()) {
        broken = !send_read(*reader, count, to_ack, acks_sent);
        in_flight = !broken;
      }
      std::vector<std::string> acks;
      Delivered delivered;
      handle(link, *publisher, topics, *batch, acks, delivered, dead);
      handle(link, *publisher, topics, claimed, acks, delivered, dead);
      if (!acks.empty()) acknowledge_after_handlers(std::move(acks), delivered, completions);
      take_completions();
      if (broken) {
        report();
        restore_acks();
        drop();
        backoff.failed();
        mark_degraded(link);
      }
    }
    // Stopping: take the read in flight, then acknowledge what was handled (entries whose
    // handlers are still queued stay pending and go to another consumer).
    if (in_flight && reader && client && client->healthy()) {
      if (auto batch = reader->receive_read()) {
        std::vector<std::string> acks;
        Delivered delivered;
        handle(link, *publisher, topics, *batch, acks, delivered, dead);
        if (!acks.empty()) acknowledge_after_handlers(std::move(acks), delivered, completions);
      }
    }
    take_completions();
    if (reader && client && client->healthy()) {
      write_dead_letters(*client, link, dead);
      if (!to_ack.empty()) (void)reader->ack(to_ack);
    }
  }

  // Sends the next read with the acknowledgements due; those move to `sent` until the read's
  // reply shows the round trip went through.
  bool send_read(GroupReader& reader, std::size_t count, std::vector<std::string>& to_ack,
                 std::vector<std::string>& sent) const {
    const bool ok = reader.send_read(count, options.read_block, to_ack).has_value();
    sent.insert(sent.end(), std::make_move_iterator(to_ack.begin()),
                std::make_move_iterator(to_ack.end()));
    to_ack.clear();
    return ok;
  }

  // XACK only after the handlers ran (SPEC §3): inline handlers already have, by the time
  // forward() returns; for engines' mailboxes, a barrier goes in behind the batch (at its
  // lowest priority, so every higher lane is drained first) and the ids become ready when the
  // last mailbox reaches it.
  void acknowledge_after_handlers(std::vector<std::string> ids, const Delivered& d,
                                  const std::shared_ptr<Completions>& done_queue) {
    std::vector<std::shared_ptr<bus::Mailbox>> engines;
    if (d.any) {
      for (auto& mb : bus.mailboxes()) {
        if (mb != out[kNormalPath].outbox && mb != out[kUrgentPath].outbox) engines.push_back(mb);
      }
    }
    if (engines.empty()) {
      std::lock_guard lock(done_queue->mu);
      done_queue->ids.insert(done_queue->ids.end(), ids.begin(), ids.end());
      return;
    }
    struct Pending {
      std::atomic<std::size_t> left;
      std::vector<std::string> ids;
    };
    auto pending = std::make_shared<Pending>();
    pending->left.store(engines.size());
    pending->ids = std::move(ids);
    // Holds the queue: a barrier may fire after the reader thread has ended.
    auto reached = [pending, q = done_queue] {
      if (pending->left.fetch_sub(1) != 1) return;
      std::lock_guard lock(q->mu);
      q->ids.insert(q->ids.end(), pending->ids.begin(), pending->ids.end());
    };
    for (auto& mb : engines) {
      // A lane full for 100 ms: acknowledge rather than hold the batch forever.
      if (!mb->post_barrier(d.lowest, reached)) reached();
    }
  }

  // XINFO GROUPS <stream>: this group's pending count and lag (Redis 7).
  void refresh_group_info(RedisClient& client, Link& link) {
    auto r = client.command({"XINFO", "GROUPS", link.stream});
    if (!r || r->type != RedisReply::Type::kArray) return;
    for (const auto& g : r->elements) {
      std::string name;
      long long pending = 0, lag = 0;
      for (std::size_t i = 0; i + 1 < g.elements.size(); i += 2) {
        const auto& k = g.elements[i].str;
        const auto& v = g.elements[i + 1];
        if (k == "name") name = v.str;
        if (k == "pending") pending = v.integer;
        if (k == "lag") lag = v.integer;
      }
      if (name == options.group) {
        link.group_pending.store(static_cast<std::uint64_t>(pending), std::memory_order_relaxed);
        link.group_lag.store(static_cast<std::uint64_t>(lag), std::memory_order_relaxed);
      }
    }
  }

  // Delivers a batch of entries (read or claimed) and collects their ids to acknowledge.
  void handle(Link& link, bus::Publisher& publisher, TopicCache& topics,
              std::vector<StreamEntry>& entries, std::vector<std::string>& acks, Delivered& d,
              std::vector<DeadLetter>& dead) {
    std::vector<bus::Envelope> envs;
    for (auto& entry : entries) {
      acks.push_back(entry.id);
      if (entry.origin == instance) {
        link.skipped_own.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (entry.deliveries > options.max_deliveries) {
        dead_letter(dead, entry,
                    fmt::format("delivered {} times without acknowledgement", entry.deliveries));
        continue;
      }
      if (entry.malformed) {
        dead_letter(dead, entry, "entry has neither field d nor b");
        continue;
      }
      envs.clear();
      if (!entry.batch) {
        auto env = bus::codec::decode(entry.data);
        if (!env) {
          dead_letter(dead, entry, env.error().message);
          continue;
        }
        envs.push_back(std::move(*env));
      } else {
        auto decoded = bus::codec::decode_batch(entry.data);
        if (!decoded) {
          dead_letter(dead, entry, decoded.error().message);
          continue;
        }
        envs.reserve(decoded->size());
        for (auto& env : *decoded) {
          if (env) {
            envs.push_back(std::move(*env));
          } else {
            dead_letter(dead, entry, env.error().message);
          }
        }
      }
      deliver(link, publisher, topics, entry.origin, envs, d);
    }
  }

  // Decoded messages of one entry: those already seen are dropped, the rest delivered to
  // local subscribers.
  void deliver(Link& link, bus::Publisher& publisher, TopicCache& topics, std::string_view origin,
               std::vector<bus::Envelope>& envs, Delivered& d) {
    {
      std::lock_guard lock(dedup_mu);  // once per entry: readers of other links share it
      for (auto& env : envs) {
        if (!dedup->insert(origin, env)) {
          env.payload = {};  // marks it as a duplicate
          link.duplicates.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
    for (auto& env : envs) {
      if (env.payload.empty()) continue;
      auto it = topics.find(env.topic.data());
      if (it == topics.end()) {
        auto h = bus.topic(env.topic.value());
        if (!h) continue;  // decode validated the topic
        it = topics.emplace(env.topic.data(), *h).first;
      }
      env.remote = true;
      (void)publisher.forward(it->second, env);
      d.any = true;
      d.lowest = std::min(d.lowest, env.priority);
      link.imported.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // Entries that cannot be delivered: kept with the reason, written to the dead-letter stream
  // before their acknowledgement goes out (write_dead_letters).
  static void dead_letter(std::vector<DeadLetter>& dead, const StreamEntry& e, std::string why) {
    dead.push_back({e.data, std::move(why), e.stream, e.id});
  }

  static void write_dead_letters(RedisClient& c, Link& link, std::vector<DeadLetter>& dead) {
    for (const auto& d : dead) {
      (void)c.command({"XADD", link.dead_stream, "MAXLEN", "~", "100000", "*", "d", d.data,
                       "reason", d.reason, "stream", d.stream, "id", d.id});
      link.dead_lettered.fetch_add(1, std::memory_order_relaxed);
    }
    dead.clear();
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
  (void)i.dedup.emplace(i.options.dedup_window);
  if (i.options.failover_buffer_bytes == 0) {
    i.options.failover_buffer_bytes = i.options.config.failover_buffer_bytes;
  }
  i.links.push_back(
      std::make_unique<Link>("marketdata", cfg.marketdata, cfg.marketdata_stream, i.options));
  i.links.push_back(std::make_unique<Link>("logic", cfg.logic, cfg.logic_stream, i.options));
  if (cfg.legacy) {
    i.links.push_back(
        std::make_unique<Link>("legacy.marketdata", *cfg.legacy, cfg.marketdata_stream, i.options));
    i.links.push_back(
        std::make_unique<Link>("legacy.logic", *cfg.legacy, cfg.logic_stream, i.options));
  }
  for (Path path : {kNormalPath, kUrgentPath}) {
    Outbound& o = i.out[path];
    // Lanes sized to what each path carries (about 19 MB and 2 MB of slots). The writer drains
    // the outbox within microseconds into its byte-bounded buffer, so the outbox only absorbs
    // bursts; a burst beyond it makes the publisher wait (kBlock) rather than lose messages,
    // up to 50 ms, which covers a writer descheduled on a loaded machine (TSan caught drops
    // with 16k slots and 5 ms).
    o.outbox = bus.create_mailbox(
        {.name = path == kUrgentPath ? "redis.out.urgent" : "redis.out",
         .lane_capacity =
             path == kUrgentPath
                 ? std::array<std::size_t, bus::kPriorityCount>{2, 2, 2, 4096, 4096}
                 : std::array<std::size_t, bus::kPriorityCount>{4096, 65536, 4096, 2, 2},
         // The writer's work comes in round trips of tens of microseconds: spinning for more
         // only takes the core from the threads it waits on (the publisher, redis-server).
         .spin_before_park = std::chrono::microseconds(2)});
    auto sub = bus.subscribe(
        "*", [&i, path](const bus::Envelope& e) { i.on_local(path, e); },
        {.mailbox = o.outbox,
         .policy = bus::OverflowPolicy::kBlock,
         .block_bound = std::chrono::milliseconds(50),
         .owner = "redis-transport",
         .min_priority = path == kUrgentPath ? bus::Priority::kUrgent : bus::Priority::kLow,
         .max_priority = path == kUrgentPath ? bus::Priority::kFlashCrash : bus::Priority::kHigh,
         .local_only = true});
    if (!sub) return std::unexpected(sub.error());
    o.subscription = *sub;
    o.thread = std::jthread([&i, path](const std::stop_token& st) { i.writer_loop(path, st); });
  }
  for (auto& l : i.links) {
    Link* link = l.get();
    for (Path path : {kNormalPath, kUrgentPath}) {
      link->readers[path] = std::jthread(
          [&i, link, path](const std::stop_token& st) { i.reader_loop(*link, path, st); });
    }
  }
  return std::unique_ptr<RedisTransport>(new RedisTransport(std::move(impl)));
}

RedisTransport::~RedisTransport() {
  for (auto& o : impl_->out) {
    (void)impl_->bus.unsubscribe(o.subscription);
    o.thread.request_stop();  // the writer sees it within one wait (<= buffer interval)
  }
  for (auto& o : impl_->out) {
    if (o.thread.joinable()) o.thread.join();
    // Nobody polls it any more: engines' acknowledgement barriers must not wait on it (a
    // transport started again on this bus would stall 100 ms a batch on the old outboxes).
    impl_->bus.retire_mailbox(o.outbox);
  }
  for (auto& l : impl_->links) {
    for (auto& r : l->readers) r.request_stop();
    for (auto& r : l->readers) {
      if (r.joinable()) r.join();
    }
  }
}

bool RedisTransport::flush(std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    bool done = true;
    for (const auto& o : impl_->out) {
      done =
          done && o.outbox->depth() == 0 &&
          o.settled.load(std::memory_order_relaxed) == o.accepted.load(std::memory_order_relaxed);
    }
    if (done) return true;
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
    ls.writer_connected = l->writers[kNormalPath]->connected.load();
    ls.reader_connected =
        l->reader_connected[kNormalPath].load() && l->reader_connected[kUrgentPath].load();
    ls.degraded_since = l->degraded_since.load();
    for (const auto& w : l->writers) {
      ls.backlog_messages += w->backlog_messages.load();
      ls.backlog_bytes += w->backlog_bytes.load();
    }
    ls.exported = l->exported.load();
    ls.imported = l->imported.load();
    ls.duplicates = l->duplicates.load();
    ls.skipped_own = l->skipped_own.load();
    ls.dead_lettered = l->dead_lettered.load();
    ls.reconnects = l->reconnects.load();
    ls.failed_reads = l->failed_reads.load();
    ls.failed_acks = l->failed_acks.load();
    ls.group_recreations = l->group_recreations.load();
    ls.claimed = l->claimed.load();
    ls.group_pending = l->group_pending.load();
    ls.group_lag = l->group_lag.load();
    for (std::size_t p = 0; p < bus::kPriorityCount; ++p) {
      ls.overflow_dropped[p] = l->overflow_dropped[p].load();
    }
    s.links.push_back(std::move(ls));
  }
  return s;
}

}  // namespace nautilus::bus_redis
// NOLINTEND(bugprone-unchecked-optional-access)
