#include "nautilus/engines/ml/walk_forward.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace nautilus::ml {

WalkForward::WalkForward(WalkForwardConfig config) : config_(config) {
  config_.window = std::max<std::size_t>(config_.window, 2);
  config_.min_train = std::clamp<std::size_t>(config_.min_train, 2, config_.window);
  config_.retrain_every = std::max<std::size_t>(config_.retrain_every, 1);
}

core::Result<Observation> WalkForward::observe(core::UnixNanos ts, std::span<const double> x) {
  if (features_ == 0) features_ = x.size();
  if (x.size() != features_ || x.empty()) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("ml: {} features, the model has {}", x.size(), features_));
  }
  if (ts < last_ts_) {
    return core::fail(core::ErrorCode::kInvalidArgument, "ml: features must come in time order");
  }
  for (const double v : x) {
    if (!std::isfinite(v)) {
      return core::fail(core::ErrorCode::kInvalidArgument, "ml: a feature is not finite");
    }
  }
  last_ts_ = ts;
  maybe_retrain(ts);
  Sample s{.id = next_id_++, .ts = ts, .x = {x.begin(), x.end()}};
  Observation out{.sample = s.id};
  if (model_) {
    out.value = model_->predict(x);
    if (config_.kind == Kind::kLogistic) out.probability = model_->probability(x);
    s.prediction = config_.kind == Kind::kLogistic ? *out.probability : *out.value;
  }
  samples_.push_back(std::move(s));
  // Keep what a window can still use, and samples still waiting for their target.
  while (samples_.size() > 4 * config_.window && samples_.front().target) samples_.pop_front();
  return out;
}

core::Result<void> WalkForward::resolve(std::uint64_t sample, double target,
                                        core::UnixNanos known_at) {
  auto it = std::lower_bound(samples_.begin(), samples_.end(), sample,
                             [](const Sample& s, std::uint64_t id) { return s.id < id; });
  if (it == samples_.end() || it->id != sample || it->target) {
    return core::fail(core::ErrorCode::kNotFound,
                      fmt::format("ml: no sample {} waiting for its target", sample));
  }
  if (!std::isfinite(target) || (config_.kind == Kind::kLogistic && target != 0 && target != 1)) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("ml: target {} of sample {}", target, sample));
  }
  it->target = target;
  it->known_at = std::max(known_at, it->ts);
  if (it->prediction) {
    scored_.emplace_back(*it->prediction, target);
    if (scored_.size() > config_.window) scored_.pop_front();
  }
  return {};
}

void WalkForward::maybe_retrain(core::UnixNanos now) {
  // The samples known at `now`, the latest `window` of them.
  std::vector<const Sample*> known;
  for (auto it = samples_.rbegin(); it != samples_.rend() && known.size() < config_.window; ++it) {
    if (it->target && it->known_at <= now) known.push_back(&*it);
  }
  const std::size_t fresh = std::count_if(samples_.begin(), samples_.end(), [&](const Sample& s) {
    return s.target && s.known_at <= now && s.ts > trained_to_;
  });
  if (known.size() < config_.min_train) return;
  if (model_ && fresh < config_.retrain_every) return;
  std::reverse(known.begin(), known.end());
  std::vector<double> x;
  std::vector<double> y;
  x.reserve(known.size() * features_);
  for (const Sample* s : known) {
    x.insert(x.end(), s->x.begin(), s->x.end());
    y.push_back(*s->target);
  }
  auto m = config_.kind == Kind::kRidge ? fit_ridge(x, y, known.size(), features_, config_.alpha)
                                        : fit_logistic(x, y, known.size(), features_, config_.c);
  if (!m) return;  // keep the previous model (a singular window, one class only, ...)
  model_ = std::move(*m);
  ++trainings_;
  trained_from_ = known.front()->ts;
  trained_to_ = known.back()->ts;
  trained_samples_ = known.size();
}

Metrics WalkForward::metrics() const {
  const std::vector<std::pair<double, double>> pairs(scored_.begin(), scored_.end());
  return score(pairs, config_.kind);
}

Metrics score(std::span<const std::pair<double, double>> pairs, Kind kind) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  Metrics m{
      .predictions = pairs.size(), .r2 = kNaN, .hit_rate = kNaN, .auc = kNaN, .log_loss = kNaN};
  if (pairs.size() < 2) return m;
  std::size_t hits = 0;
  for (const auto& [p, y] : pairs) {
    if (kind == Kind::kRidge ? (p > 0) == (y > 0) : (p > 0.5) == (y == 1)) ++hits;
  }
  m.hit_rate = static_cast<double>(hits) / static_cast<double>(pairs.size());
  if (kind == Kind::kRidge) {
    double mean = 0;
    for (const auto& [p, y] : pairs) mean += y;
    mean /= static_cast<double>(pairs.size());
    double sse = 0;
    double sst = 0;
    for (const auto& [p, y] : pairs) {
      sse += (y - p) * (y - p);
      sst += (y - mean) * (y - mean);
    }
    if (sst > 0) m.r2 = 1 - sse / sst;
    return m;
  }
  double loss = 0;
  for (const auto& [p, y] : pairs) {
    const double q = std::clamp(p, 1e-15, 1 - 1e-15);  // scikit-learn's log_loss clipping
    loss -= y == 1 ? std::log(q) : std::log(1 - q);
  }
  m.log_loss = loss / static_cast<double>(pairs.size());
  // AUC: the probability a positive ranks above a negative, ties counted half (Mann-Whitney).
  std::vector<std::pair<double, double>> sorted(pairs.begin(), pairs.end());
  std::sort(sorted.begin(), sorted.end());
  double rank_sum = 0;
  std::size_t positives = 0;
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j < sorted.size() && sorted[j].first == sorted[i].first) ++j;
    const double rank = (static_cast<double>(i + j) + 1) / 2;  // average of ranks i+1 .. j
    for (std::size_t k = i; k < j; ++k) {
      if (sorted[k].second == 1) {
        rank_sum += rank;
        ++positives;
      }
    }
    i = j;
  }
  const std::size_t negatives = sorted.size() - positives;
  if (positives > 0 && negatives > 0) {
    const auto np = static_cast<double>(positives);
    m.auc = (rank_sum - np * (np + 1) / 2) / (np * static_cast<double>(negatives));
  }
  return m;
}

}  // namespace nautilus::ml
