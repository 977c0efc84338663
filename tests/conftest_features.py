"""Fixtures for the feature-engine tests (import explicitly; tests/conftest.py is the lead's).

``spark_con`` starts ONE local[2] SparkSession per test session and wraps it in the Ibis
pyspark backend. It skips when pyspark (the ``cxml[spark]`` extra) or Java is missing.
"""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def spark_con(tmp_path_factory):
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Java is not installed (pyspark needs Java 17)")
    import ibis
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("cxml-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        # keep managed tables out of the working tree
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    yield ibis.pyspark.connect(spark)
    # the session is shared with any other Spark test in this process; stop it at the end
    spark.stop()
