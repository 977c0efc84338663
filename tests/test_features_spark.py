"""The same feature definitions on the Ibis pyspark backend give DuckDB's values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.conftest_features import spark_con, spark_session  # noqa: F401  (fixtures)

import cxml
from cxml.data import validate_transactions
from cxml.features import behaviour, calibration_holdout, engagement, rfm

pytestmark = pytest.mark.spark

CAL_END, OBS_END = "1997-09-30", "1998-06-30"


def _same(spark_table, duck: pd.DataFrame) -> None:
    got = spark_table.to_pandas().set_index("customer_id").sort_index()
    assert got.index.tolist() == duck.index.tolist()
    assert list(got.columns) == list(duck.columns)
    for col in duck.columns:
        a, b = got[col], duck[col]
        if b.dtype == object or str(b.dtype) in ("str", "string"):
            assert a.fillna("").tolist() == b.fillna("").tolist(), col
        elif np.issubdtype(b.dtype, np.integer):
            np.testing.assert_array_equal(a.to_numpy(), b.to_numpy(), err_msg=col)
        else:  # floating sums may be added in another order: 1e-12 relative
            np.testing.assert_allclose(
                a.to_numpy(dtype=float),
                b.to_numpy(dtype=float),
                rtol=1e-12,
                atol=1e-12,
                equal_nan=True,
                err_msg=col,
            )


@pytest.fixture(scope="module")
def sample():
    tx = cxml.datasets.load_cdnow("sample")
    # a few returns and a product column so every code path runs on Spark
    tx = tx.assign(product=(tx["quantity"] % 3).astype(str))
    tx.loc[tx.index[::50], "amount"] *= -0.5
    return tx


@pytest.fixture(scope="module")
def spark_tx(spark_con, spark_session, sample):
    # a temporary view over a local relation: no warehouse files to write
    spark_session.createDataFrame(sample).createOrReplaceTempView("cxml_tx")
    # validated once, in Spark; the builders recognise the table and do not re-validate
    return validate_transactions(spark_con.table("cxml_tx"), quantity="quantity", product="product")


def test_rfm_and_calibration_holdout_on_spark(spark_tx, sample):
    _same(rfm(spark_tx, observation_end=OBS_END), rfm(sample, observation_end=OBS_END))
    _same(
        calibration_holdout(spark_tx, calibration_end=CAL_END, observation_end=OBS_END),
        calibration_holdout(sample, calibration_end=CAL_END, observation_end=OBS_END),
    )


def test_behaviour_on_spark(spark_tx, sample):
    kw = dict(cutoff=CAL_END, windows_days=(30, 90))
    _same(
        behaviour(spark_tx, **kw), behaviour(sample, quantity="quantity", product="product", **kw)
    )


def test_engagement_on_spark(spark_con, spark_session):
    rng = np.random.default_rng(1)
    n = 3000
    ev = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 200, n),
            "timestamp": pd.Timestamp("2023-01-01")
            + pd.to_timedelta(rng.integers(0, 365 * 24, n), unit="h"),
            "event_type": rng.choice(["web_session", "email_open", "nps", "csat"], n),
            "value": rng.integers(0, 11, n).astype(float),
        }
    )
    spark_session.createDataFrame(ev).createOrReplaceTempView("cxml_events")
    kw = dict(cutoff="2023-12-31", windows_days=(30, 90))
    _same(engagement(spark_con.table("cxml_events"), **kw), engagement(ev, **kw))
