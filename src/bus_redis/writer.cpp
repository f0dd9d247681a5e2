// PathWriter (writer.hpp): the outbound half of the transport, from the path's outbox to XADD.
#include "writer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <string_view>
#include <utility>

#include "nautilus/bus/codec.hpp"

// A link writer's client is engaged on every path that dereferences it: by the connect step
// just before. clang-tidy's optional-access check does not follow that invariant.
// NOLINTBEGIN(bugprone-unchecked-optional-access)
namespace nautilus::bus_redis::detail {

// How long a WAIT may block when it asks again about a round no replica confirmed in time.
constexpr std::chrono::milliseconds kReask{10};
namespace {

using SteadyClock = std::chrono::steady_clock;

// Packing several messages into one stream entry (up to BusConfig::pack_max) divides Redis's
// per-entry work among them.
constexpr std::size_t kMaxEntryBytes = std::size_t{256} * 1024;

// Packs `messages` into entries of up to `pack_max` messages and kMaxEntryBytes (a lone
// message is a "d" entry, the rest "b" entries whose bytes go into `packed`). The entries are
// views into `messages` and `packed`, so neither may grow while they are in use. Returns the
// bytes of the messages packed.
std::size_t pack(const std::vector<std::string>& messages, std::size_t pack_max,
                 std::vector<std::string>& packed, std::vector<EntryData>& entries) {
  const auto& m = messages;
  const std::size_t round = m.size();
  std::size_t i = 0, bytes = 0;
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
    bytes += entry_bytes;
    i = j;
  }
  return bytes;
}

}  // namespace

std::size_t PathWriter::LinkWriter::pending_count() const {
  std::size_t n = 0;
  for (const auto& q : pending) n += q.size();
  return n;
}

PathWriter::PathWriter(bus::MessageBus& bus, const TransportOptions& options,
                       const std::string& instance, const std::vector<std::unique_ptr<Link>>& links,
                       const Routes& routes, Path path)
    : bus_(bus), options_(options), instance_(instance), routes_(routes), path_(path) {
  links_.reserve(links.size());
  for (const auto& l : links) links_.emplace_back(*l, options_);
}

core::Result<void> PathWriter::start() {
  const bool urgent = path_ == kUrgentPath;
  // Lanes sized to what each path carries (about 19 MB and 2 MB of slots). The writer drains
  // the outbox within microseconds into its byte-bounded buffer, so the outbox only absorbs
  // bursts; a burst beyond it makes the publisher wait (kBlock) rather than lose messages,
  // up to 50 ms, which covers a writer descheduled on a loaded machine (TSan caught drops
  // with 16k slots and 5 ms).
  outbox_ = bus_.create_mailbox(
      {.name = urgent ? "redis.out.urgent" : "redis.out",
       .lane_capacity = urgent
                            ? std::array<std::size_t, bus::kPriorityCount>{2, 2, 2, 4096, 4096}
                            : std::array<std::size_t, bus::kPriorityCount>{4096, 65536, 4096, 2, 2},
       // The writer's work comes in round trips of tens of microseconds: spinning for more
       // only takes the core from the threads it waits on (the publisher, redis-server).
       .spin_before_park = std::chrono::microseconds(2)});
  const bus::SubscribeOptions options{
      .mailbox = outbox_,
      .policy = bus::OverflowPolicy::kBlock,
      .block_bound = std::chrono::milliseconds(50),
      .owner = "redis-transport",
      .min_priority = urgent ? bus::Priority::kUrgent : bus::Priority::kLow,
      .max_priority = urgent ? bus::Priority::kFlashCrash : bus::Priority::kHigh,
      .local_only = true};
  auto sub = bus_.subscribe("*", [this](const bus::Envelope& e) { on_local(e); }, options);
  if (!sub) return std::unexpected(sub.error());
  subscription_ = *sub;
  // Requests to endpoints served elsewhere, and replies to requests made elsewhere.
  auto ep =
      bus_.forward_unserved_endpoints([this](const bus::Envelope& e) { on_local(e); }, options);
  if (!ep) return std::unexpected(ep.error());
  endpoint_subscription_ = *ep;
  thread_ = std::jthread([this](const std::stop_token& st) { run(st); });
  return {};
}

