"""Benchmark: cxml.features.rfm against its engine's floor and the living peers.

Four implementations of the same Fader-Hardie-Lee RFM summary (days as the unit, all
purchases of a customer on one calendar day merged) run on the same data, in the same run,
each in a fresh subprocess so that one's peak RSS does not hide another's:

- ``cxml``: ``cxml.features.rfm`` with its defaults (validation, data report, exact
  duplicates counted, result as a pandas DataFrame sorted by customer);
- ``floor``: one bare DuckDB SQL query of the same RFM (customer-day netting, then
  frequency / recency / T / monetary_value per customer, result as pandas, no ORDER BY,
  no validation, no report): what cxml's engine needs at least (:data:`FLOOR_SQL`);
- ``floor_exact``: the floor with cxml's exact money arithmetic (amounts summed as
  ``DECIMAL(18, 6)``, converted to float64 once per customer, see
  ``cxml.features._exact``): the floor of the same numbers, since a float64 sum depends on
  the order the engine adds rows in (:data:`FLOOR_EXACT_SQL`);
- ``lifetimes``: ``lifetimes.utils.summary_data_from_transaction_data(freq="D")``;
- ``pymc``: pymc-marketing's ``rfm_summary(time_unit="D")``, which needs Python >= 3.12:
  it runs in its own venv (``--make-pymc-venv`` creates it with
  ``~/.pyenv/versions/3.12.*/bin/python -m venv`` and installs pymc-marketing there),
  and is skipped with a message when that venv does not exist.

Transactions come from ``cxml.datasets.simulate`` (about 5.2 per customer), in two kinds:
``day`` (timestamps at midnight, day-level data as most warehouses store it) and ``tod``
(the simulated time of day kept). Each child reads the same Parquet file into pandas
(untimed, as are imports and DuckDB's start-up) and times only the summary. The results are
asserted to agree customer by customer (frequency exactly, the rest to 1e-9 relative).
One JSON line per size and kind::

    {"n_customers": ..., "kind": "day", "n_transactions": ...,
     "cxml_s": [min, median], "floor_s": [...], "lifetimes_s": [...], "pymc_s": [...],
     "cxml_over_floor": ..., "cxml_over_floor_exact": ..., "lifetimes_over_cxml": ...,
     "pymc_over_cxml": ...,
     "peak_rss_mb": {"cxml": ..., ...}, "input_peak_rss_mb": ..., "agree": true, ...}

``*_cpu_s`` is the CPU time of the process (all threads: DuckDB uses every core, lifetimes
and pymc-marketing one), the steadier measure on a shared host; ``*_s`` is wall time.
Ratios use the minimum over ``--repeats`` (cxml and the floor; ``--peer-repeats`` for
lifetimes and pymc-marketing, which take minutes at 5M customers). ``load_avg_1m`` is
recorded: on a loaded host absolute times are inflated, the ratios of one run less so.

Usage::

    python benchmarks/bench_features.py --make-pymc-venv          # 1M and 5M, both kinds
    python benchmarks/bench_features.py --sizes 1000000 --kinds day --repeats 3
    python benchmarks/bench_features.py --tools cxml floor        # the floor ratio only
    python benchmarks/bench_features.py --profile                 # cxml's steps (1 process)
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
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
# transactions, 5M -> ~26M.
PARAMS = {"r": 0.55, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
TOOLS = ("cxml", "floor", "floor_exact", "lifetimes", "pymc")
FLOORS = ("floor", "floor_exact")
KINDS = ("day", "tod")
PYMC_VENV = Path(
    os.environ.get("CXML_BENCH_PYMC_VENV", Path.home() / ".cache" / "cxml-bench" / "pymc-venv")
)
PYMC_VERSION = "1.3.0"


def floor_sql(exact: bool) -> str:
    """The floor: the same RFM as one bare DuckDB query over the registered DataFrame ``tx``.

    A purchase day is a customer-day of value >= 0 (cxml's returns="net", zero_value="keep");
    monetary_value is the mean value of the repeat days (total minus the first day's value).
    ``exact`` sums the amounts in cxml's fixed point (one cast per row, exact sums, one
    conversion back to float64 per customer).
    """
    amount = "CAST(amount AS DECIMAL(18, 6))" if exact else "amount"
    repeat = "SUM(value) - arg_min(value, day)"
    repeat = f"CAST({repeat} AS DOUBLE)" if exact else f"({repeat})"
    return f"""
WITH d AS (
    SELECT customer_id, CAST("timestamp" AS DATE) AS day, SUM({amount}) AS value
    FROM tx GROUP BY customer_id, day
)
SELECT customer_id,
       COUNT(*) - 1 AS frequency,
       CAST(MAX(day) - MIN(day) AS DOUBLE) AS recency,
       CAST(DATE '{OBS_END}' - MIN(day) AS DOUBLE) AS "T",
       CASE WHEN COUNT(*) > 1 THEN {repeat} / (COUNT(*) - 1) ELSE 0.0 END AS monetary_value
FROM d WHERE value >= 0
GROUP BY customer_id
"""


FLOOR_SQL, FLOOR_EXACT_SQL = floor_sql(exact=False), floor_sql(exact=True)


def simulate_transactions(n_customers: int, seed: int, kind: str):
    """Transactions of ``n_customers`` simulated by cxml.datasets.simulate."""
    import cxml

    tx = cxml.datasets.simulate(
        n_customers, params=PARAMS, seed=seed, start=START, observation_end=OBS_END
    )
    tx = tx[["customer_id", "timestamp", "amount"]].reset_index(drop=True)
    if kind == "day":
        tx["timestamp"] = tx["timestamp"].dt.floor("D")
    return tx


def _read(parquet: str):
    """The transactions as pandas, without Arrow's transient second copy."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tx = pq.read_table(parquet).to_pandas(self_destruct=True, split_blocks=True)
    pa.default_memory_pool().release_unused()
    return tx


def child(tool: str, parquet: str, out: str) -> None:
    """Run one tool in this (fresh) process; print a JSON line with time and peak RSS."""
    tx = _read(parquet)
    input_rss = peak_rss_mb()
    # imports (and DuckDB's start-up) are not timed, for any tool
    if tool == "lifetimes":
        from lifetimes.utils import summary_data_from_transaction_data
    elif tool == "pymc":
        from pymc_marketing.clv.utils import rfm_summary
    elif tool in FLOORS:
        import duckdb

        con = duckdb.connect()
        con.execute("SET preserve_insertion_order = false")
    else:
        from cxml.data import duckdb_connection
        from cxml.features import rfm

        duckdb_connection()
    t0, c0 = time.perf_counter(), time.process_time()
    if tool == "lifetimes":
        res = summary_data_from_transaction_data(
            tx,
            "customer_id",
            "timestamp",
            monetary_value_col="amount",
            observation_period_end=OBS_END,
            freq="D",
        )
    elif tool == "pymc":
        res = rfm_summary(
            tx,
            "customer_id",
            "timestamp",
            monetary_value_col="amount",
            observation_period_end=OBS_END,
            time_unit="D",
        )
        res = res.set_index("customer_id")
    elif tool in FLOORS:
        con.register("tx", tx)
        sql = FLOOR_SQL if tool == "floor" else FLOOR_EXACT_SQL
        res = con.sql(sql).df().set_index("customer_id")
    else:
        res = rfm(tx, observation_end=OBS_END, time_unit="D")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = peak_rss_mb()
    res = res[["frequency", "recency", "T", "monetary_value"]].astype("float64")
    res.index = res.index.astype("int64")
    res.sort_index().to_parquet(out)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "peak_rss_mb": peak,
                "input_peak_rss_mb": input_rss,
            }
        )
    )


