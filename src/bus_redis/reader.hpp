// StreamReader: one inbound path of the transport, from one Redis bus's stream (normal, or
// urgent) to the local bus. It reads as a consumer of the process's group, skips the entries
// this transport wrote itself, dead-letters what does not decode, drops duplicates, delivers
// the rest with Publisher::forward (`remote` set, so they are never exported again) and
// acknowledges them once their handlers have run. Private to the transport.
//
//   std::jthread t([&](const std::stop_token& st) { StreamReader(ctx, link, path).run(st); });
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backoff.hpp"
#include "dedup.hpp"
#include "link.hpp"
#include "nautilus/bus/message_bus.hpp"
#include "nautilus/bus_redis/redis_client.hpp"
#include "nautilus/bus_redis/streams.hpp"
#include "nautilus/bus_redis/transport.hpp"
#include "nautilus/core/error.hpp"

namespace nautilus::bus_redis::detail {

// One for all readers of a transport: with a legacy server every message can arrive twice.
struct SharedDedup {
  explicit SharedDedup(std::size_t window) : seen(window) {}
  std::mutex mu;
  Dedup seen;
};

// What a reader needs of its transport, all of it fixed before the first reader starts and
// outliving the last.
struct ReaderContext {
  bus::MessageBus& bus;
  const TransportOptions& options;
  const std::string& instance;  // this transport's origin: entries it wrote itself are skipped
  SharedDedup& dedup;
  // The transport's own outboxes: not engines', so no acknowledgement barrier waits on them.
  std::array<std::shared_ptr<bus::Mailbox>, 2> outboxes;
};

class StreamReader {
 public:
  StreamReader(const ReaderContext& ctx, Link& link, Path path);

  // Reads, delivers and acknowledges until `stop`, reconnecting with backoff; then takes the
  // read in flight and acknowledges what was handled.
  void run(const std::stop_token& stop);

 private:
  // What a batch delivered: whether anything, and the lowest priority among it (where the
  // acknowledgement barrier goes).
  struct Delivered {
    bool any = false;
    bus::Priority lowest = bus::Priority::kFlashCrash;
  };
  struct DeadLetter {
    std::string data, reason, stream, id;
  };
  // Entry ids whose handlers have all run, waiting for the reader to XACK them. Shared with
  // the barriers, which may fire after the reader has ended.
  struct Completions {
    std::mutex mu;
    std::vector<std::string> ids;
  };
  // Resolved topics by their interned name (one pointer per name), so the per-message lookup
  // neither hashes the string nor allocates.
  using TopicCache = std::unordered_map<const char*, bus::TopicHandle>;

  // ---- the connection
  [[nodiscard]] bool connected() const { return client_ && client_->healthy(); }
  bool connect();
  void drop();
  void fail();
  void report();

  // ---- the read loop
  bool send_read();
  // Takes the read in flight; a failure has been handled (fail) when it returns one.
  core::Result<std::vector<StreamEntry>> receive_read();
  std::vector<StreamEntry> claim_if_due();
  void size_next_read(const std::vector<StreamEntry>& batch);
  void restore_acks();
  void take_completions();
  void finish();

  // ---- handling a batch
  void handle(const std::vector<StreamEntry>& read, const std::vector<StreamEntry>& claimed);
  void handle_entries(const std::vector<StreamEntry>& entries, std::vector<std::string>& acks,
                      Delivered& d);
  void deliver(std::string_view origin, std::vector<bus::Envelope>& envs, Delivered& d);
  void acknowledge_after_handlers(std::vector<std::string> ids, const Delivered& d);
  void dead_letter(const StreamEntry& e, std::string why);
  void write_dead_letters();
  void refresh_group_info();

  ReaderContext ctx_;
  const TransportOptions& options_;
  Link& link_;
  const Path path_;
  std::optional<bus::Publisher> publisher_;
  TopicCache topics_;
  TopicCache endpoints_;  // requests to endpoints (served here or not) and this bus's replies
  std::shared_ptr<Completions> completions_ = std::make_shared<Completions>();
  Backoff backoff_;
  std::optional<RedisClient> client_;
  std::optional<GroupReader> reader_;  // refers to client_
  std::uint64_t reported_failed_ = 0, reported_recreated_ = 0, reported_acks_ = 0;
  std::vector<std::string> to_ack_;     // handled: acknowledged with the next read
  std::vector<std::string> acks_sent_;  // sent with the read in flight
  std::vector<DeadLetter> dead_;        // written when no read is in flight
  bool in_flight_ = false;              // a read has been sent, its reply not yet taken
  bool first_connect_ = true;
  bool stale_ = false;  // the last connection failed: a cluster's map is read again first
  std::chrono::steady_clock::time_point last_claim_;
  // Urgent entries are few and must not wait: read them as they come. Normal entries may
  // carry hundreds of messages or one (writers choose, MESSAGEBUS_PACK_MAX): each read asks
  // for about read_bytes, in entries of the size seen last.
  std::size_t count_;
};

}  // namespace nautilus::bus_redis::detail