void PathWriter::request_stop() {
  (void)bus_.unsubscribe(subscription_);
  (void)bus_.unsubscribe(endpoint_subscription_);
  thread_.request_stop();  // the writer sees it within one wait (<= buffer interval)
}

void PathWriter::join() {
  if (thread_.joinable()) thread_.join();
  // Nobody polls it any more: engines' acknowledgement barriers must not wait on it (a
  // transport started again on this bus would stall 100 ms a batch on the old outboxes).
  bus_.retire_mailbox(outbox_);
}

bool PathWriter::settled() const {
  return outbox_->depth() == 0 &&
         settled_.load(std::memory_order_relaxed) == accepted_.load(std::memory_order_relaxed);
}

// Runs on the writer thread (it polls the outbox).
void PathWriter::on_local(const bus::Envelope& env) {
  if (env.remote) return;  // came from Redis: never re-export
  std::string bytes;
  if (!bus::codec::encode(env, bytes)) {
    unencodable_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const auto topic = env.topic.value();
  if (auto legacy = routes_.legacy_of(topic)) enqueue(links_[*legacy], env.priority, bytes);
  enqueue(links_[routes_.link_of(topic, path_)], env.priority, std::move(bytes));
}

void PathWriter::enqueue(LinkWriter& w, bus::Priority priority, std::string bytes) {
  if (w.pending_count() == 0) w.oldest_pending = SteadyClock::now();
  w.pending_bytes += bytes.size();
  w.pending[bus::index(priority)].push_back(std::move(bytes));
  if (path_ == kUrgentPath) w.flush_now = true;
  accepted_.fetch_add(1, std::memory_order_relaxed);
  enforce_bound(w);
  publish_backlog(w);
}

// Over the byte bound: drop the oldest of the lowest priority first, counting every drop.
void PathWriter::enforce_bound(LinkWriter& w) {
  while (w.pending_bytes > options_.failover_buffer_bytes) {
    auto it =
        std::find_if(w.pending.begin(), w.pending.end(), [](const auto& q) { return !q.empty(); });
    if (it == w.pending.end()) return;
    const auto prio = static_cast<std::size_t>(it - w.pending.begin());
    w.pending_bytes -= it->front().size();
    it->pop_front();
    w.link.overflow_dropped[prio].fetch_add(1, std::memory_order_relaxed);
    settled_.fetch_add(1, std::memory_order_relaxed);
    if (bus::is_critical(static_cast<bus::Priority>(prio))) {
      // Never silent: counted above and said here.
      fmt::print(stderr, "redis transport: {} buffer full, dropped a {} message\n", w.link.name,
                 bus::to_string(static_cast<bus::Priority>(prio)));
    }
  }
}

void PathWriter::publish_backlog(LinkWriter& w) const {
  w.link.backlog_messages[path_].store(w.pending_count() + w.in_flight.messages.size(),
                                       std::memory_order_relaxed);
  w.link.backlog_bytes[path_].store(w.pending_bytes, std::memory_order_relaxed);
}

// A cluster bus's shards on one master share one connection; any other link has its own.
PathWriter::Connection& PathWriter::connection_for(const LinkWriter& w,
                                                   const config::RedisEndpoint& target) {
  const std::string key =
      w.link.router ? fmt::format("{}/{}:{}", static_cast<const void*>(w.link.router.get()),
                                  target.host, target.port)
                    : w.link.name;
  for (auto& c : connections_) {
    if (c->key == key) return *c;
  }
  auto& c = *connections_.emplace_back(std::make_unique<Connection>());
  c.key = key;
  c.replicated = w.link.endpoint.durability == config::Durability::kReplicated;
  return c;
}

bool PathWriter::connect(LinkWriter& w) {
  if (w.conn != nullptr) {
    if (w.conn->client && w.conn->client->healthy()) return true;
    fail_connection(*w.conn);  // every round on it goes back to its queue
  }
  if (!w.backoff.due()) return false;
  const auto failed = [&] {
    w.stale = true;
    w.backoff.failed();
    w.link.mark_degraded(bus_.clock());
    return false;
  };
  const auto target = w.link.target(w.stale);
  if (!target) return failed();
  Connection& c = connection_for(w, *target);
  if (c.client && !c.client->healthy()) fail_connection(c);
  if (!c.client) {
    auto made = RedisClient::connect(*target, options_.connect_timeout);
    if (!made) return failed();
    (void)c.client.emplace(std::move(*made));
    if (c.replicated) {
      // A WAIT blocks up to the replication timeout: the socket must wait longer than that.
      (void)c.client->set_timeout(options_.connect_timeout + options_.config.replication_timeout);
    }
    // Counted when a connection opens, not when a shard joins one already open.
    w.link.reconnects.fetch_add(1, std::memory_order_relaxed);
  }
  w.conn = &c;
  w.stale = false;
  w.backoff.succeeded();
  w.link.writer_connected[path_].store(true);
  close_unused();
  return true;
}

// A connection no shard writes through any more (its shards moved to another master) is
// closed: kept open, a later move back would reuse a socket the master may have dropped in
// the meantime and block the writer for its timeout, and each master ever seen would keep a
// descriptor. Only once it owes nothing; reopened by connect() when a shard comes back.
void PathWriter::close_unused() {
  for (auto& c : connections_) {
    if (!c->client || !c->owed.empty() || c->unflushed) continue;
    const bool used = std::any_of(links_.begin(), links_.end(),
                                  [&](const LinkWriter& w) { return w.conn == c.get(); });
    if (!used) c->client.reset();
  }
}

// Queues one round on the link's connection: up to buffer_size pending messages, highest
// priority first, packed into entries (pack). The run loop writes each connection's queued
// rounds out at once; the writer encodes what arrives meanwhile and takes the replies with
// finish_round. Returns false when nothing was queued (nothing pending, no connection).
bool PathWriter::send_round(LinkWriter& w) {
  w.flush_now = false;
  auto it =
      std::find_if(w.pending.rbegin(), w.pending.rend(), [](const auto& q) { return !q.empty(); });
  if (it == w.pending.rend()) return false;
  if (!connect(w)) return false;
  auto& q = *it;
  auto& f = w.in_flight;
  f.priority = static_cast<std::size_t>(std::distance(w.pending.begin(), it.base()) - 1);
  const std::size_t round =
      std::min(q.size(), std::max<std::size_t>(options_.config.buffer_size, 1));
  f.messages.clear();
  f.messages.reserve(round);  // views into it must not move
  std::move(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(round),
            std::back_inserter(f.messages));
  q.erase(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(round));
  std::vector<std::string> packed;
  packed.reserve(round);  // views into it must not move
  std::vector<EntryData> entries;
  f.bytes = pack(f.messages, std::max<std::size_t>(options_.config.pack_max, 1), packed, entries);
  f.entries = entries.size();
  f.active = true;
  f.covered_by = 0;
  f.awaiting_replica = false;
  Connection& c = *w.conn;
  // The XADDs are formatted (their bytes copied) now, so `packed` may go.
  if (!StreamWriter(*c.client, w.link.stream_of(path_), trim()).queue_append(entries, instance_)) {
    fail_connection(c);
    return false;
  }
  c.owed.push_back({.link = &w, .xadds = f.entries});
  c.unflushed = true;
  return true;
}

// Writes out what is queued on `c`. On a replicated bus a WAIT 1 goes last, covering every
// round on the connection not yet covered: it answers once a replica has everything the
// connection wrote, or with 0 when the timeout passes first.
bool PathWriter::flush(Connection& c) {
  if (!c.unflushed) return true;
  if (c.replicated) queue_wait(c, options_.config.replication_timeout);
  if (!c.unflushed) return false;  // queue_wait found the connection failed
  c.unflushed = false;
  if (!c.client->flush()) {
    fail_connection(c);
    return false;
  }
  return true;
}

void PathWriter::queue_wait(Connection& c, std::chrono::milliseconds timeout) {
  if (!c.client) return;
  const std::uint64_t id = ++waits_;
  bool any = false;
  for (auto& w : links_) {
    auto& f = w.in_flight;
    if (w.conn != &c || !f.active || f.covered_by != 0) continue;
    f.covered_by = id;
    f.awaiting_replica = false;
    any = true;
  }
  if (!any) return;
  const std::string ms = std::to_string(timeout.count());
  if (!c.client->queue_views({{"WAIT", "1", ms}})) {
    fail_connection(c);
    return;
  }
  c.owed.push_back({.wait = id});
  c.unflushed = true;
}

// Takes the replies owed on the link's connection, in order, until the link's round is
// acknowledged, refused, or left waiting for a replica (another link's rounds sent before it
// are settled on the way). False when the connection failed: then every round on it has gone
// back to its queue, to be resent after a reconnect; consumers de-duplicate whatever the
// broken pipeline had already written.
bool PathWriter::finish_round(LinkWriter& w) {
  auto& f = w.in_flight;
  if (!f.active || w.conn == nullptr) return false;
  if (f.awaiting_replica) {
    // No replica confirmed the round yet: ask again once due, and briefly (a replica that is
    // back and caught up answers at once). The messages are on the master; they are resent
    // only if the connection fails, and consumers de-duplicate those.
    if (SteadyClock::now() < f.replica_retry) return false;
    queue_wait(*w.conn, std::min(options_.config.replication_timeout, kReask));
    if (w.conn == nullptr) return false;
  }
  w.acknowledged = false;
  return settle(w) && w.acknowledged;
}

bool PathWriter::settle(LinkWriter& w) {
  Connection& c = *w.conn;
  if (!flush(c)) return false;
  const auto& f = w.in_flight;
  while (w.conn == &c && f.active && (f.entries > 0 || f.covered_by != 0) && !c.owed.empty()) {
    if (!take_owed(c)) return false;
  }
  return true;
}

// Takes the reply the front of `c`'s owed list stands for: a round's XADD ids, or a WAIT's
// count of replicas for the rounds it covers. False when the connection failed.
bool PathWriter::take_owed(Connection& c) {
  const Connection::Owed o = c.owed.front();
  c.owed.pop_front();
  RedisClient& client = *c.client;
  if (o.link != nullptr) {
    LinkWriter& w = *o.link;
    auto ids = StreamWriter(client, w.link.stream_of(path_), trim()).receive_append(o.xadds);
    if (!ids && !client.healthy()) {
      fail_connection(c);
      return false;
    }
    w.in_flight.entries = 0;
    if (!ids) {
      // Refused (MOVED after a reshard, CLUSTERDOWN, ...), every reply read: the connection
      // is in step and stays for the other links; this one reads the map again.
      fail_round(w);
    } else if (!c.replicated) {
      acknowledge(w);
    }
    return true;
  }
  auto replicas = client.receive();
  if (!replicas) {
    fail_connection(c);
    return false;
  }
  const bool confirmed = replicas->type == RedisReply::Type::kInteger && replicas->integer >= 1;
  for (auto& w : links_) {
    auto& f = w.in_flight;
    if (w.conn != &c || !f.active || f.covered_by != o.wait) continue;
    f.covered_by = 0;
    if (replicas->is_error()) {
      fail_round(w);  // e.g. the master is a replica now
    } else if (confirmed) {
      acknowledge(w);
    } else {
      // Still in flight: not acknowledged until a replica has it.
      w.link.replica_timeouts.fetch_add(1, std::memory_order_relaxed);
      f.awaiting_replica = true;
      f.replica_retry = SteadyClock::now() + options_.config.replication_timeout;
    }
  }
  return true;
}

// The round has left the resend buffer: Redis (and, replicated, a replica) holds it.
void PathWriter::acknowledge(LinkWriter& w) {
  auto& f = w.in_flight;
  const std::size_t n = f.messages.size();
  f.messages.clear();
  f.active = false;
  f.awaiting_replica = false;
  f.covered_by = 0;
  w.acknowledged = true;
  w.pending_bytes -= f.bytes;
  w.link.exported.fetch_add(n, std::memory_order_relaxed);
  settled_.fetch_add(n, std::memory_order_relaxed);
  publish_backlog(w);
  w.link.degraded_since.store(0);
}

// The round (if any) goes back to the front of its queue, in order, and the link leaves its
// connection; on a cluster it reads the map again, since the shard may have moved (MOVED) or
// failed over.
void PathWriter::fail_round(LinkWriter& w) {
  auto& f = w.in_flight;
  if (f.active) {
    auto& q = w.pending[f.priority];
    q.insert(q.begin(), std::make_move_iterator(f.messages.begin()),
             std::make_move_iterator(f.messages.end()));
  }
  f.messages.clear();
  f.active = false;
  f.entries = 0;
  f.covered_by = 0;
  f.awaiting_replica = false;
  w.acknowledged = false;
  w.conn = nullptr;
  w.stale = true;
  w.link.writer_connected[path_].store(false);
  w.backoff.failed();
  w.link.mark_degraded(bus_.clock());
}

// The connection is dropped, and with it every round on it, those awaiting a replica too: a
// WAIT on a new connection would not cover what the old one wrote.
void PathWriter::fail_connection(Connection& c) {
  c.client.reset();
  c.owed.clear();
  c.unflushed = false;
  for (auto& w : links_) {
    if (w.conn == &c) fail_round(w);
  }
}

// One whole round trip (the one in flight first, if any).
bool PathWriter::write_round(LinkWriter& w) {
  // A round still waiting for a replica stays the one in flight: no new round replaces it.
  if (!finish_round(w) && w.in_flight.active) return false;
  return send_round(w) && finish_round(w);
}

Trim PathWriter::trim() const {
  return options_.config.retention == config::Retention::kMaxLen
             ? Trim{.maxlen = options_.config.retention_maxlen}
             : Trim{.min_age = options_.config.retention_minid_age};
}

void PathWriter::run(const std::stop_token& stop) {
  const auto interval = options_.config.buffer_interval;
  const std::size_t chunk = 256;
  while (!stop.stop_requested()) {
    const std::size_t got = outbox_->poll(chunk);
    const bool idle = got < chunk;  // nothing more queued: batching must not add latency
    const auto now = SteadyClock::now();
    const auto due = [&](const LinkWriter& w) {
      return w.flush_now || idle || w.pending_count() >= options_.config.buffer_size ||
             (w.pending_count() > 0 && now - w.oldest_pending >= interval);
    };
    // While Redis appends one round, the next is polled and encoded; its replies are taken
    // only when another round is due (at once when the outbox is empty: no added latency).
    // Every due link's replies first, then every next round, then one write per connection:
    // the shards on one master go out together.
    for (auto& w : links_) {
      if (!w.link.has_path(path_)) continue;  // a shard with no urgent stream
      // Connect eagerly: status then tells the truth while idle, and the first message does
      // not pay for the connection.
      if (w.conn == nullptr) (void)connect(w);
      if (w.in_flight.active && due(w)) (void)finish_round(w);
    }
    bool waiting = false;  // a round is in flight
    for (auto& w : links_) {
      if (!w.link.has_path(path_)) continue;
      if (!w.in_flight.active && due(w)) (void)send_round(w);
      waiting = waiting || (w.in_flight.active && !w.in_flight.awaiting_replica);
    }
    for (auto& c : connections_) (void)flush(*c);
    if (got == 0 && !waiting) (void)outbox_->wait(idle_wait(now), stop);
  }
  drain();
}

// The buffer interval, or until the first reconnect with messages waiting is due; 100 µs at
// least.
std::chrono::nanoseconds PathWriter::idle_wait(SteadyClock::time_point now) const {
  const auto interval = options_.config.buffer_interval;
  std::chrono::nanoseconds wait =
      interval.count() > 0 ? std::chrono::nanoseconds(interval) : std::chrono::milliseconds(1);
  for (const auto& w : links_) {
    if (w.pending_count() > 0) {
      wait = std::min<std::chrono::nanoseconds>(
          wait, std::max<SteadyClock::duration>(w.backoff.next() - now, {}));
    }
    if (w.in_flight.awaiting_replica) {
      wait = std::min<std::chrono::nanoseconds>(
          wait, std::max<SteadyClock::duration>(w.in_flight.replica_retry - now, {}));
    }
  }
  return std::max<std::chrono::nanoseconds>(wait, std::chrono::microseconds(100));
}

// Stopping: take what is queued and try to write it for up to two seconds (a Redis that is
// down must not hold up shutdown; what is left is counted in the backlog).
void PathWriter::drain() {
  while (outbox_->poll(SIZE_MAX) > 0) {
  }
  const auto deadline = SteadyClock::now() + std::chrono::seconds(2);
  while (SteadyClock::now() < deadline) {
    bool left = false;
    for (auto& w : links_) {
      (void)write_round(w);
      left = left || w.pending_count() > 0 || w.in_flight.active;
    }
    if (!left) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace nautilus::bus_redis::detail
// NOLINTEND(bugprone-unchecked-optional-access)
