#include "timer_service.hpp"

namespace nautilus::engine::detail {

void TimerService::enqueue_locked(const std::shared_ptr<Timer>& t, core::UnixNanos due) {
  t->key = Key{due, t->name, t->id};
  t->queued = true;
  if (t->interval.count() <= 0) ++one_shots_;
  queue_.emplace(t->key, t);
}

TimerId TimerService::add(std::size_t slot, std::string name, core::UnixNanos due,
                          std::chrono::nanoseconds interval, TimerCallback fn) {
  std::lock_guard lock(mu_);
  auto t = std::make_shared<Timer>();
  t->id = next_id_++;
  t->slot = slot;
  t->name = std::move(name);
  t->interval = interval;
  t->fn = std::move(fn);
  timers_[t->id] = t;
  enqueue_locked(t, due);
  ++generation_;
  cv_.notify_all();
  return t->id;
}

void TimerService::cancel(TimerId id) {
  std::lock_guard lock(mu_);
  const auto it = timers_.find(id);
  if (it == timers_.end()) return;
  const auto& t = it->second;
  t->cancelled = true;
  if (t->queued) {
    queue_.erase(t->key);
    if (t->interval.count() <= 0) --one_shots_;
  }
  timers_.erase(it);
  ++generation_;
  cv_.notify_all();
}

TimerService::Firing TimerService::take_locked() {
  const auto it = queue_.begin();
  const core::UnixNanos due = std::get<0>(it->first);
  std::shared_ptr<Timer> t = it->second;
  queue_.erase(it);
  t->queued = false;
  if (t->interval.count() > 0) {
    // Back on the grid due + k*interval: a realtime dispatcher that fell behind skips the
    // firings it missed instead of bursting them (a simulated clock never falls behind).
    core::UnixNanos next = due + t->interval.count();
    const core::UnixNanos now = clock_->now();
    if (next <= now) next += ((now - next) / t->interval.count() + 1) * t->interval.count();
    enqueue_locked(t, next);
  } else {
    --one_shots_;
  }
  Firing f{.due = due, .slot = t->slot, .id = t->id, .run = {}};
  f.run = [this, t, due] {
    {
      std::lock_guard lock(mu_);
      if (t->cancelled) return;
    }
    t->fn(due);
    if (t->interval.count() <= 0) {
      std::lock_guard lock(mu_);
      if (!t->queued) timers_.erase(t->id);  // done (unless it was re-queued after a refusal)
    }
  };
  return f;
}

std::optional<TimerService::Firing> TimerService::pop_due(core::UnixNanos limit) {
  std::lock_guard lock(mu_);
  if (queue_.empty() || std::get<0>(queue_.begin()->first) > limit) return std::nullopt;
  return take_locked();
}

std::optional<core::UnixNanos> TimerService::next_due() const {
  std::lock_guard lock(mu_);
  if (queue_.empty()) return std::nullopt;
  return std::get<0>(queue_.begin()->first);
}

bool TimerService::has_one_shot() const {
  std::lock_guard lock(mu_);
  return one_shots_ > 0;
}

void TimerService::start_realtime(Post post) {
  post_ = std::move(post);
  thread_ = std::jthread([this](const std::stop_token& st) { dispatch(st); });
}

void TimerService::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    cv_.notify_all();
    thread_.join();
  }
  std::lock_guard lock(mu_);
  for (auto& [id, t] : timers_) t->cancelled = true;  // firings already posted do nothing
  queue_.clear();
  timers_.clear();
  one_shots_ = 0;
}

void TimerService::dispatch(const std::stop_token& st) {
  std::unique_lock lock(mu_);
  while (!st.stop_requested()) {
    if (queue_.empty()) {
      cv_.wait(lock, st, [&] { return !queue_.empty(); });
      continue;
    }
    const core::UnixNanos due = std::get<0>(queue_.begin()->first);
    const core::UnixNanos now = clock_->now();
    if (due > now) {
      // The clock is the host's (wall time here). An add or cancel wakes us at once (a new
      // timer may be earlier); otherwise re-check every 100 ms in case the clock was stepped.
      const auto seen = generation_;
      const auto wait = std::min<std::int64_t>(due - now, 100'000'000);
      cv_.wait_for(lock, st, std::chrono::nanoseconds(wait), [&] { return generation_ != seen; });
      continue;
    }
    Firing f = take_locked();
    lock.unlock();
    const bool posted = post_(f.slot, f.run);
    lock.lock();
    if (posted) continue;
    // The engine's mailbox stayed full for 100 ms. A one-shot (a replay's next record) is
    // tried again shortly, without holding up other engines' timers; a repeating timer waits
    // for its next slot.
    const auto it = timers_.find(f.id);
    if (it != timers_.end() && it->second->interval.count() <= 0 && !it->second->cancelled) {
      enqueue_locked(it->second, clock_->now() + 1'000'000);
    }
  }
}

}  // namespace nautilus::engine::detail
