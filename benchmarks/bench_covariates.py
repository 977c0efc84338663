"""Benchmark (issue 21, line 7): BG/NBD with 3 static covariates against the plain model.

Customers are drawn from the BG/NBD process with the CDNOW parameters (weeks) shifted by
three covariates in note 019's form: a 0/1 ``web`` channel (40 %), a standard-normal
``age`` and a three-level ``region`` (one-hot, two design columns), first purchases over
12 weeks, a 78-week window, recency at day granularity (as cxml.features gives it). The
covariate fit (purchase: web, age; dropout: web, region) and the plain fit run on the same
rows; each is timed 3 times (wall-clock and CPU, min / median) and the ratios printed, with
the likelihood evaluations of one fit: how many covered all rows (gradient only, or with the
Hessian) and the rows evaluated in all, in full-data passes (warm-start subsample included).

Run:  .venv/bin/python benchmarks/bench_covariates.py [--n 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from cxml.datasets._simulate import DEFAULT_PARAMS, _simulate_summary
from cxml.models import BetaGeoModel

TRUE = {
    "alpha": {"web": 0.5, "age": -0.2},
    "a": {"web": -0.4, "region=south": 0.3},
    "b": {"web": 0.2, "region=west": -0.3},
}


def make_data(n, seed=0):
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "west"], n)
    design = pd.DataFrame(
        {
            "web": (rng.uniform(size=n) < 0.4).astype(float),
            "age": rng.standard_normal(n),
            "region=south": (region == "south").astype(float),
            "region=west": (region == "west").astype(float),
        }
    )
    birth_days = rng.integers(0, 84, n)
    T = (78 * 7 - birth_days) / 7.0
    x, tx, T, _ = _simulate_summary(
        n, params=DEFAULT_PARAMS, T=T, seed=seed + 1, coefficients=TRUE, covariates=design
    )
    tx = np.minimum(np.floor(tx * 7.0) / 7.0, T)
    cov = pd.DataFrame({"web": design["web"], "age": design["age"], "region": region})
    return x, tx, T, cov


class Counted:
    """Mixin recording the rows of each likelihood evaluation (``rows``: (n, kind))."""

    rows: list = []

    def _loglik(self, params, data):
        Counted.rows.append((data.x.size, "gradient"))
        return super()._loglik(params, data)

    def _row_kernel(self, P, data):
        Counted.rows.append((data.x.size, "gradient"))
        return super()._row_kernel(P, data)

    def _row_hessian(self, P, data):
        Counted.rows.append((data.x.size, "Hessian"))
        return super()._row_hessian(P, data)


class CountedBG(Counted, BetaGeoModel):
    pass


def passes(job, n_rows):
    """Likelihood evaluations of one run of ``job`` over ``n_rows`` prepared rows."""
    Counted.rows = []
    job()
    rows = Counted.rows
    # the covariate kernels see blocks of rows: the full data is the sum over one pass
    total = sum(n for n, _ in rows) / n_rows
    kinds = {k: sum(n for n, kk in rows if kk == k) / n_rows for k in ("gradient", "Hessian")}
    return total, kinds


def timed(job, repeat):
    """Wall-clock and CPU seconds of each of ``repeat`` runs (the fits are single-threaded,
    so on a shared machine CPU time is the stabler number)."""
    out, times, cpu = None, [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = job()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return out, (times, cpu)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    x, tx, T, cov = make_data(args.n)
    print(f"{args.n:,} customers, mean frequency {x.mean():.3f}")
    plain, t_plain = timed(lambda: BetaGeoModel().fit(x, tx, T), args.repeat)
    model = BetaGeoModel(purchase_covariates=["web", "age"], dropout_covariates=["web", "region"])
    fitted, t_cov = timed(lambda: clone_fit(model, x, tx, T, cov), args.repeat)
    for name, (t, c) in (("plain BG/NBD", t_plain), ("BG/NBD + 3 covariates", t_cov)):
        print(
            f"{name:24s} wall min {min(t):7.2f} s  median {statistics.median(t):7.2f} s"
            f"   CPU min {min(c):7.2f} s  median {statistics.median(c):7.2f} s"
        )
    for i, what in enumerate(("wall", "CPU")):
        ratio = statistics.median(t_cov[i]) / statistics.median(t_plain[i])
        print(f"ratio covariates / plain (median {what}): {ratio:.1f}x")
    n_plain = plain.data_summary_["n_distinct_rows"]
    n_cov = fitted.data_summary_["n_distinct_rows"]
    for name, job, n_rows in (
        ("plain BG/NBD", lambda: CountedBG().fit(x, tx, T), n_plain),
        ("BG/NBD + 3 covariates", lambda: clone_fit(counted(model), x, tx, T, cov), n_cov),
    ):
        total, kinds = passes(job, n_rows)
        print(
            f"{name:24s} likelihood work in full-data passes: {total:6.2f} "
            f"(gradient only {kinds['gradient']:.2f}, with Hessian {kinds['Hessian']:.2f}; "
            f"{n_rows:,} distinct rows)"
        )
    print("baseline:", {k: round(v, 4) for k, v in fitted.params_.items()}, "true:", DEFAULT_PARAMS)
    table = fitted.summary()
    print(table[["estimate", "se", "multiplier"]].round(4).to_string())
    print("true coefficients:", TRUE)


def counted(model):
    return CountedBG(**model.get_params())


def clone_fit(model, x, tx, T, cov):
    from sklearn.base import clone

    return clone(model).fit(x, tx, T, covariates=cov)


if __name__ == "__main__":
    main()
