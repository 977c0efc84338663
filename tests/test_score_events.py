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
    cfg["data"] = {
        "transactions": str(d / "tx.parquet"),
        "events": str(d / "ev.parquet"),
        "columns": {"customer_id": "customer_id", "timestamp": "timestamp", "amount": "amount"},
    }
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


def test_events_model_records_its_feature_contract(events_model):
    from cxml.pipelines import load_model

    spec = load_model(events_model[0]).spec
    by_name = {f.name: f for f in spec.features}
    assert spec.categories == {"nps_class": ["detractor", "passive", "promoter"]}
    assert "email_open" in spec.event_types
    assert by_name["nps_class_promoter"].category == "nps_class"
    assert by_name["nps_class_promoter"].fill == 0.0
    assert by_name["email_open_30d"].source == "events"
    assert by_name["email_open_30d"].fill == 0.0
    assert by_name["days_since_last_email_open"].fill is None  # never opened: missing
    assert by_name["frequency"].source == "transactions" and by_name["frequency"].fill is None


def test_scoring_without_events_uses_the_recorded_fill_values(events_model, tmp_path):
    """No events given = customers without events: the same scores as an empty events
    table run through the engagement builder with the recorded event types."""
    from cxml.pipelines import score, score_to_file

    model, tx, ev = events_model
    tx = tx[tx["customer_id"] <= 300]
    without = score(tx, model=model, as_of=AS_OF)
    empty = score(tx, model=model, as_of=AS_OF, events=ev.iloc[:0])
    pd.testing.assert_frame_equal(without, empty)
    with_events = score(tx, model=model, as_of=AS_OF, events=ev)
    assert not with_events["churn_probability"].equals(without["churn_probability"])
    summary = score_to_file(tx, tmp_path / "s.csv", model=model, as_of=AS_OF, events=ev)
    assert summary.unknown_levels == {}


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
    got = cxml.spark.score(
        spark.createDataFrame(tx),
        model,
        as_of=AS_OF,
        events=spark.createDataFrame(ev),
        num_partitions=3,
    ).toPandas()
    got = got.sort_values("customer_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-12, atol=0)
