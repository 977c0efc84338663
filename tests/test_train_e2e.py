"""`cxml train` with no arguments: the project's main job, end to end on CDNOW master."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

CXML = str(Path(sys.executable).with_name("cxml"))


@pytest.fixture(scope="module")
def trained_master(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("main_job")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    proc = subprocess.run(
        [CXML, "train"], cwd=cwd, capture_output=True, text=True, env=env, timeout=600
    )
    return proc, cwd


def test_train_without_arguments_succeeds(trained_master):
    proc, cwd = trained_master
    assert proc.returncode == 0, proc.stderr[-3000:]
    # summary: parameters, holdout metrics, segment sizes
    for text in ("BG/NBD", "Gamma-Gamma", "churn AUC", "segments", "23,570 customers"):
        assert text in proc.stdout, proc.stdout
    assert (cwd / "mlflow.db").is_file()
    assert (cwd / "models" / "cdnow" / "MLmodel").is_file()
    assert (cwd / "models" / "cdnow" / "artifacts" / "bundle" / "churn_lgbm.txt").is_file()
    assert (cwd / "models" / "cdnow" / "artifacts" / "cdnow.yaml").is_file()  # the config
    # models-from-code: no pickled Python object anywhere in the model directory
    assert not [
        p
        for p in (cwd / "models" / "cdnow").rglob("*")
        if p.suffix in (".pkl", ".pickle", ".cloudpickle", ".dill")
    ]


def test_mlflow_run_has_params_metrics_and_segment_table(trained_master):
    import mlflow

    proc, cwd = trained_master
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{cwd / 'mlflow.db'}")
    exp = client.get_experiment_by_name("cxml")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.params["time.calibration_end"] == "1997-09-30"
    assert run.data.params["data.customers"] == "23570"
    assert run.data.params["data.rows"] == "69659"
    m = run.data.metrics
    assert m["n_customers"] == 23570
    assert 0.7 < m["churn_auc"] < 0.9
    assert 0.7 < m["bgnbd_expected_churn_auc"] < 0.85
    # standard errors next to the parameters; library versions as tags
    assert m["bgnbd_r_se"] > 0 and m["gg_p_se"] > 0
    assert run.data.tags["version.lightgbm"] and run.data.tags["version.mlflow"]
    plots = {
        a.path
        for d in ("plots", "plots/btyd", "plots/churn")
        for a in client.list_artifacts(run.info.run_id, d)
    }
    assert {
        "plots/btyd/holdout_by_frequency.png",
        "plots/btyd/probability_alive_matrix.png",
        "plots/btyd/frequency_recency_matrix.png",
        "plots/btyd/cumulative_purchases.png",
        "plots/churn/roc.png",
        "plots/churn/precision_recall.png",
        "plots/churn/calibration.png",
        "plots/churn/lift.png",
        "plots/segment_sizes.png",
        "plots/value_risk_heatmap.png",
    } <= plots
    assert {a.path for a in client.list_artifacts(run.info.run_id, "config")} == {
        "config/cdnow.yaml"
    }
    (inp,) = run.inputs.dataset_inputs
    assert inp.dataset.name == "cdnow-transactions"
    tags = {t.key: t.value for t in inp.tags}
    assert tags["rows"] == "69659" and tags["customers"] == "23570"
    assert tags["first_date"] == "1997-01-01" and tags["last_date"] == "1998-06-30"
    assert len(tags["sha256"]) == 64
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "tables")}
    assert "tables/segment_summary.parquet" in artifacts
    local = client.download_artifacts(
        run.info.run_id, "tables/segment_summary.parquet", str(cwd / "dl")
    )
    summary = pd.read_parquet(local)
    assert summary["customers"].sum() == 23570


def test_master_model_reproduces_fhl_holdout(trained_master):
    """BG/NBD on CDNOW master (all 23,570 customers), 39-week calibration."""
    from cxml.pipelines import ModelBundle

    proc, cwd = trained_master
    assert proc.returncode == 0, proc.stderr[-3000:]
    bundle = ModelBundle.load(cwd / "models" / "cdnow")
    # same model on the same data through lifetimes (the reference oracle)
    from lifetimes import BetaGeoFitter

    from cxml.datasets import load_cdnow
    from cxml.features import calibration_holdout

    ch = calibration_holdout(
        load_cdnow("master"), calibration_end="1997-09-30", observation_end="1998-06-30"
    )
    ref = BetaGeoFitter().fit(ch["frequency_cal"], ch["recency_cal"], ch["T_cal"])
    for k in ("r", "alpha", "a", "b"):
        assert bundle.purchase_model.params_[k] == pytest.approx(ref.params_[k], rel=1e-3)


def test_score_with_the_trained_model(trained_master):
    proc, cwd = trained_master
    assert proc.returncode == 0, proc.stderr[-3000:]
    from cxml.datasets import load_cdnow

    tx = load_cdnow("master")
    tx.to_parquet(cwd / "tx.parquet")
    out = subprocess.run(
        [
            CXML,
            "score",
            "--model",
            "models/cdnow",
            "--transactions",
            "tx.parquet",
            "--as-of",
            "1998-06-30",
            "--output",
            "scores.parquet",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    scores = pd.read_parquet(cwd / "scores.parquet")
    assert len(scores) == 23570 and scores["customer_id"].is_unique
