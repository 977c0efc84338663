"""A training run and an evaluation run log the same quantity under the same name."""

from __future__ import annotations

import mlflow
import pytest

from cxml.pipelines import evaluate_config

pytestmark = pytest.mark.slow


def test_train_and_evaluate_runs_share_metric_names(sample_training):
    result, tmp = sample_training
    uri = result.tracking_uri
    _, run_id, _ = evaluate_config(tmp / "config.yaml", tracking_uri=uri)
    client = mlflow.tracking.MlflowClient(uri)
    trained = set(client.get_run(result.run_id).data.metrics)
    evaluated = set(client.get_run(run_id).data.metrics)
    shared = {
        "churn_auc",
        "churn_pr_auc",
        "churn_brier",
        "bgnbd_expected_churn_auc",
        "bgnbd_p_alive_churn_auc",
    }
    assert shared <= trained, shared - trained
    assert shared <= evaluated, shared - evaluated
    assert not any(k.startswith("cxml.") for k in evaluated)
