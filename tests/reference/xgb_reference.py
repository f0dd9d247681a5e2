#!/usr/bin/python3
"""Python's xgboost (Debian's python3-xgboost, unpacked by scripts/install-deps.sh and pointed at
Debian's libxgboost.so) for the ml engine's XGBoost scoring (tests/unit/ml/xgboost_test.cpp,
`nautilus bench models`).

    xgb_reference.py train DIR [--rows 2000] [--features 8] [--trees 20] [--depth 4] [--seed 1]
        generates float32 rows (numpy, seeded), trains an XGBRegressor on them and writes
        DIR/model.json, DIR/model.ubj, DIR/rows.csv (one row a line) and
        DIR/predictions.csv (Booster.inplace_predict of every row, float32 as text).
    xgb_reference.py time DIR [--repeat 3]
        scores DIR/rows.csv one row at a time with Booster.inplace_predict on one thread, as
        the engine does, and prints {"us_per_row": median over repeats, "rows": n} as JSON.
"""
import argparse
import json
import sys
import time

import numpy as np


def train(a):
    import xgboost as xgb
    rng = np.random.default_rng(a.seed)
    x = rng.normal(size=(a.rows, a.features)).astype(np.float32)
    x[rng.random(x.shape) < 0.02] = np.nan  # a few missing values, as XGBoost handles them
    y = (np.nan_to_num(x[:, 0]) * 2 - np.nan_to_num(x[:, 1]) ** 2
         + 0.5 * rng.normal(size=a.rows)).astype(np.float32)
    model = xgb.XGBRegressor(n_estimators=a.trees, max_depth=a.depth, learning_rate=0.1,
                             tree_method="exact", random_state=a.seed)
    model.fit(x, y)
    booster = model.get_booster()
    booster.save_model(f"{a.dir}/model.json")
    booster.save_model(f"{a.dir}/model.ubj")
    np.savetxt(f"{a.dir}/rows.csv", x, delimiter=",", fmt="%.9g")
    p = booster.inplace_predict(x)
    np.savetxt(f"{a.dir}/predictions.csv", p, fmt="%.9g")
    return 0


def timing(a):
    import xgboost as xgb
    booster = xgb.Booster()
    booster.load_model(f"{a.dir}/model.json")
    booster.set_param({"nthread": 1})  # as the engine scores: one row, one thread
    x = np.loadtxt(f"{a.dir}/rows.csv", delimiter=",", ndmin=2).astype(np.float32)
    runs = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        for i in range(x.shape[0]):
            booster.inplace_predict(x[i:i + 1])
        runs.append((time.perf_counter() - t0) / x.shape[0] * 1e6)
    json.dump({"us_per_row": sorted(runs)[len(runs) // 2], "rows": int(x.shape[0])}, sys.stdout)
    print()
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["train", "time"])
    ap.add_argument("dir")
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--features", type=int, default=8)
    ap.add_argument("--trees", type=int, default=20)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    return train(a) if a.command == "train" else timing(a)


if __name__ == "__main__":
    sys.exit(main())
