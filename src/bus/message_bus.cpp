#include "nautilus/bus/message_bus.hpp"

#include <unistd.h>

#include <algorithm>
#include <random>

#include "bus_core.hpp"
#include "mailbox_core.hpp"

namespace nautilus::bus {

using core::ErrorCode;
using core::fail;

std::string_view to_string(OverflowPolicy p) noexcept {
  switch (p) {
    case OverflowPolicy::kBlock:
      return "block";
    case OverflowPolicy::kDropLowFirst:
      return "drop_low_first";
    case OverflowPolicy::kConflate:
      return "conflate";
  }
  return "unknown";
}

namespace detail {

std::uint16_t BusCore::family_index_locked(std::string_view topic) {
  const std::string_view fam = topic_family(topic);
  for (std::size_t i = 0; i < families.size(); ++i) {
    if (families[i] == fam) return static_cast<std::uint16_t>(i);
  }
  if (families.size() + 1 < kMaxTopicFamilies) {
    families.emplace_back(fam);
    return static_cast<std::uint16_t>(families.size() - 1);
  }
  return static_cast<std::uint16_t>(kMaxTopicFamilies - 1);  // "other"
}

TopicEntry& BusCore::topic_entry_locked(Topic t) {
  auto& slot = topics[t.value()];
  if (!slot) {
    slot = std::make_unique<TopicEntry>();
    slot->topic = t;
    slot->family = family_index_locked(t.value());
    auto list = std::make_shared<SubscriberList>();
    for (const auto& s : pattern_subs) {
      if (is_matching(t.value(), s->pattern)) list->subs.push_back(s);
    }
    slot->subs = std::move(list);
  }
  return *slot;
}

TopicEntry& BusCore::endpoint_entry_locked(Topic t) {
  auto& slot = endpoints[t.value()];
  if (!slot) {
    slot = std::make_unique<TopicEntry>();
    slot->topic = t;
    slot->family = family_index_locked(t.value());
    slot->endpoint = true;
    refresh_endpoint_locked(*slot);
  }
  return *slot;
}

void BusCore::refresh_endpoint_locked(TopicEntry& e) {
  auto list = std::make_shared<SubscriberList>();
  if (e.local) {
    list->subs.push_back(e.local);
  } else {
    list->subs = remote_endpoints;
  }
  e.subs = std::move(list);
}

TopicHandle BusCore::make_handle_locked(TopicEntry& e) {
  TopicHandle h;
  h.core_ = this;
  h.entry_ = &e;
  h.topic_ = e.topic;
  h.family_ = e.family;
  h.generation_ = generation.load(std::memory_order_acquire);
  h.snapshot_ = e.subs;
  return h;
}

void BusCore::complete_request(const Envelope& reply) {
  ReplyHandler handler;
  {
    std::lock_guard lock(req_mu);
    auto it = pending.find(reply.correlation_id);
    if (it == pending.end()) return;  // late reply after a timeout: dropped
    handler = std::move(it->second.on_reply);
    pending.erase(it);
  }
  handler(reply);
}

std::size_t BusCore::expire_requests() {
  const core::UnixNanos now = clock->now();
  std::vector<std::pair<CorrelationId, ReplyHandler>> expired;
  {
    std::lock_guard lock(req_mu);
    for (auto it = pending.begin(); it != pending.end();) {
      if (it->second.deadline <= now) {
        expired.emplace_back(it->first, std::move(it->second.on_reply));
        it = pending.erase(it);
      } else {
        ++it;
      }
    }
  }
  // In the order the requests were made, not the hash table's: a deterministic run calls
  // these handlers in the same order every time.
  std::sort(expired.begin(), expired.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  request_timeouts.fetch_add(expired.size(), std::memory_order_relaxed);
  for (auto& [id, h] : expired) h(fail(ErrorCode::kTimeout, "request timed out"));
  return expired.size();
}

}  // namespace detail

// ---- TopicHandle ------------------------------------------------------------------------

const detail::SubscriberList& TopicHandle::subscribers() {
  const std::uint64_t g = core_->generation.load(std::memory_order_acquire);
  if (g != generation_) [[unlikely]] {
    std::lock_guard lock(core_->mu);
    snapshot_ = entry_->subs;
    generation_ = g;
  }
  return *snapshot_;
}

std::size_t TopicHandle::subscriber_count() { return core_ ? subscribers().subs.size() : 0; }

// ---- Publisher --------------------------------------------------------------------------

Publisher::Publisher(std::shared_ptr<detail::BusCore> core, core::EngineId source,
                     std::shared_ptr<detail::PublisherCounters> counters)
    : core_(std::move(core)), source_(source), counters_(std::move(counters)) {}

Publisher::~Publisher() = default;

void Publisher::stamp(Envelope& env, const TopicHandle& topic, const PublishOptions& o) {
  env.topic = topic.topic_;
  env.source = source_;
  env.sequence = ++sequence_;
  env.ts_publish = core_->clock->now();
  env.ts_event = o.ts_event != 0 ? o.ts_event : env.ts_publish;
  env.correlation_id = o.correlation_id;
  env.priority = o.priority;
  env.endpoint = topic.entry_ != nullptr && topic.entry_->endpoint;
}

PublishStatus Publisher::dispatch(TopicHandle& topic, const Envelope& env) {
  PublishStatus st;
  const std::uint16_t fam = topic.family_;
  const Priority prio = env.priority;
  auto& c = *counters_;
  c.published.add(fam, prio);
  for (const auto& sp : topic.subscribers().subs) {
    detail::Subscription* s = sp.get();
    if (prio < s->min_priority || prio > s->max_priority) continue;
    if (env.remote && s->local_only) continue;
    if (s->mailbox == nullptr) {
      // Same-thread fast path: the handler runs here, now.
      if (!s->active.load(std::memory_order_acquire)) continue;
      try {
        s->handler(env);
      } catch (...) {
        c.handler_errors.fetch_add(1, std::memory_order_relaxed);
      }
      c.delivered.add(fam, prio);
      ++st.delivered_inline;
      continue;
    }
    switch (s->mailbox->enqueue(s, fam, env)) {
      case detail::EnqueueResult::kQueued:
        ++st.queued;
        break;
      case detail::EnqueueResult::kConflated:
        ++st.conflated;
        c.conflated.add(fam, prio);
        break;
      case detail::EnqueueResult::kDropped:
        ++st.dropped;
        c.dropped.add(fam, prio);
        if (is_critical(prio)) c.critical_dropped.fetch_add(1, std::memory_order_relaxed);
        break;
    }
  }
  return st;
}

PublishStatus Publisher::unheard(const TopicHandle& topic, const PublishOptions& o) {
  ++sequence_;
  counters_->published.add(topic.family_, o.priority);
  return {};
}

PublishStatus Publisher::forward(TopicHandle& topic, const Envelope& env) {
  return dispatch(topic, env);
}

core::Result<TopicHandle*> Publisher::cached_topic(std::string_view topic) {
  auto it = topic_cache_.find(std::string(topic));
  if (it == topic_cache_.end()) {
    auto t = Topic::create(topic);
    if (!t) return std::unexpected(t.error());
    std::lock_guard lock(core_->mu);
    it = topic_cache_
             .emplace(std::string(topic), core_->make_handle_locked(core_->topic_entry_locked(*t)))
             .first;
  }
  return &it->second;
}

core::Result<CorrelationId> Publisher::send_request(TopicHandle& endpoint, Envelope& env,
                                                    std::chrono::nanoseconds timeout,
                                                    ReplyHandler on_reply) {
  const CorrelationId id = core_->next_correlation.fetch_add(1, std::memory_order_relaxed);
  env.correlation_id = id;
  env.reply_to = core_->reply_topic;
  {
    std::lock_guard lock(core_->req_mu);
    core_->pending.emplace(
        id, detail::PendingRequest{env.ts_publish + timeout.count(), std::move(on_reply)});
  }
  core_->req_cv.notify_all();
  const PublishStatus st = dispatch(endpoint, env);
  if (st.reached() == 0) {
    std::lock_guard lock(core_->req_mu);
    core_->pending.erase(id);
    return fail(st.dropped ? ErrorCode::kCapacity : ErrorCode::kNotFound,
                "request to '" + std::string(endpoint.topic().value()) +
                    (st.dropped ? "' refused: endpoint queue full" : "' has no endpoint"));
  }
  return id;
}

core::Result<PublishStatus> Publisher::send_reply(const Envelope& request, Payload&& payload,
                                                  const PublishOptions& o) {
  if (request.reply_to.empty() || request.correlation_id == 0) {
    return fail(ErrorCode::kInvalidArgument, "message is not a request (no reply_to)");
  }
  TopicHandle h;
  {
    std::lock_guard lock(core_->mu);
    h = core_->make_handle_locked(core_->endpoint_entry_locked(request.reply_to));
  }
  PublishOptions ro = o;
  ro.correlation_id = request.correlation_id;
  Envelope env;
  env.payload = std::move(payload);
  stamp(env, h, ro);
  return dispatch(h, env);
}

// ---- MessageBus -------------------------------------------------------------------------

MessageBus::MessageBus(MessageBusOptions options) : core_(std::make_shared<detail::BusCore>()) {
  core_->clock = options.clock;
  // The reply endpoint is unique per bus so replies find their way back over a shared wire;
  // a deterministic run names it itself, so that what it records does not vary.
  std::string reply_name = options.reply_endpoint;
  if (reply_name.empty()) {
    std::random_device rd;
    reply_name = "_reply." + std::to_string(::getpid()) + "." + std::to_string(rd());
  }
  core_->reply_topic = Topic::from_trusted(reply_name);
  std::weak_ptr<detail::BusCore> weak = core_;
  auto reg = register_endpoint(reply_name, [weak](const Envelope& env) {
    if (auto c = weak.lock()) c->complete_request(env);
  });
  (void)reg;
  if (options.request_timer_thread) {
    detail::BusCore* c = core_.get();
    core_->timer = std::jthread([c](std::stop_token st) {
      std::unique_lock lock(c->req_mu);
      while (!st.stop_requested()) {
        if (c->pending.empty()) {
          c->req_cv.wait(lock, [&] { return st.stop_requested() || !c->pending.empty(); });
          continue;
        }
        c->req_cv.wait_for(lock, std::chrono::milliseconds(1));
        lock.unlock();
        c->expire_requests();
        lock.lock();
      }
    });
  }
}

MessageBus::~MessageBus() {
  if (core_->timer.joinable()) {
    {
      std::lock_guard lock(core_->req_mu);
      core_->timer.request_stop();
    }
    core_->req_cv.notify_all();
    core_->timer.join();
  }
}

core::Result<TopicHandle> MessageBus::topic(std::string_view name) {
  auto t = Topic::create(name);
  if (!t) return std::unexpected(t.error());
  std::lock_guard lock(core_->mu);
  return core_->make_handle_locked(core_->topic_entry_locked(*t));
}

core::Result<TopicHandle> MessageBus::endpoint(std::string_view name) {
  auto t = Topic::create(name);
  if (!t) return std::unexpected(t.error());
  std::lock_guard lock(core_->mu);
  return core_->make_handle_locked(core_->endpoint_entry_locked(*t));
}

std::shared_ptr<Mailbox> MessageBus::create_mailbox(MailboxOptions options) {
  auto mb = std::shared_ptr<Mailbox>(
      new Mailbox(std::make_unique<detail::MailboxCore>(std::move(options), core_->clock)));
  std::lock_guard lock(core_->mu);
  core_->mailboxes.push_back(mb);
  return mb;
}

void MessageBus::retire_mailbox(const std::shared_ptr<Mailbox>& mailbox) {
  std::lock_guard lock(core_->mu);
  auto it = std::find(core_->mailboxes.begin(), core_->mailboxes.end(), mailbox);
  if (it == core_->mailboxes.end()) return;
  core_->retired.push_back(*it);
  core_->mailboxes.erase(it);
}

namespace {
std::shared_ptr<detail::Subscription> make_subscription(std::string pattern, bool endpoint,
                                                        Handler handler,
                                                        const SubscribeOptions& o) {
  auto s = std::make_shared<detail::Subscription>();
  s->pattern = std::move(pattern);
  s->endpoint = endpoint;
  s->handler = std::move(handler);
  s->mailbox = o.mailbox ? &o.mailbox->core() : nullptr;
  s->policy = o.policy;
  s->block_bound = o.block_bound;
  s->owner = o.owner;
  s->min_priority = o.min_priority;
  s->max_priority = o.max_priority;
  s->local_only = o.local_only;
  return s;
}
}  // namespace

core::Result<SubscriptionId> MessageBus::subscribe(std::string_view pattern, Handler handler,
                                                   const SubscribeOptions& options) {
  if (!handler) return fail(ErrorCode::kInvalidArgument, "subscribe: empty handler");
  auto norm = normalize_pattern(pattern);
  if (!norm) return std::unexpected(norm.error());
  auto sub = make_subscription(std::move(*norm), false, std::move(handler), options);
  std::lock_guard lock(core_->mu);
  sub->id = core_->next_subscription_id++;
  core_->pattern_subs.push_back(sub);
  core_->by_id.emplace(sub->id, sub);
  // Keep the per-topic cache right: add the new subscriber to every cached topic it matches.
  for (auto& [name, entry] : core_->topics) {
    if (!is_matching(name, sub->pattern)) continue;
    auto list = std::make_shared<detail::SubscriberList>(*entry->subs);
    list->subs.push_back(sub);
    entry->subs = std::move(list);
  }
  if (sub->mailbox) sub->mailbox->retain(sub);
  core_->generation.fetch_add(1, std::memory_order_release);
  return sub->id;
}

core::Result<SubscriptionId> MessageBus::register_endpoint(std::string_view name, Handler handler,
                                                           const SubscribeOptions& options) {
  if (!handler) return fail(ErrorCode::kInvalidArgument, "register_endpoint: empty handler");
  auto t = Topic::create(name);
  if (!t) return std::unexpected(t.error());
  auto sub = make_subscription(std::string(name), true, std::move(handler), options);
  std::lock_guard lock(core_->mu);
  auto& entry = core_->endpoint_entry_locked(*t);
  if (entry.local) {
    return fail(ErrorCode::kAlreadyExists, "endpoint '" + std::string(name) + "' already served");
  }
  sub->id = core_->next_subscription_id++;
  core_->by_id.emplace(sub->id, sub);
  entry.local = sub;
  core_->refresh_endpoint_locked(entry);
  if (sub->mailbox) sub->mailbox->retain(sub);
  core_->generation.fetch_add(1, std::memory_order_release);
  return sub->id;
}

core::Result<SubscriptionId> MessageBus::forward_unserved_endpoints(
    Handler handler, const SubscribeOptions& options) {
  if (!handler)
    return fail(ErrorCode::kInvalidArgument, "forward_unserved_endpoints: empty handler");
  auto sub = make_subscription("*", true, std::move(handler), options);
  std::lock_guard lock(core_->mu);
  sub->id = core_->next_subscription_id++;
  core_->by_id.emplace(sub->id, sub);
  core_->remote_endpoints.push_back(sub);
  for (auto& [name, entry] : core_->endpoints) core_->refresh_endpoint_locked(*entry);
  if (sub->mailbox) sub->mailbox->retain(sub);
  core_->generation.fetch_add(1, std::memory_order_release);
  return sub->id;
}

core::Result<void> MessageBus::unsubscribe(SubscriptionId id) {
  std::lock_guard lock(core_->mu);
  auto it = core_->by_id.find(id);
  if (it == core_->by_id.end()) {
    return fail(ErrorCode::kNotFound, "no subscription " + std::to_string(id));
  }
  std::shared_ptr<detail::Subscription> sub = it->second;
  core_->by_id.erase(it);
  sub->active.store(false, std::memory_order_release);
  auto strip = [&](auto& table) {
    for (auto& [name, entry] : table) {
      const auto& cur = entry->subs->subs;
      if (std::find(cur.begin(), cur.end(), sub) == cur.end()) continue;
      auto list = std::make_shared<detail::SubscriberList>();
      for (const auto& s : cur) {
        if (s != sub) list->subs.push_back(s);
      }
      entry->subs = std::move(list);
    }
  };
  if (sub->endpoint) {
    std::erase(core_->remote_endpoints, sub);
    for (auto& [name, entry] : core_->endpoints) {
      if (entry->local == sub) entry->local = nullptr;
      core_->refresh_endpoint_locked(*entry);
    }
  } else {
    std::erase(core_->pattern_subs, sub);
    strip(core_->topics);
  }
  core_->generation.fetch_add(1, std::memory_order_release);
  return {};
}

core::Result<Publisher> MessageBus::publisher(std::string_view source_engine) {
  auto id = core::EngineId::create(source_engine);
  if (!id) return std::unexpected(id.error());
  auto counters = std::make_shared<detail::PublisherCounters>();
  {
    std::lock_guard lock(core_->mu);
    core_->publisher_counters.push_back(counters);
  }
  return Publisher(core_, *id, std::move(counters));
}

std::size_t MessageBus::expire_requests() { return core_->expire_requests(); }

const core::Clock& MessageBus::clock() const noexcept { return *core_->clock; }

Topic MessageBus::reply_endpoint() const noexcept { return core_->reply_topic; }

BusMetrics MessageBus::metrics() const {
  BusMetrics m;
  std::vector<std::string> families;
  std::vector<std::shared_ptr<detail::PublisherCounters>> pubs;
  std::vector<std::shared_ptr<Mailbox>> mailboxes;
  {
    std::lock_guard lock(core_->mu);
    families = core_->families;
    pubs = core_->publisher_counters;
    mailboxes = core_->mailboxes;
    m.topics = core_->topics.size();
    m.subscriptions = core_->pattern_subs.size();
    for (const auto& [name, e] : core_->endpoints) m.endpoints += e->local ? 1 : 0;
  }
  if (families.size() < kMaxTopicFamilies) families.resize(kMaxTopicFamilies);
  families[kMaxTopicFamilies - 1] = "other";
  for (std::size_t f = 0; f < kMaxTopicFamilies; ++f) {
    for (std::size_t p = 0; p < kPriorityCount; ++p) {
      const auto prio = static_cast<Priority>(p);
      BusMetrics::FamilyRow row{families[f], prio, 0, 0, 0, 0};
      for (const auto& c : pubs) {
        row.published += c->published.get(f, prio);
        row.delivered += c->delivered.get(f, prio);
        row.dropped += c->dropped.get(f, prio);
        row.conflated += c->conflated.get(f, prio);
      }
      if (row.published || row.delivered || row.dropped || row.conflated) {
        m.families.push_back(std::move(row));
      }
    }
  }
  for (const auto& c : pubs) {
    m.critical_dropped += c->critical_dropped.load(std::memory_order_relaxed);
    m.handler_errors += c->handler_errors.load(std::memory_order_relaxed);
  }
  for (const auto& mb : mailboxes) mb->core().fill_metrics(m, families);
  {
    std::lock_guard lock(core_->req_mu);
    m.pending_requests = core_->pending.size();
  }
  m.request_timeouts = core_->request_timeouts.load(std::memory_order_relaxed);
  return m;
}

std::vector<std::shared_ptr<Mailbox>> MessageBus::mailboxes() const {
  std::lock_guard lock(core_->mu);
  return core_->mailboxes;
}

std::vector<SubscriptionInfo> MessageBus::subscriptions() const {
  std::vector<SubscriptionInfo> out;
  std::lock_guard lock(core_->mu);
  for (const auto& [id, s] : core_->by_id) {
    out.push_back(SubscriptionInfo{s->id, s->pattern, s->endpoint, s->owner,
                                   s->mailbox ? s->mailbox->options.name : "inline", s->policy});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

}  // namespace nautilus::bus
