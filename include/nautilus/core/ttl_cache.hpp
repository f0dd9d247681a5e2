// TtlCache: values kept for a time-to-live read on the injected clock, with in-flight
// de-duplication: concurrent gets of a missing key run its fetch once and all share the
// outcome. Errors are never cached. Thread-safe; the fetch runs on the caller's thread outside
// the lock, so a slow fetch of one key holds up only the callers of that key.
//
//   TtlCache<std::string> cache(ctx.clock());
//   auto v = cache.get("IBM|daily", std::chrono::hours(1),
//                      [&]() -> Result<std::string> { return download(url); });
//   if (v) use(*v->value, /*cached=*/v->hit);
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"

namespace nautilus::core {

template <class V, class Key = std::string>
class TtlCache {
 public:
  struct Stats {
    std::uint64_t hits = 0;       // served from a fresh entry
    std::uint64_t misses = 0;     // fetches started
    std::uint64_t coalesced = 0;  // gets that shared another caller's fetch
    std::uint64_t errors = 0;     // fetches that failed
    std::size_t entries = 0;      // fresh entries now
    std::size_t waiting = 0;      // gets waiting for another caller's fetch now
  };
  struct Value {
    std::shared_ptr<const V> value;
    bool hit = false;  // from a fresh entry or another caller's fetch, not a fetch of our own
  };

  // The clock must outlive the cache.
  explicit TtlCache(const Clock& clock) noexcept : clock_(&clock) {}

  // The fresh value of `key`, else the outcome of `fetch` (callable as Result<V>()), kept for
  // `ttl` if it succeeded. A caller that finds a fetch of `key` running waits for it and gets
  // its value or its error. An exception from `fetch` propagates to its caller; the waiters
  // then get a kInternal error.
  template <class Fetch>
  [[nodiscard]] Result<Value> get(const Key& key, std::chrono::nanoseconds ttl, Fetch&& fetch);

  [[nodiscard]] Stats stats() const;

 private:
  // One running fetch, shared with the callers that wait for it.
  struct Flight {
    bool done = false;
    Result<std::shared_ptr<const V>> outcome;
  };
  struct Entry {
    std::shared_ptr<const V> value;
    UnixNanos stored = 0;
    std::chrono::nanoseconds ttl{0};
    std::shared_ptr<Flight> flight;  // while a fetch of this key runs
  };
  // Age against ttl rather than an expiry time, so that ttl = nanoseconds::max() ("keep")
  // cannot overflow.
  [[nodiscard]] static bool fresh(const Entry& e, UnixNanos now) noexcept {
    return e.value != nullptr && now - e.stored < e.ttl.count();
  }
  [[nodiscard]] Result<Value> finish(const Key& key, const std::shared_ptr<Flight>& flight,
                                     std::chrono::nanoseconds ttl, Result<V> fetched);
  // Drops stale entries once the table has doubled since the last sweep: amortised O(1) per
  // miss, and a key space that keeps changing cannot grow the table without bound.
  void sweep(UnixNanos now);

  static constexpr std::size_t kMinSweep = 64;

  const Clock* clock_;
  mutable std::mutex mu_;
  std::condition_variable done_;
  std::unordered_map<Key, Entry> entries_;
  std::size_t sweep_at_ = kMinSweep;
  Stats stats_;
};

template <class V, class Key>
template <class Fetch>
Result<typename TtlCache<V, Key>::Value> TtlCache<V, Key>::get(const Key& key,
                                                               std::chrono::nanoseconds ttl,
                                                               Fetch&& fetch) {
  std::unique_lock lock(mu_);
  const UnixNanos now = clock_->now();
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    if (fresh(it->second, now)) {
      ++stats_.hits;
      return Value{it->second.value, true};
    }
    if (std::shared_ptr<Flight> flight = it->second.flight) {
      ++stats_.waiting;
      done_.wait(lock, [&] { return flight->done; });
      --stats_.waiting;
      ++stats_.coalesced;
      if (!flight->outcome) return std::unexpected(flight->outcome.error());
      return Value{*flight->outcome, true};
    }
  }
  if (entries_.size() >= sweep_at_) sweep(now);
  auto flight = std::make_shared<Flight>();
  entries_[key].flight = flight;
  ++stats_.misses;
  lock.unlock();
  std::optional<Result<V>> fetched;
  try {
    fetched.emplace(std::forward<Fetch>(fetch)());
  } catch (...) {
    // Without this the waiters, and every later get of the key, would wait forever.
    (void)finish(key, flight, ttl, fail(ErrorCode::kInternal, "the fetch threw an exception"));
    throw;
  }
  return finish(key, flight, ttl, std::move(*fetched));
}

template <class V, class Key>
Result<typename TtlCache<V, Key>::Value> TtlCache<V, Key>::finish(
    const Key& key, const std::shared_ptr<Flight>& flight, std::chrono::nanoseconds ttl,
    Result<V> fetched) {
  std::lock_guard lock(mu_);
  flight->done = true;
  done_.notify_all();  // the waiters wake once the lock is released, with the outcome set
  if (!fetched) {
    ++stats_.errors;
    flight->outcome = std::unexpected(fetched.error());
    entries_.erase(key);  // a stale value is no use to anyone, and no other caller owns the entry
    return std::unexpected(std::move(fetched.error()));
  }
  auto value = std::make_shared<const V>(std::move(*fetched));
  flight->outcome = value;
  entries_[key] = Entry{value, clock_->now(), ttl, nullptr};
  return Value{std::move(value), false};
}

template <class V, class Key>
void TtlCache<V, Key>::sweep(UnixNanos now) {
  std::erase_if(entries_,
                [now](const auto& kv) { return !kv.second.flight && !fresh(kv.second, now); });
  sweep_at_ = std::max(kMinSweep, 2 * entries_.size());
}

template <class V, class Key>
typename TtlCache<V, Key>::Stats TtlCache<V, Key>::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  const UnixNanos now = clock_->now();
  s.entries = 0;
  for (const auto& [k, e] : entries_) s.entries += fresh(e, now) ? 1 : 0;
  return s;
}

}  // namespace nautilus::core
