"""Benchmark: ``cxml compare`` against separate ``cxml train`` runs (issue 17, acceptance 9).

3 BTYD candidates (BG/NBD, MBG/NBD, Pareto/NBD) x 3 rolling cut-offs on Online Retail II
(26-week holdouts ending 2011-12-09, 2011-06-09 and 2010-12-08) in one comparison, against
the 9 ``cxml.pipelines.train`` runs a user would otherwise make (one per family and
cut-off). The comparison builds the transaction features once per cut-off and shares them;
each training run builds its own (and also stacks past cut-offs, refits the churn model,
explains it and logs a model). Both are timed on the same data and churn settings and both
times are printed with their ratio.

Usage::

    python benchmarks/bench_compare.py                 # 3 x 3, as in the issue
    python benchmarks/bench_compare.py --trains 3      # time 3 of the 9 train runs only
                                                       # (the total is then extrapolated
                                                       # and printed as such)

Needs the Online Retail II parquet (../shared/data or $CXML_DATA_DIR); skips without it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import tempfile
import time
from pathlib import Path

import yaml

FAMILIES = ["bgnbd", "mbgnbd", "pnbd"]


def main() -> None:
    import cxml.datasets
    from cxml.pipelines import compare, load_config, train

    ap = argparse.ArgumentParser()
    ap.add_argument("--trains", type=int, default=9, help="train runs to time (of 9)")
    ap.add_argument("--n-estimators", type=int, default=1000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if cxml.datasets.online_retail_path() is None:
        print(
            "SKIP: Online Retail II not found (put online_retail_ii.parquet under "
            "../shared/data/online_retail_ii/ or set $CXML_DATA_DIR)"
        )
        return
    tmp = Path(tempfile.mkdtemp(prefix="cxml-bench-compare-"))
    data = tmp / "online_retail.parquet"
    cxml.datasets.load_online_retail().to_parquet(data, index=False)
    H = 183  # 26 weeks + 1 day, the public protocol's holdout
    ends = [dt.date(2011, 12, 9) - dt.timedelta(days=k * H) for k in range(3)]
    base = {
        "name": "online-retail",
        "data": {
            "transactions": str(data),
            "columns": {
                "customer_id": "customer_id",
                "timestamp": "timestamp",
                "amount": "amount",
                "quantity": "quantity",
                "order_id": "order_id",
            },
        },
        "time": {
            "calibration_end": str(ends[0] - dt.timedelta(days=H)),
            "observation_end": str(ends[0]),
            "time_unit": "W",
        },
        "churn": {"n_estimators": args.n_estimators},
        "tracking": {"tracking_uri": f"sqlite:///{tmp / 'mlflow.db'}"},
        "output": {"model_dir": str(tmp / "model")},
    }
    cfg_path = tmp / "compare.yaml"
    cfg_path.write_text(
        yaml.safe_dump(
            {
                **base,
                "compare": {
                    "cutoffs": 3,
                    "candidates": [{"name": f, "btyd": {"purchase_model": f}} for f in FAMILIES],
                },
            }
        )
    )

    t0 = time.perf_counter()
    result = compare(load_config(cfg_path))
    t_compare = time.perf_counter() - t0
    print(
        result.leaderboard[
            [
                "candidate",
                "cutoff",
                "log_likelihood",
                "bic",
                "holdout_purchases_actual",
                "holdout_purchases_predicted",
                "churn_auc",
                "value_gini",
            ]
        ].to_string(index=False)
    )
    if result.skipped:
        print("skipped:", "; ".join(result.skipped))

    runs = [(f, end) for end in ends for f in FAMILIES][: args.trains]
    t_train = 0.0
    for i, (family, end) in enumerate(runs):
        cfg = {
            **base,
            "btyd": {"purchase_model": family},
            "time": {
                **base["time"],
                "calibration_end": str(end - dt.timedelta(days=H)),
                "observation_end": str(end),
            },
            "output": {"model_dir": str(tmp / f"model_{i}")},
        }
        p = tmp / f"train_{i}.yaml"
        p.write_text(yaml.safe_dump(cfg))
        t0 = time.perf_counter()
        train(load_config(p))
        t_train += time.perf_counter() - t0
    total = t_train * 9 / len(runs) if runs else float("nan")
    how = "measured" if len(runs) == 9 else f"extrapolated from {len(runs)} measured"
    print(f"\ncompare, 3 candidates x {len(result.cutoffs)} cut-offs: {t_compare:8.1f} s")
    print(f"9 separate train runs ({how}):      {total:8.1f} s")
    print(f"ratio train runs / compare:            {total / t_compare:8.2f}")


if __name__ == "__main__":
    main()
