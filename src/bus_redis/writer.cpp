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

bool PathWriter::connect(LinkWriter& w) {
  if (w.client && w.client->healthy()) return true;
  w.client.reset();
  w.link.writer_connected[path_].store(false);
  if (!w.backoff.due()) return false;
  const auto target = w.link.target(w.stale);
  auto c = target ? RedisClient::connect(*target, options_.connect_timeout)
                  : core::Result<RedisClient>(core::fail(core::ErrorCode::kClosed, "no master"));
  if (!c) {
    w.stale = true;
    w.backoff.failed();
    w.link.mark_degraded(bus_.clock());
    return false;
  }
  w.stale = false;
  (void)w.client.emplace(std::move(*c));
  if (w.link.endpoint.durability == config::Durability::kReplicated) {
    // A WAIT blocks up to the replication timeout: the socket must wait longer than that.
    (void)w.client->set_timeout(options_.connect_timeout + options_.config.replication_timeout);
  }
  w.backoff.succeeded();
  w.link.writer_connected[path_].store(true);
  w.link.reconnects.fetch_add(1, std::memory_order_relaxed);
  return true;
}

// Sends one round: up to buffer_size pending messages, highest priority first, packed into
// entries (pack). The writer encodes what arrives meanwhile and takes the replies with
// finish_round. Returns false when nothing was sent (nothing pending, no connection, or the
// write failed).
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
  if (!StreamWriter(*w.client, w.link.stream_of(path_), trim()).send_append(entries, instance_)) {
    fail_round(w);
    return false;
  }
  f.wait_sent = false;
  f.awaiting_replica = false;
  if (w.link.endpoint.durability == config::Durability::kReplicated &&
      !send_wait(w, options_.config.replication_timeout)) {
    fail_round(w);
    return false;
  }
  return true;
}

// WAIT 1 <timeout> behind the round's XADDs: it answers once a replica has everything this
// connection wrote, or with 0 when the timeout passes first.
bool PathWriter::send_wait(LinkWriter& w, std::chrono::milliseconds timeout) const {
  if (!w.client->send({{"WAIT", "1", std::to_string(timeout.count())}})) return false;
  w.in_flight.wait_sent = true;
  return true;
}

// Takes the replies of the round in flight. On failure everything stays pending and is
// resent after a reconnect; consumers de-duplicate whatever the broken pipeline had
// already written.
bool PathWriter::finish_round(LinkWriter& w) {
  auto& f = w.in_flight;
  if (!f.active) return false;
  if (f.entries > 0) {
    if (!StreamWriter(*w.client, w.link.stream_of(path_), trim()).receive_append(f.entries)) {
      fail_round(w);
      return false;
    }
    f.entries = 0;  // appended: only the replica's confirmation may be left to take
  }
  if (w.link.endpoint.durability == config::Durability::kReplicated) {
    if (f.awaiting_replica) {
      // No replica confirmed the round yet: ask again once due, and briefly (a replica that
      // is back and caught up answers at once). The messages are on the master; they are
      // resent only if the connection fails, and consumers de-duplicate those.
      if (SteadyClock::now() < f.replica_retry) return false;
      if (!send_wait(w, std::min(options_.config.replication_timeout, kReask))) {
        fail_round(w);
        return false;
      }
    }
    f.wait_sent = false;
    auto replicas = w.client->receive();
    if (!replicas || replicas->is_error()) {
      fail_round(w);
      return false;
    }
    if (replicas->type != RedisReply::Type::kInteger || replicas->integer < 1) {
      w.link.replica_timeouts.fetch_add(1, std::memory_order_relaxed);
      f.awaiting_replica = true;
      f.replica_retry = SteadyClock::now() + options_.config.replication_timeout;
      return false;  // still in flight: not acknowledged until a replica has it
    }
    f.awaiting_replica = false;
  }
  const std::size_t n = f.messages.size();
  f.messages.clear();
  f.active = false;
  w.pending_bytes -= f.bytes;
  w.link.exported.fetch_add(n, std::memory_order_relaxed);
  settled_.fetch_add(n, std::memory_order_relaxed);
  publish_backlog(w);
  w.link.degraded_since.store(0);
  return true;
}

// The round goes back to the front of its queue, in order, and the connection is dropped.
void PathWriter::fail_round(LinkWriter& w) {
  auto& f = w.in_flight;
  auto& q = w.pending[f.priority];
  q.insert(q.begin(), std::make_move_iterator(f.messages.begin()),
           std::make_move_iterator(f.messages.end()));
  f.messages.clear();
  f.active = false;
  f.awaiting_replica = false;
  w.client.reset();
  w.stale = true;  // on a cluster: the shard may have moved (MOVED) or failed over
  w.link.writer_connected[path_].store(false);
  w.backoff.failed();
  w.link.mark_degraded(bus_.clock());
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
    bool waiting = false;  // a round is in flight
    for (auto& w : links_) {
      // Connect eagerly: status then tells the truth while idle, and the first message does
      // not pay for the connection.
      if (!w.link.has_path(path_)) continue;  // a shard with no urgent stream
      if (!w.client) (void)connect(w);
      const bool due = w.flush_now || idle || w.pending_count() >= options_.config.buffer_size ||
                       (w.pending_count() > 0 && now - w.oldest_pending >= interval);
      // While Redis appends one round, the next is polled and encoded; its replies are taken
      // only when another round is due (at once when the outbox is empty: no added latency).
      if (w.in_flight.active && due) (void)finish_round(w);
      if (!w.in_flight.active && due) (void)send_round(w);
      waiting = waiting || (w.in_flight.active && !w.in_flight.awaiting_replica);
    }
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
