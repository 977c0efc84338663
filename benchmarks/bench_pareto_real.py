"""Benchmark: Pareto/NBD predictions on Online Retail II (issue 16, acceptance 7).

The public split (calibration to 2011-06-09 inclusive, holdout to 2011-12-09, weeks) of
``cxml.datasets.load_online_retail()``. The unpenalised Pareto/NBD fit there runs off to
huge s and beta (every customer drops out at nearly the same rate), the case that took
132 s for P(alive) of 50 customers before; the fit is reported as degenerate and the
penalised fit it suggests is timed too. For each fit: P(alive), E[X(holdout length)] and
P(X(holdout length) = n) at every customer's holdout count n, for all customers, repeated
5 times (min / median). lifetimes' ParetoNBDFitter computes P(alive) and E[X] for the first
50 customers in a child process with a time limit, for time and agreement.

Run:  .venv/bin/python benchmarks/bench_pareto_real.py [--lifetimes-timeout 120]
Needs the Online Retail II parquet (../shared/data or $CXML_DATA_DIR); skips without it.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import sys
import time
import warnings

import numpy as np

import cxml
from cxml.models import ParetoNBDModel

TARGET_SECONDS = 2.0
N_LIFETIMES = 50


def predict_all(model, x, tx, T, horizon, n_holdout):
    pa = model.probability_alive(x, tx, T)
    e = model.expected_purchases(horizon, x, tx, T)
    pmf = model.probability_of_purchases(horizon, n_holdout)
    return pa, e, pmf


def time_predictions(model, x, tx, T, horizon, n_holdout, repeats=5):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = predict_all(model, x, tx, T, horizon, n_holdout)
        times.append(time.perf_counter() - t0)
    return np.array(times), out


def _lifetimes_child(params, x, tx, T, horizon, q):
    import lifetimes

    f = lifetimes.ParetoNBDFitter()
    import pandas as pd

    f.params_ = pd.Series(params, index=["r", "alpha", "s", "beta"])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        pa = np.asarray(f.conditional_probability_alive(x, tx, T), dtype=float)
        e = np.asarray(
            f.conditional_expected_number_of_purchases_up_to_time(horizon, x, tx, T), dtype=float
        )
        q.put((time.perf_counter() - t0, pa, e))


def lifetimes_subset(params, x, tx, T, horizon, timeout):
    """(seconds, P(alive), E[X]) from lifetimes in a forked child, or None after ``timeout``."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_lifetimes_child, args=(params, x, tx, T, horizon, q))
    p.start()
    p.join(timeout)
    if p.is_alive():
        p.terminate()
        p.join()
        return None
    return q.get() if not q.empty() else None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--lifetimes-timeout",
        type=float,
        default=120.0,
        help="seconds allowed for lifetimes' 50-customer predictions",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    path = cxml.datasets.online_retail_path()
    if path is None:
        print(
            "SKIP: Online Retail II not found (put online_retail_ii.parquet under "
            "../shared/data/online_retail_ii/ or set CXML_DATA_DIR)"
        )
        return 0
    ch = cxml.features.calibration_holdout(
        cxml.datasets.load_online_retail(path),
        calibration_end="2011-06-09",
        observation_end="2011-12-09",
        time_unit="W",
    )
    x, tx, T = (ch[c].to_numpy(float) for c in ("frequency_cal", "recency_cal", "T_cal"))
    n_holdout = ch["frequency_holdout"].to_numpy()
    horizon = float(ch["duration_holdout"].iloc[0])
    print(
        f"Online Retail II public split: {x.size:,} customers, holdout {horizon:.2f} weeks, "
        f"{int(n_holdout.sum()):,} holdout purchase days"
    )
    ok = True
    for penalizer in (0.0, 0.01):
        t0 = time.perf_counter()
        m = ParetoNBDModel(penalizer=penalizer).fit(x, tx, T)
        fit_s = time.perf_counter() - t0
        p = [m.params_[k] for k in ("r", "alpha", "s", "beta")]
        print(
            f"\nParetoNBDModel(penalizer={penalizer:g}): fit {fit_s:.2f} s, "
            + ", ".join(f"{k} {v:.4g}" for k, v in m.params_.items())
            + f"; params_at_bound_ {m.params_at_bound_}"
        )
        times, (pa, e, pmf) = time_predictions(m, x, tx, T, horizon, n_holdout)
        met = times.min() < TARGET_SECONDS
        ok &= bool(met)
        print(
            f"  P(alive) + E[X({horizon:.1f})] + P(X = n), {x.size:,} customers: "
            f"min {times.min():.3f} s, median {np.median(times):.3f} s "
            f"(target < {TARGET_SECONDS:g} s: {'met' if met else 'NOT met'})"
        )
        print(
            f"  predicted holdout purchases {e.sum():,.0f} (actual {int(n_holdout.sum()):,}); "
            f"P(alive) in [{pa.min():.3g}, {pa.max():.3g}]; "
            f"mean P(X = observed n) {pmf.mean():.4f}"
        )
        sub = slice(0, N_LIFETIMES)
        lt = lifetimes_subset(p, x[sub], tx[sub], T[sub], horizon, args.lifetimes_timeout)
        t_sub = min(time_predictions(m, x[sub], tx[sub], T[sub], horizon, n_holdout[sub])[0])
        if lt is None:
            print(
                f"  lifetimes ParetoNBDFitter, P(alive) + E[X], {N_LIFETIMES} customers: "
                f"did not finish in {args.lifetimes_timeout:g} s (cxml: {t_sub:.4f} s)"
            )
            continue
        lt_s, lt_pa, lt_e = lt
        good = np.isfinite(lt_pa) & np.isfinite(lt_e)
        if good.any():
            d_pa = np.max(np.abs(lt_pa[good] / pa[sub][good] - 1.0))
            d_e = np.max(np.abs(lt_e[good] / e[sub][good] - 1.0))
            agree = (
                f"largest relative difference P(alive) {d_pa:.2g}, E[X] {d_e:.2g}"
                f" over {int(good.sum())} customers"
            )
        else:
            agree = "no finite value (NaN for every customer)"
        print(
            f"  lifetimes ParetoNBDFitter, P(alive) + E[X], {N_LIFETIMES} customers: "
            f"{lt_s:.3f} s; cxml (all three) {t_sub:.4f} s, x{lt_s / t_sub:.0f}; {agree}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
