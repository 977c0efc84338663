"""Benchmark: ``cxml report`` on the scores of 5M customers (issue 20).

The report must stay small and quick whatever the number of customers: tables are
aggregates, distributions are histograms, SHAP values are computed on a 2,000-row sample.
Steps: train on the CDNOW sample (unless ``--model``), score its 2,357 customers as of
1998-06-30 and as of 1998-03-31, resample those rows with replacement to ``--customers``
customers (new ids; the previous file keeps the same ids), then run ``cxml report`` with
and without ``--previous`` as a child process and print wall time, CPU time, peak RSS and
the size of the HTML file.

(Scores are resampled rather than computed from simulated transactions: scoring 5M
customers is ``benchmarks/bench_score.py``'s job; this one measures the report.)

Usage::

    .venv/bin/python benchmarks/bench_report.py                      # 5M customers
    .venv/bin/python benchmarks/bench_report.py --customers 200000   # quicker
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def train_model(work: Path) -> Path:
    cfg = yaml.safe_load((ROOT / "configs" / "cdnow.yaml").read_text())
    cfg["data"]["transactions"] = "cdnow:sample"
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
        stderr=subprocess.DEVNULL,
    )
    return work / "model"


def make_scores(model: Path, n: int, work: Path) -> tuple[Path, Path]:
    """(new, previous) scores of ``n`` customers resampled from the CDNOW sample's."""
    from cxml.datasets import load_cdnow
    from cxml.pipelines import score

    tx = load_cdnow("sample")
    new = score(tx, model=model, as_of="1998-06-30")
    old = (
        score(
            tx[tx["timestamp"] <= "1998-03-31"],
            model=model,
            as_of="1998-03-31",
            allow_stale_as_of=True,
        )
        .set_index("customer_id")
        .loc[new["customer_id"]]
    )
    rng = np.random.default_rng(20)
    pick = rng.integers(0, len(new), n)
    paths = []
    for name, s in (("new", new.reset_index(drop=True)), ("previous", old.reset_index())):
        big = s.iloc[pick].reset_index(drop=True)
        big["customer_id"] = np.arange(n, dtype="int64")
        paths.append(work / f"{name}_{n}.parquet")
        big.to_parquet(paths[-1])
    return paths[0], paths[1]


def run_report(args: list[str]) -> dict:
    """``cxml report`` as a child process: wall / CPU seconds, peak RSS (VmHWM)."""
    exe = Path(sys.executable).with_name("cxml")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(exe), "report", *args], stderr=subprocess.PIPE, text=True, stdout=subprocess.DEVNULL
    )
    peak_kb, status = 0, None
    while status is None:
        peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
        pid, st, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            status = st
        else:
            time.sleep(0.05)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"cxml report failed: {proc.stderr.read()}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_gb": peak_kb / 1024**2,
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=5_000_000)
    ap.add_argument("--model", type=Path, default=None, help="skip training; use this model")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="cxml-bench-report-"))
    model = args.model or train_model(work)
    new, old = make_scores(model, args.customers, work)
    print("\n| customers | report | wall s | CPU s | peak RSS GB | HTML kB |")
    print("|---:|---|---:|---:|---:|---:|")
    for name, extra in (("scores", []), ("with --previous", ["--previous", str(old)])):
        out = work / f"report_{len(extra)}.html"
        r = run_report(["--scores", str(new), "--model", str(model), "--output", str(out), *extra])
        print(
            f"| {args.customers:,} | {name} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
            f"{r['peak_rss_gb']:.2f} | {out.stat().st_size / 1e3:,.0f} |"
        )
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; files in {work}")


if __name__ == "__main__":
    main()
