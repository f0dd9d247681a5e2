// A gradient-boosted tree model trained offline (XGBoost's JSON or UBJ model file), scored
// through XGBoost's C API (Debian's libxgboost-dev), one row or many. The ml engine scores
// each feature vector with it; tests/reference/xgb_reference.py trains a tiny model with
// Python's xgboost and checks the same predictions.
//
//   auto m = ml::XgbModel::load("model.json");        // or .ubj
//   std::array<float, 32> row = ...;
//   auto y = m->predict(row);                         // Result<double>: the model's output
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nautilus/core/error.hpp"

namespace nautilus::ml {

class XgbModel {
 public:
  // kIo: the file cannot be read; kParse: XGBoost refused it (its message is kept).
  [[nodiscard]] static core::Result<XgbModel> load(const std::string& path);
  ~XgbModel();
  XgbModel(XgbModel&&) noexcept;
  XgbModel& operator=(XgbModel&&) noexcept;

  [[nodiscard]] std::size_t features() const noexcept;
  // One row (NaN: missing, as XGBoost treats it). Not thread-safe: one model per thread.
  // kInvalidArgument for a row of the wrong width.
  [[nodiscard]] core::Result<double> predict(std::span<const float> row);
  // `n` rows, row-major.
  [[nodiscard]] core::Result<std::vector<float>> predict_rows(std::span<const float> rows,
                                                              std::size_t n);

  struct Impl;

 private:
  explicit XgbModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nautilus::ml
