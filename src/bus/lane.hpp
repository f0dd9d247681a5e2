// One priority lane of a mailbox: the MPSC ring when producers may be any thread, the local
// ring when they are all the consumer's (MailboxOptions::single_thread). Private to the bus.
#pragma once

#include <cstddef>
#include <memory>

#include "local_ring.hpp"
#include "mpsc_ring.hpp"

namespace nautilus::bus::detail {

template <class T>
class Lane {
 public:
  Lane(std::size_t capacity, bool single_thread) {
    if (single_thread) {
      local_ = std::make_unique<LocalRing<T>>(capacity);
    } else {
      shared_ = std::make_unique<MpscRing<T>>(capacity);
    }
  }
  template <class Fill>
  bool try_push(Fill&& fill) noexcept {
    return local_ ? local_->try_push(fill) : shared_->try_push(fill);
  }
  [[nodiscard]] T* front() noexcept { return local_ ? local_->front() : shared_->front(); }
  [[nodiscard]] bool nonempty() noexcept {
    return local_ ? local_->nonempty() : shared_->nonempty();
  }
  void pop() noexcept { local_ ? local_->pop() : shared_->pop(); }
  [[nodiscard]] bool claimed() const noexcept {
    return local_ ? local_->claimed() : shared_->claimed();
  }
  [[nodiscard]] std::size_t size() const noexcept {
    return local_ ? local_->size() : shared_->size();
  }
  [[nodiscard]] std::size_t capacity() const noexcept {
    return local_ ? local_->capacity() : shared_->capacity();
  }

 private:
  std::unique_ptr<LocalRing<T>> local_;
  std::unique_ptr<MpscRing<T>> shared_;
};

}  // namespace nautilus::bus::detail
