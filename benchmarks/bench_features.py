"""Benchmark: cxml.features.rfm against lifetimes' summary_data_from_transaction_data.

For each size, transactions are simulated once (BG/NBD + Gamma-Gamma generative process,
``cxml.datasets.simulate``), written to Parquet, and each tool runs in its own fresh
subprocess that reads the Parquet file into pandas and builds the RFM summary, so that the
peak RSS of one tool does not hide the other's. Both use days as the unit (lifetimes'
``freq="W"`` would merge same-*week* purchases, a different summary). The results are
compared customer by customer, and one JSON line per size is printed:

    {"n_customers": ..., "n_transactions": ..., "cxml_s": ..., "cxml_keep_s": ...,
     "lifetimes_s": ..., "ratio": ..., "ratio_keep": ..., "cxml_peak_rss_mb": ...,
     "lifetimes_peak_rss_mb": ..., "input_peak_rss_mb": ..., "agree": true}

``input_peak_rss_mb`` is the peak while reading the Parquet file into pandas, before either
tool starts (the DataFrame alone is 620 MB at 26M rows); ``cxml_parquet`` does not read it.

``cxml_s`` is ``rfm`` with its defaults (exact duplicate rows counted for the data
report); ``cxml_keep_s`` uses ``duplicates="keep"``, which, like lifetimes, neither drops
nor counts them (one aggregation fewer). Times include validation and the conversion of
the result to pandas; they exclude reading the Parquet file into pandas, which both tools
share. ``cxml_parquet_s`` is ``rfm`` given the Parquet *path* (defaults): DuckDB streams
the file, so the transactions are never held in pandas (time includes reading).

Usage::

    python benchmarks/bench_features.py                # 1M and 5M customers
    python benchmarks/bench_features.py --sizes 100000 # quick run
    python benchmarks/bench_features.py --duckdb-memory-limit 600MB  # bounded memory
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _rss import peak_rss_mb  # benchmarks/_rss.py (this script's directory)

OBS_END = "2021-12-31"
START = "2020-01-01"
# CDNOW's BG/NBD estimates (weeks) with the purchase-rate shape r raised from 0.2426 to
# 0.55, so that two years give ~5.2 transactions per customer: 1M customers -> ~5.2M
# transactions, 5M -> ~26M, the sizes of the issue.
PARAMS = {"r": 0.55, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}


def simulate_transactions(n_customers: int, seed: int):
    """Transactions of ``n_customers`` simulated by cxml.datasets.simulate."""
    import cxml

    tx = cxml.datasets.simulate(n_customers, params=PARAMS, seed=seed, start=START,
                                observation_end=OBS_END)
    return tx[["customer_id", "timestamp", "amount"]].reset_index(drop=True)


def child(tool: str, parquet: str, out: str, memory_limit: str | None = None) -> None:
    """Run one tool in this (fresh) process; print a JSON line with time and peak RSS."""
    if memory_limit and tool != "lifetimes":
        from cxml.data import duckdb_connection

        duckdb_connection().raw_sql(f"SET memory_limit = '{memory_limit}'")

    # cxml_parquet: cxml reads the file itself (DuckDB streams it; no pandas copy in RAM).
    # Otherwise both tools get the same DataFrame, read without Arrow's transient second
    # copy (pd.read_parquet peaks at 4x the frame's 620 MB at 26M rows).
    if tool == "cxml_parquet":
        tx = parquet
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        tx = pq.read_table(parquet).to_pandas(self_destruct=True, split_blocks=True)
        pa.default_memory_pool().release_unused()
    input_rss = peak_rss_mb()
    # imports (and DuckDB's start-up) are not timed, for either tool
    if tool == "lifetimes":
        from lifetimes.utils import summary_data_from_transaction_data
    else:
        from cxml.data import duckdb_connection
        from cxml.features import rfm

        duckdb_connection()
    t0 = time.perf_counter()
    if tool == "lifetimes":
        res = summary_data_from_transaction_data(
            tx, "customer_id", "timestamp", monetary_value_col="amount",
            observation_period_end=OBS_END, freq="D",
        )
    else:
        kw = {"duplicates": "keep"} if tool == "cxml_keep" else {}
        res = rfm(tx, observation_end=OBS_END, time_unit="D", **kw)
    seconds = time.perf_counter() - t0
    res = res[["frequency", "recency", "T", "monetary_value"]].astype("float64")
    res.index = res.index.astype("int64")
    res.sort_index().to_parquet(out)
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_rss_mb(),
                      "input_peak_rss_mb": input_rss}))


def run_child(tool: str, parquet: Path, out: Path, memory_limit: str | None) -> dict:
    extra = ["--duckdb-memory-limit", memory_limit] if memory_limit else []
    proc = subprocess.run(
        [sys.executable, __file__, "--child", tool, str(parquet), str(out), *extra],
        check=True, capture_output=True, text=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(a: Path, b: Path) -> bool:
    import numpy as np
    import pandas as pd

    x, y = pd.read_parquet(a), pd.read_parquet(b)
    if not x.index.equals(y.index):
        return False
    return bool(
        np.array_equal(x["frequency"].to_numpy(), y["frequency"].to_numpy())
        and all(np.allclose(x[c], y[c], rtol=1e-9, atol=1e-6)
                for c in ("recency", "T", "monetary_value"))
    )


def bench(n_customers: int, seed: int, workdir: Path, memory_limit: str | None = None) -> dict:
    tx = simulate_transactions(n_customers, seed)
    parquet = workdir / f"tx_{n_customers}.parquet"
    tx.to_parquet(parquet)
    n_tx = len(tx)
    del tx
    outs = {tool: workdir / f"{tool}_{n_customers}.parquet"
            for tool in ("cxml", "cxml_keep", "cxml_parquet", "lifetimes")}
    res = {tool: run_child(tool, parquet, out, memory_limit) for tool, out in outs.items()}
    agree = all(compare(outs[tool], outs["lifetimes"])
                for tool in ("cxml", "cxml_keep", "cxml_parquet"))
    lt = res["lifetimes"]["seconds"]
    return {
        "n_customers": n_customers,
        "n_transactions": n_tx,
        "cxml_s": round(res["cxml"]["seconds"], 3),
        "cxml_keep_s": round(res["cxml_keep"]["seconds"], 3),
        "lifetimes_s": round(lt, 3),
        "ratio": round(lt / res["cxml"]["seconds"], 2),
        "ratio_keep": round(lt / res["cxml_keep"]["seconds"], 2),
        "cxml_peak_rss_mb": round(res["cxml"]["peak_rss_mb"]),
        "cxml_keep_peak_rss_mb": round(res["cxml_keep"]["peak_rss_mb"]),
        "cxml_parquet_s": round(res["cxml_parquet"]["seconds"], 3),
        "cxml_parquet_peak_rss_mb": round(res["cxml_parquet"]["peak_rss_mb"]),
        "lifetimes_peak_rss_mb": round(res["lifetimes"]["peak_rss_mb"]),
        "input_peak_rss_mb": round(res["cxml"]["input_peak_rss_mb"]),
        "cpu_count": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 1),
        "duckdb_memory_limit": memory_limit,
        "agree": agree,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--duckdb-memory-limit", default=None,
                        help="e.g. 1GB: bound DuckDB's memory (it spills to disk beyond)")
    parser.add_argument("--child", nargs=3, metavar=("TOOL", "PARQUET", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child, memory_limit=args.duckdb_memory_limit)
        return 0
    with tempfile.TemporaryDirectory(prefix="cxml-bench-") as tmp:
        for n in args.sizes:
            row = bench(n, args.seed, Path(tmp), args.duckdb_memory_limit)
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
