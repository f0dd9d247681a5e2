// Bounded single-thread FIFO: the lanes of a mailbox whose producers all run on its consumer's
// thread (a deterministic host, where one thread publishes, polls and handles everything).
// Private to the bus.
//
// The MPSC ring pays for threads it does not have there: a locked CAS per push, availability
// stamps, and every slot of its capacity allocated up front (3.4 MB per mailbox at the default
// lanes, touched page by page as the ring goes round). This one starts small, grows to the
// lane's capacity only if a burst needs it, and reuses the same few slots while they stay in
// the cache. Same interface as MpscRing, same capacity: a full lane refuses as it would.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace nautilus::bus::detail {

template <class T>
class LocalRing {
 public:
  static constexpr std::size_t kInitialSlots = 64;

  explicit LocalRing(std::size_t capacity)
      : capacity_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity)) {}

  template <class Fill>
  bool try_push(Fill&& fill) noexcept {
    if (size_ == capacity_) return false;
    if (size_ == slots_.size() && !grow()) return false;
    fill(slots_[(head_ + size_) & (slots_.size() - 1)]);
    ++size_;
    return true;
  }
  [[nodiscard]] T* front() noexcept { return size_ == 0 ? nullptr : &slots_[head_]; }
  [[nodiscard]] bool nonempty() const noexcept { return size_ != 0; }
  void pop() noexcept {
    head_ = (head_ + 1) & (slots_.size() - 1);
    --size_;
  }
  [[nodiscard]] bool claimed() const noexcept { return size_ != 0; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  // Doubles the slots (a power of two, at most the capacity), keeping the order. False when
  // memory ran out: the push is refused like a full lane's, and counted by the caller.
  bool grow() noexcept {
    try {
      const std::size_t n = std::min(capacity_, std::max(kInitialSlots, slots_.size() * 2));
      std::vector<T> next(n);
      for (std::size_t i = 0; i < size_; ++i) {
        next[i] = std::move(slots_[(head_ + i) & (slots_.size() - 1)]);
      }
      slots_ = std::move(next);
      head_ = 0;
      return true;
    } catch (...) {
      return false;
    }
  }

  const std::size_t capacity_;
  std::vector<T> slots_;  // empty, or a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace nautilus::bus::detail
