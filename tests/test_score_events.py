"""Scoring a model trained with engagement events: chunks and Spark partitions give the
same scores as one pass (event counts / classes absent from a chunk are 0, not missing)."""

from __future__ import annotations

import os
import sys

import pandas as pd
import pytest
import yaml

from tests.conftest_features import spark_session  # noqa: F401  (session fixture)

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # before any SparkContext starts

pytestmark = pytest.mark.slow

AS_OF = "2021-06-30"


@pytest.fixture(scope="module")
def events_model(tmp_path_factory):
    from conftest import ROOT

    from cxml.datasets import simulate
    from cxml.pipelines import train

    d = tmp_path_factory.mktemp("events_model")
    tx, ev = simulate(3000, seed=11, observation_end=AS_OF, events=True)
    tx.to_parquet(d / "tx.parquet", index=False)
    ev.to_parquet(d / "ev.parquet", index=False)
    cfg = yaml.safe_load((ROOT / "configs" / "cdnow.yaml").read_text())
    cfg["data"] = {"transactions": str(d / "tx.parquet"), "events": str(d / "ev.parquet"),
                   "columns": {"customer_id": "customer_id", "timestamp": "timestamp",
                               "amount": "amount"}}
    cfg["time"].update(calibration_end="2021-01-31", observation_end=AS_OF)
    cfg["churn"].update(cv_folds=2, n_estimators=200)
    cfg["output"]["model_dir"] = str(d / "model")
    (d / "c.yaml").write_text(yaml.safe_dump(cfg))
    result = train(d / "c.yaml", tracking_uri=f"sqlite:///{d / 'mlflow.db'}")
    return result.model_dir, tx, ev


def test_events_model_uses_engagement_features(events_model):
    from cxml.pipelines import load_model

    names = load_model(events_model[0]).churn_model.feature_names_in_
    assert any(n.startswith("nps_class_") for n in names)
    assert any(n.startswith("email_open_") for n in names)


def test_chunked_scoring_with_events_equals_one_pass(events_model):
    from cxml.pipelines import score

    model, tx, ev = events_model
    one = score(tx, model=model, as_of=AS_OF, events=ev)
    chunked = score(tx, model=model, as_of=AS_OF, events=ev, chunk_size=250)
    assert len(one) == tx["customer_id"].nunique()
    pd.testing.assert_frame_equal(chunked, one)


@pytest.mark.spark
def test_spark_with_events_matches_in_process(events_model, spark_session):  # noqa: F811
    import cxml.spark
    from cxml.pipelines import score

    model, tx, ev = events_model
    tx, ev = tx[tx["customer_id"] <= 600], ev[ev["customer_id"] <= 600]
    expected = score(tx, model=model, as_of=AS_OF, events=ev)
    spark = spark_session
    got = cxml.spark.score(spark.createDataFrame(tx), model, as_of=AS_OF,
                           events=spark.createDataFrame(ev), num_partitions=3).toPandas()
    got = got.sort_values("customer_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-12, atol=0)
