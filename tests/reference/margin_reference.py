#!/usr/bin/python3
"""Independent reference for the collateral engine's margin arithmetic
(include/nautilus/engines/collateral/margin.hpp, tests/unit/collateral/margin_test.cpp), in numpy
and written from the conventions in margin.hpp rather than from margin.cpp:

- Reg T per position, vectorised: long initial/maintenance = rate * q P; short = (initial_short
  - 1) |q| P and maintenance_short |q| P;
- portfolio margin as a scenarios x positions P&L matrix, np.outer(np.linspace(-h, h, n), q P):
  the requirement is max(0, worst row sum, pm_minimum_rate * gross);
- the call price of each position found as the root of the account's excess, recomputed from
  scratch with that one price changed: the excess is linear in the price, so two evaluations
  (at 0 and at 2 P) give it, and the root is checked by a third;
- the liquidation fraction found by bisection on the recomputed requirement of the book scaled
  by (1 - f), then checked: after closing, requirement == equity.

    /usr/bin/python3 margin_reference.py BOOK.csv --equity E1,E2,... [--initial-long 0.5]
        [--maintenance-long 0.25] [--initial-short 1.5] [--maintenance-short 0.3]
        [--pm-shock 0.15] [--pm-scenarios 10] [--pm-minimum-rate 0] [--warning 0.8]

BOOK.csv: a header `symbol,quantity,price`, one position a row. Prints one JSON object:
{"shocks": [...], "shocks_hex": [...], "cases": [one per equity, in order]}; an infinite
utilisation is the string "inf", a missing call price or call null.
"""
import argparse
import csv
import json
import math
import sys

import numpy as np


def load(path):
    q, p = [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            q.append(float(row["quantity"]))
            p.append(float(row["price"]))
    return np.array(q, dtype=float), np.array(p, dtype=float)


class Book:
    def __init__(self, a):
        self.a = a
        self.shocks = np.linspace(-a.pm_shock, a.pm_shock, a.pm_scenarios)

    def reg_t(self, q, p):
        """Per-position (initial, maintenance) arrays."""
        value = np.abs(q * p)
        initial = np.where(q > 0, self.a.initial_long * value,
                           np.where(q < 0, (self.a.initial_short - 1) * value, 0.0))
        maintenance = np.where(q > 0, self.a.maintenance_long * value,
                               np.where(q < 0, self.a.maintenance_short * value, 0.0))
        return initial, maintenance

    def pnl(self, q, p):
        return np.outer(self.shocks, q * p)  # scenarios x positions

    def portfolio(self, q, p):
        totals = self.pnl(q, p).sum(axis=1) if len(q) else np.zeros(len(self.shocks))
        gross = np.abs(q * p).sum()
        return max(0.0, -totals.min(), self.a.pm_minimum_rate * gross)

    def requirement(self, method, q, p):
        if method == "reg_t":
            return self.reg_t(q, p)[1].sum()
        return self.portfolio(q, p)


def utilisation(equity, maintenance):
    if equity > 0:
        return maintenance / equity
    if equity == 0 and maintenance == 0:
        return 0.0
    return math.inf


def call_price(book, q, p, i, equity):
    """The positive price of position i at which the Reg T excess is 0, or None."""
    if q[i] == 0:
        return None

    def excess(x):
        p2 = p.copy()
        p2[i] = x
        return equity + q[i] * (x - p[i]) - book.requirement("reg_t", q, p2)

    hi = 2 * p[i] if p[i] > 0 else 1.0
    a = excess(0.0)
    slope = (excess(hi) - a) / hi
    if slope == 0:
        return None
    root = -a / slope
    if not (root > 0) or not math.isfinite(root):
        return None
    # The excess is linear in the price for prices >= 0: the root must zero it.
    scale = abs(equity) + abs(q * p).sum() + abs(q[i]) * root
    assert abs(excess(root)) <= 1e-9 * scale, (i, root, excess(root))
    return root


def liquidation(book, method, q, p, equity, maintenance):
    if not equity < maintenance:
        return None
    gross = np.abs(q * p).sum()
    call = {"deficit": maintenance - equity, "fraction": 0.0, "liquidation_value": 0.0,
            "restorable": False}
    if maintenance <= 0:
        return call
    # Bisection on f in [0, 1]: requirement((1 - f) q) - equity falls from > 0 as f grows.
    def gap(f):
        return book.requirement(method, (1 - f) * q, p) - equity
    if gap(1.0) > 0:  # closing everything is not enough (equity < 0)
        call.update(fraction=1.0, liquidation_value=gross, restorable=False)
        return call
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if gap(mid) > 0:
            lo = mid
        else:
            hi = mid
    f = 0.5 * (lo + hi)
    # Closing f leaves the equity at the requirement.
    assert abs(gap(f)) <= 1e-12 * maintenance + 1e-9, (method, f, gap(f))
    call.update(fraction=f, liquidation_value=f * gross, restorable=True)
    return call


def account(book, method, q, p, equity, initial, maintenance):
    call = liquidation(book, method, q, p, equity, maintenance)
    u = utilisation(equity, maintenance)
    level = "call" if call is not None else ("warning" if u >= book.a.warning else "ok")
    return {"initial": initial, "maintenance": maintenance,
            "excess_liquidity": equity - maintenance,
            "utilisation": "inf" if math.isinf(u) else u, "level": level, "call": call}


def case(book, q, p, equity):
    initial, maintenance = book.reg_t(q, p)
    pnl = book.pnl(q, p)
    totals = pnl.sum(axis=1)
    worst = int(np.argmin(totals))  # the first, on a tie
    pm = book.portfolio(q, p)
    value = q * p
    return {
        "equity": equity,
        "long_value": value[value > 0].sum(),
        "short_value": -value[value < 0].sum(),
        "reg_t": account(book, "reg_t", q, p, equity, initial.sum(), maintenance.sum()),
        "buying_power": max(0.0, equity - initial.sum()) / book.a.initial_long,
        "portfolio": account(book, "portfolio", q, p, equity, pm, pm),
        "scenario_pnl": totals.tolist(),
        "worst_scenario": worst,
        "positions": [{
            "market_value": value[i],
            "initial": initial[i],
            "maintenance": maintenance[i],
            "pm_worst_loss": max(0.0, -pnl[:, i].min()),
            "pm_scenario_loss": -pnl[worst, i],
            "call_price": call_price(book, q, p, i, equity),
        } for i in range(len(q))],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("book")
    ap.add_argument("--equity", required=True)
    ap.add_argument("--initial-long", type=float, default=0.5)
    ap.add_argument("--maintenance-long", type=float, default=0.25)
    ap.add_argument("--initial-short", type=float, default=1.5)
    ap.add_argument("--maintenance-short", type=float, default=0.3)
    ap.add_argument("--pm-shock", type=float, default=0.15)
    ap.add_argument("--pm-scenarios", type=int, default=10)
    ap.add_argument("--pm-minimum-rate", type=float, default=0.0)
    ap.add_argument("--warning", type=float, default=0.8)
    a = ap.parse_args()
    q, p = load(a.book)
    book = Book(a)
    # The shocks also as hexadecimal floats, exact through any JSON parser (Boost.JSON 1.81
    # may round a decimal's last bit differently): the test checks them bit for bit.
    out = {"shocks": book.shocks.tolist(), "shocks_hex": [float(x).hex() for x in book.shocks],
           "cases": [case(book, q, p, float(e)) for e in a.equity.split(",")]}
    json.dump(out, sys.stdout, default=float)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
