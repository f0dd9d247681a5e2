// Google Benchmark micro-benchmarks of the bus building blocks (`make bench` runs them).
#include <benchmark/benchmark.h>

#include "nautilus/bus/codec.hpp"
#include "nautilus/bus/message_bus.hpp"
#include "nautilus/model/market_data.hpp"

namespace {

using namespace nautilus;

void BM_IsMatching(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(bus::is_matching("market_data.AAPL.trade", "market_data.*.trade"));
  }
}
BENCHMARK(BM_IsMatching);

model::QuoteTick quote() {
  return {core::Symbol::from_trusted("AAPL"),  *core::Price::from_string("189.10"),
          *core::Price::from_string("189.12"), *core::Quantity::from_string("300"),
          *core::Quantity::from_string("200"), 1};
}

// Same-thread publish of a QuoteTick to one inline handler, on the given clock.
void publish_same_thread(benchmark::State& state, const core::Clock* clock) {
  bus::MessageBus b({.clock = clock, .request_timer_thread = false});
  std::int64_t n = 0;
  (void)b.subscribe("market_data.*",
                    [&](const bus::Envelope& e) { n += e.get<model::QuoteTick>()->ts_event; });
  auto pub = *b.publisher("bench");
  auto t = *b.topic("market_data.AAPL.quote");
  const auto q = quote();
  for (auto _ : state) pub.publish(t, q);
  benchmark::DoNotOptimize(n);
  state.SetItemsProcessed(state.iterations());
}

void BM_PublishSameThreadQuote(benchmark::State& state) {
  publish_same_thread(state, &core::realtime_clock());
}
BENCHMARK(BM_PublishSameThreadQuote);

// On a simulated clock: the bus's own cost without the clock read.
void BM_PublishSameThreadQuoteSimClock(benchmark::State& state) {
  core::SimulatedClock clock(1);
  publish_same_thread(state, &clock);
}
BENCHMARK(BM_PublishSameThreadQuoteSimClock);

void BM_RealtimeClockNow(benchmark::State& state) {
  const core::Clock& c = core::realtime_clock();
  for (auto _ : state) benchmark::DoNotOptimize(c.now());
}
BENCHMARK(BM_RealtimeClockNow);

bus::Envelope envelope() {
  bus::Envelope e;
  e.topic = bus::Topic::from_trusted("market_data.AAPL.quote");
  e.source = core::EngineId::from_trusted("marketdata");
  e.sequence = 1;
  e.ts_event = e.ts_publish = 1'700'000'000'000'000'000;
  e.payload = bus::Payload::make(quote());
  return e;
}

void BM_CodecEncodeQuote(benchmark::State& state) {
  const auto e = envelope();
  std::string out;
  for (auto _ : state) {
    out.clear();
    (void)bus::codec::encode(e, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CodecEncodeQuote);

void BM_CodecDecodeQuote(benchmark::State& state) {
  std::string bytes;
  (void)bus::codec::encode(envelope(), bytes);
  for (auto _ : state) {
    auto r = bus::codec::decode(bytes);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CodecDecodeQuote);

}  // namespace

BENCHMARK_MAIN();
