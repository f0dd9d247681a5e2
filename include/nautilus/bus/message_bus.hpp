// MessageBus: the in-process bus every engine talks through (docs/ARCHITECTURE.md).
// Publish/subscribe on dotted topics with wildcard patterns, point-to-point endpoints,
// request/response with correlation ids and timeouts, five priorities, bounded per-subscriber
// queues with an overflow policy per subscription, and a same-thread fast path. No I/O: the Redis
// Streams transport sits beside it and forwards through the same API.
//
//   MessageBus bus;                                       // realtime clock
//   auto mb = bus.create_mailbox({.name = "strategy"});
//   auto sub = bus.subscribe("market_data.*", [](const Envelope& e) { ... }, {.mailbox = mb});
//   MailboxThread strategy_thread(mb);
//   Publisher pub = *bus.publisher("marketdata");
//   TopicHandle t = *bus.topic("market_data.AAPL.quote");  // resolve once, publish many
//   pub.publish(t, quote);                                 // typed, no serialization
//   pub.publish(t, alert, {.priority = Priority::kFlashCrash});
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "nautilus/bus/envelope.hpp"
#include "nautilus/bus/mailbox.hpp"
#include "nautilus/bus/metrics.hpp"
#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"

namespace nautilus::bus {

namespace detail {
struct BusCore;
struct TopicEntry;
struct SubscriberList;
struct PublisherCounters;
}  // namespace detail

using Handler = std::function<void(const Envelope&)>;
// Called once per request: with the response, or with a kTimeout error.
using ReplyHandler = std::function<void(core::Result<Envelope>)>;
using SubscriptionId = std::uint64_t;

// What a queued subscription does when its lane is full.
enum class OverflowPolicy : std::uint8_t {
  kBlock,         // the publisher waits up to `block_bound` for room, then drops
  kDropLowFirst,  // LOW is refused once the mailbox is half full; others when their lane is full
  kConflate,      // keep only the newest message per topic (FLASH_CRASH/URGENT still queue)
};
[[nodiscard]] std::string_view to_string(OverflowPolicy p) noexcept;

struct SubscribeOptions {
  // Null: the handler runs inline on the publisher's thread (the same-thread fast path).
  std::shared_ptr<Mailbox> mailbox;
  OverflowPolicy policy = OverflowPolicy::kDropLowFirst;
  // kBlock, and FLASH_CRASH/URGENT under any policy, wait this long for room before dropping.
  std::chrono::nanoseconds block_bound = std::chrono::milliseconds(1);
  std::string owner;  // shown in /messagebus/subscriptions
  // Only messages with min_priority <= priority <= max_priority (e.g. a transport's separate
  // path for FLASH_CRASH and URGENT).
  Priority min_priority = Priority::kLow;
  Priority max_priority = Priority::kFlashCrash;
  // Only messages published in this process, not those a transport brought in (a transport's
  // own export subscription: it must never send them back, so they need not reach it).
  bool local_only = false;
};

struct PublishOptions {
  Priority priority = Priority::kNormal;
  core::UnixNanos ts_event = 0;  // 0: same as ts_publish
  CorrelationId correlation_id = 0;
};

struct PublishStatus {
  std::uint32_t delivered_inline = 0;
  std::uint32_t queued = 0;
  std::uint32_t dropped = 0;
  std::uint32_t conflated = 0;
  [[nodiscard]] std::uint32_t reached() const noexcept {
    return delivered_inline + queued + conflated;
  }
};

struct SubscriptionInfo {
  SubscriptionId id = 0;
  std::string pattern;  // the endpoint name for endpoints
  bool endpoint = false;
  std::string owner;
  std::string mailbox;  // "inline" for same-thread subscriptions
  OverflowPolicy policy = OverflowPolicy::kDropLowFirst;
};

// A topic (or endpoint) resolved to its subscribers. Resolve once, publish many times: the
// handle caches the subscriber list and refreshes it only when subscriptions change. A handle
// is used by one thread at a time; copy it for another thread.
class TopicHandle {
 public:
  TopicHandle() = default;
  [[nodiscard]] Topic topic() const noexcept { return topic_; }
  [[nodiscard]] std::size_t subscriber_count();

