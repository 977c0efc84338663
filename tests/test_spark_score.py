"""cxml.spark.score on a local[2] SparkSession matches in-process scoring row for row."""

from __future__ import annotations

import os
import sys

import pandas as pd
import pytest
from tests.conftest_features import spark_session  # noqa: F401  (session fixture)

# Python workers must run this interpreter (cxml, pandas, pyarrow); read when the
# SparkContext starts, so set at import time, before the session fixture runs.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

pytestmark = [pytest.mark.spark, pytest.mark.slow]

AS_OF = "1998-06-30"


@pytest.fixture(scope="module")
def spark(spark_session):  # noqa: F811
    return spark_session


@pytest.fixture(scope="module")
def cdnow_tx():
    from cxml.datasets import load_cdnow

    tx = load_cdnow("sample")
    # a customer whose rows are returns only: scored from the prior on both paths
    extra = pd.DataFrame(
        {
            "customer_id": [99_999],
            "timestamp": [pd.Timestamp("1998-01-05")],
            "amount": [-20.0],
            "quantity": [1],
        }
    )
    return pd.concat([tx, extra], ignore_index=True)


def test_spark_matches_in_process_row_for_row(spark, sample_training, cdnow_tx):
    import cxml.spark
    from cxml.pipelines import SCORE_COLUMNS, score

    model_dir = sample_training[0].model_dir
    expected = score(cdnow_tx, model=model_dir, as_of=AS_OF)
    sdf = spark.createDataFrame(cdnow_tx)
    result = cxml.spark.score(sdf, model_dir, as_of=AS_OF, num_partitions=3)
    assert result.columns == SCORE_COLUMNS
    got = result.toPandas().sort_values("customer_id").reset_index(drop=True)
    assert len(got) == 2358 and got["customer_id"].is_unique
    assert got.loc[got["insufficient_history"], "customer_id"].tolist() == [99_999]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-12, atol=0)


def test_spark_refuses_missing_column_and_tampered_model(
    spark, sample_training, cdnow_tx, tmp_path
):
    import shutil

    import cxml.spark
    from cxml.exceptions import DataValidationError, ModelLoadError

    model_dir = sample_training[0].model_dir
    sdf = spark.createDataFrame(cdnow_tx.drop(columns="amount"))
    with pytest.raises(DataValidationError, match=r"missing column.*amount"):
        cxml.spark.score(sdf, model_dir, as_of=AS_OF)
    copy = tmp_path / "m"
    shutil.copytree(model_dir, copy)
    (copy / "artifacts" / "bundle" / "gamma_gamma.json").write_text("{}")
    with pytest.raises(ModelLoadError, match=r"gamma_gamma\.json was changed after saving"):
        cxml.spark.score(spark.createDataFrame(cdnow_tx), copy, as_of=AS_OF)
