// PathWriter: one outbound path of the transport (normal, or urgent) from the local bus to
// every Redis bus. Its mailbox takes the path's share of what is published locally (a
// priority-filtered, local-only subscription); its thread polls it, encodes and routes each
// message by topic family, keeps what waits to be written in a byte-bounded buffer per bus,
// and writes it in rounds of pipelined XADDs, packing several messages into each entry. The
// shards of a bus on one cluster master share one connection: their rounds leave together.
// Private to the transport.
//
//   PathWriter w(bus, options, instance, links, kUrgentPath);
//   if (auto ok = w.start(); !ok) return ok;
//   ...
//   w.request_stop();  // then, once every path has been asked:
//   w.join();
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "backoff.hpp"
#include "link.hpp"
#include "nautilus/bus/message_bus.hpp"
#include "nautilus/bus_redis/redis_client.hpp"
#include "nautilus/bus_redis/streams.hpp"
#include "nautilus/bus_redis/transport.hpp"
#include "nautilus/core/error.hpp"

namespace nautilus::bus_redis::detail {

class PathWriter {
 public:
  // `options` (with failover_buffer_bytes resolved), `instance`, `links` and `routes` must
  // outlive the writer, and `links` must not change once it has started.
  PathWriter(bus::MessageBus& bus, const TransportOptions& options, const std::string& instance,
             const std::vector<std::unique_ptr<Link>>& links, const Routes& routes, Path path);
  PathWriter(const PathWriter&) = delete;
  PathWriter& operator=(const PathWriter&) = delete;

  // Creates the outbox, subscribes it and starts the thread.
  [[nodiscard]] core::Result<void> start();
  // Unsubscribes and asks the thread to stop: it writes what is queued (bounded) first.
  void request_stop();
  // Waits for the thread, then retires the outbox.
  void join();

  // Whether every message this path took so far has been written or dropped.
  [[nodiscard]] bool settled() const;
  // Local messages of a type with no wire format.
  [[nodiscard]] std::uint64_t unencodable() const {
    return unencodable_.load(std::memory_order_relaxed);
  }
  // Null until start(). Not an engine's: no acknowledgement barrier may wait on it.
  [[nodiscard]] const std::shared_ptr<bus::Mailbox>& outbox() const { return outbox_; }

 private:
  struct LinkWriter;

  // One connection to one server, shared by the links whose streams live there: a cluster
  // master carries several shards of a bus, and their rounds leave in one write and are
  // answered, in the order sent, in one read. A single-server bus's link has one of its own.
  struct Connection {
    std::string key;  // the bus's router and the master's host:port, or the link's name
    std::optional<RedisClient> client;
    bool replicated = false;  // its links' durability: their rounds wait for WAIT 1
    // What the server owes, in the order the commands went: a round's XADD replies (`link`
    // set), or the reply of a WAIT that confirms the rounds it covers (`wait` > 0).
    struct Owed {
      LinkWriter* link = nullptr;
      std::size_t xadds = 0;
      std::uint64_t wait = 0;
    };
    std::deque<Owed> owed;
    bool unflushed = false;  // commands formatted and not yet written
  };

  // What the writer thread holds for one Redis bus (or shard): the connection it writes
  // through, and the encoded messages not yet written, by priority.
  struct LinkWriter {
    Link& link;
    Connection* conn = nullptr;  // null while not connected
    Backoff backoff;
    bool stale = false;  // the last connection failed: a cluster's map is read again first
    std::array<std::deque<std::string>, bus::kPriorityCount> pending;
    // The round sent and not yet acknowledged: its messages, taken from the front of one
    // priority's queue, kept until Redis acknowledges them (resent in order if it does not).
    // They are out of `pending`, so the overflow policy cannot drop what Redis may already
    // hold.
    struct InFlight {
      std::vector<std::string> messages;
      std::size_t priority = 0;
      std::size_t entries = 0;  // XADD replies still owed
      std::size_t bytes = 0;
      bool active = false;
      // Replicated durability: the WAIT whose reply confirms the round (0: none owed).
      std::uint64_t covered_by = 0;
      // No replica confirmed the round in time: it stays here, unacknowledged, and is asked
      // about again (briefly) from replica_retry on; nothing blocks the thread meanwhile, so
      // the other bus and the outbox go on.
      bool awaiting_replica = false;
      std::chrono::steady_clock::time_point replica_retry{};
    } in_flight;
    bool acknowledged = false;      // the last round settled was acknowledged
    std::size_t pending_bytes = 0;  // queued and in flight
    std::chrono::steady_clock::time_point oldest_pending{};
    bool flush_now = false;

    LinkWriter(Link& l, const TransportOptions& o)
        : link(l), backoff(o.reconnect_min, o.reconnect_max) {}
    [[nodiscard]] std::size_t pending_count() const;
  };

  void on_local(const bus::Envelope& env);
  void enqueue(LinkWriter& w, bus::Priority priority, std::string bytes);
  void enforce_bound(LinkWriter& w);
  void publish_backlog(LinkWriter& w) const;
  bool connect(LinkWriter& w);
  Connection& connection_for(const LinkWriter& w, const config::RedisEndpoint& target);
  bool send_round(LinkWriter& w);
  bool finish_round(LinkWriter& w);
  bool settle(LinkWriter& w);
  bool take_owed(Connection& c);
  void acknowledge(LinkWriter& w);
  void fail_round(LinkWriter& w);
  void fail_connection(Connection& c);
  void close_unused();
  bool flush(Connection& c);
  void queue_wait(Connection& c, std::chrono::milliseconds timeout);
  bool write_round(LinkWriter& w);
  [[nodiscard]] Trim trim() const;
  void run(const std::stop_token& stop);
  // How long the thread may sleep when nothing is queued in the outbox or in flight.
  [[nodiscard]] std::chrono::nanoseconds idle_wait(std::chrono::steady_clock::time_point now) const;
  void drain();

  bus::MessageBus& bus_;
  const TransportOptions& options_;
  const std::string& instance_;  // written as each entry's origin
  const Routes& routes_;
  const Path path_;
  std::vector<LinkWriter> links_;  // as the transport's links
  // Every server written to so far, kept (a few) so links can point at them.
  std::vector<std::unique_ptr<Connection>> connections_;
  std::uint64_t waits_ = 0;  // WAITs sent, numbering them
  std::shared_ptr<bus::Mailbox> outbox_;
  bus::SubscriptionId subscription_ = 0;
  bus::SubscriptionId endpoint_subscription_ = 0;  // requests/replies for other processes
  std::jthread thread_;
  std::atomic<std::uint64_t> accepted_{0};  // local messages handed to a link's buffer
  std::atomic<std::uint64_t> settled_{0};   // ... and since written or dropped
  std::atomic<std::uint64_t> unencodable_{0};
};

}  // namespace nautilus::bus_redis::detail
