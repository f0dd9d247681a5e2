#include "nautilus/engines/ml/xgboost_model.hpp"

#include <fmt/format.h>
#include <xgboost/c_api.h>

#include <cstdint>
#include <filesystem>

namespace nautilus::ml {
namespace {

// Every prediction: the model's plain output, all trees, missing values as NaN.
constexpr const char* kConfig =
    R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, )"
    R"("strict_shape": false, "missing": NaN, "cache_id": 0})";

std::string last_error() { return XGBGetLastError(); }

}  // namespace

struct XgbModel::Impl {
  BoosterHandle booster = nullptr;
  std::size_t features = 0;
  std::string interface;  // the array interface JSON, rebuilt per call without allocating
  ~Impl() {
    if (booster != nullptr) XGBoosterFree(booster);
  }
};

XgbModel::XgbModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
XgbModel::~XgbModel() = default;
XgbModel::XgbModel(XgbModel&&) noexcept = default;
XgbModel& XgbModel::operator=(XgbModel&&) noexcept = default;

core::Result<XgbModel> XgbModel::load(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return core::fail(core::ErrorCode::kIo, fmt::format("{}: cannot read the model file", path));
  }
  auto impl = std::make_unique<Impl>();
  if (XGBoosterCreate(nullptr, 0, &impl->booster) != 0) {
    return core::fail(core::ErrorCode::kInternal, "xgboost: " + last_error());
  }
  // XGBoost picks JSON or UBJ by the file's extension.
  if (XGBoosterLoadModel(impl->booster, path.c_str()) != 0) {
    return core::fail(core::ErrorCode::kParse,
                      fmt::format("{}: not an XGBoost model: {}", path, last_error()));
  }
  // One row at a time gains nothing from threads, and waking an OpenMP team per call costs
  // more than the trees (measured: 104 us a row with the default, see docs/PERFORMANCE.md).
  if (XGBoosterSetParam(impl->booster, "nthread", "1") != 0) {
    return core::fail(core::ErrorCode::kInternal, "xgboost: " + last_error());
  }
  bst_ulong features = 0;
  if (XGBoosterGetNumFeature(impl->booster, &features) != 0) {
    return core::fail(core::ErrorCode::kParse, fmt::format("{}: {}", path, last_error()));
  }
  impl->features = static_cast<std::size_t>(features);
  impl->interface.reserve(128);
  return XgbModel(std::move(impl));
}

std::size_t XgbModel::features() const noexcept { return impl_->features; }

namespace {

// Scores `n` rows in place; `out` points into XGBoost's buffer (valid until the next call).
core::Result<std::size_t> run(XgbModel::Impl& m, std::span<const float> rows, std::size_t n,
                              const float** out) {
  if (n == 0 || rows.size() != n * m.features) {
    return core::fail(
        core::ErrorCode::kInvalidArgument,
        fmt::format("xgboost: {} values for {} rows of {} features", rows.size(), n, m.features));
  }
  m.interface.clear();
  fmt::format_to(std::back_inserter(m.interface),
                 R"({{"data": [{}, true], "shape": [{}, {}], "typestr": "<f4", "version": 3}})",
                 reinterpret_cast<std::uintptr_t>(rows.data()), n, m.features);
  bst_ulong const* shape = nullptr;
  bst_ulong dim = 0;
  if (XGBoosterPredictFromDense(m.booster, m.interface.c_str(), kConfig, nullptr, &shape, &dim,
                                out) != 0) {
    return core::fail(core::ErrorCode::kInternal, "xgboost: " + last_error());
  }
  bst_ulong size = 1;
  for (bst_ulong d = 0; d < dim; ++d) size *= shape[d];
  return static_cast<std::size_t>(size);
}

}  // namespace

core::Result<std::vector<float>> XgbModel::predict_rows(std::span<const float> rows,
                                                        std::size_t n) {
  const float* out = nullptr;
  auto size = run(*impl_, rows, n, &out);
  if (!size) return std::unexpected(size.error());
  return std::vector<float>(out, out + *size);
}

core::Result<double> XgbModel::predict(std::span<const float> row) {
  const float* out = nullptr;
  auto size = run(*impl_, row, 1, &out);
  if (!size) return std::unexpected(size.error());
  if (*size == 0) return core::fail(core::ErrorCode::kInternal, "xgboost: no prediction");
  return static_cast<double>(out[0]);
}

}  // namespace nautilus::ml
