// Market data messages: quotes, trades and bars. Plain immutable values, trivially copyable,
// small enough to travel inside a bus Envelope without a heap allocation. Each is described
// once (BOOST_DESCRIBE_STRUCT): the wire codec, JSON and the docs' field tables derive from
// that description (model/messages.hpp lists every message type).
//
//   QuoteTick q{.symbol = Symbol::from_trusted("AAPL"), .bid = *Price::from_string("189.10"),
//               .ask = *Price::from_string("189.12"), .bid_size = *Quantity::from_string("300"),
//               .ask_size = *Quantity::from_string("200"), .ts_event = clock.now()};
//   publisher.publish(topic, q);
#pragma once

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/core/fixed_point.hpp"
#include "nautilus/core/identifiers.hpp"

namespace nautilus::model {

using core::Price;
using core::Quantity;
using core::Symbol;
using core::UnixNanos;

// Wire v1 wrote this as a number (0, 1, 2); decoders still accept that form.
enum class AggressorSide : std::uint8_t { kNone = 0, kBuyer = 1, kSeller = 2 };
BOOST_DESCRIBE_ENUM(AggressorSide, kNone, kBuyer, kSeller)

struct QuoteTick {
  static constexpr std::string_view kTypeName = "quote_tick";
  Symbol symbol;
  Price bid;
  Price ask;
  Quantity bid_size;
  Quantity ask_size;
  UnixNanos ts_event = 0;

  friend bool operator==(const QuoteTick&, const QuoteTick&) = default;
};

struct TradeTick {
  static constexpr std::string_view kTypeName = "trade_tick";
  Symbol symbol;
  Price price;
  Quantity size;
  AggressorSide aggressor = AggressorSide::kNone;
  std::uint64_t trade_id = 0;
  UnixNanos ts_event = 0;

  friend bool operator==(const TradeTick&, const TradeTick&) = default;
};

// An OHLCV bar; ts_event is the bar's close time, interval_s its length in seconds.
struct Bar {
  static constexpr std::string_view kTypeName = "bar";
  Symbol symbol;
  Price open;
  Price high;
  Price low;
  Price close;
  Quantity volume;
  std::uint32_t interval_s = 60;
  UnixNanos ts_event = 0;

  [[nodiscard]] core::Result<void> validate() const {
    if (interval_s == 0) return core::fail(core::ErrorCode::kOutOfRange, "interval_s must be > 0");
    return {};
  }
  friend bool operator==(const Bar&, const Bar&) = default;
};

// The last traded (or closing) price of a symbol: `price.update.<symbol>`.
struct PriceUpdate {
  static constexpr std::string_view kTypeName = "price_update";
  Symbol symbol;
  Price price;
  UnixNanos ts_event = 0;

  friend bool operator==(const PriceUpdate&, const PriceUpdate&) = default;
};

// Volume traded in the last interval and since the session opened: `volume.update.<symbol>`.
struct VolumeUpdate {
  static constexpr std::string_view kTypeName = "volume_update";
  Symbol symbol;
  Quantity volume;
  Quantity session_volume;
  UnixNanos ts_event = 0;

  friend bool operator==(const VolumeUpdate&, const VolumeUpdate&) = default;
};

BOOST_DESCRIBE_STRUCT(QuoteTick, (), (symbol, bid, ask, bid_size, ask_size, ts_event))
BOOST_DESCRIBE_STRUCT(TradeTick, (), (symbol, price, size, aggressor, trade_id, ts_event))
BOOST_DESCRIBE_STRUCT(Bar, (), (symbol, open, high, low, close, volume, interval_s, ts_event))
BOOST_DESCRIBE_STRUCT(PriceUpdate, (), (symbol, price, ts_event))
BOOST_DESCRIBE_STRUCT(VolumeUpdate, (), (symbol, volume, session_volume, ts_event))

static_assert(std::is_trivially_copyable_v<QuoteTick>);
static_assert(std::is_trivially_copyable_v<PriceUpdate>);
static_assert(std::is_trivially_copyable_v<VolumeUpdate>);
static_assert(std::is_trivially_copyable_v<TradeTick>);
static_assert(std::is_trivially_copyable_v<Bar>);

}  // namespace nautilus::model
