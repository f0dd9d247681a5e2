#include "nautilus/bus/mailbox.hpp"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <ctime>
#include <thread>

#include "mailbox_core.hpp"

namespace nautilus::bus {
namespace detail {
namespace {

void futex_wait(std::atomic<std::uint32_t>* addr, std::uint32_t expected,
                std::chrono::nanoseconds timeout) noexcept {
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  timespec ts{static_cast<time_t>(secs.count()), static_cast<long>((timeout - secs).count())};
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), FUTEX_WAIT_PRIVATE, expected, &ts,
            nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>* addr) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
            nullptr, 0);
}

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

MailboxOptions normalized(MailboxOptions o) {
  if (o.latency_sample_every == 0) o.latency_sample_every = 1;
  return o;
}

}  // namespace

namespace {
// A barrier travels as an ordinary queued message whose payload is the callback.
struct Barrier {
  static constexpr std::string_view kTypeName = "_barrier";
  std::function<void()> fn;
};
}  // namespace

MailboxCore::MailboxCore(MailboxOptions opts, const core::Clock* clock)
    : options(normalized(std::move(opts))), clock_(clock) {
  barrier_sub_ = std::make_shared<Subscription>();
  barrier_sub_->pattern = "_barrier";
  barrier_sub_->policy = OverflowPolicy::kBlock;
  barrier_sub_->block_bound = std::chrono::milliseconds(100);
  barrier_sub_->owner = "mailbox";
  barrier_sub_->handler = [](const Envelope& e) {
    if (const auto* b = e.get<Barrier>()) b->fn();
  };
  std::size_t total = 0;
  for (std::size_t p = 0; p < kPriorityCount; ++p) {
    lanes_[p] = std::make_unique<Lane<QueueItem>>(options.lane_capacity[p], options.single_thread);
    if (p <= index(Priority::kHigh)) total += lanes_[p]->capacity();
  }
  low_watermark_ = total / 2;
}

bool MailboxCore::push_lane(Priority p, Subscription* sub, std::uint16_t family,
                            const Envelope& env) noexcept {
  return lanes_[index(p)]->try_push([&](QueueItem& item) noexcept {
    item.sub = sub;
    item.family = family;
    item.env = env;
  });
}

EnqueueResult MailboxCore::conflate(Subscription* sub, std::uint16_t family,
                                    const Envelope& env) noexcept {
  const ConflationKey key{sub, env.topic.data()};
  EnqueueResult r;
  {
    std::lock_guard lock(conflate_mu_);
    auto [it, inserted] = latest_.try_emplace(key);
    it->second.sub = sub;
    it->second.family = family;
    it->second.env = env;
    if (inserted) {
      conflate_order_.push_back(key);
      conflate_pending_.fetch_add(1, std::memory_order_seq_cst);
      r = EnqueueResult::kQueued;
    } else {
      r = EnqueueResult::kConflated;
    }
  }
  notify();
  return r;
}

EnqueueResult MailboxCore::enqueue(Subscription* sub, std::uint16_t family,
                                   const Envelope& env) noexcept {
  const Priority p = env.priority;
  if (sub->policy == OverflowPolicy::kConflate && !is_critical(p)) {
    return conflate(sub, family, env);
  }
  if (sub->policy == OverflowPolicy::kDropLowFirst && p == Priority::kLow &&
      depth() >= low_watermark_) {
    return EnqueueResult::kDropped;
  }
  if (options.single_thread) {
    // Nobody else can make room while we wait, and nobody sleeps on the futex.
    return push_lane(p, sub, family, env) ? EnqueueResult::kQueued : EnqueueResult::kDropped;
  }
  if (push_lane(p, sub, family, env)) {
    notify();
    return EnqueueResult::kQueued;
  }
  if (sub->policy != OverflowPolicy::kBlock && !is_critical(p)) return EnqueueResult::kDropped;
  // Wait for room, bounded. Back off between retries: each retry reads the slot the consumer
  // is about to free, and hammering it slows the consumer down.
  const auto deadline = std::chrono::steady_clock::now() + sub->block_bound;
  for (unsigned attempt = 1;; ++attempt) {
    if ((attempt & 15) == 1) wake();  // the consumer may be parked
    for (int i = 0; i < 32; ++i) cpu_relax();
    if (push_lane(p, sub, family, env)) {
      notify();
      return EnqueueResult::kQueued;
    }
    if ((attempt & 15) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) return EnqueueResult::kDropped;
      std::this_thread::yield();
    }
  }
}

void MailboxCore::notify() noexcept {
  // Dekker handshake without a fence: the producer's seq_cst claim (the lane's tail CAS or
  // the conflation counter's increment) precedes this seq_cst load; the consumer stores
  // sleeping_ (seq_cst) and then reads the same tails in wait(). At least one side sees the
  // other, so a parked consumer is always woken.
  if (sleeping_.load(std::memory_order_seq_cst) != 0) wake();
}