 private:
  friend class MessageBus;
  friend class Publisher;
  friend struct detail::BusCore;
  const detail::SubscriberList& subscribers();

  detail::BusCore* core_ = nullptr;
  detail::TopicEntry* entry_ = nullptr;
  Topic topic_;
  std::uint16_t family_ = 0;
  std::uint64_t generation_ = 0;
  std::shared_ptr<const detail::SubscriberList> snapshot_;
};

// Publishes on behalf of one engine: stamps source, sequence and ts_publish. One thread at a
// time (an engine's own thread); each engine has its own.
class Publisher {
 public:
  Publisher(Publisher&&) noexcept = default;
  Publisher& operator=(Publisher&&) noexcept = default;
  Publisher(const Publisher&) = delete;  // a copy would reuse sequence numbers
  Publisher& operator=(const Publisher&) = delete;
  ~Publisher();

  template <Message T>
  PublishStatus publish(TopicHandle& topic, T msg, const PublishOptions& o = {}) {
    // Nobody listens (a transport listens to everything): counted and numbered as published,
    // but no envelope is stamped. A backtest's strategy publishes a signal and a target per
    // bar that nothing in it subscribes to (docs/PERFORMANCE.md, "Backtests").
    if (topic.subscriber_count() == 0) return unheard(topic, o);
    Envelope env;
    env.payload.emplace(std::move(msg));
    stamp(env, topic, o);
    return dispatch(topic, env);
  }
  // As publish(), with the message made by `make()` only when somebody will receive it: for a
  // message that costs something to build and often has no subscriber (the hub's price and
  // volume updates in a backtest). Counted and numbered either way.
  template <class Make>
  PublishStatus publish_made(TopicHandle& topic, Make&& make, const PublishOptions& o = {}) {
    if (topic.subscriber_count() == 0) return unheard(topic, o);
    return publish(topic, std::forward<Make>(make)(), o);
  }
  // Convenience for occasional publishes; resolves the name through a per-Publisher cache.
  template <Message T>
  core::Result<PublishStatus> publish(std::string_view topic, T msg, const PublishOptions& o = {}) {
    auto h = cached_topic(topic);
    if (!h) return std::unexpected(h.error());
    return publish(**h, std::move(msg), o);
  }

  // Sends to an endpoint and calls `on_reply` once with the response or a timeout. Fails at
  // once (without calling on_reply) when nobody serves the endpoint or its queue refused it.
  template <Message T>
  core::Result<CorrelationId> request(TopicHandle& endpoint, T msg,
                                      std::chrono::nanoseconds timeout, ReplyHandler on_reply,
                                      const PublishOptions& o = {}) {
    Envelope env;
    env.payload.emplace(std::move(msg));
    stamp(env, endpoint, o);
    return send_request(endpoint, env, timeout, std::move(on_reply));
  }
  // Answers a request received in a handler.
  template <Message T>
  core::Result<PublishStatus> reply(const Envelope& request, T msg, const PublishOptions& o = {}) {
    return send_reply(request, Payload::make(std::move(msg)), o);
  }

  // For transports: delivers an envelope received from another process to local subscribers,
  // keeping its source, sequence and timestamps.
  PublishStatus forward(TopicHandle& topic, const Envelope& env);

  [[nodiscard]] core::EngineId source() const noexcept { return source_; }
  [[nodiscard]] std::uint64_t last_sequence() const noexcept { return sequence_; }

 private:
  friend class MessageBus;
  Publisher(std::shared_ptr<detail::BusCore> core, core::EngineId source,
            std::shared_ptr<detail::PublisherCounters> counters);

