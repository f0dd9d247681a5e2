// `nautilus bench models`: the cross-sectional model engines' arithmetic on one core.
//   toraniko.seconds: the toraniko FactorModel (given styles) over 3,000 assets x 2,520 dates,
//     11 sectors and 3 styles: every date's factor and residual returns;
//   toraniko.ratio_vs_numpy: the anchor, a per-date WLS loop with numpy over the same data in
//     the same run (bench/models/toraniko_numpy.py on Debian's OpenBLAS, OPENBLAS_CORETYPE and
//     OPENBLAS_L2_SIZE unset for that command), divided by toraniko.seconds.
#pragma once

#include "../common/report.hpp"

namespace nautilus::bench {

void run_models_suite(const SuiteOptions& options);

}  // namespace nautilus::bench
