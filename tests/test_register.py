"""``--register`` when the run's model artifact did not log: one line, exit 2, no MLflow
traceback, and no registered name left behind (issue 17)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_config

CXML = str(Path(sys.executable).with_name("cxml"))


def _run_without_model(tmp_path):
    """A real run in a local sqlite store that logged no ``model`` artifact."""
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    exp = client.create_experiment("cxml", artifact_location=str(tmp_path / "artifacts"))
    run = client.create_run(exp)
    client.log_param(run.info.run_id, "btyd.purchase_model", "bgnbd")
    client.set_terminated(run.info.run_id)
    return uri, run.info.run_id


def _one_error_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("cxml: error: ")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    "failures, cause",
    [
        # what TrackedRun records when the artifact store refused the upload
        (
            ["model ([Errno 13] Permission denied: '/srv/mlflow/artifacts')"],
            r"\(\[Errno 13\] Permission denied: '/srv/mlflow/artifacts'\)",
        ),
        # no failure recorded (e.g. an older run): the artifact itself is checked
        ([], r"\(not found in the run's artifacts at .*artifacts"),
    ],
)
def test_train_register_without_a_model_artifact_is_one_line(
    sample_training, tmp_path, monkeypatch, capsys, failures, cause
):
    import mlflow

    import cxml.pipelines
    from cxml.cli import main

    result, _ = sample_training
    uri, run_id = _run_without_model(tmp_path)
    fake = dataclasses.replace(result, run_id=run_id, tracking_uri=uri, logging_failures=failures)
    monkeypatch.setattr(cxml.pipelines, "train", lambda *a, **k: fake)
    code = main(["train", "--register", "cxml-broken", "--alias", "champion"])
    err = capsys.readouterr().err
    assert code == 2
    line = _one_error_line(err)
    assert line.startswith(
        f"cxml: error: cannot register 'cxml-broken' from run {run_id}: "
        "the model artifact was not logged "
    )
    assert re.search(cause, line), line
    assert line.endswith(
        "an infrastructure problem (the MLflow store), not your data or config: the local "
        "model directory is complete; fix the store and train again"
    )
    # refused before MLflow created the registered name
    assert mlflow.MlflowClient(uri).search_registered_models() == []


def test_registry_refusal_is_one_line(sample_training, tmp_path, monkeypatch):
    """The artifact is there but the registry fails: one CxmlUserError naming the registry."""
    import mlflow

    from cxml.exceptions import CxmlUserError
    from cxml.tracking import register_model

    result, _ = sample_training

    def refuse(*a, **k):
        raise mlflow.exceptions.MlflowException("RESOURCE_EXHAUSTED: quota\nsecond line")

    monkeypatch.setattr(mlflow, "register_model", refuse)
    with pytest.raises(
        CxmlUserError,
        match=r"^cannot register 'x' from run \w+: the model registry at sqlite:.* refused it: "
        r"RESOURCE_EXHAUSTED: quota; an infrastructure problem \(the MLflow registry\)",
    ):
        register_model(result.run_id, "x", tracking_uri=result.tracking_uri)


@pytest.mark.slow
def test_cli_train_register_with_an_unwritable_artifact_location(tmp_path):
    """End to end: the experiment's artifact location cannot be created (a path below a
    regular file, refused even to root), so every artifact, the model included, fails to
    log; training still saves the local model and ``--register`` exits 2 in one line."""
    import mlflow

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.MlflowClient(uri).create_experiment("cxml", artifact_location=str(blocker / "art"))
    cfg = write_config(
        tmp_path,
        **{
            "data.transactions": "cdnow:sample",
            "output.model_dir": str(tmp_path / "model"),
            "churn.cv_folds": 2,
            "churn.n_estimators": 50,
        },
    )
    proc = subprocess.run(
        [CXML, "train", "-c", str(cfg), "--tracking-uri", uri, "--register", "cxml-x"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    line = _one_error_line(proc.stderr)
    assert "cannot register 'cxml-x' from run " in line
    assert "the model artifact was not logged (" in line and "Not a directory" in line
    assert "an infrastructure problem (the MLflow store), not your data or config" in line
    from cxml.pipelines import ModelBundle

    assert ModelBundle.load(tmp_path / "model").purchase_model.params_  # complete locally
    assert mlflow.MlflowClient(uri).search_registered_models() == []