  // Fills the header: topic, source, next sequence, timestamps, priority.
  void stamp(Envelope& env, const TopicHandle& topic, const PublishOptions& o);
  PublishStatus dispatch(TopicHandle& topic, const Envelope& env);
  PublishStatus unheard(const TopicHandle& topic, const PublishOptions& o);
  core::Result<TopicHandle*> cached_topic(std::string_view topic);
  core::Result<CorrelationId> send_request(TopicHandle& endpoint, Envelope& env,
                                           std::chrono::nanoseconds timeout, ReplyHandler on_reply);
  core::Result<PublishStatus> send_reply(const Envelope& request, Payload&& payload,
                                         const PublishOptions& o);

  std::shared_ptr<detail::BusCore> core_;
  core::EngineId source_;
  std::uint64_t sequence_ = 0;
  std::shared_ptr<detail::PublisherCounters> counters_;
  std::unordered_map<std::string, TopicHandle> topic_cache_;
};

struct MessageBusOptions {
  const core::Clock* clock = &core::realtime_clock();  // must outlive the bus
  // A background thread that times out requests (real time). Backtests on a simulated clock
  // turn it off and call expire_requests() after moving the clock.
  bool request_timer_thread = true;
  // This bus's reply endpoint; empty: "_reply.<pid>.<random>" (unique across processes). A
  // deterministic run gives a fixed one, since it appears in every request's reply_to.
  std::string reply_endpoint;
};

class MessageBus {
 public:
  explicit MessageBus(MessageBusOptions options = {});
  ~MessageBus();
  MessageBus(const MessageBus&) = delete;
  MessageBus& operator=(const MessageBus&) = delete;

  [[nodiscard]] core::Result<TopicHandle> topic(std::string_view name);
  [[nodiscard]] core::Result<TopicHandle> endpoint(std::string_view name);

  [[nodiscard]] std::shared_ptr<Mailbox> create_mailbox(MailboxOptions options = {});
  // A mailbox whose consumer has gone (its subscriptions removed first): no longer listed by
  // mailboxes(), so nothing waits on it (a transport's acknowledgement barriers, metrics).
  // The bus keeps it allocated: a publisher's cached subscriber list may still point at it.
  void retire_mailbox(const std::shared_ptr<Mailbox>& mailbox);
  [[nodiscard]] core::Result<SubscriptionId> subscribe(std::string_view pattern, Handler handler,
                                                       const SubscribeOptions& options = {});
  // One handler per endpoint name; a second registration is kAlreadyExists.
  [[nodiscard]] core::Result<SubscriptionId> register_endpoint(
      std::string_view name, Handler handler, const SubscribeOptions& options = {});
  // For transports: receives what is sent to an endpoint this process does not serve (requests
  // to another process's endpoint, replies to another process's requests), so it can carry it
  // there. Sending to such an endpoint then succeeds and waits for the remote reply or the
  // timeout. Use local_only, so what a transport brought in is never sent back.
  [[nodiscard]] core::Result<SubscriptionId> forward_unserved_endpoints(
      Handler handler, const SubscribeOptions& options = {});
  // After it returns, the handler is not called for later publishes; messages already queued
  // for it are discarded (and counted) rather than delivered.
  [[nodiscard]] core::Result<void> unsubscribe(SubscriptionId id);

  [[nodiscard]] core::Result<Publisher> publisher(std::string_view source_engine);

  // Times out requests whose deadline (on the bus clock) has passed; returns how many.
  std::size_t expire_requests();

  [[nodiscard]] BusMetrics metrics() const;
  // Every mailbox created on this bus and not retired (engines' inboxes, transports' outboxes).
  [[nodiscard]] std::vector<std::shared_ptr<Mailbox>> mailboxes() const;
  [[nodiscard]] std::vector<SubscriptionInfo> subscriptions() const;
  [[nodiscard]] const core::Clock& clock() const noexcept;
  // Where replies to this bus's requests are sent ("_reply.<pid>.<random>", or as configured).
  [[nodiscard]] Topic reply_endpoint() const noexcept;

 private:
  std::shared_ptr<detail::BusCore> core_;
};

}  // namespace nautilus::bus
