"""``cxml.spark.local_session``: a local SparkSession set up the way cxml's Spark code expects.

On a cluster the session exists already; this is for laptops, notebooks and tests. The
settings are those cxml's own tests and notebooks have always used: Python workers run this
interpreter (the one with cxml installed), the SQL session time zone is UTC (cxml reads
naive timestamps as UTC days, like its DuckDB backend), few shuffle partitions (the default
200 is far too many for one machine) and no web UI.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import sys
from pathlib import Path

from cxml.exceptions import CxmlUserError

__all__ = ["local_session"]

logger = logging.getLogger(__name__)


def _java_executable() -> str | None:
    """The java that spark-submit will start: ``$JAVA_HOME/bin/java``, else the PATH's."""
    home = os.environ.get("JAVA_HOME")
    if home:
        java = Path(home) / "bin" / "java"
        return str(java) if java.is_file() else None
    return shutil.which("java")


def local_session(
    app_name: str = "cxml",
    *,
    cores: int = 2,
    shuffle_partitions: int = 4,
    driver_memory: str | None = None,
    log_level: str = "ERROR",
    config: dict | None = None,
):
    """Build, or get, a local SparkSession for cxml.

    Before the session starts, ``PYSPARK_PYTHON`` and ``PYSPARK_DRIVER_PYTHON`` are set to
    this interpreter (:data:`sys.executable`) unless already set, so that Spark's Python
    workers can import cxml. The session uses ``local[cores]``, the UTC session time zone,
    ``shuffle_partitions`` shuffle partitions, ``cores`` as default parallelism and no
    web UI or console progress bar.

    Parameters
    ----------
    app_name : str, default "cxml"
        Spark application name.
    cores : int, default 2
        Number of local worker threads (``master = local[cores]``).
    shuffle_partitions : int, default 4
        ``spark.sql.shuffle.partitions``.
    driver_memory : str, optional
        ``spark.driver.memory`` such as ``"2g"``; None keeps Spark's default (1g).
    log_level : str, default "ERROR"
        Log level of the SparkContext (``"WARN"``, ``"INFO"``, ...); None leaves it.
    config : dict, optional
        Further Spark settings, applied after (and so overriding) the ones above, e.g.
        ``{"spark.sql.warehouse.dir": "/tmp/warehouse"}``.

    Returns
    -------
    pyspark.sql.SparkSession
        The session. If one is already running in this process, Spark returns it: its
        master and other static settings stay as they were, only runtime SQL settings
        (time zone, shuffle partitions) are applied to it.

    Raises
    ------
    CxmlUserError
        pyspark is not installed (install the ``cxml[spark]`` extra), Java is not found
        (neither ``$JAVA_HOME/bin/java`` nor ``java`` on the PATH; Spark 4 needs Java 17
        or later), or ``cores`` / ``shuffle_partitions`` is not a positive integer.

    Examples
    --------
    >>> import cxml
    >>> spark = cxml.spark.local_session("cxml-notebook")  # doctest: +SKIP
    >>> scores = cxml.spark.score(spark.createDataFrame(tx), "models/cdnow")  # doctest: +SKIP
    """
    for name, value in (("cores", cores), ("shuffle_partitions", shuffle_partitions)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CxmlUserError(f"{name} must be a positive integer, got {value!r}")
    if importlib.util.find_spec("pyspark") is None:
        raise CxmlUserError(
            "pyspark is not installed; install cxml's Spark extra: pip install 'cxml[spark]'"
        )
    java = _java_executable()
    if java is None:
        where = (
            f"JAVA_HOME={os.environ['JAVA_HOME']} has no bin/java"
            if os.environ.get("JAVA_HOME")
            else "no 'java' on the PATH and JAVA_HOME unset"
        )
        raise CxmlUserError(
            f"Java not found ({where}); Spark needs Java 17 or later: install it (e.g. "
            "apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )

    from pyspark.sql import SparkSession

    # Read when the SparkContext starts: workers must run the interpreter that has cxml.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    settings = {
        "spark.sql.session.timeZone": "UTC",  # naive timestamps are UTC days
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.default.parallelism": str(cores),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
    if driver_memory is not None:
        settings["spark.driver.memory"] = str(driver_memory)
    settings.update({k: str(v) for k, v in (config or {}).items()})
    builder = SparkSession.builder.master(f"local[{cores}]").appName(app_name)
    for key, setting in settings.items():
        builder = builder.config(key, setting)
    spark = builder.getOrCreate()
    if log_level is not None:
        spark.sparkContext.setLogLevel(log_level)
    logger.info(
        "Spark session %s on %s (Spark %s, java %s)",
        app_name,
        spark.sparkContext.master,
        spark.version,
        java,
    )
    return spark
