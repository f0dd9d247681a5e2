#!/usr/bin/python3
"""The numpy anchor of the toraniko benchmark: toraniko 1.1.0's per-date factor return
estimation (toraniko/model.py `_factor_returns` after math.py `winsorize(returns, 0.05)`,
github.com/0xfdf/toraniko, tag v1.1.0) as a Python loop over dates with numpy, over the data the
C++ bench generated.

    /usr/bin/python3 toraniko_numpy.py DIR N T M K [--runs 1]

DIR holds little-endian raw files: returns.f64 (T*N float64, date-major: date t's N returns
contiguous), caps.f64 (T*N float64), sectors.u16 (T*N uint16, sector index 0..M-1) and
styles.f64 (T*N*K float64; per date, asset-major: asset i's K scores contiguous).

Per date, the same math as toraniko's `_factor_returns` with residualized styles: winsorize the
returns at 5%; weights w = sqrt(cap); market + M sectors by weighted least squares with the
sectors constrained to sum to zero (B = [1, dummies] @ R_sector), then the K styles by weighted
least squares on the sector residual returns; residuals. One deliberate difference, to make the
anchor a fair and efficient numpy loop: toraniko forms W = np.diag(w), an N x N matrix, and
multiplies by it; here the weights are applied as a vector (`B.T * w` broadcasting), which is
the same arithmetic without the O(N^2) matrix. Both systems are solved with
np.linalg.lstsq(rcond=None), as toraniko does. The constant R_sector is built once.

Only the loop over dates is timed (time.perf_counter), not loading the files; with --runs R the
loop runs R times and the median is reported. Prints one line of JSON:

  {"seconds", "runs", "dates", "assets", "blas", "threads", "factor_returns_sum", "first_date"}

blas: the OpenBLAS core numpy's BLAS runs (openblas_get_corename of the libopenblas loaded in
this process), or numpy's BLAS name when it is not OpenBLAS; threads: openblas_get_num_threads,
or null.
"""
import argparse
import ctypes
import json
import os
import statistics
import sys
import time

import numpy as np

WINSOR = 0.05


def blas_info():
    """(kernel name, thread count or None) of the BLAS numpy uses in this process."""
    a = np.ones((64, 64))
    _ = a @ a  # make sure the BLAS is loaded
    libs = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                name = os.path.basename(path)
                if ".so" in name and ("blas" in path.lower()) and path not in libs:
                    libs.append(path)
    except OSError:
        pass
    # libopenblas*.so first; Debian's OpenBLAS is also installed as openblas-*/libblas.so.3.
    libs.sort(key=lambda p: (not os.path.basename(p).startswith("libopenblas"),
                             "openblas" not in p.lower()))
    prefixes = ("openblas_", "scipy_openblas_")
    suffixes = ("", "64_")
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for pre in prefixes:
            for suf in suffixes:
                core = getattr(lib, f"{pre}get_corename{suf}", None)
                if core is None:
                    continue
                core.restype = ctypes.c_char_p
                name = core()
                threads = None
                get_threads = getattr(lib, f"{pre}get_num_threads{suf}", None)
                if get_threads is not None:
                    get_threads.restype = ctypes.c_int
                    threads = int(get_threads())
                return (name.decode() if name else "unknown"), threads
    # Not OpenBLAS: numpy's build configuration says which BLAS.
    name = "unknown"
    try:
        cfg = np.show_config(mode="dicts")  # numpy >= 1.26
        name = str(cfg["Build Dependencies"]["blas"]["name"])
    except Exception:
        try:
            info = np.__config__.get_info("blas_opt_info") or np.__config__.get_info("blas_info")
            if info.get("libraries"):
                name = info["libraries"][0]
        except Exception:
            pass
    if libs:
        name = f"{name} ({libs[0]})"
    return name, None


def winsorize(r, p):
    """toraniko.math.winsorize of one vector: clip to numpy's (linear) nan-percentiles p, 1-p."""
    finite = np.where(np.isfinite(r), r, np.nan)
    return np.clip(r, np.nanpercentile(finite, p * 100), np.nanpercentile(finite, (1 - p) * 100))


def fit_all(returns, caps, sectors, styles, m):
    """The per-date loop: (T x (1+M+K) factor returns, T x N residuals)."""
    t_all, n = returns.shape
    k = styles.shape[2]
    fac = np.empty((t_all, 1 + m + k))
    eps = np.empty((t_all, n))
    r_sector = np.vstack([np.identity(m), np.concatenate([[0.0], -np.ones(m - 1)])])
    rows = np.arange(n)
    for t in range(t_all):
        r = winsorize(returns[t], WINSOR)
        w = np.sqrt(caps[t])
        beta = np.zeros((n, 1 + m))
        beta[:, 0] = 1.0
        beta[rows, 1 + sectors[t]] = 1.0
        b = beta @ r_sector
        btw = b.T * w  # B.T @ diag(w)
        v, *_ = np.linalg.lstsq(btw @ b, btw, rcond=None)
        g = v @ r
        sector_resid = r - b @ g
        s = styles[t]
        stw = s.T * w
        vs, *_ = np.linalg.lstsq(stw @ s, stw, rcond=None)
        style_ret = vs @ sector_resid
        fac[t, :1 + m] = r_sector @ g
        fac[t, 1 + m:] = style_ret
        eps[t] = sector_resid - s @ style_ret
    return fac, eps


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("n", type=int)
    ap.add_argument("t", type=int)
    ap.add_argument("m", type=int)
    ap.add_argument("k", type=int)
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    n, t_all, m, k = a.n, a.t, a.m, a.k
    if min(n, t_all, m, k, a.runs) < 1:
        raise SystemExit("N, T, M, K and --runs must be positive")

    def load(name, dtype, shape):
        path = os.path.join(a.dir, name)
        x = np.fromfile(path, dtype=dtype)
        if x.size != int(np.prod(shape)):
            raise SystemExit(f"{path}: {x.size} values, want {int(np.prod(shape))} ({shape})")
        return x.reshape(shape)

    returns = load("returns.f64", "<f8", (t_all, n))
    caps = load("caps.f64", "<f8", (t_all, n))
    sectors = load("sectors.u16", "<u2", (t_all, n)).astype(np.intp)
    styles = load("styles.f64", "<f8", (t_all, n, k))
    if sectors.max() >= m:
        raise SystemExit(f"sectors.u16: sector index {sectors.max()} with M = {m}")
    blas, threads = blas_info()

    times = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        fac, _eps = fit_all(returns, caps, sectors, styles, m)
        times.append(time.perf_counter() - t0)
    print(json.dumps({
        "seconds": statistics.median(times),
        "runs": a.runs,
        "dates": t_all,
        "assets": n,
        "blas": blas,
        "threads": threads,
        "factor_returns_sum": float(fac.sum()),
        "first_date": [float(x) for x in fac[0]],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
