// StreamReader (reader.hpp): the inbound half of the transport, from XREADGROUP to
// Publisher::forward and XACK.
#include "reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <thread>
#include <utility>

#include "nautilus/bus/codec.hpp"

// The reader's client and group reader are engaged on every path that dereferences them: by
// the connect step at the top of each pass. clang-tidy's optional-access check does not follow
// that loop invariant.
// NOLINTBEGIN(bugprone-unchecked-optional-access)
namespace nautilus::bus_redis::detail {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Entries per read at most (one-message entries).
constexpr std::size_t kMaxReadCount = 4096;

}  // namespace

StreamReader::StreamReader(const ReaderContext& ctx, Link& link, Path path)
    : ctx_(ctx),
      options_(ctx.options),
      link_(link),
      path_(path),
      backoff_(options_.reconnect_min, options_.reconnect_max),
      count_(path == kUrgentPath ? 64 : options_.read_count) {}

void StreamReader::run(const std::stop_token& stop) {
  auto publisher = ctx_.bus.publisher(
      fmt::format("redis.{}.{}", link_.name, path_ == kUrgentPath ? "urgent" : "normal"));
  if (!publisher) return;
  (void)publisher_.emplace(std::move(*publisher));
  last_claim_ = SteadyClock::now();
  while (!stop.stop_requested()) {
    if (!connected() && !connect()) continue;
    // Ids whose handlers have run are acknowledged in the same round trip as a read. If it
    // fails they stay pending in the group and are claimed again later (at least once;
    // consumers de-duplicate); after a reconnect they are sent again, which is harmless.
    if (!in_flight_) {
      write_dead_letters();  // before the XACKs of their entries
      if (!send_read()) {
        fail();
        continue;
      }
    }
    auto batch = receive_read();
    if (!batch) continue;
    // Nothing is in flight now: the synchronous commands go here.
    write_dead_letters();
    const std::vector<StreamEntry> claimed = claim_if_due();
    size_next_read(*batch);
    // The next read goes out before this batch is handled: Redis prepares it meanwhile.
    const bool broken = !stop.stop_requested() && !send_read();
    handle(*batch, claimed);
    take_completions();
    if (broken) fail();
  }
  finish();
}

// (Re)connects, once the backoff allows: a new client and group reader, and the group made
// sure of. False when not connected now (the caller comes back).
bool StreamReader::connect() {
  drop();
  if (!backoff_.due()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return false;
  }
  const auto target = link_.target(stale_);
  auto c = target ? RedisClient::connect(*target, options_.connect_timeout)
                  : core::Result<RedisClient>(core::fail(core::ErrorCode::kClosed, "no master"));
  if (!c) {
    stale_ = true;
    backoff_.failed();
    link_.mark_degraded(ctx_.bus.clock());
    return false;
  }
  (void)client_.emplace(std::move(*c));
  (void)client_->set_timeout(options_.read_block + options_.connect_timeout);
  (void)reader_.emplace(*client_, link_.stream_of(path_), options_.group, options_.consumer);
  // First connect: new entries only. A reconnect: "0", because if the server came back
  // empty everything in it was written since and is unread; if it kept its data the
  // group exists (BUSYGROUP) and keeps its position.
  if (auto ok = reader_->ensure_group(first_connect_ ? "$" : "0"); !ok) {
    drop();
    stale_ = true;  // on a cluster: MOVED, or CLUSTERDOWN while a master fails over
    backoff_.failed();
    return false;
  }
  stale_ = false;
  reported_failed_ = reported_recreated_ = reported_acks_ = 0;
  first_connect_ = false;
  backoff_.succeeded();
  link_.reader_connected[path_].store(true);
  return true;
}

void StreamReader::drop() {  // the reader refers to the client: release it first
  reader_.reset();
  client_.reset();
  in_flight_ = false;
  link_.reader_connected[path_].store(false);
}

// A round trip failed: its acknowledgements are kept for later, and the connection goes.
void StreamReader::fail() {
  report();
  restore_acks();
  drop();
  stale_ = true;  // on a cluster: the shard may have moved (MOVED) or failed over
  backoff_.failed();
  link_.mark_degraded(ctx_.bus.clock());
}

// The group reader's counters since the last report, into the link's.
void StreamReader::report() {
  link_.failed_reads.fetch_add(reader_->failed_reads() - reported_failed_);
  link_.failed_acks.fetch_add(reader_->failed_acks() - reported_acks_);
  link_.group_recreations.fetch_add(reader_->group_recreations() - reported_recreated_);
  reported_failed_ = reader_->failed_reads();
  reported_acks_ = reader_->failed_acks();
  reported_recreated_ = reader_->group_recreations();
}

