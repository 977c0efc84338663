"""Spark at scale (issue 18, line 5): ``train`` from a Spark-bound source computes the
features in Spark (Ibis' pyspark backend), fits BTYD on the per-customer sufficient
statistics and trains the churn model on a fixed-seed customer sample, stated in the run."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from tests.conftest import write_config
from tests.conftest_features import spark_session  # noqa: F401  (session fixture)

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_train_from_a_spark_table_with_a_churn_sample(
    spark_session, sample_training, tmp_path, monkeypatch
):
    import cxml.features._daily as daily
    from cxml.datasets import load_cdnow
    from cxml.pipelines import train

    spark_session.createDataFrame(load_cdnow("sample")).createOrReplaceTempView("orders")
    backends = []
    real = daily.execute_arrow
    monkeypatch.setattr(
        daily,
        "execute_arrow",  # which engine runs the feature queries
        lambda e: (backends.append(e._find_backend().name), real(e))[1],
    )
    cfg = write_config(
        tmp_path,
        **{
            "data.transactions": {"connection": "spark", "table": "orders"},
            "output.model_dir": str(tmp_path / "model"),
            "churn.cv_folds": 3,
            "churn.max_training_customers": 1000,
        },
    )
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = train(cfg, tracking_uri=uri)
    assert backends and set(backends) == {"pyspark"}
    # BTYD saw every customer: the same fit as from the CDNOW file (compressed statistics)
    expected = sample_training[0]
    assert result.bundle.info["n_customers"] == expected.bundle.info["n_customers"] == 2357
    for k, v in expected.bundle.purchase_model.params_.items():
        assert result.bundle.purchase_model.params_[k] == pytest.approx(v, rel=1e-6)
    np.testing.assert_allclose(
        result.scores["clv"].sort_index(), expected.scores["clv"].sort_index(), rtol=1e-6
    )
    # the churn model trained on 1,000 of the 2,357 customers; every customer is scored
    assert result.bundle.info["churn_training_customers"] == 1000
    assert result.scores["churn_probability"].notna().sum() == 2357
    run = mlflow.MlflowClient(tracking_uri=uri).get_run(result.run_id)
    assert run.data.params["churn.max_training_customers"] == "1000"
    assert run.data.params["churn.training_customers"] == "1000"
    assert run.data.params["data.connection"] == "spark"
