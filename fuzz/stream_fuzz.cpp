// Fuzz target: both streaming decoders over any bytes. Neither may crash, and what they accept
// must make sense: a Binance trade has a positive price and size and a valid symbol; an IBKR
// record belongs to a watched contract and carries the frame's time. The IBKR decoder keeps
// state across inputs, as it does across frames, with two contracts watched.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>
#include <vector>

#include "nautilus/marketdata/streaming.hpp"

namespace {

using namespace nautilus;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);

  std::vector<model::TradeTick> trades;
  if (auto r = marketdata::decode_binance(frame, trades); r) {
    check(r->events == trades.size());
    check(r->kind != marketdata::FrameKind::kData || trades.size() == 1);
    for (const auto& t : trades) {
      check(t.price.raw() > 0 && t.size.raw() > 0 && !t.symbol.empty());
      check(t.ts_event >= 0 && t.aggressor != model::AggressorSide::kNone);
    }
  } else {
    check(trades.empty() && !r.error().message.empty());
  }
  trades.clear();
  (void)marketdata::decode_binance_frame(frame, trades);

  static marketdata::IbkrDecoder ibkr = [] {
    marketdata::IbkrDecoder d;
    d.watch(265598, core::Symbol::from_trusted("AAPL"));
    d.watch(8314, core::Symbol::from_trusted("IBM"));
    return d;
  }();
  std::vector<marketdata::Record> records;
  if (auto r = ibkr.decode(frame, records); r) {
    check(r->events == records.size() && records.size() <= 2);
    for (const auto& rec : records) {
      const auto symbol = marketdata::record_symbol(rec);
      check(symbol.value() == "AAPL" || symbol.value() == "IBM");
      check(marketdata::record_ts(rec) >= 0);
      if (const auto* q = std::get_if<model::QuoteTick>(&rec)) {
        check(q->bid_size.raw() >= 0 && q->ask_size.raw() >= 0);
      }
    }
  } else {
    check(records.empty() && !r.error().message.empty());
  }
  return 0;
}
