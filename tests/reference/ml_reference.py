#!/usr/bin/python3
"""Independent reference for the ml engine's linear models (tests/unit/ml/linear_test.cpp):
scikit-learn's Ridge and LogisticRegression on the same samples.

    PYTHONPATH=/opt/nautilus-deps/python/usr/lib/python3/dist-packages \\
        /usr/bin/python3 ml_reference.py SAMPLES.csv --model ridge --alpha 1.0
    ... --model logistic --C 0.5

SAMPLES.csv: a header `x0,...,x{p-1},y`, one sample a row. Prints one JSON object:
{"intercept": b, "weights": [w0, ...], "sklearn": "<version>"}.

Ridge(alpha, fit_intercept=True, solver="cholesky") minimizes ||y - Xw - b||^2 + alpha ||w||^2.
LogisticRegression(penalty="l2", C, fit_intercept=True, solver="newton-cholesky", tol=1e-14)
minimizes C * sum(log loss) + ||w||^2 / 2; the intercept is not penalized in either. (Its
default lbfgs solver stops at a gradient of about 1e-5 here whatever `tol` says: measured,
4e-5 after 7 iterations; newton-cholesky reaches 1e-13.) scikit-learn comes from Debian's python3-sklearn, unpacked by scripts/install-deps.sh
(it cannot be installed beside Boost 1.81: via python3-scipy it wants Boost 1.74).
"""
import argparse
import json
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("samples")
    ap.add_argument("--model", choices=["ridge", "logistic"], required=True)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--C", type=float, default=1.0)
    a = ap.parse_args()
    import sklearn
    from sklearn.linear_model import LogisticRegression, Ridge

    data = np.loadtxt(a.samples, delimiter=",", skiprows=1, ndmin=2)
    x, y = data[:, :-1], data[:, -1]
    if a.model == "ridge":
        m = Ridge(alpha=a.alpha, fit_intercept=True, solver="cholesky").fit(x, y)
        weights, intercept = m.coef_, float(m.intercept_)
    else:
        m = LogisticRegression(penalty="l2", C=a.C, fit_intercept=True,
                               solver="newton-cholesky", tol=1e-14,
                               max_iter=1000).fit(x, y.astype(int))
        weights, intercept = m.coef_[0], float(m.intercept_[0])
    json.dump({"intercept": intercept, "weights": [float(w) for w in weights],
               "sklearn": sklearn.__version__}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
