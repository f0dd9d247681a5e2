// Dedup: the messages a transport's readers have recently delivered, by writer and source, so
// that a message arriving twice is delivered once. Private to the transport.
//
// For each (origin, source) it keeps a ring of that source's last `window` sequence numbers
// (a power of two), indexed by sequence, holding the ts_publish seen with each. A resend after
// a failover, an entry delivered twice, or a message that came over both buses while migrating
// is dropped: same writing transport (the entry's origin), source, sequence and ts_publish.
// Keying by the writer too keeps apart processes that share an engine name (an engine scaled
// out to several processes), whose sequences overlap. Consecutive messages of a source touch
// neighbouring slots, so this stays in cache at millions of messages a second, where a hash set
// of keys did not.
//
// What it cannot see: a duplicate more than `window` sequence numbers behind its source's
// newest message. It is delivered again, never lost.
//
// Not thread-safe: the transport's readers share one under a mutex.
//
//   Dedup seen(16'384);
//   if (seen.insert(entry.origin, env)) deliver(env);
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nautilus/bus/envelope.hpp"

namespace nautilus::bus_redis::detail {

class Dedup {
 public:
  // Rings beyond this many (256 KB each at the default window) are not remembered separately:
  // the table starts over (duplicates may pass for a moment; memory stays bounded whatever
  // arrives).
  static constexpr std::size_t kMaxRings = 256;

  // `window`: sequence numbers remembered per (origin, source), rounded up to a power of two
  // and to 64 at least.
  explicit Dedup(std::size_t window);

  // True if new (and remembers it). `origin`: the entry's writer (field "o"; empty if absent).
  // Inline: it runs once per message.
  bool insert(std::string_view origin, const bus::Envelope& e) {
    Slot& slot = ring(origin, e.source.data())[e.sequence & (size_ - 1)];
    if (slot.sequence == e.sequence && slot.ts_publish == e.ts_publish) return false;
    slot = {e.sequence, e.ts_publish};
    return true;
  }

 private:
  struct Slot {
    std::uint64_t sequence = UINT64_MAX;  // none
    core::UnixNanos ts_publish = INT64_MIN;
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using Sources = std::unordered_map<const char*, std::vector<Slot>>;  // by interned source

  // Messages come in runs from one writer and source, so the last ring is kept at hand.
  std::vector<Slot>& ring(std::string_view origin, const char* source) {
    if (source == last_source_ && origin == last_origin_) return *last_ring_;
    return find_ring(origin, source);
  }
  std::vector<Slot>& find_ring(std::string_view origin, const char* source);

  std::size_t size_;
  std::unordered_map<std::string, Sources, NameHash, std::equal_to<>> origins_;
  std::size_t rings_ = 0;
  std::string last_origin_;
  const char* last_source_ = nullptr;
  std::vector<Slot>* last_ring_ = nullptr;
};

}  // namespace nautilus::bus_redis::detail