// Sends the next read with the acknowledgements due; those move to acks_sent_ until the
// read's reply shows the round trip went through.
bool StreamReader::send_read() {
  const bool ok = reader_->send_read(count_, options_.read_block, to_ack_).has_value();
  acks_sent_.insert(acks_sent_.end(), std::make_move_iterator(to_ack_.begin()),
                    std::make_move_iterator(to_ack_.end()));
  to_ack_.clear();
  in_flight_ = ok;
  return ok;
}

core::Result<std::vector<StreamEntry>> StreamReader::receive_read() {
  auto batch = reader_->receive_read();
  in_flight_ = false;
  if (!batch) {
    fail();
    return batch;
  }
  report();
  acks_sent_.clear();
  return batch;
}

// Every claim_interval: the entries other consumers read but left unacknowledged for
// claim_idle (XAUTOCLAIM), and the group's figures for status().
std::vector<StreamEntry> StreamReader::claim_if_due() {
  std::vector<StreamEntry> claimed;
  if (SteadyClock::now() - last_claim_ < options_.claim_interval) return claimed;
  last_claim_ = SteadyClock::now();
  if (auto c = reader_->claim(options_.claim_idle, count_)) {
    link_.claimed.fetch_add(c->size(), std::memory_order_relaxed);
    claimed = std::move(*c);
  }
  if (path_ == kNormalPath) refresh_group_info();
  return claimed;
}

// A normal read asks for about read_bytes, in entries of the size this batch had.
void StreamReader::size_next_read(const std::vector<StreamEntry>& batch) {
  if (path_ != kNormalPath || batch.empty()) return;
  std::size_t bytes = 0;
  for (const auto& e : batch) bytes += e.data.size();
  const std::size_t per_entry = std::max<std::size_t>(1, bytes / batch.size());
  count_ = std::clamp(options_.read_bytes / per_entry, options_.read_count, kMaxReadCount);
}

void StreamReader::restore_acks() {  // their round trip failed: send them again later
  to_ack_.insert(to_ack_.end(), std::make_move_iterator(acks_sent_.begin()),
                 std::make_move_iterator(acks_sent_.end()));
  acks_sent_.clear();
}

void StreamReader::take_completions() {
  std::lock_guard lock(completions_->mu);
  to_ack_.insert(to_ack_.end(), std::make_move_iterator(completions_->ids.begin()),
                 std::make_move_iterator(completions_->ids.end()));
  completions_->ids.clear();
}

// Stopping: take the read in flight, then acknowledge what was handled (entries whose
// handlers are still queued stay pending and go to another consumer).
void StreamReader::finish() {
  if (in_flight_ && reader_ && connected()) {
    if (auto batch = reader_->receive_read()) handle(*batch, {});
  }
  take_completions();
  if (reader_ && connected()) {
    write_dead_letters();
    if (!to_ack_.empty()) (void)reader_->ack(to_ack_);
  }
}

// Delivers a batch read and the entries claimed with it, and has their ids acknowledged once
// the handlers ran.
void StreamReader::handle(const std::vector<StreamEntry>& read,
                          const std::vector<StreamEntry>& claimed) {
  std::vector<std::string> acks;
  Delivered delivered;
  handle_entries(read, acks, delivered);
  handle_entries(claimed, acks, delivered);
  if (!acks.empty()) acknowledge_after_handlers(std::move(acks), delivered);
}

