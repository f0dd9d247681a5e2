// No look-ahead in a backtest: an engine sees the market only as the hub publishes it on the
// simulated clock, so no bar arrives before its time, and an engine that tries to look ahead
// (asking the hub for history up to the year 2100 in the middle of the run, as a strategy
// peeking at tomorrow would) gets nothing after the clock. The hub replays the bundled sample's
// first trading hours (marketdata.replay_until) with its history loaded, as a backtest that
// asks for history_of_replay does.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/engine/host.hpp"
#include "nautilus/engines/registry.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/requests.hpp"

namespace nautilus {
namespace {

using namespace std::chrono_literals;

// The would-be cheat: on every 50th bar it asks for the symbol's bars to 2100.
class Peeker final : public engine::Engine {
 public:
  struct Seen {
    std::size_t bars = 0;
    std::size_t early = 0;            // bars stamped after the clock when they arrived
    std::size_t asked = 0;            // history requests sent
    std::size_t answers = 0;          // BarHistory replies
    std::size_t from_the_future = 0;  // bars in a reply stamped after the request's time
    std::size_t bars_answered = 0;
  };
  explicit Peeker(Seen& seen) : seen_(seen) {}

  const engine::EngineInfo& info() const override {
    static const engine::EngineInfo i{.name = "peeker",
                                      .default_port = 0,
                                      .subscribes = {"market_data.*.bar"},
                                      .publishes = {},
                                      .description = "tries to see the future",
                                      .settings = {}};
    return i;
  }

  core::Result<void> start(engine::EngineContext& ctx) override {
    ctx_ = &ctx;
    NAUTILUS_TRY(pub, ctx.publisher());
    pub_.emplace(std::move(pub));
    NAUTILUS_TRY(ep, ctx.bus().endpoint("marketdata.history"));
    endpoint_.emplace(std::move(ep));
    auto sub = ctx.subscribe("market_data.*.bar", [this](const bus::Envelope& e) { on_bar(e); });
    if (!sub) return std::unexpected(sub.error());
    return {};
  }

 private:
  void on_bar(const bus::Envelope& e) {
    const auto* b = e.get<model::Bar>();
    if (b == nullptr) return;
    const core::UnixNanos now = ctx_->clock().now();
    ++seen_.bars;
    if (b->ts_event > now) ++seen_.early;
    if (seen_.bars % 50 != 0) return;
    const auto year_2100 = *core::parse_timestamp("2100-01-01");
    model::HistoryRequest q{.symbol = b->symbol,
                            .interval_s = 60,
                            .start = 0,
                            .end = year_2100,
                            .limit = 4096,
                            .source = {},
                            .ts_event = now};
    auto sent = pub_->request(*endpoint_, q, 5s, [this, now](core::Result<bus::Envelope> r) {
      if (!r) return;
      const auto* h = r->get<model::BarHistory>();
      if (h == nullptr) return;
      ++seen_.answers;
      seen_.bars_answered += h->ts.size();
      seen_.from_the_future += static_cast<std::size_t>(
          std::count_if(h->ts.begin(), h->ts.end(), [&](std::int64_t t) { return t > now; }));
    });
    if (sent) ++seen_.asked;
  }

  Seen& seen_;
  engine::EngineContext* ctx_ = nullptr;
  std::optional<bus::Publisher> pub_;
  std::optional<bus::TopicHandle> endpoint_;
};

TEST(BacktestLookAhead, AnEngineAskingTheHubForTomorrowsBarsGetsNoneAfterTheClock) {
  const std::string sample = std::string(NAUTILUS_SOURCE_DIR) + "/data/sample/";
  core::SimulatedClock clock;
  bus::MessageBus bus({.clock = &clock, .request_timer_thread = false, .reply_endpoint = "_r.t"});
  engine::EngineConfig md;
  md.set("source", "replay");
  md.set("files", sample + "bars_1m.csv.gz");
  md.set("history_files", sample + "bars_1m.csv.gz");  // the whole file, the future included
  md.set("live_sources", "");
  md.set("replay_until", "2026-01-05T16:30:00Z");  // the first trading hours of the sample
  Peeker::Seen seen;
  std::vector<std::unique_ptr<engine::Engine>> engines;
  engines.push_back(engines::find_engine("marketdata")->create());
  engines.push_back(std::make_unique<Peeker>(seen));
  auto host = engine::EngineHost::start(
      bus, std::move(engines),
      {.configs = {{"marketdata", md}}, .simulated_clock = &clock, .serve_http = false});
  ASSERT_TRUE(host) << host.error().message;
  ASSERT_TRUE((*host)->run());
  (*host)->drain_and_stop();

  ASSERT_GT(seen.bars, 500U) << "the replay should reach the peeker";
  EXPECT_EQ(seen.early, 0U);
  ASSERT_GT(seen.asked, 10U);
  EXPECT_EQ(seen.answers, seen.asked);
  EXPECT_GT(seen.bars_answered, 0U) << "the hub answers with the past";
  EXPECT_EQ(seen.from_the_future, 0U) << "and never with the future";
  // The replay stopped at replay_until: the clock is before it.
  EXPECT_LT(clock.now(), *core::parse_timestamp("2026-01-05T16:30:00Z"));
}

}  // namespace
}  // namespace nautilus
