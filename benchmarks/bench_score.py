"""Benchmark: ``cxml score`` end to end on simulated customers (issue 8).

Target: 5M customers / ~26M transactions scored in under 60 s with peak RSS under 3 GB.

Steps: simulate transactions with :func:`cxml.datasets.simulate` (BG/NBD with r=0.6,
alpha=3.5, a=0.7929, b=2.4259 per week over 78 weeks gives ~5.2 transactions per customer)
and write them to Parquet (cached in ``--data-dir``); train a model on 20,000 other simulated
customers (unless ``--model``); run ``cxml score`` as a child process and read its wall time,
CPU time (``wait4``) and peak RSS (its ``VmHWM``, polled). Then, in this process, time the
closed-form BTYD part against lifetimes on the same customers and print the ratio.

Usage::

    .venv/bin/python benchmarks/bench_score.py                      # 5M customers
    .venv/bin/python benchmarks/bench_score.py --customers 500000   # quicker
    # the cost of the churn reasons: plain and --explain runs interleaved, min / median
    .venv/bin/python benchmarks/bench_score.py --customers 1000000 --explain 3 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

AS_OF = "2021-06-30"
PARAMS = {"r": 0.6, "alpha": 3.5, "a": 0.7929, "b": 2.4259}
ROOT = Path(__file__).resolve().parents[1]


def make_data(n: int, path: Path, seed: int) -> int:
    """Simulate ``n`` customers into a Parquet file (skipped when it exists); row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.exists():
        from cxml.datasets import simulate

        t0 = time.perf_counter()
        tx = simulate(n, params=PARAMS, seed=seed, observation_end=AS_OF)
        tmp = path.with_suffix(".tmp")
        pq.write_table(
            pa.Table.from_pandas(tx, preserve_index=False), tmp, row_group_size=1_000_000
        )
        os.replace(tmp, path)
        print(
            f"simulated {n:,} customers / {len(tx):,} transactions in "
            f"{time.perf_counter() - t0:.1f} s -> {path}"
        )
        del tx
    return pq.ParquetFile(path).metadata.num_rows


def train_model(work: Path) -> Path:
    """Train on 20,000 simulated customers (calibration to 2021-01-31, holdout to as-of)."""
    train_path = work / "train.parquet"
    make_data(20_000, train_path, seed=1)
    cfg = yaml.safe_load((ROOT / "configs" / "cdnow.yaml").read_text())
    cfg["name"] = "bench_sim"
    cfg["data"] = {
        "transactions": str(train_path),
        "events": None,
        "columns": {"customer_id": "customer_id", "timestamp": "timestamp", "amount": "amount"},
    }
    cfg["time"].update(calibration_end="2021-01-31", observation_end=AS_OF)
    cfg["churn"]["cv_folds"] = 3
    cfg["output"]["model_dir"] = str(work / "model")
    (work / "train.yaml").write_text(yaml.safe_dump(cfg))
    exe = Path(sys.executable).with_name("cxml")
    subprocess.run(
        [
            str(exe),
            "train",
            "--config",
            str(work / "train.yaml"),
            "--tracking-uri",
            f"sqlite:///{work / 'mlflow.db'}",
        ],
        check=True,
        cwd=work,
        stdout=subprocess.DEVNULL,
    )
    return work / "model"


def run_score(model: Path, data: Path, out: Path, chunk_size: int, extra=()) -> dict:
    """``cxml score`` as a child process: wall / CPU seconds and peak RSS (VmHWM)."""
    exe = Path(sys.executable).with_name("cxml")
    cmd = [
        str(exe),
        "score",
        "-m",
        str(model),
        "-t",
        str(data),
        "--as-of",
        AS_OF,
        "-o",
        str(out),
        "--chunk-size",
        str(chunk_size),
        *extra,
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    # Peak RSS is the child's VmHWM, polled: wait4's ru_maxrss would include this parent's
    # own peak (Linux carries it across fork + exec), e.g. after simulating the data.
    peak_kb, status = 0, None
    while status is None:
        peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
        pid, st, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            status = st
        else:
            time.sleep(0.05)
    wall = time.perf_counter() - t0
    err = proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"cxml score failed: {err}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_gb": peak_kb / 1024**2,
        "message": err.strip(),
    }


