// Rolling walk-forward training for the ml engine's linear models (linear.hpp): features arrive
// in time order; a prediction at time T comes from the model last trained on samples whose
// target was known at or before T, never later. The window is the latest `window` samples by
// the time their target became known. Ridge keeps the window's sums as samples come and go,
// so an update costs O(p^2) and a retraining one p x p solve; logistic refits the window. A target
// may be handed over before it is known (a backtest can compute forward returns from its history):
// it is kept, with the time it becomes known, and trained on only from then on.
//
//   ml::WalkForward wf({.kind = ml::Kind::kRidge, .window = 500, .retrain_every = 50});
//   auto id = wf.observe(t, x);            // the prediction for x (nullopt: no model yet)
//   wf.resolve(id->sample, y, t + h);      // its target, known from t + h on
//   wf.metrics();                          // out-of-sample R², hit rate, AUC, log loss
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <span>
#include <unordered_map>
#include <vector>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/engines/ml/linear.hpp"

namespace nautilus::ml {

enum class Kind : std::uint8_t { kRidge, kLogistic };

struct WalkForwardConfig {
  Kind kind = Kind::kRidge;
  double alpha = 1.0;              // ridge penalty
  double c = 1.0;                  // logistic inverse penalty
  std::size_t window = 500;        // most recent known samples trained on
  std::size_t min_train = 50;      // no model before this many
  std::size_t retrain_every = 50;  // known samples between retrainings
};

// Out-of-sample metrics of the predictions whose targets are known by the last observe() (a
// target handed over early is scored once it is known): NaN where they do not apply
// (R² for logistic, AUC and log loss for ridge) or with too few samples.
struct Metrics {
  std::size_t predictions = 0;
  double r2 = 0;
  double hit_rate = 0;  // sign of prediction (ridge) or probability > 0.5 (logistic) right
  double auc = 0;
  double log_loss = 0;
};

struct Observation {
  std::uint64_t sample = 0;           // id for resolve()
  std::optional<double> value;        // x.w + b (ridge: the forecast)
  std::optional<double> probability;  // logistic only
};

class WalkForward {
 public:
  explicit WalkForward(WalkForwardConfig config);

  // Features at `ts` (ts ascending across calls). Retrains first when due, on what is known at
  // ts. kInvalidArgument: a wrong number of features, a value not finite, ts going back.
  [[nodiscard]] core::Result<Observation> observe(core::UnixNanos ts, std::span<const double> x);
  // The target of a sample, known from `known_at` on (>= the sample's ts). Logistic targets are
  // 0 or 1. kNotFound for an unknown or already resolved sample. Resolve every sample: one
  // never resolved is kept.
  [[nodiscard]] core::Result<void> resolve(std::uint64_t sample, double target,
                                           core::UnixNanos known_at);
  // Forgets a sample whose target will never come (a missing return in its horizon).
  void discard(std::uint64_t sample);

  [[nodiscard]] const std::optional<LinearModel>& model() const noexcept { return model_; }
  [[nodiscard]] std::size_t trainings() const noexcept { return trainings_; }
  // The window of the last training: the first and last sample times, and its size.
  [[nodiscard]] core::UnixNanos trained_from() const noexcept { return trained_from_; }
  [[nodiscard]] core::UnixNanos trained_to() const noexcept { return trained_to_; }
  [[nodiscard]] std::size_t trained_samples() const noexcept { return trained_samples_; }
  [[nodiscard]] Metrics metrics() const;

 private:
  struct Sample {
    core::UnixNanos ts = 0;
    std::vector<double> x;
    std::optional<double> target;
    core::UnixNanos known_at = 0;
    std::optional<double> prediction;  // what observe() said for it
  };
  void admit_known(core::UnixNanos now);
  void add_to_sums(const Sample& s, double sign);
  void rebuild_sums();
  void retrain();

  WalkForwardConfig config_;
  std::size_t features_ = 0;
  std::unordered_map<std::uint64_t, Sample> samples_;  // not yet out of the window
  std::uint64_t next_id_ = 1;
  core::UnixNanos last_ts_ = 0;
  // Resolved samples waiting for their known_at, earliest first.
  std::priority_queue<std::pair<core::UnixNanos, std::uint64_t>,
                      std::vector<std::pair<core::UnixNanos, std::uint64_t>>, std::greater<>>
      pending_;
  std::deque<std::uint64_t> window_;  // known samples trained on, in the order they became known
  std::size_t fresh_ = 0;             // known since the last training
  // Ridge: the window's sums, kept as samples enter and leave (sum x x', sum x y, sum x, sum y),
  // rebuilt from the samples every kRebuildEvery trainings to bound rounding drift.
  std::vector<double> sxx_, sxy_, sx_;
  double sy_ = 0;
  std::size_t trainings_since_rebuild_ = 0;
  std::optional<LinearModel> model_;
  std::size_t trainings_ = 0;
  core::UnixNanos trained_from_ = 0;
  core::UnixNanos trained_to_ = 0;
  std::size_t trained_samples_ = 0;
  // Out-of-sample (prediction, target) pairs, the latest `window`.
  std::deque<std::pair<double, double>> scored_;
};

// The metrics of (prediction, target) pairs: R² = 1 - SSE / SST; AUC by ranks (ties halved).
[[nodiscard]] Metrics score(std::span<const std::pair<double, double>> pairs, Kind kind);

}  // namespace nautilus::ml