// Delivers entries (read or claimed) and collects their ids to acknowledge.
void StreamReader::handle_entries(const std::vector<StreamEntry>& entries,
                                  std::vector<std::string>& acks, Delivered& d) {
  std::vector<bus::Envelope> envs;
  for (const auto& entry : entries) {
    acks.push_back(entry.id);
    if (entry.origin == ctx_.instance) {
      link_.skipped_own.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (entry.deliveries > options_.max_deliveries) {
      dead_letter(entry,
                  fmt::format("delivered {} times without acknowledgement", entry.deliveries));
      continue;
    }
    if (entry.malformed) {
      dead_letter(entry, "entry has neither field d nor b");
      continue;
    }
    envs.clear();
    if (!entry.batch) {
      auto env = bus::codec::decode(entry.data);
      if (!env) {
        dead_letter(entry, env.error().message);
        continue;
      }
      envs.push_back(std::move(*env));
    } else {
      auto decoded = bus::codec::decode_batch(entry.data);
      if (!decoded) {
        dead_letter(entry, decoded.error().message);
        continue;
      }
      envs.reserve(decoded->size());
      for (auto& env : *decoded) {
        if (env) {
          envs.push_back(std::move(*env));
        } else {
          dead_letter(entry, env.error().message);
        }
      }
    }
    deliver(entry.origin, envs, d);
  }
}

// Decoded messages of one entry: those already seen are dropped, the rest delivered to
// local subscribers.
void StreamReader::deliver(std::string_view origin, std::vector<bus::Envelope>& envs,
                           Delivered& d) {
  {
    std::lock_guard lock(ctx_.dedup.mu);  // once per entry: readers of other links share it
    for (auto& env : envs) {
      if (!ctx_.dedup.seen.insert(origin, env)) {
        env.payload = {};  // marks it as a duplicate
        link_.duplicates.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  for (auto& env : envs) {
    if (env.payload.empty()) continue;
    TopicCache& cache = env.endpoint ? endpoints_ : topics_;
    auto it = cache.find(env.topic.data());
    if (it == cache.end()) {
      // Every process reads every entry: replies to other processes' requests are not ours,
      // and resolving their endpoints would only grow this bus's tables.
      if (env.endpoint && env.topic.value().starts_with("_reply.") &&
          env.topic != ctx_.bus.reply_endpoint()) {
        continue;
      }
      auto h =
          env.endpoint ? ctx_.bus.endpoint(env.topic.value()) : ctx_.bus.topic(env.topic.value());
      if (!h) continue;  // decode validated the topic
      it = cache.emplace(env.topic.data(), *h).first;
    }
    env.remote = true;
    (void)publisher_->forward(it->second, env);
    d.any = true;
    d.lowest = std::min(d.lowest, env.priority);
    link_.imported.fetch_add(1, std::memory_order_relaxed);
  }
}

// XACK only after the handlers ran (docs/ARCHITECTURE.md): inline handlers already have, by the
// time forward() returns; for engines' mailboxes, a barrier goes in behind the batch (at its lowest
// priority, so every higher lane is drained first) and the ids become ready when the last mailbox
// reaches it.
void StreamReader::acknowledge_after_handlers(std::vector<std::string> ids, const Delivered& d) {
  std::vector<std::shared_ptr<bus::Mailbox>> engines;
  if (d.any) {
    for (auto& mb : ctx_.bus.mailboxes()) {
      if (mb != ctx_.outboxes[kNormalPath] && mb != ctx_.outboxes[kUrgentPath]) {
        engines.push_back(mb);
      }
    }
  }
  if (engines.empty()) {
    std::lock_guard lock(completions_->mu);
    completions_->ids.insert(completions_->ids.end(), ids.begin(), ids.end());
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
  auto reached = [pending, q = completions_] {
    if (pending->left.fetch_sub(1) != 1) return;
    std::lock_guard lock(q->mu);
    q->ids.insert(q->ids.end(), pending->ids.begin(), pending->ids.end());
  };
  for (auto& mb : engines) {
    // A lane full for 100 ms: acknowledge rather than hold the batch forever.
    if (!mb->post_barrier(d.lowest, reached)) reached();
  }
}

// Entries that cannot be delivered: kept with the reason, written to the dead-letter stream
// before their acknowledgement goes out (write_dead_letters).
void StreamReader::dead_letter(const StreamEntry& e, std::string why) {
  dead_.push_back({e.data, std::move(why), e.stream, e.id});
}

void StreamReader::write_dead_letters() {
  for (const auto& d : dead_) {
    (void)client_->command({"XADD", link_.dead_stream, "MAXLEN", "~", "100000", "*", "d", d.data,
                            "reason", d.reason, "stream", d.stream, "id", d.id});
    link_.dead_lettered.fetch_add(1, std::memory_order_relaxed);
  }
  dead_.clear();
}

// XINFO GROUPS <stream>: this group's pending count and lag (Redis 7).
void StreamReader::refresh_group_info() {
  auto r = client_->command({"XINFO", "GROUPS", link_.stream});
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
    if (name == options_.group) {
      link_.group_pending.store(static_cast<std::uint64_t>(pending), std::memory_order_relaxed);
      link_.group_lag.store(static_cast<std::uint64_t>(lag), std::memory_order_relaxed);
    }
  }
}

}  // namespace nautilus::bus_redis::detail
// NOLINTEND(bugprone-unchecked-optional-access)
