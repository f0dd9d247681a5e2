#include "codec_suite.hpp"

#include <fmt/format.h>

#include <chrono>
#include <msgpack.hpp>
#include <string>

#include "nautilus/bus/codec.hpp"
#include "nautilus/model/messages.hpp"

namespace nautilus::bench {
namespace {

using Clock = std::chrono::steady_clock;

bus::Envelope envelope(bus::Payload p) {
  bus::Envelope e;
  e.topic = bus::Topic::from_trusted("market_data.AAPL.bar");
  e.source = core::EngineId::from_trusted("marketdata");
  e.sequence = 123456;
  e.ts_event = 1'700'000'000'000'000'000;
  e.ts_publish = e.ts_event + 1500;
  e.payload = std::move(p);
  return e;
}

bus::Envelope bar_envelope() {
  return envelope(bus::Payload::make(
      model::Bar{core::Symbol::from_trusted("AAPL"), *core::Price::from_string("189.12"),
                 *core::Price::from_string("189.40"), *core::Price::from_string("188.95"),
                 *core::Price::from_string("189.31"), *core::Quantity::from_string("48210"), 60,
                 1'700'000'000'000'000'000}));
}

// The largest message engines publish routinely: a feature update with the features engine's
// fifteen indicators (docs/ENGINES.md).
bus::Envelope largest_envelope() {
  model::FeatureUpdate f{.symbol = core::Symbol::from_trusted("AAPL"),
                         .interval_s = 60,
                         .ts_event = 1'700'000'000'000'000'000};
  for (const char* n :
       {"sma20", "ema20", "rsi14", "macd", "macd_signal", "macd_hist", "bb_mid", "bb_up", "bb_dn",
        "atr14", "obv", "vwap", "log_return", "realized_vol", "volume"}) {
    f.names.push_back(model::Name::from_trusted(n));
    f.values.push_back(189.3125 + static_cast<double>(f.values.size()) * 0.37);
  }
  return envelope(bus::Payload::make(std::move(f)));
}

// Nanoseconds per call of `f`, over `n` calls.
template <class F>
double ns_per(std::size_t n, F&& f) {
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) f();
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() /
         static_cast<double>(n);
}

}  // namespace

void run_codec_suite(const SuiteOptions& o) {
  const std::size_t n = o.quick ? 20'000 : 400'000;
  const auto bar = bar_envelope();
  const auto largest = largest_envelope();
  std::string bar_bytes, largest_bytes;
  if (!bus::codec::encode(bar, bar_bytes) || !bus::codec::encode(largest, largest_bytes)) {
    fmt::print(stderr, "bench codec: encode failed\n");
    return;
  }
  std::size_t sink = 0;  // keeps results observable so no loop is optimised away
  std::string out;
  out.reserve(512);
  const auto encode_bar = [&] {
    return ns_per(n, [&] {
      out.clear();
      (void)bus::codec::encode(bar, out);
      sink += out.size();
    });
  };
  const auto decode = [&](const std::string& bytes) {
    return ns_per(n, [&] {
      auto r = bus::codec::decode(bytes);
      sink += r ? r->sequence : 0;
    });
  };
  const auto unpack = [&](const std::string& bytes) {
    return ns_per(n, [&] {
      auto oh = msgpack::unpack(bytes.data(), bytes.size());
      sink += oh.get().via.map.size;
    });
  };
  std::vector<double> enc, dec_bar, dec_largest, anchor_bar, anchor_largest, ratio_bar,
      ratio_largest;
  for (std::size_t r = 0; r < o.runs; ++r) {
    enc.push_back(encode_bar());
    dec_bar.push_back(decode(bar_bytes));
    anchor_bar.push_back(unpack(bar_bytes));
    dec_largest.push_back(decode(largest_bytes));
    anchor_largest.push_back(unpack(largest_bytes));
    ratio_bar.push_back(anchor_bar.back() / dec_bar.back());
    ratio_largest.push_back(anchor_largest.back() / dec_largest.back());
  }
  const auto med = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  // msgpack-cxx's msgpack::unpack of the same bytes into its object tree.
  const std::string anchor = "msgpack_cxx_unpack_object";
  print({.bench = "codec.encode_bar_ns",
         .value = med(enc),
         .unit = "ns/msg",
         .runs = o.runs,
         .note = fmt::format("{} bytes", bar_bytes.size())},
        o.json);
  print({.bench = "codec.decode_bar_ns",
         .value = med(dec_bar),
         .unit = "ns/msg",
         .anchor = anchor,
         .anchor_value = med(anchor_bar),
         .runs = o.runs},
        o.json);
  print({.bench = "codec.decode_largest_ns",
         .value = med(dec_largest),
         .unit = "ns/msg",
         .anchor = anchor,
         .anchor_value = med(anchor_largest),
         .runs = o.runs,
         .note = fmt::format("feature_update with 15 features, {} bytes", largest_bytes.size())},
        o.json);
  print({.bench = "codec.decode_ratio_vs_msgpack_object",
         .value = med(ratio_bar),
         .unit = "x",
         .runs = o.runs,
         .note =
             fmt::format("bar; {:.2f}x for the largest message (target >= 2)", med(ratio_largest))},
        o.json);
  if (sink == 42) fmt::print(" ");
}

}  // namespace nautilus::bench
