// The ml engine's ridge and logistic regression against scikit-learn run in the test
// (tests/reference/ml_reference.py: Ridge and LogisticRegression on the same samples), and the
// walk-forward trainer: no sample is trained on before its target is known, checked by a run
// that a leak would change.
#include "nautilus/engines/ml/linear.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "nautilus/engines/ml/walk_forward.hpp"
#include "support/run_command.hpp"

namespace nautilus::ml {
namespace {

constexpr const char* kPythonPath = "/opt/nautilus-deps/python/usr/lib/python3/dist-packages";

struct Data {
  std::size_t n = 0, p = 0;
  std::vector<double> x, y;
};

Data make(std::size_t n, std::size_t p, bool binary, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z;
  std::uniform_real_distribution<double> u;
  Data d{.n = n, .p = p};
  std::vector<double> w(p);
  for (std::size_t j = 0; j < p; ++j) w[j] = z(rng) * (j % 3 == 0 ? 0.1 : 1.0);
  for (std::size_t i = 0; i < n; ++i) {
    double s = 0.3;
    for (std::size_t j = 0; j < p; ++j) {
      const double v = z(rng) * (1 + 0.5 * static_cast<double>(j % 4));
      d.x.push_back(v);
      s += w[j] * v;
    }
    d.y.push_back(binary ? (u(rng) < 1 / (1 + std::exp(-0.5 * s)) ? 1.0 : 0.0) : s + z(rng));
  }
  return d;
}

// scikit-learn's fit of the same samples, through the reference script.
std::optional<LinearModel> sklearn(const Data& d, const std::string& args) {
  const std::string path =
      fmt::format("/tmp/nautilus_ml_{}_{}.csv", ::getpid(),
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
  {
    std::ofstream out(path);
    for (std::size_t j = 0; j < d.p; ++j) out << "x" << j << ",";
    out << "y\n";
    for (std::size_t i = 0; i < d.n; ++i) {
      for (std::size_t j = 0; j < d.p; ++j) out << fmt::format("{},", d.x[i * d.p + j]);
      out << fmt::format("{}\n", d.y[i]);
    }
  }
  const std::string cmd =
      fmt::format("PYTHONPATH={} /usr/bin/python3 {}/tests/reference/ml_reference.py {} {}",
                  kPythonPath, NAUTILUS_SOURCE_DIR, path, args);
  const auto [status, text] = test::run_command(cmd);
  std::remove(path.c_str());
  EXPECT_EQ(status, 0) << text;
  if (status != 0) return std::nullopt;
  const auto j = boost::json::parse(text).as_object();
  LinearModel m;
  m.intercept = j.at("intercept").to_number<double>();
  for (const auto& w : j.at("weights").as_array()) m.weights.push_back(w.to_number<double>());
  return m;
}

void expect_same(const LinearModel& ours, const LinearModel& theirs, double tol) {
  ASSERT_EQ(ours.weights.size(), theirs.weights.size());
  EXPECT_NEAR(ours.intercept, theirs.intercept, tol);
  for (std::size_t j = 0; j < ours.weights.size(); ++j) {
    EXPECT_NEAR(ours.weights[j], theirs.weights[j], tol) << "weight " << j;
  }
}

bool have_sklearn() {
  return std::system(fmt::format("PYTHONPATH={} /usr/bin/python3 -c 'import sklearn' >/dev/null",
                                 kPythonPath)
                         .c_str()) == 0;
}

TEST(MlLinear, RidgeGivesScikitLearnsCoefficients) {
  if (!have_sklearn())
    GTEST_SKIP() << "no scikit-learn under " << kPythonPath << " (install-deps unpacks it)";
  for (const double alpha : {0.0, 0.5, 10.0}) {
    const Data d = make(400, 8, false, 11);
    auto ours = fit_ridge(d.x, d.y, d.n, d.p, alpha);
    ASSERT_TRUE(ours) << ours.error().message;
    const auto theirs = sklearn(d, fmt::format("--model ridge --alpha {}", alpha));
    ASSERT_TRUE(theirs);
    SCOPED_TRACE(::testing::Message() << "alpha " << alpha);
    expect_same(*ours, *theirs, 1e-8);
  }
}

TEST(MlLinear, LogisticGivesScikitLearnsCoefficients) {
  if (!have_sklearn())
    GTEST_SKIP() << "no scikit-learn under " << kPythonPath << " (install-deps unpacks it)";
  for (const double c : {0.05, 1.0, 20.0}) {
    const Data d = make(500, 6, true, 12);
    auto ours = fit_logistic(d.x, d.y, d.n, d.p, c);
    ASSERT_TRUE(ours) << ours.error().message;
    const auto theirs = sklearn(d, fmt::format("--model logistic --C {}", c));
    ASSERT_TRUE(theirs);
    SCOPED_TRACE(::testing::Message() << "C " << c);
    expect_same(*ours, *theirs, 1e-8);
  }
}

TEST(MlLinear, ExactDataWithoutPenaltyIsRecoveredExactly) {
  // y = 2 + 3 x0 - x1 on four points: ridge with alpha 0 is least squares, which fits it.
  const std::vector<double> x = {0, 0, 1, 0, 0, 1, 2, 3};
  const std::vector<double> y = {2, 5, 1, 5};
  auto m = fit_ridge(x, y, 4, 2, 0.0);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_NEAR(m->intercept, 2, 1e-12);
  EXPECT_NEAR(m->weights[0], 3, 1e-12);
  EXPECT_NEAR(m->weights[1], -1, 1e-12);
  const std::array<double, 2> row = {1, 1};
  EXPECT_NEAR(m->predict(row), 4, 1e-12);
}

TEST(MlLinear, BadSamplesAreErrorsThatSayWhy) {
  const std::vector<double> x = {1, 2, 3, 4};
  EXPECT_NE(fit_ridge(x, std::vector<double>{1, 2, 3}, 2, 2, 1).error().message.find("3 targets"),
            std::string::npos);
  EXPECT_NE(fit_ridge(x, std::vector<double>{1, NAN}, 2, 2, 1).error().message.find("target 1"),
            std::string::npos);
  EXPECT_NE(fit_ridge(x, std::vector<double>{1, 2}, 2, 2, -1).error().message.find("alpha"),
            std::string::npos);
  EXPECT_NE(fit_logistic(x, std::vector<double>{1, 2}, 2, 2, 1).error().message.find("not 0 or 1"),
            std::string::npos);
  EXPECT_NE(fit_logistic(x, std::vector<double>{1, 0}, 2, 2, 0).error().message.find("C 0"),
            std::string::npos);
}

TEST(MlMetrics, AucLogLossR2AndHitRateWorkedByHand) {
  // Probabilities 0.1, 0.4, 0.35, 0.8 for labels 0, 0, 1, 1: of the four positive-negative
  // pairs, 0.35 < 0.4 is the one misordered: AUC 3/4.
  const std::vector<std::pair<double, double>> p = {{0.1, 0}, {0.4, 0}, {0.35, 1}, {0.8, 1}};
  const auto m = score(p, Kind::kLogistic);
  EXPECT_NEAR(m.auc, 0.75, 1e-15);
  EXPECT_NEAR(m.log_loss, -(std::log(0.9) + std::log(0.6) + std::log(0.35) + std::log(0.8)) / 4,
              1e-15);
  EXPECT_NEAR(m.hit_rate, 0.75, 1e-15);  // 0.35 is on the wrong side of 0.5
  EXPECT_TRUE(std::isnan(m.r2));
  // Forecasts 1, 2, 3 for 1, 2, 4: SSE 1, SST (mean 7/3) = 14/3.
  const std::vector<std::pair<double, double>> r = {{1, 1}, {2, 2}, {3, 4}};
  const auto q = score(r, Kind::kRidge);
  EXPECT_NEAR(q.r2, 1 - 1 / (14.0 / 3), 1e-15);
  EXPECT_EQ(q.hit_rate, 1.0);
  EXPECT_TRUE(std::isnan(q.auc));
}

// A stream of samples whose targets are handed over at once but known only `h` steps later;
// sample 100's only at step 130, with the target `late_target` (NaN: its own).
std::vector<double> run_walk_forward(double late_target) {
  WalkForward wf(
      {.kind = Kind::kRidge, .alpha = 1.0, .window = 60, .min_train = 20, .retrain_every = 5});
  const Data d = make(300, 4, false, 21);
  constexpr core::UnixNanos h = 5;
  std::vector<double> predictions;
  for (std::size_t i = 0; i < d.n; ++i) {
    const auto t = static_cast<core::UnixNanos>(i);
    auto o = wf.observe(t, std::span<const double>(d.x).subspan(i * d.p, d.p));
    EXPECT_TRUE(o);
    predictions.push_back(o && o->value ? *o->value : NAN);
    const bool late = i == 100;
    const double y = late && !std::isnan(late_target) ? late_target : d.y[i];
    EXPECT_TRUE(wf.resolve(o->sample, y, late ? 130 : t + h));
    if (wf.model()) {
      // The model in force was trained only on samples whose target was known by now.
      EXPECT_LE(wf.trained_to() + h, t) << "step " << i;
    }
  }
  return predictions;
}

TEST(MlWalkForward, ATargetChangesNoPredictionBeforeItIsKnown) {
  // The same stream twice, sample 100's target different (a wild 1e6 the second time): the
  // predictions before step 130, when it becomes known, must be identical; from then on they differ
  // (so the comparison can fail: had the trainer used the target early, they would differ
  // before).
  const auto own = run_walk_forward(NAN);
  const auto wild = run_walk_forward(1e6);
  ASSERT_EQ(own.size(), wild.size());
  std::size_t differ_before = 0;
  std::size_t differ_after = 0;
  for (std::size_t i = 0; i < own.size(); ++i) {
    const bool same = (std::isnan(own[i]) && std::isnan(wild[i])) || own[i] == wild[i];
    if (!same && i < 130) ++differ_before;
    if (!same && i >= 130) ++differ_after;
  }
  EXPECT_EQ(differ_before, 0U) << "a target was trained on before it was known";
  EXPECT_GT(differ_after, 0U) << "once known, the sample is trained on";
}

TEST(MlWalkForward, TheRollingRidgeIsTheBatchFitOfItsWindow) {
  // Targets known one step later, retrained every step on the last 60: after observing step t
  // the model is fit_ridge over samples t-60 .. t-1 (the window's sums, kept as samples come and
  // go, give the same solution).
  WalkForward wf(
      {.kind = Kind::kRidge, .alpha = 0.7, .window = 60, .min_train = 60, .retrain_every = 1});
  const Data d = make(400, 5, false, 31);
  for (std::size_t i = 0; i < d.n; ++i) {
    auto o = wf.observe(static_cast<core::UnixNanos>(i),
                        std::span<const double>(d.x).subspan(i * d.p, d.p));
    ASSERT_TRUE(o);
    if (i == d.n - 1) break;
    ASSERT_TRUE(wf.resolve(o->sample, d.y[i], static_cast<core::UnixNanos>(i) + 1));
  }
  const std::size_t last = d.n - 1;
  auto batch = fit_ridge(std::span<const double>(d.x).subspan((last - 60) * d.p, 60 * d.p),
                         std::span<const double>(d.y).subspan(last - 60, 60), 60, d.p, 0.7);
  ASSERT_TRUE(batch && wf.model());
  expect_same(*wf.model(), *batch, 1e-10);
  EXPECT_EQ(wf.trained_samples(), 60U);
  EXPECT_EQ(wf.trained_to(), static_cast<core::UnixNanos>(last - 1));
}

TEST(MlWalkForward, NoiseGivesNoOutOfSampleSkill) {
  WalkForward wf({.kind = Kind::kRidge, .window = 40, .min_train = 35, .retrain_every = 1});
  std::mt19937_64 rng(5);
  std::normal_distribution<double> z;
  for (core::UnixNanos t = 0; t < 2000; ++t) {
    std::array<double, 30> x{};
    for (double& v : x) v = z(rng);
    auto o = wf.observe(t, x);
    ASSERT_TRUE(o);
    ASSERT_TRUE(wf.resolve(o->sample, z(rng), t + 1));
  }
  // 30 features on 40 samples overfit: a model that saw the sample it predicts would score far
  // above 0; one that did not scores below.
  const auto m = wf.metrics();
  EXPECT_LT(m.r2, 0.05);
  EXPECT_GT(wf.trainings(), 1000U);
}

}  // namespace
}  // namespace nautilus::ml
