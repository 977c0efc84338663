"""cxml.spark.local_session: a local SparkSession with cxml's settings, clear errors without
pyspark or Java.

The error tests start no JVM. The session tests start (or reuse) one local[2] session per
module; a session started by another test module is left running for it.
"""

from __future__ import annotations

import shutil
import sys

import pytest

from cxml.exceptions import CxmlUserError
from cxml.spark import local_session

# --- errors (no JVM) ---------------------------------------------------------------------


def test_missing_pyspark(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # find_spec then reports it absent
    with pytest.raises(
        CxmlUserError,
        match=r"pyspark is not installed; install cxml's Spark "
        r"extra: pip install 'cxml\[spark\]'",
    ):
        local_session()


def test_missing_java(monkeypatch, tmp_path):
    pytest.importorskip("pyspark")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(
        CxmlUserError,
        match=r"Java not found \(no 'java' on the PATH and "
        r"JAVA_HOME unset\); Spark needs Java 17",
    ):
        local_session()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    with pytest.raises(
        CxmlUserError,
        match=r"Java not found \(JAVA_HOME=.*jdk has no "
        r"bin/java\).*or set JAVA_HOME",
    ):
        local_session()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cores": 0}, "cores must be a positive integer, got 0"),
        ({"cores": 2.0}, "cores must be a positive integer, got 2.0"),
        ({"shuffle_partitions": True}, "shuffle_partitions must be a positive integer, got True"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(CxmlUserError, match=message):
        local_session(**kwargs)


# --- a real session ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Java is not installed (pyspark needs Java 17)")
    from pyspark.sql import SparkSession

    existing = SparkSession.getActiveSession()
    session = local_session(
        "cxml-tests",
        driver_memory="1g",
        config={"spark.sql.warehouse.dir": str(tmp_path_factory.mktemp("spark-warehouse"))},
    )
    yield session
    if existing is None:
        session.stop()


@pytest.mark.spark
@pytest.mark.slow
def test_session_settings(spark):
    assert spark.sparkContext.master == "local[2]"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "4"
    assert spark.sparkContext.defaultParallelism == 2
    # Python workers run this interpreter (the one with cxml installed)
    workers = set(
        spark.sparkContext.parallelize(range(4), 2)
        .map(lambda _: __import__("sys").executable)
        .collect()
    )
    assert workers == {sys.executable}
    # naive timestamps are read as UTC: a date is the same day on the driver and in Spark
    row = spark.sql("SELECT to_date(TIMESTAMP '1997-01-01 23:30:00') AS d").first()
    assert str(row["d"]) == "1997-01-01"


@pytest.mark.spark
@pytest.mark.slow
def test_an_existing_session_is_returned(spark):
    again = local_session("another-name", shuffle_partitions=3)
    assert again is spark
    assert spark.conf.get("spark.sql.shuffle.partitions") == "3"  # runtime setting applied
    assert spark.sparkContext.master == "local[2]"  # static settings stay
    spark.conf.set("spark.sql.shuffle.partitions", "4")
