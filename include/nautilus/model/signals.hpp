// Signal messages: what the features, VPIN, factor, toraniko and ml engines publish. Values
// computed from data are statistics, so they are doubles; a value that does not exist yet (an
// indicator still warming up) is NaN, which JSON shows as null.
//
//   VpinUpdate v{.symbol = sym, .bucket = 812, .vpin = 0.31, .cdf = 0.74, ...};
//   publisher.publish("vpin.calculation.AAPL", v);
//   FeatureUpdate f{.symbol = sym, .names = {FeatureName::from_trusted("rsi14")}, .values =
//   {55.2}};
//
// feature_update, factor_exposures and factor_returns carry arrays (as many features or
// factors as the engine is configured for), so they travel on the heap; the others are
// trivially copyable and travel inside the Envelope.
#pragma once

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>
#include <cstdint>
#include <string_view>
#include <vector>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/fixed_string.hpp"
#include "nautilus/core/identifiers.hpp"

namespace nautilus::model {

using core::Symbol;
using core::UnixNanos;
// Names of features, factors, models and strategies: 23 bytes keeps the string at 24.
using Name = core::FixedString<23>;
using FeatureName = Name;

// The latest indicator values of one symbol after a bar: `feature.update.<symbol>`.
// names[i] is the name of values[i] ("sma20", "rsi14", ...); NaN while warming up.
struct FeatureUpdate {
  static constexpr std::string_view kTypeName = "feature_update";
  Symbol symbol;
  std::uint32_t interval_s = 60;  // of the bars the features were computed on
  UnixNanos ts_event = 0;         // the bar's close time
  std::vector<Name> names;
  std::vector<double> values;
};
BOOST_DESCRIBE_STRUCT(FeatureUpdate, (), (symbol, interval_s, ts_event, names, values))

enum class VpinMethod : std::uint8_t { kBvc, kEnhanced };
BOOST_DESCRIBE_ENUM(VpinMethod, kBvc, kEnhanced)

// One completed volume bucket: `vpin.calculation.<symbol>` (or `vpin.enhanced.<symbol>`).
struct VpinUpdate {
  static constexpr std::string_view kTypeName = "vpin_update";
  Symbol symbol;
  VpinMethod method = VpinMethod::kBvc;
  std::uint32_t window = 50;  // buckets in the VPIN average
  std::uint64_t bucket = 0;   // index of the bucket just completed, from 0
  double vpin = 0;
  double cdf = 0;  // of VPIN's own distribution; NaN until there is enough history
  double buy_volume = 0;
  double sell_volume = 0;
  double bucket_volume = 0;  // V
  UnixNanos ts_event = 0;    // when the bucket filled
};
BOOST_DESCRIBE_STRUCT(VpinUpdate, (),
                      (symbol, method, window, bucket, vpin, cdf, buy_volume, sell_volume,
                       bucket_volume, ts_event))

// VPIN's CDF crossed the threshold upwards: `toxicity.alert.<symbol>`.
struct ToxicityAlert {
  static constexpr std::string_view kTypeName = "toxicity_alert";
  Symbol symbol;
  VpinMethod method = VpinMethod::kBvc;
  double vpin = 0;
  double cdf = 0;
  double threshold = 0.9;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(ToxicityAlert, (), (symbol, method, vpin, cdf, threshold, ts_event))

// Style exposures of one symbol on one date: `factor.update.<symbol>`; names[i] of values[i].
struct FactorExposures {
  static constexpr std::string_view kTypeName = "factor_exposures";
  Symbol symbol;
  UnixNanos ts_event = 0;  // the date (00:00 UTC) the exposures are as of
  std::vector<Name> names;
  std::vector<double> values;
};
BOOST_DESCRIBE_STRUCT(FactorExposures, (), (symbol, ts_event, names, values))

// What one date's style exposures were computed from: `factor.calculation.<model>`. Per style
// (names[i]): how many symbols had it, the mean and sd (ddof 1) of the raw values, and the
// bounds they were winsorized to before standardizing.
struct FactorCalculation {
  static constexpr std::string_view kTypeName = "factor_calculation";
  Name model;              // "styles", ...
  UnixNanos ts_event = 0;  // the date's close
  std::uint32_t symbols = 0;
  std::vector<Name> names;
  std::vector<std::uint32_t> counts;
  std::vector<double> raw_mean;
  std::vector<double> raw_sd;
  std::vector<double> clip_low;
  std::vector<double> clip_high;
};
BOOST_DESCRIBE_STRUCT(FactorCalculation, (),
                      (model, ts_event, symbols, names, counts, raw_mean, raw_sd, clip_low,
                       clip_high))

// One date's factor returns from a factor model: `factor.return.<model>`.
struct FactorReturns {
  static constexpr std::string_view kTypeName = "factor_returns";
  Name model;              // "toraniko", ...
  UnixNanos ts_event = 0;  // the date
  std::uint32_t assets = 0;
  double r_squared = 0;
  std::vector<Name> names;  // "market", sectors, styles
  std::vector<double> returns;
};
BOOST_DESCRIBE_STRUCT(FactorReturns, (), (model, ts_event, assets, r_squared, names, returns))

enum class ModelKind : std::uint8_t { kRidge, kLogistic, kXgboost };
BOOST_DESCRIBE_ENUM(ModelKind, kRidge, kLogistic, kXgboost)

// A model's forecast for a symbol: `ml.prediction.<symbol>`.
struct Prediction {
  static constexpr std::string_view kTypeName = "prediction";
  Symbol symbol;
  Name model;
  ModelKind kind = ModelKind::kRidge;
  std::uint32_t horizon_s = 60;  // how far ahead the forecast looks
  double value = 0;              // forecast return (regression) or score
  double probability = 0;        // of an up move (classification); NaN for regression
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(Prediction, (),
                      (symbol, model, kind, horizon_s, value, probability, ts_event))

// A (re)training finished, with out-of-sample metrics: `model.training.complete.<model>`.
// Metrics that do not apply to the model's kind are NaN (R² for a classifier, AUC for ridge).
struct ModelTrained {
  static constexpr std::string_view kTypeName = "model_trained";
  Name model;
  ModelKind kind = ModelKind::kRidge;
  std::uint64_t samples = 0;  // training samples
  double r2 = 0;
  double auc = 0;
  double log_loss = 0;
  double hit_rate = 0;
  UnixNanos train_start = 0;  // the training window (no sample after train_end was seen)
  UnixNanos train_end = 0;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(ModelTrained, (),
                      (model, kind, samples, r2, auc, log_loss, hit_rate, train_start, train_end,
                       ts_event))

}  // namespace nautilus::model
