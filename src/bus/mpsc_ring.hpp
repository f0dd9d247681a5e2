// Bounded multi-producer / single-consumer ring (Vyukov's bounded queue with a single
// consumer): producers claim a slot with one CAS, the consumer reads in place with no atomic
// read-modify-write. Private to the bus.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

namespace nautilus::bus::detail {

template <class T>
class MpscRing {
 public:
  explicit MpscRing(std::size_t capacity)
      : capacity_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity)),
        mask_(capacity_ - 1),
        cells_(std::make_unique<Cell[]>(capacity_)) {
    for (std::size_t i = 0; i < capacity_; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  }

  // Producer side, any thread. `fill(T&)` writes the value into the claimed slot.
  template <class Fill>
  bool try_push(Fill&& fill) noexcept {
    std::uint64_t pos = tail_.load(std::memory_order_relaxed);
    Cell* cell;
    while (true) {
      cell = &cells_[pos & mask_];
      const std::uint64_t seq = cell->seq.load(std::memory_order_acquire);
      const auto dif = static_cast<std::int64_t>(seq - pos);
      if (dif == 0) {
        // seq_cst: the claim is the producer's half of the parking handshake (see
        // MailboxCore::notify); on x86 a locked CAS costs the same either way.
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
          break;
        }
      } else if (dif < 0) {
        return false;  // full
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
    fill(cell->value);
    cell->seq.store(pos + 1, std::memory_order_release);
    return true;
  }

  // Consumer side, one thread: the oldest value, or nullptr when empty.
  [[nodiscard]] T* front() noexcept {
    Cell& cell = cells_[head_ & mask_];
    return cell.seq.load(std::memory_order_acquire) == head_ + 1 ? &cell.value : nullptr;
  }
  [[nodiscard]] bool nonempty() noexcept { return front() != nullptr; }
  // Consumer side: a producer has claimed a slot, possibly not yet filled it.
  [[nodiscard]] bool claimed() const noexcept {
    return tail_.load(std::memory_order_seq_cst) != head_;
  }
  void pop() noexcept {
    cells_[head_ & mask_].seq.store(head_ + capacity_, std::memory_order_release);
    ++head_;
    head_published_.store(head_, std::memory_order_relaxed);
  }

  // Approximate, from any thread.
  [[nodiscard]] std::size_t size() const noexcept {
    const std::uint64_t t = tail_.load(std::memory_order_relaxed);
    const std::uint64_t h = head_published_.load(std::memory_order_relaxed);
    return t > h ? static_cast<std::size_t>(t - h) : 0;
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  // Cache-line aligned so a small message occupies as few lines as possible; every line a
  // message touches crosses between cores twice.
  struct alignas(64) Cell {
    std::atomic<std::uint64_t> seq{0};
    T value{};
  };

  const std::size_t capacity_;
  const std::size_t mask_;
  std::unique_ptr<Cell[]> cells_;
  alignas(std::hardware_destructive_interference_size) std::atomic<std::uint64_t> tail_{0};
  alignas(std::hardware_destructive_interference_size) std::uint64_t head_ = 0;
  std::atomic<std::uint64_t> head_published_{0};
};

}  // namespace nautilus::bus::detail