def _vm_hwm_kb(pid: int) -> int:
    """High-water RSS of a running process in KiB (0 once it has exited)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def btyd_vs_lifetimes(model: Path, n: int = 200_000) -> None:
    """Closed-form BTYD scoring (P(alive), E[purchases], E[spend]) of the same customers
    with cxml's fitted models and with lifetimes fitters holding the same parameters."""
    import numpy as np
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    from cxml.datasets._simulate import _simulate_summary
    from cxml.pipelines import load_model

    b = load_model(model)
    x, t_x, T = _simulate_summary(n, params=PARAMS, T=78.0, seed=5)
    m = np.where(x > 0, 20.0 + x, 0.0)
    bg = BetaGeoFitter()
    bg.params_ = __import__("pandas").Series(b.purchase_model.params_)
    gg = GammaGammaFitter()
    gg.params_ = __import__("pandas").Series(b.spend_model.params_)
    pos = x > 0
    t0 = time.perf_counter()
    ours = (
        b.purchase_model.probability_alive(x, t_x, T),
        b.purchase_model.expected_purchases(39.0, x, t_x, T),
        b.spend_model.expected_average_value(x[pos], m[pos]),
    )
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = (
        bg.conditional_probability_alive(x, t_x, T),
        bg.conditional_expected_number_of_purchases_up_to_time(39.0, x, t_x, T),
        gg.conditional_expected_average_profit(x[pos], m[pos]),
    )
    t_theirs = time.perf_counter() - t0
    diff = max(
        float(np.nanmax(np.abs(np.asarray(a) - np.asarray(c)) / (1 + np.abs(c))))
        for a, c in zip(ours, theirs, strict=True)
    )
    print(
        f"\nBTYD scoring of {n:,} customers: cxml {t_ours:.2f} s, lifetimes "
        f"{t_theirs:.2f} s, ratio {t_theirs / t_ours:.1f}x (max rel. difference {diff:.1e})"
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=5_000_000)
    ap.add_argument("--chunk-size", type=int, default=500_000)
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "cxml-bench")
    ap.add_argument("--model", type=Path, default=None, help="skip training; use this model")
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    ap.add_argument(
        "--explain",
        type=int,
        default=0,
        metavar="K",
        help="also time `cxml score --explain --top-reasons K` (issue 20)",
    )
    ap.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="runs of each variant, interleaved (plain, explain, plain, ...); min and median",
    )
    ap.add_argument("--skip-btyd", action="store_true", help="skip the lifetimes comparison")
    args = ap.parse_args(argv)

    args.data_dir.mkdir(parents=True, exist_ok=True)
    data = args.data_dir / f"tx_{args.customers}.parquet"
    n_rows = make_data(args.customers, data, seed=8)
    model = args.model or train_model(Path(tempfile.mkdtemp(prefix="cxml-bench-model-")))
    print(f"model: {model}")
    out = args.data_dir / f"scores_{args.customers}.{args.format}"
    variants = {"plain": ()}
    if args.explain:  # the cost of the per-customer churn reasons (TreeSHAP)
        variants[f"--explain --top-reasons {args.explain}"] = (
            "--explain",
            "--top-reasons",
            str(args.explain),
        )
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for _ in range(max(1, args.repeats)):
        # interleaved, so a change of the host's load hits both variants alike
        for name, extra in variants.items():
            target = out if not extra else out.with_name(f"explained_{out.name}")
            r = run_score(model, data, target, args.chunk_size, extra)
            r["load"] = os.getloadavg()[0]
            runs[name].append(r)
    print(
        "\n| customers | transactions | chunk | variant | runs | wall s min / median | "
        "CPU s min / median | customers/s (CPU) | peak RSS GB | target |"
    )
    print("|---:|---:|---:|---|---:|---:|---:|---:|---:|---|")
    stats = {}
    for name, rs in runs.items():
        wall = sorted(r["wall_s"] for r in rs)
        cpu = sorted(r["cpu_s"] for r in rs)
        rss = max(r["peak_rss_gb"] for r in rs)
        stats[name] = (wall[0], statistics.median(wall), cpu[0], statistics.median(cpu))
        ok = wall[0] < 60 * args.customers / 5_000_000 and rss < 3
        print(
            f"| {args.customers:,} | {n_rows:,} | {args.chunk_size:,} | {name} | {len(rs)} | "
            f"{wall[0]:.1f} / {statistics.median(wall):.1f} | "
            f"{cpu[0]:.1f} / {statistics.median(cpu):.1f} | "
            f"{args.customers / statistics.median(cpu):,.0f} | {rss:.2f} | "
            f"{'met' if ok else 'MISSED'} (5M in <60 s pro rata, <3 GB) |"
        )
    loads = [r["load"] for rs in runs.values() for r in rs]
    print(
        f"load average after the runs: {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores"
    )
    if len(stats) == 2:
        (w0, wm0, c0, cm0), (w1, wm1, c1, cm1) = stats.values()
        print(
            f"explain / plain: wall {w1 / w0:.2f}x (min) {wm1 / wm0:.2f}x (median), "
            f"CPU {c1 / c0:.2f}x (min) {cm1 / cm0:.2f}x (median); extra CPU per 1M "
            f"customers {(cm1 - cm0) * 1e6 / args.customers:.1f} s"
        )
    print(runs["plain"][-1]["message"])
    if not args.skip_btyd:
        btyd_vs_lifetimes(model)


if __name__ == "__main__":
    main()
