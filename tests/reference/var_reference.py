#!/usr/bin/python3
"""Independent reference for the risk engine's VaR and ES (tests/unit/risk/var_test.cpp):
numpy and scipy on the same returns and positions.

    PYTHONPATH=/opt/nautilus-deps/python/usr/lib/python3/dist-packages \\
        /usr/bin/python3 var_reference.py RETURNS.csv POSITIONS.csv --confidence 0.95 0.99 \\
        [--monte-carlo SCENARIOS --seed SEED]

RETURNS.csv: a header r0,...,r{N-1}, then one day's simple returns a row (T rows).
POSITIONS.csv: one row of N market values. Prints one JSON object:

  {"historical": [{"confidence", "var", "es"}, ...],
   "parametric": [{"confidence", "var", "es", "mu", "sigma"}, ...],
   "parametric_zero_mean": [...],
   "monte_carlo": {"var": [...], "es": [...], "pnl": [...]},   (with --monte-carlo)
   "numpy": "<version>", "scipy": "<version>"}

The formulas, from the definitions in include/nautilus/engines/risk/var.hpp, written with
numpy's own functions rather than transcribed from the C++:
  historical  pnl = R @ v; q = np.quantile(pnl, 1 - c) (numpy's default "linear" method);
              VaR = -q; ES = -pnl[pnl <= q].mean()
  parametric  mu = v @ R.mean(0); sigma = sqrt(v @ np.cov(R, rowvar=False) @ v) (ddof 1);
              VaR = -(mu + norm.ppf(1 - c) sigma); ES = -(mu - sigma norm.pdf(norm.ppf(c)) / (1 - c))
  monte carlo the same stream of normals drawn here independently: a pure-Python MT19937-64 (the
              reference algorithm of Matsumoto & Nishimura's mt19937-64.c, checked against the C++
              standard's 10000th output), SplitMix64 block seeds, u = (k + 1/2) / 2^53 from the
              top 53 bits k, and z = scipy.special.ndtri(u) (Cephes, not AS241); then
              L = np.linalg.cholesky(cov), scenario returns mean + Z @ L.T, pnl = that @ v.
"""
import argparse
import json
import sys

import numpy as np

MASK64 = (1 << 64) - 1
SCENARIOS_PER_BLOCK = 1024  # var.hpp's kScenariosPerBlock


class MT19937_64:
    """Matsumoto & Nishimura's mt19937-64.c (2004), the same generator as std::mt19937_64."""

    NN, MM = 312, 156
    MATRIX_A = 0xB5026F5AA96619E9
    UM, LM = 0xFFFFFFFF80000000, 0x7FFFFFFF

    def __init__(self, seed):
        self.mt = [0] * self.NN
        self.mt[0] = seed & MASK64
        for i in range(1, self.NN):
            prev = self.mt[i - 1]
            self.mt[i] = (6364136223846793005 * (prev ^ (prev >> 62)) + i) & MASK64
        self.mti = self.NN

    def _twist(self):
        mt = self.mt
        for i in range(self.NN):
            x = (mt[i] & self.UM) | (mt[(i + 1) % self.NN] & self.LM)
            xa = x >> 1
            if x & 1:
                xa ^= self.MATRIX_A
            mt[i] = mt[(i + self.MM) % self.NN] ^ xa
        self.mti = 0

    def next(self):
        if self.mti >= self.NN:
            self._twist()
        x = self.mt[self.mti]
        self.mti += 1
        x ^= (x >> 29) & 0x5555555555555555
        x ^= (x << 17) & 0x71D67FFFEDA60000
        x ^= (x << 37) & 0xFFF7EEE000000000
        x ^= x >> 43
        return x & MASK64


def check_generator():
    # [rand.predef]: the 10000th invocation of a default-constructed mt19937_64 (seed 5489).
    g = MT19937_64(5489)
    for _ in range(9999):
        g.next()
    if g.next() != 9981545732273789042:
        raise SystemExit("MT19937_64: the 10000th output of seed 5489 is wrong")


def splitmix64(seed, block):
    z = (seed + (block + 1) * 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def normals(bits):
    """Standard normals of 64-bit outputs: u = (k + 1/2) / 2^53, z = Phi^-1(u) via the smaller
    tail t = min(u, 1 - u), which is exactly a double: (2 min(k, 2^53 - 1 - k) + 1) / 2^54."""
    from scipy.special import ndtri

    k = np.array([b >> 11 for b in bits], dtype=np.uint64)
    small = np.minimum(k, np.uint64((1 << 53) - 1) - k)
    t = (2.0 * small.astype(np.float64) + 1.0) * 2.0 ** -54
    z = ndtri(t)
    return np.where(k >= np.uint64(1 << 52), -z, z)


def scenario_normals(seed, scenarios, n):
    z = np.empty((scenarios, n))
    for block in range((scenarios + SCENARIOS_PER_BLOCK - 1) // SCENARIOS_PER_BLOCK):
        first = block * SCENARIOS_PER_BLOCK
        rows = min(SCENARIOS_PER_BLOCK, scenarios - first)
        g = MT19937_64(splitmix64(seed, block))
        z[first:first + rows] = normals([g.next() for _ in range(rows * n)]).reshape(rows, n)
    return z


def tail(pnl, c):
    q = np.quantile(pnl, 1 - c)
    return float(-q), float(-pnl[pnl <= q].mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("returns")
    ap.add_argument("positions")
    ap.add_argument("--confidence", type=float, nargs="+", required=True)
    ap.add_argument("--monte-carlo", type=int, default=0, metavar="SCENARIOS")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    import scipy
    from scipy.stats import norm

    r = np.loadtxt(a.returns, delimiter=",", skiprows=1, ndmin=2)
    v = np.loadtxt(a.positions, delimiter=",", ndmin=1)
    if r.shape[1] != v.shape[0]:
        raise SystemExit(f"{r.shape[1]} instruments in the returns, {v.shape[0]} positions")
    pnl = r @ v
    mean = r.mean(axis=0)
    cov = np.cov(r, rowvar=False, ddof=1).reshape(r.shape[1], r.shape[1])
    mu = float(v @ mean)
    sigma = float(np.sqrt(v @ cov @ v))
    out = {"historical": [], "parametric": [], "parametric_zero_mean": [],
           "numpy": np.__version__, "scipy": scipy.__version__}
    for c in a.confidence:
        var, es = tail(pnl, c)
        out["historical"].append({"confidence": c, "var": var, "es": es})
        for key, m in (("parametric", mu), ("parametric_zero_mean", 0.0)):
            out[key].append({
                "confidence": c,
                "var": float(-(m + norm.ppf(1 - c) * sigma)),
                "es": float(-(m - sigma * norm.pdf(norm.ppf(c)) / (1 - c))),
                "mu": m,
                "sigma": sigma,
            })
    if a.monte_carlo:
        check_generator()
        z = scenario_normals(a.seed, a.monte_carlo, r.shape[1])
        l = np.linalg.cholesky(cov)
        sim = (mean + z @ l.T) @ v
        results = [tail(sim, c) for c in a.confidence]
        out["monte_carlo"] = {"var": [x[0] for x in results], "es": [x[1] for x in results],
                              "pnl": [float(x) for x in sim]}
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
