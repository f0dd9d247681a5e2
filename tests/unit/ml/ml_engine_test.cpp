// The ml engine on the bus: feature updates in (joined with VPIN and factor exposures), a
// walk-forward ridge per symbol, predictions and training reports out; the targets are forward
// returns known only `horizon` bars later, and no report may show a model trained on a target
// not yet known, nor a bar given a joined value published for a later time.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "nautilus/engine/host.hpp"
#include "nautilus/engines/ml/engine.hpp"
#include "nautilus/model/signals.hpp"

namespace nautilus::ml {
namespace {

constexpr core::UnixNanos kT0 = 1'767'623'400'000'000'000;
constexpr core::UnixNanos kMinute = 60'000'000'000;

struct Harness {
  core::SimulatedClock clock{kT0};
  bus::MessageBus bus{{.clock = &clock, .request_timer_thread = false}};
  std::unique_ptr<engine::EngineHost> host;
  std::vector<model::Prediction> predictions;
  std::vector<model::ModelTrained> trainings;
  std::optional<bus::Publisher> features;

  core::Result<void> start(engine::EngineConfig cfg) {
    std::vector<std::unique_ptr<engine::Engine>> engines;
    engines.push_back(make_engine());
    auto h = engine::EngineHost::start(
        bus, std::move(engines),
        {.configs = {{"ml", std::move(cfg)}}, .simulated_clock = &clock, .serve_http = false});
    if (!h) return std::unexpected(h.error());
    host = std::move(*h);
    (void)bus.subscribe("ml.prediction.*", [this](const bus::Envelope& e) {
      if (const auto* p = e.get<model::Prediction>()) predictions.push_back(*p);
    });
    (void)bus.subscribe("model.training.complete.*", [this](const bus::Envelope& e) {
      if (const auto* t = e.get<model::ModelTrained>()) trainings.push_back(*t);
    });
    features.emplace(*bus.publisher("features"));
    return {};
  }
  static core::UnixNanos bar_ts(std::size_t bar) {
    return kT0 + static_cast<core::UnixNanos>(bar + 1) * kMinute;
  }
  // Another engine's output for AAA, stamped `ts` (published now, before the bar's features).
  void publish_vpin(core::UnixNanos ts, double vpin) {
    model::VpinUpdate v{.symbol = core::Symbol::from_trusted("AAA"),
                        .vpin = vpin,
                        .cdf = std::nan(""),
                        .ts_event = ts};
    ASSERT_TRUE(features->publish("vpin.calculation.AAA", v, {.ts_event = ts}));
  }
  void publish_momentum(core::UnixNanos ts, double momentum) {
    model::FactorExposures f{.symbol = core::Symbol::from_trusted("AAA"),
                             .ts_event = ts,
                             .names = {model::Name::from_trusted("momentum")},
                             .values = {momentum}};
    ASSERT_TRUE(features->publish("factor.update.AAA", f, {.ts_event = ts}));
  }
  void publish(std::size_t bar, double signal, double log_return) {
    const core::UnixNanos ts = bar_ts(bar);
    model::FeatureUpdate u{
        .symbol = core::Symbol::from_trusted("AAA"),
        .interval_s = 60,
        .ts_event = ts,
        .names = {model::Name::from_trusted("signal"), model::Name::from_trusted("log_return")},
        .values = {signal, log_return}};
    ASSERT_TRUE(features->publish("feature.update.AAA", u));
    ASSERT_TRUE(clock.set(ts));
    ASSERT_TRUE(host->run_until(ts));
  }
};

TEST(MlEngine, LearnsAForwardReturnWalkForwardAndReportsItsOutOfSampleSkill) {
  Harness h;
  engine::EngineConfig cfg;
  cfg.set("features", "signal");
  cfg.set("horizon", "3");
  cfg.set("window", "300");
  cfg.set("min_train", "100");
  cfg.set("retrain_every", "25");
  cfg.set("alpha", "0.0001");
  ASSERT_TRUE(h.start(cfg));
  // Each bar's log return is 1 % of the signal three bars back plus noise (0.3 %): the sum of
  // the next three returns carries the signal of now, and two earlier signals the model is not
  // given. The best out-of-sample R² is then 1e-4 / (3e-4 + 3 x 9e-6) = 0.31: reaching it says
  // the model learned; beating it clearly would say it saw what it should not.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> z;
  std::vector<double> signal;
  for (std::size_t bar = 0; bar < 1200; ++bar) {
    signal.push_back(z(rng));
    const double r = (bar >= 3 ? 0.01 * signal[bar - 3] : 0.0) + 0.003 * z(rng);
    h.publish(bar, signal.back(), r);
  }
  ASSERT_GT(h.predictions.size(), 1000U);
  EXPECT_EQ(h.predictions.front().horizon_s, 180U);
  EXPECT_TRUE(std::isnan(h.predictions.front().probability));  // regression
  ASSERT_GT(h.trainings.size(), 30U);
  for (const auto& t : h.trainings) {
    // The latest sample trained on had its target (3 bars later) known by the training.
    EXPECT_LE(t.train_end + 3 * kMinute, t.ts_event);
    EXPECT_LE(t.samples, 300U);
  }
  const auto& last = h.trainings.back();
  EXPECT_GT(last.r2, 0.2) << "out-of-sample R2";
  EXPECT_LT(last.r2, 0.42) << "out-of-sample R2";
  EXPECT_GT(last.hit_rate, 0.6);
  EXPECT_TRUE(std::isnan(last.auc));
  h.host->drain_and_stop();
}

TEST(MlEngine, JoinsTheLatestVpinAndFactorExposureOfTheSymbolAsFeatures) {
  Harness h;
  engine::EngineConfig cfg;
  cfg.set("features", "vpin,factor_momentum");
  cfg.set("horizon", "1");
  cfg.set("window", "300");
  cfg.set("min_train", "100");
  cfg.set("retrain_every", "25");
  cfg.set("alpha", "0.0001");
  ASSERT_TRUE(h.start(cfg));
  // The next bar's return is 1 % of this bar's VPIN plus noise; the momentum exposure, one a
  // "day" of 20 bars, carries nothing. Only a model that was given the VPIN of each bar (not a
  // stale or missing one) reaches an out-of-sample R² near 1e-4 / (1e-4 + 9e-6) = 0.92.
  std::mt19937_64 rng(5);
  std::normal_distribution<double> z;
  double previous = 0;
  for (std::size_t bar = 0; bar < 600; ++bar) {
    if (bar % 20 == 0) h.publish_momentum(Harness::bar_ts(bar) - kMinute / 2, z(rng));
    const double v = z(rng);
    h.publish_vpin(Harness::bar_ts(bar), v);
    h.publish(bar, std::nan(""), 0.01 * previous + 0.003 * z(rng));
    previous = v;
  }
  ASSERT_GT(h.predictions.size(), 400U);
  ASSERT_FALSE(h.trainings.empty());
  EXPECT_GT(h.trainings.back().r2, 0.85) << "out-of-sample R2";
  h.host->drain_and_stop();
}

TEST(MlEngine, AJoinedValueCountsFromWhenItWasKnownNotBefore) {
  // horizon 1, a model from 2 known samples: taken at bars 0 and 1, known at bars 1 and 2, so
  // the first prediction comes at bar 2 when bar 0 had its VPIN, at bar 3 when it did not.
  const auto first_prediction = [](core::UnixNanos first_vpin_ts) {
    Harness h;
    engine::EngineConfig cfg;
    cfg.set("features", "vpin");
    cfg.set("horizon", "1");
    cfg.set("min_train", "2");
    cfg.set("retrain_every", "1");
    EXPECT_TRUE(h.start(cfg));
    h.publish_vpin(first_vpin_ts, 0.5);
    for (std::size_t bar = 0; bar < 6; ++bar) {
      if (bar > 0) h.publish_vpin(Harness::bar_ts(bar), 0.1 * static_cast<double>(bar));
      h.publish(bar, std::nan(""), 0.001 * static_cast<double>(bar % 3));
    }
    h.host->drain_and_stop();
    return h.predictions.empty() ? core::UnixNanos{0} : h.predictions.front().ts_event;
  };
  EXPECT_EQ(first_prediction(Harness::bar_ts(0)), Harness::bar_ts(2));
  // A VPIN bucket that filled 30 s after bar 0 closed says nothing about bar 0, even though
  // its message came first.
  EXPECT_EQ(first_prediction(Harness::bar_ts(0) + kMinute / 2), Harness::bar_ts(3));
}

TEST(MlEngine, AnXgboostKindWithoutAModelFileDoesNotStart) {
  Harness h;
  engine::EngineConfig cfg;
  cfg.set("kind", "xgboost");
  cfg.set("model_file", "/nonexistent/model.json");
  auto ok = h.start(cfg);
  ASSERT_FALSE(ok);
  EXPECT_NE(ok.error().message.find("ml.model_file"), std::string::npos) << ok.error().message;
  engine::EngineConfig bad;
  bad.set("kind", "forest");
  auto refused = Harness{}.start(bad);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("forest"), std::string::npos) << refused.error().message;
}

}  // namespace
}  // namespace nautilus::ml
