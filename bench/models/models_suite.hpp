// `nautilus bench models`: the cross-sectional model engines' arithmetic on one core.
//   toraniko.seconds: the toraniko FactorModel (given styles) over 3,000 assets x 2,520 dates,
//     11 sectors and 3 styles: every date's factor and residual returns;
//   toraniko.ratio_vs_numpy: the anchor, a per-date WLS loop with numpy over the same data in
//     the same run (bench/models/toraniko_numpy.py on Debian's OpenBLAS, OPENBLAS_CORETYPE and
//     OPENBLAS_L2_SIZE unset for that command), divided by toraniko.seconds;
//   ml.ridge_us_per_sample: walk-forward ridge on 32 features, update and predict;
//   ml.xgb_us_per_row: a 100-tree depth-6 XGBoost model scored one row at a time (C API), and
//     ml.xgb_ratio_vs_python: Python's xgboost inplace_predict of the same rows, divided by it.
#pragma once

#include "../common/report.hpp"

namespace nautilus::bench {

void run_models_suite(const SuiteOptions& options);

}  // namespace nautilus::bench
