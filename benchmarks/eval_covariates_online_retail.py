"""Country as a BTYD covariate on data we did not design: Online Retail II through ``cxml train``.

The customers table is derived from the raw file: each customer's country (the one on most
of their invoice lines; 13 of 5,942 customers have two, ties broken alphabetically), with the
countries of fewer than 50 customers grouped as "Other". It goes through the pipeline as a
user would give it (``data.customers`` + ``btyd.covariates``), on the public protocol
(calibration to 2011-06-09, holdout to 2011-12-09, weeks), and the script prints the
purchase model's effects table and the multipliers relative to the United Kingdom.

Run::

    python benchmarks/eval_covariates_online_retail.py [--model bgnbd|mbgnbd|pnbd]
        [--encoding indicators|categorical] [--penalizer 0.0]

``--encoding categorical`` gives the model the text column ``country``: the encoding rule
takes the first level in sorted order (France, 95 customers) as the reference, so the
baseline (a, b) rest on those 95 customers; on this data the BG/NBD dropout part then runs
to the optimiser's bounds. ``indicators`` (the default) gives 0/1 columns ``france``,
``germany``, ``other`` instead, so the United Kingdom (5,410 customers) is the baseline.
The multipliers against the United Kingdom are printed either way.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from cxml.datasets import load_online_retail, online_retail_path
from cxml.pipelines import train

MIN_CUSTOMERS = 50


def customers_table(raw_path: Path) -> pd.DataFrame:
    raw = pd.read_parquet(raw_path, columns=["CustomerID", "Country"]).dropna(subset=["CustomerID"])
    country = raw.groupby("CustomerID")["Country"].agg(
        lambda s: s.value_counts().sort_index().idxmax()
    )
    sizes = country.value_counts()
    small = sizes.index[sizes < MIN_CUSTOMERS]
    country = country.where(~country.isin(small), "Other")
    return pd.DataFrame(
        {"customer_id": country.index.astype("int64"), "country": country.to_numpy()}
    )


def indicators(cust: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """0/1 columns of every country but the United Kingdom (the baseline)."""
    names = sorted(c for c in cust["country"].unique() if c != "United Kingdom")
    cols = {c.lower().replace(" ", "_"): c for c in names}
    out = cust[["customer_id"]].copy()
    for col, c in cols.items():
        out[col] = (cust["country"] == c).astype(float)
    return out, list(cols)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="bgnbd", choices=["bgnbd", "mbgnbd", "pnbd"])
    ap.add_argument("--encoding", default="indicators", choices=["indicators", "categorical"])
    ap.add_argument("--penalizer", type=float, default=0.0)
    args = ap.parse_args()
    raw = online_retail_path()
    if raw is None:
        raise SystemExit("Online Retail II not found (see /work/shared/data/README.md)")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        tx = load_online_retail(raw)
        tx[["customer_id", "timestamp", "amount", "quantity", "order_id"]].to_parquet(
            tmp / "tx.parquet"
        )
        cust = customers_table(raw)
        print(cust["country"].value_counts().to_string(), "\n")
        names = ["country"]
        if args.encoding == "indicators":
            cust, names = indicators(cust)
        cust.to_parquet(tmp / "customers.parquet")
        cfg = {
            "name": "online-retail-country",
            "data": {
                "transactions": str(tmp / "tx.parquet"),
                "columns": {
                    "customer_id": "customer_id",
                    "timestamp": "timestamp",
                    "amount": "amount",
                    "quantity": "quantity",
                    "order_id": "order_id",
                },
                "customers": str(tmp / "customers.parquet"),
            },
            "time": {
                "calibration_end": "2011-06-09",
                "observation_end": "2011-12-09",
                "time_unit": "W",
            },
            "btyd": {
                "purchase_model": args.model,
                "penalizer": args.penalizer,
                "covariates": {"purchase": names, "dropout": names},
            },
            "churn": {"cv_folds": 3, "max_snapshots": 2},
            "output": {"model_dir": str(tmp / "model")},
        }
        (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
        result = train(tmp / "config.yaml", tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}")
    m = result.bundle.purchase_model
    pd.set_option("display.width", 160)
    print(m.summary().round(3).to_string(), "\n")
    for p, coefs in m.coefficients_.items():
        if args.encoding == "indicators":  # the United Kingdom is the baseline
            rel = {k: float(np.exp(g)) for k, g in coefs.items()}
        else:
            ref = coefs["country=United Kingdom"]
            rel = {k.removeprefix("country="): float(np.exp(g - ref)) for k, g in coefs.items()}
            rel["France"] = float(np.exp(-ref))
            rel.pop("United Kingdom")
        print(
            f"{p}: multiplier vs United Kingdom",
            "  ".join(f"{k} {v:.2f}" for k, v in sorted(rel.items())),
        )
    print(
        f"\nholdout: churn AUC {result.metrics['churn_auc']:.3f}, "
        f"{args.model} E[Y] AUC {result.metrics[f'{args.model}_expected_churn_auc']:.3f}, "
        f"customers {int(result.metrics['n_customers']):,}"
    )


if __name__ == "__main__":
    main()
