"""Fixtures for the feature-engine tests (import explicitly; tests/conftest.py is the lead's).

``spark_session`` starts ONE local[2] SparkSession per test session; ``spark_con`` wraps it
in the Ibis pyspark backend. Both skip when pyspark (the ``cxml[spark]`` extra) or Java is
missing.
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory):
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Java is not installed (pyspark needs Java 17)")
    from pyspark.sql import SparkSession

    # Python workers must run this interpreter (the one with cxml installed).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
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
    yield spark
    spark.stop()


@pytest.fixture(scope="session")
def spark_con(spark_session):
    import ibis

    return ibis.pyspark.connect(spark_session)
