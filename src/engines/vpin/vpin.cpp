// The BVC-VPIN calculator: options, the per-bucket step, the result history.
#include "nautilus/engines/vpin/vpin.hpp"

namespace nautilus::vpin {

core::Result<void> VpinOptions::validate() const {
  if (auto ok = VolumeBucketer::create(bucket_volume); !ok) return std::unexpected(ok.error());
  if (window == 0) return core::fail(core::ErrorCode::kInvalidArgument, "window must be > 0");
  if (auto ok = bvc.validate(); !ok) return ok;
  return toxicity.validate();
}

core::Result<VpinCalculator> VpinCalculator::create(const VpinOptions& options) {
  if (auto ok = options.validate(); !ok) return std::unexpected(ok.error());
  NAUTILUS_TRY(bvc, BulkClassifier::create(options.bvc));
  NAUTILUS_TRY(buckets, VolumeBucketer::create(options.bucket_volume));
  NAUTILUS_TRY(window, VpinWindow::create(options.window));
  NAUTILUS_TRY(cdf, VpinCdf::create(options.toxicity));
  return VpinCalculator(options, std::move(bvc), buckets, std::move(window), std::move(cdf));
}

VpinCalculator::VpinCalculator(const VpinOptions& options, BulkClassifier bvc,
                               VolumeBucketer buckets, VpinWindow window, VpinCdf cdf)
    : options_(options),
      bvc_(std::move(bvc)),
      buckets_(buckets),
      window_(std::move(window)),
      cdf_(std::move(cdf)),
      latch_(options.toxicity.threshold),
      history_(options.result_history) {}

const BucketResult& VpinCalculator::complete(const Bucket& b, UnixNanos ts) noexcept {
  BucketResult r{.index = buckets_.completed() - 1,
                 .ts = ts,
                 .buy = b.buy,
                 .sell = b.sell,
                 .bucket_volume = b.volume};
  r.vpin = window_.push(b.imbalance());
  r.cdf = cdf_.push(r.vpin);
  r.alert = latch_.update(r.cdf);
  return history_.push(r);
}

}  // namespace nautilus::vpin
