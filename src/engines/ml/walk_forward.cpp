#include "nautilus/engines/ml/walk_forward.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace nautilus::ml {

namespace {

// Solves the symmetric positive definite system a x = b (p x p, row-major) by Cholesky.
std::optional<std::vector<double>> solve_symmetric(std::vector<double>& a, std::vector<double> b,
                                                   std::size_t p) {
  for (std::size_t j = 0; j < p; ++j) {
    double d = a[j * p + j];
    for (std::size_t k = 0; k < j; ++k) d -= a[j * p + k] * a[j * p + k];
    if (!(d > 0)) return std::nullopt;
    d = std::sqrt(d);
    a[j * p + j] = d;
    for (std::size_t i = j + 1; i < p; ++i) {
      double v = a[i * p + j];
      for (std::size_t k = 0; k < j; ++k) v -= a[i * p + k] * a[j * p + k];
      a[i * p + j] = v / d;
    }
  }
  for (std::size_t i = 0; i < p; ++i) {  // L y = b
    double v = b[i];
    for (std::size_t k = 0; k < i; ++k) v -= a[i * p + k] * b[k];
    b[i] = v / a[i * p + i];
  }
  for (std::size_t i = p; i-- > 0;) {  // L' x = y
    double v = b[i];
    for (std::size_t k = i + 1; k < p; ++k) v -= a[k * p + i] * b[k];
    b[i] = v / a[i * p + i];
  }
  return b;
}

}  // namespace

WalkForward::WalkForward(WalkForwardConfig config) : config_(config) {
  config_.window = std::max<std::size_t>(config_.window, 2);
  config_.min_train = std::clamp<std::size_t>(config_.min_train, 2, config_.window);
  config_.retrain_every = std::max<std::size_t>(config_.retrain_every, 1);
}

constexpr std::size_t kRebuildEvery = 32;

core::Result<Observation> WalkForward::observe(core::UnixNanos ts, std::span<const double> x) {
  if (features_ == 0 && !x.empty()) {
    features_ = x.size();
    sxx_.assign(features_ * features_, 0.0);
    sxy_.assign(features_, 0.0);
    sx_.assign(features_, 0.0);
  }
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
  admit_known(ts);
  if (window_.size() >= config_.min_train && (!model_ || fresh_ >= config_.retrain_every)) {
    retrain();
  }
  Sample s{.ts = ts, .x = {x.begin(), x.end()}};
  const std::uint64_t id = next_id_++;
  Observation out{.sample = id};
  if (model_) {
    out.value = model_->predict(x);
    if (config_.kind == Kind::kLogistic) out.probability = model_->probability(x);
    s.prediction = config_.kind == Kind::kLogistic ? *out.probability : *out.value;
  }
  samples_.emplace(id, std::move(s));
  return out;
}

core::Result<void> WalkForward::resolve(std::uint64_t sample, double target,
                                        core::UnixNanos known_at) {
  auto it = samples_.find(sample);
  if (it == samples_.end() || it->second.target) {
    return core::fail(core::ErrorCode::kNotFound,
                      fmt::format("ml: no sample {} waiting for its target", sample));
  }
  if (!std::isfinite(target) || (config_.kind == Kind::kLogistic && target != 0 && target != 1)) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("ml: target {} of sample {}", target, sample));
  }
  Sample& s = it->second;
  s.target = target;
  s.known_at = std::max(known_at, s.ts);
  pending_.emplace(s.known_at, sample);
  return {};
}

void WalkForward::discard(std::uint64_t sample) {
  auto it = samples_.find(sample);
  if (it != samples_.end() && !it->second.target) samples_.erase(it);
}

// Samples whose target is known by `now` enter the window; the oldest leave it.
void WalkForward::admit_known(core::UnixNanos now) {
  while (!pending_.empty() && pending_.top().first <= now) {
    const std::uint64_t id = pending_.top().second;
    pending_.pop();
    window_.push_back(id);
    ++fresh_;
    const Sample& s = samples_.at(id);
    if (s.prediction) {  // scored out of sample once its target is known, not before
      scored_.emplace_back(*s.prediction, *s.target);
      if (scored_.size() > config_.window) scored_.pop_front();
    }
    if (config_.kind == Kind::kRidge) add_to_sums(s, 1);
    if (window_.size() > config_.window) {
      const std::uint64_t old = window_.front();
      window_.pop_front();
      if (config_.kind == Kind::kRidge) add_to_sums(samples_.at(old), -1);
      samples_.erase(old);
    }
  }
}

void WalkForward::add_to_sums(const Sample& s, double sign) {
  const std::size_t p = features_;
  const double y = *s.target;
  for (std::size_t a = 0; a < p; ++a) {
    const double xa = sign * s.x[a];
    double* row = sxx_.data() + a * p;
    for (std::size_t b = 0; b <= a; ++b) row[b] += xa * s.x[b];  // the lower triangle
    sxy_[a] += xa * y;
    sx_[a] += xa;
  }
  sy_ += sign * y;
}

void WalkForward::rebuild_sums() {
  std::fill(sxx_.begin(), sxx_.end(), 0.0);
  std::fill(sxy_.begin(), sxy_.end(), 0.0);
  std::fill(sx_.begin(), sx_.end(), 0.0);
  sy_ = 0;
  for (const auto id : window_) add_to_sums(samples_.at(id), 1);
}

void WalkForward::retrain() {
  const std::size_t n = window_.size();
  const std::size_t p = features_;
  std::optional<LinearModel> m;
  if (config_.kind == Kind::kRidge) {
    if (++trainings_since_rebuild_ >= kRebuildEvery) {
      rebuild_sums();
      trainings_since_rebuild_ = 0;
    }
    // Centered normal equations from the sums: (Sxx - n mx mx') + alpha I, Sxy - n mx my.
    std::vector<double> a(p * p);
    std::vector<double> b(p);
    const double nn = static_cast<double>(n);
    for (std::size_t i = 0; i < p; ++i) {
      for (std::size_t j = 0; j <= i; ++j) {
        const double v = sxx_[i * p + j] - sx_[i] * sx_[j] / nn;
        a[i * p + j] = v;
        a[j * p + i] = v;
      }
      a[i * p + i] += config_.alpha;
      b[i] = sxy_[i] - sx_[i] * sy_ / nn;
    }
    auto w = solve_symmetric(a, b, p);
    if (w) {
      LinearModel lm;
      lm.weights = std::move(*w);
      double intercept = sy_ / nn;
      for (std::size_t i = 0; i < p; ++i) intercept -= lm.weights[i] * sx_[i] / nn;
      lm.intercept = intercept;
      m = std::move(lm);
    }
  } else {
    std::vector<double> x;
    std::vector<double> y;
    x.reserve(n * p);
    for (const auto id : window_) {
      const Sample& s = samples_.at(id);
      x.insert(x.end(), s.x.begin(), s.x.end());
      y.push_back(*s.target);
    }
    if (auto r = fit_logistic(x, y, n, p, config_.c)) m = std::move(*r);
  }
  fresh_ = 0;
  if (!m) return;  // keep the previous model (a singular window, one class only, ...)
  model_ = std::move(m);
  ++trainings_;
  trained_from_ = trained_to_ = samples_.at(window_.front()).ts;
  for (const auto id : window_) {
    const core::UnixNanos t = samples_.at(id).ts;
    trained_from_ = std::min(trained_from_, t);
    trained_to_ = std::max(trained_to_, t);
  }
  trained_samples_ = n;
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
