// Bounded multi-producer / single-consumer ring. Private to the bus.
//
// Producers check for room against the head the consumer last published, claim a position with
// one CAS on `tail_`, fill the slot and stamp it `ready = pos + 1` (unique per lap, so slots are
// never reset). The consumer reads slots in place and never writes to them: it publishes its
// head every few pops (head_batch_) and whenever it finds the ring empty. Compared with a per-slot
// sequence handshake (Vyukov), each message's cache lines cross between cores once instead of
// twice. This is the LMAX Disruptor's multi-producer sequencer with its availability stamps.
#pragma once

#include <algorithm>
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
  static constexpr std::uint64_t kMaxHeadBatch = 32;

  explicit MpscRing(std::size_t capacity)
      : capacity_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity)),
        mask_(capacity_ - 1),
        // A quarter of the ring at most, so producers of a small ring see room early.
        head_batch_(
            std::max<std::uint64_t>(1, std::min<std::uint64_t>(kMaxHeadBatch, capacity_ / 4))),
        cells_(std::make_unique<Cell[]>(capacity_)) {}

  // Producer side, any thread. `fill(T&)` writes the value into the claimed slot. False when
  // the ring is full (as of the consumer's last published head).
  template <class Fill>
  bool try_push(Fill&& fill) noexcept {
    std::uint64_t pos = tail_.load(std::memory_order_relaxed);
    while (true) {
      // Room is checked against the producers' cached head (on tail_'s line, which this CAS
      // owns anyway) and the consumer's published head is read only when that looks full:
      // reading it on every push would move its line between cores per message. Acquire and
      // release on both keep the chain "consumer finished with the slot -> we overwrite it".
      if (pos - head_cache_.load(std::memory_order_acquire) >= capacity_) {
        const std::uint64_t h = head_published_.load(std::memory_order_acquire);
        head_cache_.store(h, std::memory_order_release);
        if (pos - h >= capacity_) return false;
      }
      // seq_cst: the claim is the producer's half of the parking handshake (see
      // MailboxCore::notify); on x86 a locked CAS costs the same either way. The room check
      // above stays true after a successful CAS, because the head only grows.
      if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
        break;
      }
    }
    Cell& cell = cells_[pos & mask_];
    fill(cell.value);
    cell.ready.store(pos + 1, std::memory_order_release);
    return true;
  }

  // Consumer side, one thread: the oldest value, or nullptr when empty.
  [[nodiscard]] T* front() noexcept {
    Cell& cell = cells_[head_ & mask_];
    if (cell.ready.load(std::memory_order_acquire) == head_ + 1) return &cell.value;
    publish_head();  // empty: let producers see all the room there is before we idle
    return nullptr;
  }
  [[nodiscard]] bool nonempty() noexcept { return front() != nullptr; }
  void pop() noexcept {
    ++head_;
    if (head_ - head_reported_ >= head_batch_) publish_head();
  }
  // Consumer side: a producer has claimed a slot, possibly not yet filled it.
  [[nodiscard]] bool claimed() const noexcept {
    return tail_.load(std::memory_order_seq_cst) != head_;
  }

  // Approximate, from any thread (counts up to head_batch_ delivered messages as queued).
  [[nodiscard]] std::size_t size() const noexcept {
    const std::uint64_t t = tail_.load(std::memory_order_relaxed);
    const std::uint64_t h = head_published_.load(std::memory_order_relaxed);
    return t > h ? static_cast<std::size_t>(t - h) : 0;
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  // Cache-line aligned so a small message occupies as few lines as possible.
  struct alignas(64) Cell {
    std::atomic<std::uint64_t> ready{0};
    T value{};
  };

  void publish_head() noexcept {
    if (head_reported_ != head_) {
      head_published_.store(head_, std::memory_order_release);
      head_reported_ = head_;
    }
  }

  const std::size_t capacity_;
  const std::size_t mask_;
  const std::uint64_t head_batch_;
  std::unique_ptr<Cell[]> cells_;
  alignas(std::hardware_destructive_interference_size) std::atomic<std::uint64_t> tail_{0};
  std::atomic<std::uint64_t> head_cache_{0};  // producers' view of head_published_, may lag
  // Written by the consumer every head_batch_ pops, read by producers on every push.
  alignas(std::hardware_destructive_interference_size) std::atomic<std::uint64_t> head_published_{
      0};
  // Consumer-only.
  alignas(std::hardware_destructive_interference_size) std::uint64_t head_ = 0;
  std::uint64_t head_reported_ = 0;
};

}  // namespace nautilus::bus::detail
