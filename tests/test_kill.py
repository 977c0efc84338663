"""SIGKILL in the middle of ``cxml score``: no partial output, and a rerun writes the
complete result, byte-identical to an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

AS_OF = "2021-06-30"


@pytest.fixture(scope="module")
def sim_input(tmp_path_factory, sample_training):
    from cxml.datasets import simulate

    d = tmp_path_factory.mktemp("kill")
    tx = simulate(40_000, seed=3, observation_end=AS_OF)
    tx["quantity"] = 1  # the CDNOW model maps a quantity column
    path = d / "tx.parquet"
    tx.to_parquet(path, index=False)
    return path, tx["customer_id"].nunique()


def _cmd(model, tx, out):
    exe = Path(sys.executable).with_name("cxml")
    return [
        str(exe),
        "score",
        "-m",
        str(model),
        "-t",
        str(tx),
        "--as-of",
        AS_OF,
        "-o",
        str(out),
        "--chunk-size",
        "2000",
    ]


def test_sigkill_leaves_no_partial_output_and_rerun_is_identical(
    sample_training, sim_input, tmp_path
):
    model = sample_training[0].model_dir
    tx, n_customers = sim_input
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "scores.parquet"
    env = {**os.environ, "NO_COLOR": "1"}

    proc = subprocess.Popen(
        _cmd(model, tx, out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    # wait until some chunks are in the temporary file, then kill without warning
    deadline = time.monotonic() + 120
    temp = []
    while time.monotonic() < deadline and proc.poll() is None:
        temp = [p for p in out_dir.iterdir() if p.name.endswith(".tmp")]
        if temp and temp[0].stat().st_size > 0:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"finished before it could be killed: {proc.stderr.read()}"
    assert temp and temp[0].stat().st_size > 0
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()  # nothing at the target: readers never see a half file

    rerun = subprocess.run(_cmd(model, tx, out), capture_output=True, text=True, env=env)
    assert rerun.returncode == 0, rerun.stderr
    # the killed writer's temporary file is gone; only the complete output remains
    assert sorted(p.name for p in out_dir.iterdir()) == ["scores.parquet"]

    reference = tmp_path / "reference.parquet"
    clean = subprocess.run(_cmd(model, tx, reference), capture_output=True, text=True, env=env)
    assert clean.returncode == 0, clean.stderr
    assert out.read_bytes() == reference.read_bytes()
    scores = pd.read_parquet(out)
    assert len(scores) == n_customers and scores["customer_id"].is_monotonic_increasing
    assert scores["customer_id"].is_unique
