"""cxml.spark.score(explain=k) gives the same churn reasons as in-process scoring."""

from __future__ import annotations

import os
import sys

import pandas as pd
import pytest
from tests.conftest_features import spark_session  # noqa: F401  (session fixture)

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # before the SparkContext starts

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_spark_explain_matches_in_process(spark_session, sample_training):  # noqa: F811
    import cxml.spark
    from cxml.datasets import load_cdnow
    from cxml.pipelines import SCORE_COLUMNS, reason_columns, score

    tx = load_cdnow("sample")
    model_dir = sample_training[0].model_dir
    expected = score(tx, model=model_dir, as_of="1998-06-30", explain=2)
    result = cxml.spark.score(
        spark_session.createDataFrame(tx),
        model_dir,
        as_of="1998-06-30",
        num_partitions=3,
        explain=2,
    )
    assert result.columns == SCORE_COLUMNS + reason_columns(2)
    got = result.toPandas().sort_values("customer_id").reset_index(drop=True)
    assert len(got) == 2357
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-12, atol=0)