void MailboxCore::wake() noexcept {
  if (sleeping_.exchange(0, std::memory_order_acq_rel) != 0) futex_wake(&sleeping_);
}

bool MailboxCore::claimed_work() const noexcept {
  for (const auto& lane : lanes_) {
    if (lane->claimed()) return true;
  }
  return conflate_pending_.load(std::memory_order_seq_cst) != 0;
}

bool MailboxCore::has_work() noexcept {
  for (auto& lane : lanes_) {
    if (lane->nonempty()) return true;
  }
  return conflate_pending_.load(std::memory_order_acquire) != 0;
}

bool MailboxCore::post_barrier(Priority p, std::function<void()> fn) {
  static const Topic kTopic = Topic::from_trusted("_barrier");
  Envelope env;
  env.topic = kTopic;
  env.priority = p;
  env.payload = Payload::make(Barrier{std::move(fn)});
  return enqueue(barrier_sub_.get(), kMaxTopicFamilies - 1, env) == EnqueueResult::kQueued;
}

void MailboxCore::deliver(Subscription* sub, std::uint16_t family, const Envelope& env) noexcept {
  if (sub == barrier_sub_.get()) {  // not a message: not counted, no latency sample
    try {
      sub->handler(env);
    } catch (...) {
      handler_errors_.store(handler_errors_.load(std::memory_order_relaxed) + 1,
                            std::memory_order_relaxed);
    }
    return;
  }
  if (!sub->active.load(std::memory_order_acquire)) {
    discarded_.store(discarded_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return;
  }
  if (--sample_countdown_ == 0) {
    sample_countdown_ = options.latency_sample_every;
    latency_.record(clock_->now() - env.ts_publish);
  }
  try {
    sub->handler(env);
  } catch (...) {
    // Nothing throws across the bus: a failing handler is counted, the engine goes on.
    handler_errors_.store(handler_errors_.load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
  }
  delivered_.add(family, env.priority);
}

// Drops a delivered slot's reference to a heap payload. Inline payloads are left as they are:
// writing to the slot would pull its cache line back to this core for nothing, and the next
// producer overwrites it anyway.
void MailboxCore::release_slot(QueueItem& item) noexcept {
  if (item.env.payload.owns_heap()) item.env.payload.reset();
}

bool MailboxCore::deliver_front(Lane<QueueItem>& lane) noexcept {
  QueueItem* item = lane.front();
  if (item == nullptr) return false;
  if (options.single_thread) {
    // Taken out of the lane first: the handler may publish into this mailbox, and a local
    // ring that grows then moves its slots, which would leave `item` dangling.
    QueueItem taken = std::move(*item);
    lane.pop();
    deliver(taken.sub, taken.family, taken.env);
    return true;
  }
  // Read in place: the MPSC ring's slots never move, and producers cannot reuse this one
  // before pop().
  deliver(item->sub, item->family, item->env);
  release_slot(*item);
  lane.pop();
  return true;
}

std::size_t MailboxCore::poll(std::size_t max_messages) noexcept {
  constexpr std::size_t kHigh = index(Priority::kHigh);
  std::size_t n = 0;
  while (n < max_messages) {
    // Re-scan from the top before every message: a higher-priority arrival overtakes the
    // rest of a lower lane's backlog. Peeking an idle lane is a load of a cached line.
    bool got = false;
    // One thread: an empty lane is skipped by its size alone, not a call into deliver_front
    // (the lanes are looked at again before every message). The MPSC ring's emptiness is a
    // look at its front slot, which deliver_front makes anyway.
    const bool local = options.single_thread;
    for (std::size_t p = kPriorityCount; p-- > kHigh;) {
      if ((!local || lanes_[p]->nonempty()) && deliver_front(*lanes_[p])) {
        got = true;
        break;
      }
    }
    if (!got && conflate_pending_.load(std::memory_order_acquire) != 0) {
      QueueItem item;
      {
        std::lock_guard lock(conflate_mu_);
        const ConflationKey key = conflate_order_.front();
        conflate_order_.pop_front();
        auto it = latest_.find(key);
        item = std::move(it->second);
        latest_.erase(it);
        conflate_pending_.fetch_sub(1, std::memory_order_release);
      }
      deliver(item.sub, item.family, item.env);
      got = true;
    }
    if (!got) {
      for (std::size_t p = kHigh; p-- > 0;) {
        if ((!local || lanes_[p]->nonempty()) && deliver_front(*lanes_[p])) {
          got = true;
          break;
        }
      }
    }
    if (!got) break;
    ++n;
  }
  return n;
}

bool MailboxCore::wait(std::chrono::nanoseconds timeout, const std::stop_token& stop) noexcept {
  const auto start = std::chrono::steady_clock::now();
  const auto spin_until = start + std::min(timeout, options.spin_before_park);
  for (unsigned i = 0;; ++i) {
    if (has_work()) return true;
    if ((i & 63) == 63 && std::chrono::steady_clock::now() >= spin_until) break;
    cpu_relax();
  }
  const auto remaining = timeout - (std::chrono::steady_clock::now() - start);
  if (remaining <= std::chrono::nanoseconds::zero()) return has_work();
  sleeping_.store(1, std::memory_order_seq_cst);
  if (claimed_work() || stop.stop_requested()) {
    sleeping_.store(0, std::memory_order_relaxed);
    return true;
  }
  futex_wait(&sleeping_, 1, remaining);
  sleeping_.store(0, std::memory_order_relaxed);
  return has_work();
}

void MailboxCore::run(const std::stop_token& stop) noexcept {
  std::stop_callback on_stop(stop, [this] { wake(); });
  while (true) {
    if (poll(256) > 0) continue;
    if (stop.stop_requested()) {
      while (poll(SIZE_MAX) > 0) {
      }
      return;
    }
    (void)wait(std::chrono::milliseconds(100), stop);
  }
}

std::size_t MailboxCore::depth() const noexcept {
  std::size_t d = conflate_pending_.load(std::memory_order_relaxed);
  for (const auto& lane : lanes_) d += lane->size();
  return d;
}

std::size_t MailboxCore::depth(Priority p) const noexcept { return lanes_[index(p)]->size(); }

void MailboxCore::retain(std::shared_ptr<Subscription> sub) {
  std::lock_guard lock(retained_mu_);
  retained_.push_back(std::move(sub));
}

void MailboxCore::fill_metrics(BusMetrics& m, const std::vector<std::string>& families) const {
  BusMetrics::MailboxRow row;
  row.name = options.name;
  for (std::size_t p = 0; p < kPriorityCount; ++p) row.depth[p] = lanes_[p]->size();
  row.discarded = discarded_.load(std::memory_order_relaxed);
  for (std::size_t f = 0; f < families.size(); ++f) {
    for (std::size_t p = 0; p < kPriorityCount; ++p) {
      const auto n = delivered_.get(f, static_cast<Priority>(p));
      row.delivered += n;
      if (n == 0) continue;
      for (auto& fr : m.families) {
        if (fr.family == families[f] && fr.priority == static_cast<Priority>(p)) fr.delivered += n;
      }
    }
  }
  m.handler_errors += handler_errors_.load(std::memory_order_relaxed);
  m.latency.merge(latency_);
  m.mailboxes.push_back(std::move(row));
}

MailboxStats MailboxCore::stats() const noexcept {
  MailboxStats s;
  for (std::size_t f = 0; f < kMaxTopicFamilies; ++f) {
    for (std::size_t p = 0; p < kPriorityCount; ++p) {
      s.delivered += delivered_.get(f, static_cast<Priority>(p));
    }
  }
  s.handler_errors = handler_errors_.load(std::memory_order_relaxed);
  s.lag_samples = latency_.count();
  s.lag_p99_ns = s.lag_samples > 0 ? latency_.percentile(0.99) : 0;
  return s;
}

}  // namespace detail

Mailbox::Mailbox(std::unique_ptr<detail::MailboxCore> core) noexcept : core_(std::move(core)) {}
Mailbox::~Mailbox() = default;

const std::string& Mailbox::name() const noexcept { return core_->options.name; }
std::size_t Mailbox::poll(std::size_t max_messages) noexcept { return core_->poll(max_messages); }
bool Mailbox::wait(std::chrono::nanoseconds timeout, const std::stop_token& stop) noexcept {
  return core_->wait(timeout, stop);
}
void Mailbox::run(const std::stop_token& stop) noexcept { core_->run(stop); }
std::size_t Mailbox::depth() const noexcept { return core_->depth(); }
std::size_t Mailbox::depth(Priority p) const noexcept { return core_->depth(p); }
MailboxStats Mailbox::stats() const noexcept { return core_->stats(); }
bool Mailbox::post_barrier(Priority p, std::function<void()> fn) {
  return core_->post_barrier(p, std::move(fn));
}

MailboxThread::MailboxThread(std::shared_ptr<Mailbox> mailbox, int cpu)
    : mailbox_(std::move(mailbox)), thread_([mb = mailbox_, cpu](const std::stop_token& st) {
        if (cpu >= 0) (void)pin_current_thread(cpu);
        mb->run(st);
      }) {}

bool pin_current_thread(int cpu) noexcept {
  if (cpu < 0 || cpu >= CPU_SETSIZE) return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

MailboxThread::~MailboxThread() { stop(); }

void MailboxThread::stop() noexcept {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

}  // namespace nautilus::bus
