// Shared state behind MessageBus, Publisher and TopicHandle. Private to the bus.
//
// Concurrency: subscription changes take `mu`, build new immutable SubscriberLists for the
// affected topics and bump `generation`. Publishers compare their handle's generation (one
// atomic load) and re-copy the list under `mu` only when it changed, so the publish path has
// no lock and does no pattern matching.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "nautilus/bus/message_bus.hpp"

namespace nautilus::bus::detail {

class MailboxCore;

struct Subscription {
  SubscriptionId id = 0;
  std::string pattern;
  bool endpoint = false;
  Handler handler;
  MailboxCore* mailbox = nullptr;  // null: inline. The bus owns every mailbox for its lifetime.
  OverflowPolicy policy = OverflowPolicy::kDropLowFirst;
  std::chrono::nanoseconds block_bound{};
  std::string owner;
  Priority min_priority = Priority::kLow;
  Priority max_priority = Priority::kFlashCrash;
  bool local_only = false;
  std::atomic<bool> active{true};
};

struct SubscriberList {
  std::vector<std::shared_ptr<Subscription>> subs;
};

struct TopicEntry {
  Topic topic;
  std::uint16_t family = 0;
  bool endpoint = false;
  std::shared_ptr<const SubscriberList> subs;  // guarded by BusCore::mu
  // Endpoints: the handler registered in this process, if any. Without one, `subs` holds the
  // remote forwarders (a transport), so that requests and replies leave the process.
  std::shared_ptr<Subscription> local;
};

struct PublisherCounters {
  FamilyPriorityCounters published;
  FamilyPriorityCounters delivered;  // inline deliveries (queued ones count in the mailbox)
  FamilyPriorityCounters dropped;
  FamilyPriorityCounters conflated;
  std::atomic<std::uint64_t> critical_dropped{0};
  std::atomic<std::uint64_t> handler_errors{0};
};

struct PendingRequest {
  core::UnixNanos deadline = 0;
  ReplyHandler on_reply;
};

struct BusCore {
  const core::Clock* clock = nullptr;

  mutable std::mutex mu;
  std::atomic<std::uint64_t> generation{1};
  std::unordered_map<std::string_view, std::unique_ptr<TopicEntry>> topics;     // key: interned
  std::unordered_map<std::string_view, std::unique_ptr<TopicEntry>> endpoints;  // key: interned
  std::vector<std::shared_ptr<Subscription>> pattern_subs;
  std::vector<std::shared_ptr<Subscription>> remote_endpoints;  // forwarders of unserved endpoints
  std::unordered_map<SubscriptionId, std::shared_ptr<Subscription>> by_id;
  SubscriptionId next_subscription_id = 1;
  std::vector<std::string> families;  // index -> name; the last slot is "other"
  std::vector<std::shared_ptr<PublisherCounters>> publisher_counters;
  std::vector<std::shared_ptr<Mailbox>> mailboxes;
  std::vector<std::shared_ptr<Mailbox>> retired;  // kept alive: see retire_mailbox

  // Requests.
  std::mutex req_mu;
  std::condition_variable req_cv;
  std::unordered_map<CorrelationId, PendingRequest> pending;
  std::atomic<CorrelationId> next_correlation{1};
  std::atomic<std::uint64_t> request_timeouts{0};
  Topic reply_topic;  // this bus's reply endpoint
  bool stopping = false;
  std::jthread timer;

  // Requires mu.
  std::uint16_t family_index_locked(std::string_view topic);
  TopicEntry& topic_entry_locked(Topic t);
  TopicEntry& endpoint_entry_locked(Topic t);
  // Rebuilds an endpoint's subscriber list: its local handler, else the remote forwarders.
  void refresh_endpoint_locked(TopicEntry& e);
  TopicHandle make_handle_locked(TopicEntry& e);

  void complete_request(const Envelope& reply);
  std::size_t expire_requests();
};

}  // namespace nautilus::bus::detail