def pymc_python() -> Path | None:
    """The pymc-marketing venv's python, or None when it was not made."""
    py = PYMC_VENV / "bin" / "python"
    return py if py.exists() else None


def make_pymc_venv() -> Path:
    """Create the Python >= 3.12 venv with pymc-marketing (once; reused afterwards)."""
    if (py := pymc_python()) is not None:
        return py
    found = sorted(
        glob.glob(str(Path.home() / ".pyenv" / "versions" / "3.1[2-9].*" / "bin" / "python"))
    )
    if not found:
        raise SystemExit("no ~/.pyenv/versions/3.12+ python to create the pymc-marketing venv")
    subprocess.run([found[0], "-m", "venv", str(PYMC_VENV)], check=True)
    py = PYMC_VENV / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", f"pymc-marketing=={PYMC_VERSION}", "pyarrow"],
        check=True,
    )
    return py


def run_child(tool: str, parquet: Path, out: Path) -> dict:
    python = str(pymc_python()) if tool == "pymc" else sys.executable
    env = dict(os.environ)
    if tool == "pymc":  # the venv has its own site-packages; none of cxml's
        env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [python, __file__, "--child", tool, str(parquet), str(out)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check_agree(outs: dict[str, Path]) -> None:
    """Assert that every tool's summary equals cxml's, customer by customer."""
    import numpy as np
    import pandas as pd

    ref = pd.read_parquet(outs["cxml"])
    for tool, path in outs.items():
        if tool == "cxml":
            continue
        other = pd.read_parquet(path)
        assert ref.index.equals(other.index), f"{tool}: other customers than cxml"
        assert np.array_equal(ref["frequency"].to_numpy(), other["frequency"].to_numpy()), (
            f"{tool}: frequency differs from cxml's"
        )
        for c in ("recency", "T", "monetary_value"):
            assert np.allclose(ref[c], other[c], rtol=1e-9, atol=1e-9), (
                f"{tool}: {c} differs from cxml's"
            )


def bench(
    n_customers: int, kind: str, seed: int, workdir: Path, tools, repeats: int, peer_repeats: int
) -> dict:
    tx = simulate_transactions(n_customers, seed, kind)
    parquet = workdir / f"tx_{n_customers}_{kind}.parquet"
    tx.to_parquet(parquet)
    n_tx = len(tx)
    del tx
    if "pymc" in tools and pymc_python() is None:
        print(
            f"pymc-marketing skipped: no venv at {PYMC_VENV} (run with --make-pymc-venv)",
            file=sys.stderr,
        )
        tools = [t for t in tools if t != "pymc"]
    outs = {tool: workdir / f"{tool}_{n_customers}_{kind}.parquet" for tool in tools}
    runs: dict[str, list[dict]] = {tool: [] for tool in tools}
    n_max = max(repeats, peer_repeats)
    for i in range(n_max):  # interleaved: each repeat runs the tools back to back
        for tool in tools:
            n = repeats if tool in ("cxml", *FLOORS) else peer_repeats
            if i < n:
                runs[tool].append(run_child(tool, parquet, outs[tool]))
    if "cxml" in outs:
        check_agree(outs)
    row = {"n_customers": n_customers, "kind": kind, "n_transactions": n_tx}
    for key, suffix in (("seconds", "s"), ("cpu_seconds", "cpu_s")):
        secs = {t: sorted(r[key] for r in runs[t]) for t in tools}
        best = {t: s[0] for t, s in secs.items()}
        for t in tools:
            row[f"{t}_{suffix}"] = [round(secs[t][0], 3), round(statistics.median(secs[t]), 3)]
        if "cxml" in best:  # ratios of the minima
            tag = "" if key == "seconds" else "_cpu"
            for floor in FLOORS:
                if floor in best:
                    row[f"cxml_over_{floor}{tag}"] = round(best["cxml"] / best[floor], 2)
            for peer in ("lifetimes", "pymc"):
                if peer in best:
                    row[f"{peer}_over_cxml{tag}"] = round(best[peer] / best["cxml"], 2)
    row["peak_rss_mb"] = {t: round(max(r["peak_rss_mb"] for r in runs[t])) for t in tools}
    row["input_peak_rss_mb"] = round(runs[tools[0]][0]["input_peak_rss_mb"])
    row["repeats"] = {t: len(runs[t]) for t in tools}
    row["cpu_count"] = os.cpu_count()
    row["load_avg_1m"] = round(os.getloadavg()[0], 1)
    row["agree"] = "cxml" in outs
    return row


def profile(n_customers: int, kind: str, seed: int) -> None:
    """Time cxml's steps on one DataFrame in this process (a rough breakdown)."""
    import ibis

    from cxml.data import duckdb_connection, execute_arrow, validate_transactions
    from cxml.features import rfm

    tx = simulate_transactions(n_customers, seed, kind)
    con = duckdb_connection()
    steps = {}
    t0 = time.perf_counter()
    t = validate_transactions(tx, observation_end=OBS_END)
    steps["validate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rfm(t, observation_end=OBS_END, time_unit="D", output="pandas")
    steps["rfm_after_validation"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rfm(tx, observation_end=OBS_END, time_unit="D")
    steps["rfm_total"] = time.perf_counter() - t0
    raw = con.con
    raw.register("tx", tx)
    t0 = time.perf_counter()
    raw.sql(FLOOR_SQL).df()
    steps["floor"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    execute_arrow(ibis.memtable(tx).count().as_table())
    steps["count_rows"] = time.perf_counter() - t0
    print(
        json.dumps(
            {"n_customers": n_customers, "kind": kind, **{k: round(v, 3) for k, v in steps.items()}}
        )
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--repeats", type=int, default=3, help="runs of cxml and the floor")
    parser.add_argument(
        "--peer-repeats", type=int, default=1, help="runs of lifetimes and pymc-marketing"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--make-pymc-venv",
        action="store_true",
        help=f"create {PYMC_VENV} with pymc-marketing {PYMC_VERSION}",
    )
    parser.add_argument(
        "--profile", action="store_true", help="time cxml's steps in this process instead"
    )
    parser.add_argument(
        "--child", nargs=3, metavar=("TOOL", "PARQUET", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    if args.profile:
        for n in args.sizes:
            for kind in args.kinds:
                profile(n, kind, args.seed)
        return 0
    if args.make_pymc_venv and "pymc" in args.tools:
        make_pymc_venv()
    with tempfile.TemporaryDirectory(prefix="cxml-bench-") as tmp:
        for n in args.sizes:
            for kind in args.kinds:
                row = bench(
                    n, kind, args.seed, Path(tmp), args.tools, args.repeats, args.peer_repeats
                )
                print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
