#include "payloads.hpp"

#include "nautilus/model/market_data.hpp"

namespace nautilus::bus::codec::detail {
namespace {

using core::Price;
using core::Quantity;
using core::Result;

// Unwraps a Result into `var` or returns its error from the enclosing function. (`var` is a
// name being declared, so it cannot be parenthesised.)
// NOLINTBEGIN(bugprone-macro-parentheses)
#define NAUTILUS_TRY(var, expr)                          \
  auto var##_r = (expr);                                 \
  if (!var##_r) return std::unexpected(var##_r.error()); \
  auto var = *var##_r
// NOLINTEND(bugprone-macro-parentheses)

void key(Packer& pk, Key k) { pack_str(pk, key_name(k)); }

void encode_payload(Packer& pk, const model::QuoteTick& q) {
  pk.pack_map(6);
  key(pk, Key::kSymbol);
  pack_str(pk, q.symbol.value());
  key(pk, Key::kBid);
  pack_decimal(pk, q.bid);
  key(pk, Key::kAsk);
  pack_decimal(pk, q.ask);
  key(pk, Key::kBidSize);
  pack_decimal(pk, q.bid_size);
  key(pk, Key::kAskSize);
  pack_decimal(pk, q.ask_size);
  key(pk, Key::kTsEvent);
  pk.pack_int64(q.ts_event);
}
Result<Payload> decode_quote(const Fields& m) {
  NAUTILUS_TRY(symbol, m.symbol(Key::kSymbol));
  NAUTILUS_TRY(bid, m.decimal<Price>(Key::kBid));
  NAUTILUS_TRY(ask, m.decimal<Price>(Key::kAsk));
  NAUTILUS_TRY(bid_size, m.decimal<Quantity>(Key::kBidSize));
  NAUTILUS_TRY(ask_size, m.decimal<Quantity>(Key::kAskSize));
  NAUTILUS_TRY(ts, m.i64(Key::kTsEvent));
  return Payload::make(model::QuoteTick{symbol, bid, ask, bid_size, ask_size, ts});
}

void encode_payload(Packer& pk, const model::TradeTick& t) {
  pk.pack_map(6);
  key(pk, Key::kSymbol);
  pack_str(pk, t.symbol.value());
  key(pk, Key::kPrice);
  pack_decimal(pk, t.price);
  key(pk, Key::kSize);
  pack_decimal(pk, t.size);
  key(pk, Key::kAggressor);
  pk.pack_uint8(static_cast<std::uint8_t>(t.aggressor));
  key(pk, Key::kTradeId);
  pk.pack_uint64(t.trade_id);
  key(pk, Key::kTsEvent);
  pk.pack_int64(t.ts_event);
}
Result<Payload> decode_trade(const Fields& m) {
  NAUTILUS_TRY(symbol, m.symbol(Key::kSymbol));
  NAUTILUS_TRY(price, m.decimal<Price>(Key::kPrice));
  NAUTILUS_TRY(size, m.decimal<Quantity>(Key::kSize));
  NAUTILUS_TRY(aggressor, m.u64(Key::kAggressor));
  if (aggressor > 2) return decode_error("trade_tick.aggressor must be 0, 1 or 2");
  NAUTILUS_TRY(trade_id, m.u64(Key::kTradeId));
  NAUTILUS_TRY(ts, m.i64(Key::kTsEvent));
  return Payload::make(model::TradeTick{
      symbol, price, size, static_cast<model::AggressorSide>(aggressor), trade_id, ts});
}

void encode_payload(Packer& pk, const model::Bar& b) {
  pk.pack_map(8);
  key(pk, Key::kSymbol);
  pack_str(pk, b.symbol.value());
  key(pk, Key::kOpen);
  pack_decimal(pk, b.open);
  key(pk, Key::kHigh);
  pack_decimal(pk, b.high);
  key(pk, Key::kLow);
  pack_decimal(pk, b.low);
  key(pk, Key::kClose);
  pack_decimal(pk, b.close);
  key(pk, Key::kVolume);
  pack_decimal(pk, b.volume);
  key(pk, Key::kIntervalS);
  pk.pack_uint32(b.interval_s);
  key(pk, Key::kTsEvent);
  pk.pack_int64(b.ts_event);
}
Result<Payload> decode_bar(const Fields& m) {
  NAUTILUS_TRY(symbol, m.symbol(Key::kSymbol));
  NAUTILUS_TRY(open, m.decimal<Price>(Key::kOpen));
  NAUTILUS_TRY(high, m.decimal<Price>(Key::kHigh));
  NAUTILUS_TRY(low, m.decimal<Price>(Key::kLow));
  NAUTILUS_TRY(close, m.decimal<Price>(Key::kClose));
  NAUTILUS_TRY(volume, m.decimal<Quantity>(Key::kVolume));
  NAUTILUS_TRY(interval, m.u64(Key::kIntervalS));
  if (interval == 0 || interval > UINT32_MAX) return decode_error("bar.interval_s out of range");
  NAUTILUS_TRY(ts, m.i64(Key::kTsEvent));
  return Payload::make(
      model::Bar{symbol, open, high, low, close, volume, static_cast<std::uint32_t>(interval), ts});
}

void encode_payload(Packer& pk, const model::PriceUpdate& u) {
  pk.pack_map(3);
  key(pk, Key::kSymbol);
  pack_str(pk, u.symbol.value());
  key(pk, Key::kPrice);
  pack_decimal(pk, u.price);
  key(pk, Key::kTsEvent);
  pk.pack_int64(u.ts_event);
}
Result<Payload> decode_price_update(const Fields& m) {
  NAUTILUS_TRY(symbol, m.symbol(Key::kSymbol));
  NAUTILUS_TRY(price, m.decimal<Price>(Key::kPrice));
  NAUTILUS_TRY(ts, m.i64(Key::kTsEvent));
  return Payload::make(model::PriceUpdate{symbol, price, ts});
}

void encode_payload(Packer& pk, const model::VolumeUpdate& u) {
  pk.pack_map(4);
  key(pk, Key::kSymbol);
  pack_str(pk, u.symbol.value());
  key(pk, Key::kVolume);
  pack_decimal(pk, u.volume);
  key(pk, Key::kSessionVolume);
  pack_decimal(pk, u.session_volume);
  key(pk, Key::kTsEvent);
  pk.pack_int64(u.ts_event);
}
Result<Payload> decode_volume_update(const Fields& m) {
  NAUTILUS_TRY(symbol, m.symbol(Key::kSymbol));
  NAUTILUS_TRY(volume, m.decimal<Quantity>(Key::kVolume));
  NAUTILUS_TRY(session, m.decimal<Quantity>(Key::kSessionVolume));
  NAUTILUS_TRY(ts, m.i64(Key::kTsEvent));
  return Payload::make(model::VolumeUpdate{symbol, volume, session, ts});
}

#undef NAUTILUS_TRY

struct PayloadCodec {
  std::string_view type;
  bool (*encode)(Packer& pk, const Payload& p);
  PayloadDecoder decode;
};

template <class T>
bool encode_if(Packer& pk, const Payload& p) {
  const T* v = p.get<T>();
  if (!v) return false;
  encode_payload(pk, *v);
  return true;
}

constexpr PayloadCodec kCodecs[] = {
    {model::QuoteTick::kTypeName, &encode_if<model::QuoteTick>, &decode_quote},
    {model::TradeTick::kTypeName, &encode_if<model::TradeTick>, &decode_trade},
    {model::Bar::kTypeName, &encode_if<model::Bar>, &decode_bar},
    {model::PriceUpdate::kTypeName, &encode_if<model::PriceUpdate>, &decode_price_update},
    {model::VolumeUpdate::kTypeName, &encode_if<model::VolumeUpdate>, &decode_volume_update},
};

}  // namespace

bool encode_known_payload(Packer& pk, const Payload& p) {
  for (const auto& c : kCodecs) {
    if (c.encode(pk, p)) return true;
  }
  return false;
}

PayloadDecoder payload_decoder(std::string_view type) noexcept {
  for (const auto& c : kCodecs) {
    if (c.type == type) return c.decode;
  }
  return nullptr;
}

std::vector<std::string_view> known_type_names() {
  std::vector<std::string_view> out;
  for (const auto& c : kCodecs) out.push_back(c.type);
  return out;
}

}  // namespace nautilus::bus::codec::detail
