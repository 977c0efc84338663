"""``cxml.spark.score``: ``mapInPandas`` over customer-partitioned transactions."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path

import pandas as pd

from cxml.exceptions import DataValidationError

__all__ = ["score", "score_schema"]

logger = logging.getLogger(__name__)

# Bundle files shipped to the executors, keyed by their SHA-256: each Python worker writes
# and loads a bundle once, whatever the number of partitions it scores.
_WORKER_BUNDLES: dict = {}


def score_schema(customer_id_type=None, explain: int = 0):
    """The Spark schema of the scores (the columns of :data:`cxml.pipelines.SCORE_COLUMNS`).

    Parameters
    ----------
    customer_id_type : pyspark.sql.types.DataType, optional
        Type of ``customer_id`` (that of the input; default ``LongType``).
    explain : int, default 0
        Number of churn reasons (:func:`cxml.pipelines.score`'s ``explain``): their
        columns follow the score columns.

    Returns
    -------
    pyspark.sql.types.StructType
        One field per score column, in order: doubles for the numeric scores, strings for
        the segments, a boolean ``insufficient_history``; only ``customer_id`` is
        non-nullable.
    """
    from pyspark.sql import types as T

    from cxml.pipelines import SCORE_COLUMNS, SCORE_DTYPES, reason_dtypes

    spark_types = {"float64": T.DoubleType, "object": T.StringType, "bool": T.BooleanType}
    fields = []
    for c in SCORE_COLUMNS:
        if c == "customer_id":
            typ = customer_id_type or T.LongType()
        else:
            typ = spark_types[SCORE_DTYPES[c]]()
        fields.append(T.StructField(c, typ, nullable=c != "customer_id"))
    for c, dtype in reason_dtypes(explain).items():
        fields.append(T.StructField(c, spark_types[dtype](), nullable=True))
    return T.StructType(fields)


def _bundle_payload(model_uri, tracking_uri) -> tuple[str, dict, str | None]:
    """Load and verify the bundle on the driver; return its files as bytes to ship.

    Returns the key of the shipped bundle (SHA-256 of its files and registered name), the
    files, and the registered ``NAME/VERSION`` the executors' copy is to carry (their
    private directory has no registry metadata).
    """
    from cxml.pipelines import load_model, resolve_bundle_dir
    from cxml.tracking import local_model_path

    path = local_model_path(model_uri, tracking_uri=tracking_uri)
    registered = load_model(path).registered_as  # checksums verified once, on the driver
    d = resolve_bundle_dir(path)
    files = {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.is_file()}
    h = hashlib.sha256(b"".join(files[k] for k in sorted(files)))
    h.update(str(registered).encode())
    return h.hexdigest(), files, registered


def _worker_bundle(key: str, files: dict, registered: str | None):
    """The bundle on an executor: written to a private temporary directory and loaded once
    (JSON and LightGBM text, checksums verified again; nothing is unpickled)."""
    from cxml.pipelines import load_model

    bundle = _WORKER_BUNDLES.get(key)
    if bundle is None:
        d = Path(tempfile.mkdtemp(prefix="cxml-bundle-"))
        for name, data in files.items():
            (d / name).write_bytes(data)
        bundle = load_model(d)
        bundle.registered_as = registered  # the same model_version as on the driver
        _WORKER_BUNDLES[key] = bundle
    return bundle


def score(
    spark_df,
    model_uri,
    *,
    as_of,
    events=None,
    tracking_uri: str | None = None,
    num_partitions: int | None = None,
    explain: int = 0,
):
    """Score every customer of a Spark DataFrame of transactions as of a date.

    Parameters
    ----------
    spark_df : pyspark.sql.DataFrame
        Transactions in the column names the model was trained with (as for
        :func:`cxml.pipelines.score`). Timestamps are read in the session time zone
        (``spark.sql.session.timeZone``; set it to UTC to match in-process scoring of
        naive UTC timestamps).
    model_uri : str or Path
        A model directory, or ``models:/NAME@alias``, ``models:/NAME/VERSION``,
        ``runs:/RUN_ID/model``. Resolved and verified on the driver; the bundle's plain
        files (a few kB) travel with the tasks, so executors need no shared file system
        and no MLflow access.
    as_of : date-like
        Cut-off date (inclusive).
    events : pyspark.sql.DataFrame, optional
        Engagement events, when the model was trained with them; co-grouped with the
        transactions by customer.
    tracking_uri : str, optional
        MLflow tracking URI for ``models:/`` and ``runs:/`` references.
    num_partitions : int, optional
        Partitions to hash customers into (default: ``spark.sql.shuffle.partitions``).
    explain : int, default 0
        Add this many per-customer churn reasons, as :func:`cxml.pipelines.score` does.

    Returns
    -------
    pyspark.sql.DataFrame
        Lazy; one row per customer with the schema :func:`score_schema` (the columns of
        :data:`cxml.pipelines.SCORE_COLUMNS`), the same values as
        :func:`cxml.pipelines.score` on the same rows.

    Raises
    ------
    DataValidationError
        A mapped column is missing. Data errors found inside a partition are raised by
        the Spark job (wrapped in Spark's exception) when the result is computed.
    ModelLoadError
        The model cannot be loaded or was changed after saving.

    Examples
    --------
    >>> scores = cxml.spark.score(tx_sdf, "models/cdnow", as_of="1998-06-30")  # doctest: +SKIP
    >>> scores.write.parquet("scores/")  # doctest: +SKIP
    """
    from pyspark.sql import functions as F

    from cxml.data import to_date
    from cxml.pipelines import score as score_pandas

    as_of_day = to_date(as_of, "as_of").isoformat()
    key, files, registered = _bundle_payload(model_uri, tracking_uri)
    bundle = _worker_bundle(key, files, registered)  # the driver's copy: column mapping only
    if bundle.spec.covariates is not None:
        raise DataValidationError(
            f"model {model_uri} was trained with the customer covariates "
            f"{bundle.spec.covariates.names}: cxml.spark.score does not join a customers "
            "table yet; score it with cxml.pipelines.score(..., customers=) or cxml score "
            "--customers"
        )
    columns = dict(bundle.spec.columns)
    missing = [u for u in columns.values() if u not in spark_df.columns]
    if missing:
        raise DataValidationError(
            f"transactions: missing column(s) {missing}; available columns: {spark_df.columns[:20]}"
        )
    cid = columns["customer_id"]
    tx = spark_df.select(*dict.fromkeys(columns.values()))
    schema = score_schema(spark_df.schema[cid].dataType, explain=explain)
    n = num_partitions or int(spark_df.sparkSession.conf.get("spark.sql.shuffle.partitions"))

    if events is None:

        def score_partitions(batches):
            frames = [b for b in batches if len(b)]
            if not frames:
                return
            b = _worker_bundle(key, files, registered)
            yield score_pandas(
                pd.concat(frames, ignore_index=True), model=b, as_of=as_of_day, explain=explain
            )

        return tx.repartition(n, F.col(cid)).mapInPandas(score_partitions, schema)

    ev_cols = dict(bundle.spec.event_columns or {})
    ev_cid = ev_cols.get("customer_id", "customer_id")
    if ev_cid not in events.columns:
        raise DataValidationError(
            f"events: missing column {ev_cid!r}; available columns: {events.columns[:20]}"
        )

    def bucket(col):  # same bucket for the same id whatever its type in each table
        return F.pmod(F.hash(F.col(col).cast("string")), F.lit(n))

    def score_group(tx_pdf, ev_pdf):
        if not len(tx_pdf):
            return pd.DataFrame({c: pd.Series(dtype=object) for c in schema.fieldNames()})
        b = _worker_bundle(key, files, registered)
        return score_pandas(
            tx_pdf.drop(columns="_cxml_bucket"),
            model=b,
            as_of=as_of_day,
            events=ev_pdf.drop(columns="_cxml_bucket"),
            explain=explain,
        )

    return (
        tx.withColumn("_cxml_bucket", bucket(cid))
        .groupBy("_cxml_bucket")
        .cogroup(events.withColumn("_cxml_bucket", bucket(ev_cid)).groupBy("_cxml_bucket"))
        .applyInPandas(score_group, schema)
    )
