"""Evaluation on real data: the cxml churn and value models against BTYD and RFM baselines.

Runs :func:`cxml.pipelines.evaluate` on the public protocols of

- CDNOW master (bundled with lifetimes): calibration to 1997-09-30, holdout 1997-10-01 ..
  1998-06-30 (39 weeks), 23,570 customers;
- UCI Online Retail II (``../shared/data/online_retail_ii``, skipped when absent):
  calibration to 2011-06-09, 26-week holdout to 2011-12-09; customers with a positive-value
  invoice in calibration; "active" = a positive-value invoice in the holdout,

and, with ``--robustness``, on other cut-offs of the same data (same holdout lengths) to
check that the model beats the best baseline across time, not on the two public dates only.
Prints one table per split (the comparison table's headline columns) and a summary in
Markdown (``--markdown PATH`` writes it to a file).

Online Retail II is read by :func:`cxml.datasets.load_online_retail` with its default
``cancellations="drop"`` (the protocol's cleaning, per the data's README): guest rows (null
CustomerID) dropped; line value = Quantity * Price; invoices whose total value is not
positive (cancellations, whose Invoice starts with "C", and zero-value adjustments) dropped,
so every remaining invoice is a positive-value purchase and a purchase day is a day with one
(the protocol's definition: 4,969 customers, 51.9 % active, 7,797 holdout transaction days).
Odd stock codes ("POST", "M", "BANK CHARGES", ...) stay inside their invoices: they are part
of what the customer paid.

Usage::

    python benchmarks/eval_real.py                    # both public protocols
    python benchmarks/eval_real.py --robustness       # plus other cut-offs
    python benchmarks/eval_real.py --datasets online_retail --markdown /tmp/eval.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from cxml.datasets import load_online_retail, online_retail_path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
OR_PATH = DATA / "online_retail_ii" / "online_retail_ii.parquet"
# cxml.datasets.load_online_retail returns cxml's column names; order lines are mapped so
# that the feature builders can drop exact duplicate lines.
OR_COLUMNS = dict(order_id="order_id", product="product", quantity="quantity")

HEADLINE = [
    "churn_auc",
    "churn_pr_auc",
    "churn_brier",
    "value_spearman",
    "value_gini",
    "value_decile_mape",
    "value_aggregate_error",
]

# (dataset, calibration_end, observation_end, public protocol?)
SPLITS = [
    ("cdnow", "1997-09-30", "1998-06-30", True),
    ("online_retail", "2011-06-09", "2011-12-09", True),
]
ROBUSTNESS = [
    ("cdnow", "1997-12-31", "1998-06-30", False),
    ("online_retail", "2011-03-09", "2011-09-07", False),
    ("online_retail", "2010-12-09", "2011-06-09", False),
]


def run_split(name: str, cal: str, obs: str, *, folds: int = 5, **options):
    """The comparison table of one split, or None when its data are absent."""
    from cxml.pipelines import evaluate

    if name == "cdnow":
        from cxml.datasets import load_cdnow

        tx, cols = load_cdnow("master"), {"quantity": "quantity"}
    else:
        if online_retail_path(OR_PATH) is None:
            print(f"skipping {name}: {OR_PATH} not found", file=sys.stderr)
            return None
        tx, cols = load_online_retail(OR_PATH), OR_COLUMNS
        # a robustness split may end before the data do
        tx = tx[tx["timestamp"] < pd.Timestamp(obs) + pd.Timedelta(days=1)]
    t0 = time.perf_counter()
    table = evaluate(tx, calibration_end=cal, observation_end=obs, folds=folds, **options, **cols)
    table.attrs["seconds"] = time.perf_counter() - t0
    return table


def summary_rows(name, cal, obs, public, table) -> dict:
    baselines = table.drop(index="cxml")
    best = baselines["churn_auc"].idxmax()
    return {
        "dataset": name,
        "calibration_end": cal,
        "observation_end": obs,
        "protocol": "public" if public else "robustness",
        "training": table.attrs.get("training"),
        "customers": int(table.loc["cxml", "n_customers"]),
        "cxml_auc": table.loc["cxml", "churn_auc"],
        "best_baseline": best,
        "best_baseline_auc": baselines.loc[best, "churn_auc"],
        "cxml_value_spearman": table.loc["cxml", "value_spearman"],
        "bgnbd_gg_value_spearman": table.loc["bgnbd_expected", "value_spearman"],
        "cxml_value_gini": table.loc["cxml", "value_gini"],
        "bgnbd_gg_value_gini": table.loc["bgnbd_expected", "value_gini"],
        "cxml_value_agg_err": table.loc["cxml", "value_aggregate_error"],
        "bgnbd_gg_value_agg_err": table.loc["bgnbd_expected", "value_aggregate_error"],
        "seconds": round(table.attrs.get("seconds", float("nan")), 1),
    }


def to_markdown(df: pd.DataFrame, *, index: bool = True) -> str:
    """A pipe table (no tabulate dependency)."""
    d = df.reset_index() if index else df
    fmt = [
        [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        for row in d.itertuples(index=False)
    ]
    lines = [
        "| " + " | ".join(map(str, d.columns)) + " |",
        "|" + "|".join("---" for _ in d.columns) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in fmt]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--datasets",
        nargs="+",
        default=["cdnow", "online_retail"],
        choices=["cdnow", "online_retail"],
    )
    ap.add_argument("--robustness", action="store_true", help="also run other cut-offs")
    ap.add_argument("--only-robustness", action="store_true", help="only the other cut-offs")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--markdown", type=Path, help="write the tables as Markdown here")
    ap.add_argument(
        "--training", default="auto", choices=["auto", "cross_fit", "out_of_time", "both"]
    )
    ap.add_argument("--snapshot-step-days", type=int, default=None)
    ap.add_argument("--max-snapshots", type=int, default=None)
    args = ap.parse_args(argv)

    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    splits = ([] if args.only_robustness else SPLITS) + (
        ROBUSTNESS if args.robustness or args.only_robustness else []
    )
    md, summary = [], []
    for name, cal, obs, public in splits:
        if name not in args.datasets:
            continue
        options = {"training": args.training}
        if args.snapshot_step_days:
            options["snapshot_step_days"] = args.snapshot_step_days
        if args.max_snapshots:
            options["max_snapshots"] = args.max_snapshots
        table = run_split(name, cal, obs, folds=args.folds, **options)
        if table is None:
            continue
        head = table[HEADLINE].round(3)
        title = (
            f"{name}: calibration to {cal}, holdout to {obs} "
            f"({'public protocol' if public else 'robustness'}; "
            f"training: {table.attrs.get('training')}, "
            f"past cut-offs: {', '.join(table.attrs.get('snapshots', [])) or 'none'})"
        )
        print(f"\n{title}\n{head.to_string()}", flush=True)
        md.append(f"**{title}**\n\n{to_markdown(head)}\n")
        summary.append(summary_rows(name, cal, obs, public, table))
    if summary:
        s = pd.DataFrame(summary)
        print("\nsummary\n" + s.round(3).to_string(index=False))
        md.append("**summary**\n\n" + to_markdown(s, index=False) + "\n")
    if args.markdown:
        args.markdown.write_text("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
