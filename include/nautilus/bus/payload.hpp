// Payload: one immutable typed message, type-erased so the bus stays generic. Small trivially
// copyable messages live inline (no allocation, copied by memcpy); others are held by a shared
// pointer to a const value, so fan-out to many subscribers never copies them.
//
//   Payload p = Payload::make(QuoteTick{...});
//   if (const QuoteTick* q = p.get<QuoteTick>()) use(*q);
//   p.type_name();  // "quote_tick"
//
// A message type needs `static constexpr std::string_view kTypeName` and a nothrow move.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

namespace nautilus::bus {

template <class T>
concept Message =
    std::is_nothrow_move_constructible_v<T> && std::is_copy_constructible_v<T> && requires {
      { T::kTypeName } -> std::convertible_to<std::string_view>;
    };

inline constexpr std::size_t kInlinePayloadSize = 112;

namespace detail {
struct PayloadVTable {
  std::string_view type_name;
  bool inline_trivial;  // true: the bytes are the value; copy by memcpy, no destructor
  std::size_t size;
  void (*copy)(void* dst, const void* src) noexcept;
  void (*destroy)(void* p) noexcept;
  const void* (*get)(const void* storage) noexcept;
};

template <class T>
inline constexpr bool kStoredInline =
    std::is_trivially_copyable_v<T> && sizeof(T) <= kInlinePayloadSize && alignof(T) <= 16;

template <class T>
struct VTableFor {
  using Heap = std::shared_ptr<const T>;
  static constexpr PayloadVTable make() noexcept {
    if constexpr (kStoredInline<T>) {
      return {T::kTypeName, true,    sizeof(T),
              nullptr,      nullptr, [](const void* s) noexcept -> const void* { return s; }};
    } else {
      return {
          T::kTypeName,
          false,
          sizeof(Heap),
          [](void* d, const void* s) noexcept { ::new (d) Heap(*static_cast<const Heap*>(s)); },
          [](void* p) noexcept { static_cast<Heap*>(p)->~Heap(); },
          [](const void* s) noexcept -> const void* { return static_cast<const Heap*>(s)->get(); }};
    }
  }
  static constexpr PayloadVTable kTable = make();
};
}  // namespace detail

class Payload {
 public:
  Payload() noexcept = default;
  Payload(const Payload& o) noexcept { copy_from(o); }
  Payload(Payload&& o) noexcept { steal(o); }
  Payload& operator=(const Payload& o) noexcept {
    if (this != &o) {
      reset();
      copy_from(o);
    }
    return *this;
  }
  Payload& operator=(Payload&& o) noexcept {
    if (this != &o) {
      reset();
      steal(o);
    }
    return *this;
  }
  ~Payload() { reset(); }

  template <Message T>
  [[nodiscard]] static Payload make(T value) {
    Payload p;
    p.emplace(std::move(value));
    return p;
  }
  // Replaces the content with `value`, built in place.
  template <Message T>
  void emplace(T value) {
    reset();
    if constexpr (detail::kStoredInline<T>) {
      ::new (buf_) T(std::move(value));
    } else {
      ::new (buf_) std::shared_ptr<const T>(std::make_shared<const T>(std::move(value)));
    }
    vt_ = &detail::VTableFor<T>::kTable;
  }

  // The message if it is a T, else nullptr. No indirect call: T's storage is known here.
  template <class T>
  [[nodiscard]] const T* get() const noexcept {
    if (vt_ != &detail::VTableFor<T>::kTable) return nullptr;
    if constexpr (detail::kStoredInline<T>) {
      return std::launder(reinterpret_cast<const T*>(buf_));
    } else {
      return std::launder(reinterpret_cast<const std::shared_ptr<const T>*>(buf_))->get();
    }
  }
  template <class T>
  [[nodiscard]] bool is() const noexcept {
    return vt_ == &detail::VTableFor<T>::kTable;
  }
  [[nodiscard]] bool empty() const noexcept { return vt_ == nullptr; }
  // An address unique to the payload's type (nullptr when empty), comparable with
  // type_id<T>(): a type switch by pointer instead of by name.
  [[nodiscard]] const void* type_id() const noexcept { return vt_; }
  template <class T>
  [[nodiscard]] static constexpr const void* type_id() noexcept {
    return &detail::VTableFor<T>::kTable;
  }
  // True when the message lives on the heap (a reference to release), not inline.
  [[nodiscard]] bool owns_heap() const noexcept { return vt_ != nullptr && !vt_->inline_trivial; }
  [[nodiscard]] std::string_view type_name() const noexcept {
    return vt_ ? vt_->type_name : std::string_view{};
  }

  void reset() noexcept {
    if (vt_ && !vt_->inline_trivial) vt_->destroy(buf_);
    vt_ = nullptr;
  }

 private:
  // Copies the used bytes in 16-byte chunks: inlined vector moves, no library call, and a
  // small message touches only the cache lines it occupies (this runs into queue slots that
  // another core reads next).
  void copy_bytes(const Payload& o) noexcept {
    for (std::size_t i = 0; i < vt_->size; i += 16) std::memcpy(buf_ + i, o.buf_ + i, 16);
  }
  void copy_from(const Payload& o) noexcept {
    vt_ = o.vt_;
    if (!vt_) return;
    if (vt_->inline_trivial) {
      copy_bytes(o);
    } else {
      vt_->copy(buf_, o.buf_);
    }
  }
  void steal(Payload& o) noexcept {
    // Both storage kinds are trivially relocatable (plain bytes, or a shared_ptr's two
    // pointers), so a move is a byte copy that leaves the source empty.
    vt_ = o.vt_;
    if (vt_) copy_bytes(o);
    o.vt_ = nullptr;
  }

  const detail::PayloadVTable* vt_ = nullptr;
  // Not zeroed: chunk copies may read up to 15 indeterminate std::byte values past the
  // value, which is well-defined ([basic.indet]); zeroing would cost every publish.
  alignas(16) std::byte buf_[kInlinePayloadSize];
};

static_assert(std::is_nothrow_move_constructible_v<Payload>);

}  // namespace nautilus::bus
