// Sharding a bus over a Redis Cluster: the bus's stream becomes `shards` streams, each named
// with a hash tag of its own (`nautilus:market_data:{3.17}`), the tags chosen so the streams'
// slots sit at even steps over the 16,384 slots and so spread evenly over masters that own
// equal slot ranges (what `redis-cli --cluster create` makes). Every process computes the same
// names from the same (stream, shards). A message goes to the shard of its key: its symbol on
// the MarketData bus (so each symbol's messages keep their order), its topic family on the
// Engine Logic bus. A shard's urgent and dead-letter streams carry its tag too, so they share
// its slot.
//
//   const ShardLayout md("nautilus:market_data", 12, ShardKey::kSymbol);
//   md.stream(md.shard_of("market_data.AAPL.bar"));   // "nautilus:market_data:{…}"
//   key_slot(md.stream(3));                            // in the 4th twelfth of the slots
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nautilus::bus_redis {

inline constexpr std::size_t kDefaultMarketDataShards = 12;
inline constexpr std::size_t kDefaultLogicShards = 4;

enum class ShardKey : std::uint8_t { kSymbol, kFamily };

// A bus's shard count: the configured one ([redis.<bus>] shards), or 0 for the default of
// its kind (market data by symbol: 12; logic by family: 4). Everyone reading or writing a bus
// uses this, so all agree on its stream names.
[[nodiscard]] constexpr std::size_t shard_count(std::size_t configured, ShardKey key) noexcept {
  if (configured > 0) return configured;
  return key == ShardKey::kSymbol ? kDefaultMarketDataShards : kDefaultLogicShards;
}

// The symbol a market-data topic is about: `market_data.<symbol>.<kind>`,
// `price.update.<symbol>`, `volume.update.<symbol>` (a symbol may hold dots); the whole topic
// for any other shape.
[[nodiscard]] std::string_view topic_symbol(std::string_view topic) noexcept;

class ShardLayout {
 public:
  ShardLayout(std::string stream, std::size_t shards, ShardKey key);

  [[nodiscard]] std::size_t shards() const noexcept { return streams_.size(); }
  [[nodiscard]] const std::string& stream(std::size_t shard) const { return streams_.at(shard); }
  [[nodiscard]] std::uint16_t slot(std::size_t shard) const { return slots_.at(shard); }
  // The shard a topic's messages go to.
  [[nodiscard]] std::size_t shard_of(std::string_view topic) const noexcept;

 private:
  std::vector<std::string> streams_;
  std::vector<std::uint16_t> slots_;
  ShardKey key_;
};

}  // namespace nautilus::bus_redis
