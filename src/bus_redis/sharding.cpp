// ShardLayout (sharding.hpp): stream names whose slots are spread evenly, and the shard of a
// topic.
#include "nautilus/bus_redis/sharding.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "nautilus/bus/topic.hpp"
#include "nautilus/bus_redis/cluster.hpp"

namespace nautilus::bus_redis {

std::string_view topic_symbol(std::string_view topic) noexcept {
  for (std::string_view prefix : {"price.update.", "volume.update."}) {
    if (topic.starts_with(prefix)) return topic.substr(prefix.size());
  }
  if (topic.starts_with("market_data.")) {
    const std::string_view rest = topic.substr(12);
    const auto last = rest.rfind('.');
    return last == std::string_view::npos ? rest : rest.substr(0, last);
  }
  return topic;
}

ShardLayout::ShardLayout(std::string stream, std::size_t shards, ShardKey key) : key_(key) {
  shards = std::max<std::size_t>(shards, 1);
  for (std::size_t k = 0; k < shards; ++k) {
    // Shard k's slot lies in the k-th of `shards` equal ranges: the first tag "k.n" (n from
    // 0) that hashes there. About `shards` tries each; the same names in every process.
    const std::size_t lo = k * kClusterSlots / shards;
    const std::size_t hi = (k + 1) * kClusterSlots / shards;
    for (std::size_t n = 0;; ++n) {
      const std::string tag = fmt::format("{}.{}", k, n);
      const std::uint16_t slot = crc16(tag) % kClusterSlots;
      if (slot >= lo && slot < hi) {
        streams_.push_back(fmt::format("{}:{{{}}}", stream, tag));
        slots_.push_back(slot);
        break;
      }
    }
  }
}

std::size_t ShardLayout::shard_of(std::string_view topic) const noexcept {
  if (streams_.size() == 1) return 0;
  const std::string_view k =
      key_ == ShardKey::kSymbol ? topic_symbol(topic) : bus::topic_family(topic);
  // FNV-1a: its low bits mix well, where CRC16's modulo a small count clusters.
  std::uint64_t h = 14695981039346656037ULL;
  for (const char c : k) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return static_cast<std::size_t>(h % streams_.size());
}

}  // namespace nautilus::bus_redis
