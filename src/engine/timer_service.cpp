#include "timer_service.hpp"

namespace nautilus::engine::detail {

TimerId TimerService::add(std::size_t slot, std::string name, core::UnixNanos due,
                          std::chrono::nanoseconds interval, TimerCallback fn) {
  std::lock_guard lock(mu_);
  auto t = std::make_shared<Timer>();
  t->id = next_id_++;
  t->slot = slot;
  t->name = std::move(name);
  t->interval = interval;
  t->fn = std::move(fn);
  Key key{due, t->name, t->id};
  keys_[t->id] = key;
  if (interval.count() <= 0) ++one_shots_;
  const TimerId id = t->id;
  queue_.emplace(std::move(key), std::move(t));
  cv_.notify_all();
  return id;
}

void TimerService::cancel(TimerId id) {
  std::lock_guard lock(mu_);
  auto k = keys_.find(id);
  if (k == keys_.end()) return;
  auto it = queue_.find(k->second);
  if (it != queue_.end()) {
    it->second->cancelled = true;
    if (it->second->interval.count() <= 0) --one_shots_;
    queue_.erase(it);
  }
  keys_.erase(k);
}

TimerService::Firing TimerService::take_locked(std::map<Key, std::shared_ptr<Timer>>::iterator it) {
  const core::UnixNanos due = std::get<0>(it->first);
  std::shared_ptr<Timer> t = it->second;
  queue_.erase(it);
  if (t->interval.count() > 0) {
    // Back on the grid due + k*interval: a realtime dispatcher that fell behind skips the
    // firings it missed instead of bursting them (a simulated clock never falls behind).
    core::UnixNanos next = due + t->interval.count();
    const core::UnixNanos now = clock_->now();
    if (next <= now) next += ((now - next) / t->interval.count() + 1) * t->interval.count();
    Key key{next, t->name, t->id};
    keys_[t->id] = key;
    queue_.emplace(std::move(key), t);
  } else {
    keys_.erase(t->id);
    --one_shots_;
  }
  ++fired_;
  Firing f{due, t->slot, {}};
  f.run = [this, t, due] {
    {
      std::lock_guard lock(mu_);
      if (t->cancelled) return;
    }
    t->fn(due);
  };
  return f;
}

std::optional<TimerService::Firing> TimerService::pop_due(core::UnixNanos limit) {
  std::lock_guard lock(mu_);
  if (queue_.empty() || std::get<0>(queue_.begin()->first) > limit) return std::nullopt;
  return take_locked(queue_.begin());
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
  if (!thread_.joinable()) return;
  thread_.request_stop();
  cv_.notify_all();
  thread_.join();
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
      // The clock is the host's (wall time here): wait for it, re-checking now and then in
      // case an earlier timer is added or the clock is stepped.
      const auto wait = std::min<std::int64_t>(due - now, 100'000'000);
      cv_.wait_for(lock, st, std::chrono::nanoseconds(wait), [] { return false; });
      continue;
    }
    Firing f = take_locked(queue_.begin());
    lock.unlock();
    // A mailbox refuses only when its lane stayed full for 100 ms: try again rather than lose
    // the firing (a replay's next record is a one-shot timer; losing it would stop the replay).
    while (!post_(f.slot, f.run) && !st.stop_requested()) {
      retried_.fetch_add(1, std::memory_order_relaxed);
    }
    lock.lock();
  }
}

}  // namespace nautilus::engine::detail
