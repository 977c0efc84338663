"""Integration with a real MLflow tracking server over HTTP (sqlite backend, local artifacts).

Starts `mlflow server` on 127.0.0.1 with a free port, trains against it, registers the model,
loads it back by alias, scores, and (when a Chromium is installed) checks the UI shows the run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from conftest import write_config

pytestmark = pytest.mark.slow

MLFLOW = str(Path(sys.executable).with_name("mlflow"))
CXML = str(Path(sys.executable).with_name("cxml"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mlflow_server")
    port = _free_port()
    with open(tmp / "server.log", "wb") as log:  # the server keeps its own descriptor
        proc = subprocess.Popen(
            [
                MLFLOW,
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--backend-store-uri",
                f"sqlite:///{tmp / 'server.db'}",
                "--artifacts-destination",
                str(tmp / "artifacts"),
                "--workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            pytest.fail("mlflow server exited: " + (tmp / "server.log").read_text()[-2000:])
    else:
        os.killpg(proc.pid, signal.SIGTERM)
        pytest.fail("mlflow server did not become healthy in 120 s")
    yield url, tmp
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def trained(server):
    url, tmp = server
    work = tmp / "work"
    work.mkdir()
    cfg = write_config(
        work,
        **{
            "data.transactions": "cdnow:sample",
            "churn.cv_folds": 3,
            "tracking.experiment": "cxml-it",
        },
    )
    proc = subprocess.run(
        [
            CXML,
            "train",
            "--config",
            str(cfg),
            "--tracking-uri",
            url,
            "--register",
            "cxml-cdnow",
            "--alias",
            "champion",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return url, work, proc


def test_run_logged_over_http(trained):
    import mlflow

    url, _, _ = trained
    client = mlflow.MlflowClient(tracking_uri=url)
    exp = client.get_experiment_by_name("cxml-it")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.data.metrics["n_customers"] == 2357
    assert run.data.params["data.source"] == "cdnow:sample"
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"model", "tables", "plots"} <= names


def test_registered_alias_scores(trained, tmp_path):
    url, work, proc = trained
    assert "registered cxml-cdnow version 1: models:/cxml-cdnow@champion" in proc.stdout
    from cxml.datasets import load_cdnow

    load_cdnow("sample").to_csv(tmp_path / "tx.csv", index=False)
    out = subprocess.run(
        [
            CXML,
            "score",
            "--model",
            "models:/cxml-cdnow@champion",
            "--tracking-uri",
            url,
            "--transactions",
            str(tmp_path / "tx.csv"),
            "--as-of",
            "1998-06-30",
            "--output",
            str(tmp_path / "s.parquet"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    scores = pd.read_parquet(tmp_path / "s.parquet")
    assert len(scores) == 2357
    # the same as scoring with the local model directory
    local = subprocess.run(
        [
            CXML,
            "score",
            "--model",
            str(work / "models" / "cdnow"),
            "--transactions",
            str(tmp_path / "tx.csv"),
            "--as-of",
            "1998-06-30",
            "--output",
            str(tmp_path / "l.parquet"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert local.returncode == 0, local.stderr[-3000:]
    local_scores = pd.read_parquet(tmp_path / "l.parquet")
    pd.testing.assert_frame_equal(
        scores.drop(columns="model_version"), local_scores.drop(columns="model_version")
    )
    # the registered version, then the same content hash as the local directory
    (fingerprint,) = local_scores["model_version"].unique()
    assert (scores["model_version"] == f"cxml-cdnow/1@{fingerprint}").all()


def test_pyfunc_load_by_alias(trained):
    import mlflow.pyfunc

    from cxml.datasets import load_cdnow

    url, _, _ = trained
    mlflow.set_tracking_uri(url)
    model = mlflow.pyfunc.load_model("models:/cxml-cdnow@champion")
    tx = load_cdnow("sample")
    out = model.predict(tx[tx["customer_id"] <= 10], params={"as_of": "1998-06-30"})
    assert list(out["customer_id"]) == list(range(1, 11))
    assert out["model_version"].str.fullmatch(r"cxml-cdnow/1@[0-9a-f]{12}").all()


def test_unknown_alias_is_a_user_error(trained, tmp_path):
    url, _, _ = trained
    from cxml.datasets import load_cdnow

    load_cdnow("sample").to_csv(tmp_path / "tx.csv", index=False)
    out = subprocess.run(
        [
            CXML,
            "score",
            "--model",
            "models:/cxml-cdnow@nope",
            "--tracking-uri",
            url,
            "--transactions",
            str(tmp_path / "tx.csv"),
            "--as-of",
            "1998-06-30",
            "--output",
            str(tmp_path / "s.parquet"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("cxml: error: cannot fetch model models:/cxml-cdnow@nope")
    assert "Traceback" not in out.stderr


def test_runs_compare_over_http(trained, tmp_path):
    url, _, _ = trained
    out = subprocess.run(
        [
            CXML,
            "runs",
            "compare",
            "--experiment",
            "cxml-it",
            "--tracking-uri",
            url,
            "--csv",
            str(tmp_path / "runs.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    table = pd.read_csv(tmp_path / "runs.csv").set_index("key")
    assert table.loc["metric:n_customers"].astype(float).iloc[0] == 2357
    assert "churn_auc" in out.stdout


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_ui_shows_run_and_metric(trained, tmp_path):
    """Open the MLflow UI headless and check the run page renders the run and a metric."""
    import mlflow

    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium installed (.ci/run installs Debian's chromium when it can)")
    url, _, _ = trained
    client = mlflow.MlflowClient(tracking_uri=url)
    exp = client.get_experiment_by_name("cxml-it")
    (run,) = client.search_runs([exp.experiment_id])
    page = f"{url}/#/experiments/{exp.experiment_id}/runs/{run.info.run_id}"
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            page,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    dom = proc.stdout
    assert run.info.run_name in dom, dom[-2000:]
    assert "churn_auc" in dom
