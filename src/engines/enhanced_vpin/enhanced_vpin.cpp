// The enhanced VPIN calculator: options, the adaptive bucket size, the per-bucket step.
#include "nautilus/engines/enhanced_vpin/enhanced_vpin.hpp"

#include <algorithm>
#include <string>

namespace nautilus::enhanced_vpin {
namespace {

std::unexpected<core::Error> invalid(std::string message) {
  return core::fail(core::ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace

core::Result<void> EnhancedVpinOptions::validate() const {
  if (auto ok = vpin::VolumeBucketer::create(initial_bucket_volume); !ok) {
    return invalid("initial_" + ok.error().message);
  }
  if (adv_days == 0) return invalid("adv_days must be > 0");
  if (buckets_per_day == 0) return invalid("buckets_per_day must be > 0");
  if (windows.empty() || windows.size() > kMaxHorizons) {
    return invalid("windows must list 1 to " + std::to_string(kMaxHorizons) + " horizons");
  }
  for (std::size_t w : windows) {
    if (w == 0) return invalid("every window must be > 0 buckets");
  }
  if (std::find(windows.begin(), windows.end(), primary_window) == windows.end()) {
    return invalid("primary_window " + std::to_string(primary_window) + " is not in windows");
  }
  if (mode == Mode::kBvc) {
    if (bar_seconds == 0) return invalid("bar_seconds must be > 0");
    if (auto ok = bvc.validate(); !ok) return ok;
  } else if (mode > Mode::kBvc) {
    return invalid("unknown mode");
  }
  return toxicity.validate();
}

core::Result<EnhancedVpin> EnhancedVpin::create(const EnhancedVpinOptions& options) {
  if (auto ok = options.validate(); !ok) return std::unexpected(ok.error());
  NAUTILUS_TRY(buckets, vpin::VolumeBucketer::create(options.initial_bucket_volume));
  NAUTILUS_TRY(days, vpin::DailyVolume::create(options.adv_days));
  NAUTILUS_TRY(cdf, vpin::VpinCdf::create(options.toxicity));
  EnhancedVpin ev(options, buckets, std::move(days), std::move(cdf));
  if (options.mode == Mode::kBvc) {
    NAUTILUS_TRY(bars, vpin::TimeBarBuilder::create(options.bar_seconds));
    NAUTILUS_TRY(bvc, vpin::BulkClassifier::create(options.bvc));
    ev.bars_.emplace(bars);
    ev.bvc_.emplace(std::move(bvc));
  } else {
    NAUTILUS_TRY(classifier, Classifier::create(options.mode));
    ev.classifier_.emplace(classifier);
  }
  for (std::size_t i = 0; i < options.windows.size(); ++i) {
    NAUTILUS_TRY(w, vpin::VpinWindow::create(options.windows[i]));
    ev.windows_.push_back(std::move(w));
    if (options.windows[i] == options.primary_window) ev.primary_ = i;
  }
  return ev;
}

EnhancedVpin::EnhancedVpin(const EnhancedVpinOptions& options, vpin::VolumeBucketer buckets,
                           vpin::DailyVolume days, vpin::VpinCdf cdf)
    : options_(options),
      buckets_(buckets),
      days_(std::move(days)),
      cdf_(std::move(cdf)),
      latch_(options.toxicity.threshold),
      history_(options.result_history) {}

void EnhancedVpin::track_day(UnixNanos ts, double volume) noexcept {
  if (!days_.add(ts, volume)) return;
  if (auto adv = days_.average()) {
    buckets_.set_bucket_volume(*adv / static_cast<double>(options_.buckets_per_day));
  }
}

const EnhancedResult& EnhancedVpin::complete(const vpin::Bucket& b, UnixNanos ts) noexcept {
  EnhancedResult r{.index = buckets_.completed() - 1,
                   .ts = ts,
                   .buy = b.buy,
                   .sell = b.sell,
                   .bucket_volume = b.volume,
                   .horizons = static_cast<std::uint8_t>(windows_.size())};
  r.vpin.fill(kNaN);
  const double imbalance = b.imbalance();
  for (std::size_t i = 0; i < windows_.size(); ++i) r.vpin[i] = windows_[i].push(imbalance);
  r.primary_vpin = r.vpin[primary_];
  r.cdf = cdf_.push(r.primary_vpin);
  r.alert = latch_.update(r.cdf);
  return history_.push(r);
}

}  // namespace nautilus::enhanced_vpin
