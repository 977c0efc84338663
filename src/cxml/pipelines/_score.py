"""``score``: one row of predictions and segments per customer in a transaction table.

Scoring at scale
----------------
Customers are scored in chunks of ``chunk_size`` customers so that memory stays bounded
whatever the input size. Transactions (a CSV or Parquet path is read lazily by DuckDB,
never loaded into pandas as a whole) are validated in one aggregate query; when there are
more customers than ``chunk_size`` they are spilled to Parquet by chunk
(:mod:`cxml.pipelines._chunks`), each chunk's features are built by DuckDB with the same
:func:`~cxml.pipelines._customer_features.customer_features` that training uses, and it is
scored in pandas (churn matrix: :mod:`cxml.pipelines._model_matrix`). :func:`score_to_file`
streams the chunks to a temporary file renamed over the target at the end; :func:`score`
concatenates them.

Every feature of a customer depends only on that customer's own rows, and segments use the
cut points frozen at training time, so a customer's scores do not depend on the batch, the
chunk size or (in :mod:`cxml.spark`) the partition the customer lands in. The output is
sorted by ``customer_id``; the same input, model and ``as_of`` give the same bytes (DuckDB
connections run on one thread each, see ``deterministic``; two chunks' features are built
in background threads while the current chunk is scored by LightGBM).

Input policies
--------------
What happens to each kind of problematic input (errors are
:class:`~cxml.exceptions.CxmlUserError`: the CLI exits with code 2 and one line):

=====================================  ====================================================
input                                  policy
=====================================  ====================================================
missing / renamed column               error naming the column and the available columns
wrong column type                      error naming the column and its type
null customer id, timestamp or amount  error with the count of bad rows
unparseable timestamp or amount        error with the count of bad rows
NaN or infinite amount                 error with the count of bad rows
rows after ``as_of``                   error with the count (scoring never sees the future)
time-zone aware timestamps             converted to UTC (every cxml DuckDB connection,
                                       chunk workers included, runs in UTC), then cut at
                                       that day; mixed offsets are fine (each row converted)
negative amounts (returns)             netted against the same customer-day (``returns="net"``)
exact duplicate rows                   kept as genuine repeated lines when there is no
                                       ``order_id``, dropped when there is (``"auto"``)
customer whose rows net to nothing     scored from the population prior (frequency 0, age 0)
                                       with ``insufficient_history=True``
one-time buyers only, one customer     scored normally (BG/NBD handles frequency 0)
very large frequencies                 scored normally (the BTYD formulas are stable)
empty (0-byte) file                    error "... is an empty file"
header-only file                       error "no rows to score"
non-UTF-8 or malformed CSV             error "cannot read ..." with DuckDB's reason
a directory instead of a file          error (pass a glob such as ``dir/*.parquet``)
unwritable output, bad extension       error before any scoring work; no file written
model dir missing, not a model,        error; the model is never partially used
other bundle format, edited file,
bundle.json edited (checksums removed,
settings malformed) or not JSON
model without a feature contract       error: retrain (bundles of an older cxml)
categorical level unseen in training   no level (all-zero one-hot), counted in
                                       ``ScoreSummary.unknown_levels`` and logged
no events for a model trained on them  engagement columns take their recorded fill values
                                       (those of a customer without events)
events for a model trained without     ignored (logged): they cannot change the scores
covariate model without ``customers``  error: the model needs the customers table
customer without a row of attributes   error with the count and an example id (never a
                                       default level)
unseen covariate level, missing value  error naming the column and the level / the count
customers for a model without          ignored (logged): they cannot change the scores
covariates
feature the model needs but not built  error naming the column
=====================================  ====================================================
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Unpack

import numpy as np
import pandas as pd

from cxml.data import (
    check_horizon,
    to_date,
    validate_events,
    validate_transactions,
    validation_info,
)
from cxml.exceptions import DataValidationError
from cxml.pipelines._bundle import ModelBundle, load_model
from cxml.pipelines._chunks import is_duckdb, reading, run_chunked, sorted_ids
from cxml.pipelines._customer_features import btyd_outputs, customer_features
from cxml.pipelines._customers import covariates_for, load_customers
from cxml.pipelines._model_matrix import model_matrix
from cxml.pipelines._output import open_writer
from cxml.pipelines._reasons import churn_reasons
from cxml.pipelines._reproducible import duckdb_threads
from cxml.pipelines._score_options import ScoreKeywords, ScoreOptions
from cxml.pipelines._score_schema import conform_scores, reason_dtypes
from cxml.pipelines._segmenting import assign_segments

__all__ = [
    "score",
    "score_to_file",
    "iter_scores",
    "read_policies",
    "read_events",
    "churn_matrix",
    "ScoreSummary",
]

logger = logging.getLogger(__name__)

_EVENT_CANONICAL = {
    "customer_id": "customer_id",
    "timestamp": "timestamp",
    "event_type": "event_type",
    "value": "value",
}


@dataclass(frozen=True)
class ScoreSummary:
    """What :func:`score_to_file` wrote.

    Attributes
    ----------
    path : Path
        The output file.
    n_customers : int
        Rows written (one per input customer).
    n_insufficient_history : int
        Customers scored from the population prior.
    n_chunks : int
        Chunks the customers were scored in.
    as_of : str
        Cut-off date (ISO).
    model_version : str
        The model's identity (:attr:`ModelBundle.model_version`), also in every row.
    unknown_levels : dict
        Customers per categorical feature whose level was not seen in training (encoded
        as no level); empty when every level was known.
    data_report : dict
        What the read policies did: rows read, rows without a customer id dropped, the
        latest transaction, days from it to ``as_of``, customers, prior-scored customers
        and the policies applied (see :func:`read_policies`).
    """

    path: Path
    n_customers: int
    n_insufficient_history: int
    n_chunks: int
    as_of: str
    model_version: str
    unknown_levels: dict = field(default_factory=dict)
    data_report: dict = field(default_factory=dict)


def _refuse_empty_file(source, what: str) -> None:
    if (
        isinstance(source, (str, Path))
        and Path(source).is_file()
        and Path(source).stat().st_size == 0
    ):
        raise DataValidationError(f"{what}: {source} is an empty file (0 bytes)")


def _input_stats(tx) -> tuple[int, int, dt.date | None]:
    """(rows, non-finite amounts, day of the latest transaction) in one query."""
    amt = tx.amount
    row = (
        tx.aggregate(
            n=tx.count(),
            nonfinite=(amt.isnan() | amt.isinf())
            .fill_null(False)
            .cast("int32")
            .cast("int64")
            .sum(),
            last=tx.timestamp.max(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    last = row["last"].date() if row["last"] is not None else None
    return int(row["n"] or 0), int(row["nonfinite"] or 0), last


def read_policies(
    bundle: ModelBundle, *, timestamp_format: str | None = None, null_customer_id: str | None = None
) -> dict:
    """The read policies a scoring run applies: the given ones, else the model's.

    Parameters
    ----------
    bundle : ModelBundle
        The model; its :class:`FeatureSpec` records the training's policies.
    timestamp_format : str, optional
        Explicit ``strptime`` format of text timestamps (default: the model's, else ISO 8601).
    null_customer_id : {"error", "drop"}, optional
        Rows without a customer id (default: the model's policy).

    Returns
    -------
    dict
        ``timestamp_format`` and ``null_customer_id``.
    """
    spec = bundle.spec
    return {
        "timestamp_format": timestamp_format
        if timestamp_format is not None
        else spec.timestamp_format,
        "null_customer_id": null_customer_id
        if null_customer_id is not None
        else spec.null_customer_id,
    }


def read_events(
    events,
    bundle: ModelBundle,
    *,
    as_of=None,
    timestamp_format: str | None = None,
    null_customer_id: str | None = None,
):
    """Engagement events read the way the model read them in training.

    The model's :class:`FeatureSpec` records the event column mapping
    (``data.event_columns``) and the read policies (``data.timestamp_format``,
    ``data.null_customer_id``): scoring and reports read events through this one function,
    so a file in the training's column names and date format is read alike everywhere.

    Parameters
    ----------
    events : DataFrame, Arrow table, CSV/Parquet path or ibis.Table
        Events in the column names the model was trained with (the canonical names
        ``customer_id``, ``timestamp``, ``event_type``, ``value`` for a model trained
        without events).
    bundle : ModelBundle
        The model; its :class:`FeatureSpec` gives the column mapping and read policies.
    as_of : date-like, optional
        Events after this day are refused (as for transactions).
    timestamp_format, null_customer_id : optional
        Override the model's read policies (see :func:`read_policies`).

    Returns
    -------
    ibis.Table
        Canonical columns ``customer_id``, ``timestamp``, ``event_type``, ``value``.

    Raises
    ------
    DataValidationError
        An empty file, a column of the model's mapping missing, or a row breaking the
        data contract (see :func:`cxml.data.validate_events`).
    """
    _refuse_empty_file(events, "events")
    policies = read_policies(
        bundle, timestamp_format=timestamp_format, null_customer_id=null_customer_id
    )
    with reading("events", events):
        return validate_events(
            events, observation_end=as_of, **policies, **(bundle.spec.event_columns or {})
        )


def churn_matrix(
    transactions,
    *,
    model,
    as_of,
    events=None,
    customer_ids=None,
    customers=None,
    timestamp_format: str | None = None,
    null_customer_id: str | None = None,
) -> pd.DataFrame:
    """The churn model's input matrix of customers, read and built as scoring does.

    For explanations that need every feature (global SHAP in a report); customers without
    a usable purchase day are left out (their score is the population prior's).

    Parameters
    ----------
    transactions : DataFrame, Arrow table, CSV/Parquet path or ibis.Table
        Transactions in the column names the model was trained with.
    model : ModelBundle, str or Path
        A bundle or a model directory (see :func:`load_model`).
    as_of : date-like
        Cut-off date (inclusive), as when scoring.
    events : optional
        Engagement events, when the model was trained with them (see :func:`read_events`).
    customer_ids : array-like, optional
        Only these customer ids (e.g. a sample); default every customer.
    customers : optional
        The customers table of a model trained with covariates (see :func:`score`).
    timestamp_format, null_customer_id : optional
        Read policies (see :func:`read_policies`; default: the model's).

    Returns
    -------
    pandas.DataFrame
        One row per customer (index ``customer_id``), the model's training columns.
    """
    bundle = load_model(model)
    as_of = to_date(as_of, "as_of")
    spec = bundle.spec
    _refuse_empty_file(transactions, "transactions")
    policies = read_policies(
        bundle, timestamp_format=timestamp_format, null_customer_id=null_customer_id
    )
    ids = None if customer_ids is None else pd.unique(np.asarray(customer_ids)).tolist()
    with reading("transactions", transactions):
        tx = validate_transactions(transactions, observation_end=as_of, **policies, **spec.columns)
        if ids is not None:
            tx = tx.filter(tx.customer_id.isin(ids))
    attrs = _customer_attributes(bundle, customers)
    if attrs is not None:  # the same refusals as scoring: every customer has attributes
        with reading("transactions", transactions):
            attrs = _check_attributes(bundle, attrs, pd.Index(sorted_ids(tx).to_pandas()))
    ev = None
    if events is not None and spec.event_columns is not None:
        ev = read_events(
            events,
            bundle,
            as_of=as_of,
            timestamp_format=timestamp_format,
            null_customer_id=null_customer_id,
        )
        if ids is not None:
            ev = ev.filter(ev.customer_id.isin(ids))
    with reading("transactions", transactions):
        _, X = _chunk_features(tx, ev, bundle, as_of, attrs)
    return model_matrix(X, spec, events_given=ev is not None)


def iter_scores(
    transactions,
    *,
    model,
    as_of,
    events=None,
    options: ScoreOptions | None = None,
    report: dict | None = None,
    customers=None,
    **keywords: Unpack[ScoreKeywords],
) -> Iterator[pd.DataFrame]:
    """Score customers chunk by chunk; yields DataFrames in ``customer_id`` order.

    Validation errors are raised before the first chunk is yielded. The features of the
    next two chunks are built (DuckDB, in two background threads with a connection each)
    while chunk ``k`` is scored (LightGBM, pandas), so every core is busy even with each
    DuckDB connection on one thread.

    Parameters
    ----------
    transactions : DataFrame, Arrow table, CSV/Parquet path or ibis.Table
        Transactions in the column names the model was trained with.
    model : ModelBundle, str or Path
        A bundle or a model directory (see :func:`load_model`).
    as_of : date-like
        Cut-off date (inclusive); rows after it are an error.
    events : optional
        Engagement events, when the model was trained with them.
    options : ScoreOptions, optional
        Chunking, read policies, stale-horizon switch and explanations (see
        :class:`ScoreOptions`); default: its fields as keywords, else its defaults.
    report : dict, optional
        Filled with the data report (see :attr:`ScoreSummary.data_report`).
    customers : optional
        The customers table of a model trained with covariates (see :func:`score`).
    **keywords
        The fields of :class:`ScoreOptions` (``chunk_size``, ``explain``, ...), instead of
        ``options``.

    Yields
    ------
    pandas.DataFrame
        Up to ``chunk_size`` customers each, columns :data:`SCORE_COLUMNS` (and the
        reason columns with ``explain``).

    Raises
    ------
    TypeError
        Both ``options`` and keywords given, or a keyword that is not an option.
    """
    opts = ScoreOptions.resolve(options, dict(keywords))
    bundle = load_model(model)
    as_of = to_date(as_of, "as_of")
    spec = bundle.spec
    _refuse_empty_file(transactions, "transactions")
    if events is not None and spec.event_columns is None:
        # no engagement feature in the model: events cannot change its scores
        logger.warning("events ignored: the model was trained without engagement events")
        events = None
    policies = read_policies(
        bundle, timestamp_format=opts.timestamp_format, null_customer_id=opts.null_customer_id
    )
    with reading("transactions", transactions):
        tx = validate_transactions(transactions, observation_end=as_of, **policies, **spec.columns)
        n_rows, nonfinite, last = _input_stats(tx)
    if nonfinite:
        raise DataValidationError(
            f"transactions: column {_user_label('amount', spec.columns)}: {nonfinite:,} of "
            f"{n_rows:,} values are NaN or infinite; drop or fix them"
        )
    if n_rows == 0:
        raise DataValidationError("transactions: no rows to score (the table is empty)")
    customers = _customer_attributes(bundle, customers)
    gap = check_horizon(
        as_of,
        last,
        horizon_days=spec.horizon_days,
        name="as_of",
        allow=opts.allow_stale_as_of,
        switch="--allow-stale-as-of (allow_stale_as_of=True)",
    )
    if report is not None:
        info = validation_info(tx)
        assert info is not None  # validate_transactions recorded it
        report.update(
            {
                "n_rows": n_rows,
                "null_customer_id_rows_dropped": info["dropped_null_customer_id"],
                "latest_transaction": last.isoformat() if last else None,
                "days_from_latest_transaction_to_as_of": gap,
                "policies": {
                    **policies,
                    "as_of": as_of.isoformat(),
                    "allow_stale_as_of": opts.allow_stale_as_of,
                },
            }
        )
    with reading("transactions", transactions):
        ids = sorted_ids(tx)  # sorted distinct ids: the same on any number of threads
    n_customers = len(ids)
    if customers is not None:  # every scored customer has attributes, known levels
        customers = _check_attributes(bundle, customers, pd.Index(ids.to_pandas()))
    ev = None
    if events is not None:
        ev = read_events(
            events,
            bundle,
            as_of=as_of,
            timestamp_format=opts.timestamp_format,
            null_customer_id=opts.null_customer_id,
        )
    on_progress, explain = opts.on_progress, opts.explain
    if on_progress:
        on_progress(0, n_customers)
    n_chunks = math.ceil(n_customers / opts.chunk_size)
    with duckdb_threads([tx] + ([ev] if ev is not None else []), opts.deterministic):
        if n_chunks == 1 or not is_duckdb(tx) or (ev is not None and not is_duckdb(ev)):
            with reading("transactions", transactions):
                ids_1, X_1 = _chunk_features(tx, ev, bundle, as_of, customers)
                out = _chunk_scores(
                    ids_1,
                    X_1,
                    bundle,
                    as_of,
                    events_given=ev is not None,
                    explain=explain,
                    customers=customers,
                )
            _check_count(len(out), n_customers)
            if on_progress:
                on_progress(len(out), n_customers)
            yield out
            return
        canonical = {k: k for k in spec.columns}

        def features_of(txk, evk):  # a worker thread: DuckDB builds the chunk's features
            txk = validate_transactions(txk, **canonical)
            if evk is not None:
                evk = validate_events(evk, **_EVENT_CANONICAL)
            return _chunk_features(txk, evk, bundle, as_of, customers)

        done = 0
        # DuckDB builds the next chunks while LightGBM and pandas score the current one
        for ids_k, X in run_chunked(
            tx,
            ev,
            ids,
            chunk_size=opts.chunk_size,
            build=features_of,
            work_dir=opts.work_dir,
            deterministic=opts.deterministic,
            source=transactions,
        ):
            out = _chunk_scores(
                ids_k,
                X,
                bundle,
                as_of,
                events_given=ev is not None,
                explain=explain,
                customers=customers,
            )
            del X
            done += len(out)
            if on_progress:
                on_progress(done, n_customers)
            yield out
        _check_count(done, n_customers)


def _check_count(n_out: int, n_in: int) -> None:
    if n_out != n_in:  # the contract: every input customer exactly once
        raise AssertionError(f"scored {n_out} rows for {n_in} customers")


def _user_label(canonical: str, columns: dict) -> str:
    user = columns.get(canonical, canonical)
    return f"'{canonical}'" if user == canonical else f"'{canonical}' (your column '{user}')"


def _customer_attributes(bundle: ModelBundle, customers):
    """The covariate columns of ``customers`` for a covariate model (None otherwise)."""
    cov = bundle.spec.covariates
    if cov is None:
        if customers is not None:
            logger.warning("customers ignored: the model was trained without covariates")
        return None
    if customers is None:
        raise DataValidationError(
            f"this model was trained with the customer covariates {cov.names}: pass the "
            f"customers table (--customers PATH, customers=) with {cov.customer_id!r} and "
            "those columns"
        )
    _refuse_empty_file(customers, "customers")
    with reading("customers", customers):
        return load_customers(
            customers, columns=cov.names, customer_id=cov.customer_id, name="customers"
        )


def _check_attributes(bundle: ModelBundle, customers: pd.DataFrame, ids: pd.Index):
    """The attributes of the customers ``ids`` (refused when some have none, or a level
    the model never saw), before any chunk is scored."""
    attrs = covariates_for(customers, ids, name="customers")
    design = bundle.purchase_model.covariate_design_
    for group in ("purchase", "dropout"):
        design.matrix(attrs, len(attrs), group)  # the model's own unseen-level error
    return attrs


def _chunk_features(tx, ev, bundle: ModelBundle, as_of: dt.date, customers=None):
    """(sorted customer ids, feature frame) of a validated transaction table: the query
    engine's part of scoring a chunk."""
    # every customer of the chunk (those without a purchase day too) comes out of the
    # feature query itself: no separate distinct-ids pass
    X, ids = customer_features(
        tx,
        cutoff=as_of,
        purchase_model=bundle.purchase_model,
        spend_model=bundle.spend_model,
        spec=bundle.spec,
        clv=bundle.clv,
        events=ev,
        return_ids=True,
        customers=customers,
    )
    return ids, X


def _chunk_scores(
    ids: pd.Index,
    X: pd.DataFrame,
    bundle: ModelBundle,
    as_of: dt.date,
    events_given: bool,
    explain: int = 0,
    customers: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Scores of the customers ``ids`` from their features (pandas and LightGBM only);
    ``attrs["unknown_levels"]`` counts the categorical levels not seen in training."""
    spec = bundle.spec
    unknown = dict(X.attrs.get("unknown_levels") or {})
    missing = ~ids.isin(X.index)
    X = X.reindex(ids)
    if missing.any():
        # Prior-based score: a customer with no usable purchase day is treated as just acquired.
        logger.info("%d customers without usable history scored from the prior", missing.sum())
        idx = X.index[missing]
        zero = pd.DataFrame(0.0, index=idx, columns=["frequency", "recency", "T", "monetary_value"])
        X.loc[idx, zero.columns] = zero
        prior = btyd_outputs(
            bundle.purchase_model,
            bundle.spend_model,
            zero,
            time_unit=spec.time_unit,
            horizon_days=spec.horizon_days,
            clv=bundle.clv,
            customers=customers,
        )
        X.loc[idx, prior.columns] = prior
    Xm = model_matrix(X, spec, events_given=events_given)
    churn_p = bundle.churn_model.predict_proba(Xm)[:, 1]
    reasons = churn_reasons(bundle.churn_model, Xm, explain) if explain else None
    del Xm

    out = X[
        [
            "frequency",
            "recency",
            "T",
            "monetary_value",
            "p_alive",
            "expected_purchases",
            "expected_average_value",
            "clv",
        ]
    ].astype("float64")
    out["churn_probability"] = churn_p
    out["insufficient_history"] = missing  # before segments: no tier for prior-based scores
    out = assign_segments(out, bundle.segments)
    out["as_of"] = as_of.isoformat()
    out["model_version"] = bundle.model_version
    out = conform_scores(out.reset_index())
    if reasons is not None:  # after the score columns, in the order of reason_columns
        for c, dtype in reason_dtypes(explain).items():
            out[c] = pd.Series(reasons[c].to_numpy(), index=out.index, dtype=dtype)
    out.attrs["unknown_levels"] = unknown
    return out


def score(
    transactions,
    *,
    model: ModelBundle | str | Path,
    as_of,
    events=None,
    customers=None,
    options: ScoreOptions | None = None,
    **keywords: Unpack[ScoreKeywords],
) -> pd.DataFrame:
    """Score every customer of a transaction table as of a date.

    Parameters
    ----------
    transactions : DataFrame, Arrow table, CSV/Parquet path or ibis.Table
        Transactions in the column names the model was trained with (its config's
        ``data.columns``). Rows after ``as_of`` are an error: scoring never sees the future.
        See the module docstring for the policy on each kind of bad input.
    model : ModelBundle or path
        A bundle, a model directory written by ``cxml train`` or its bundle directory.
    as_of : date-like
        Cut-off date (inclusive). Horizons start the day after.
    events : optional
        Engagement events, when the model was trained with them.
    customers : DataFrame, CSV/Parquet path, ibis.Table or {connection, table|query}
        The customers table, required by a model trained with customer covariates
        (``btyd.covariates``; ``bundle.spec.covariates`` names the id column and the
        attribute columns): one row per customer. Every customer scored needs a row
        (refused otherwise, with the count and an example id: nothing is defaulted); a
        categorical level not seen in training is refused naming it.
    options : ScoreOptions, optional
        ``chunk_size``, ``on_progress``, ``work_dir``, ``deterministic``,
        ``timestamp_format``, ``null_customer_id``, ``allow_stale_as_of`` and ``explain``
        (see :class:`ScoreOptions`, which documents each).
    **keywords
        The same fields as keywords (``score(tx, model=m, as_of=d, explain=3)``), instead
        of ``options``.

    Returns
    -------
    pandas.DataFrame
        Exactly one row per customer in ``transactions``, sorted by ``customer_id``, with
        the columns of :data:`SCORE_COLUMNS`: ``expected_purchases`` is over the model's
        horizon (the training holdout length), ``clv`` is the discounted CLV over the
        configured months. A customer whose history nets to nothing usable is scored from
        the population prior (frequency 0, age 0) and has ``insufficient_history=True``.
        ``as_of`` and ``model_version`` record the cut-off and the model.
        ``attrs["unknown_levels"]`` counts the customers per categorical feature whose
        level was not seen in training (encoded as no level, see
        :mod:`cxml.pipelines._model_matrix`); ``attrs["data_report"]`` says what the read
        policies did (see :attr:`ScoreSummary.data_report`).

    Raises
    ------
    DataValidationError
        Bad input data, an ``as_of`` before the data or long after it.
    ModelLoadError
        The model cannot be loaded (see :func:`load_model`).
    TypeError
        Both ``options`` and keywords given, or a keyword that is not an option.

    Examples
    --------
    >>> from cxml.pipelines import score  # doctest: +SKIP
    >>> scores = score("tx.parquet", model="models/cdnow", as_of="1998-06-30")  # doctest: +SKIP
    """
    opts = ScoreOptions.resolve(options, dict(keywords))
    report: dict = {}
    frames = list(
        iter_scores(
            transactions,
            model=model,
            as_of=as_of,
            events=events,
            customers=customers,
            options=opts,
            report=report,
        )
    )
    unknown = _unknown_levels(frames)
    out = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    out.attrs["unknown_levels"] = unknown
    out.attrs["data_report"] = _finish_report(report, out)
    return out


def _finish_report(report: dict, scores_or_counts) -> dict:
    if isinstance(scores_or_counts, pd.DataFrame):
        n, prior = len(scores_or_counts), int(scores_or_counts["insufficient_history"].sum())
    else:
        n, prior = scores_or_counts
    policies = report.pop("policies", {})
    return {**report, "n_customers_scored": n, "insufficient_history": prior, "policies": policies}


def _unknown_levels(frames) -> dict:
    total: dict = {}
    for f in frames:
        for c, n in f.attrs.get("unknown_levels", {}).items():
            total[c] = total.get(c, 0) + n
    return total


def score_to_file(
    transactions,
    output: str | Path,
    *,
    model,
    as_of,
    events=None,
    customers=None,
    options: ScoreOptions | None = None,
    **keywords: Unpack[ScoreKeywords],
) -> ScoreSummary:
    """Score every customer and stream the result to a Parquet or CSV file, atomically.

    Memory is bounded by ``chunk_size`` customers, not by the input: a path is read by
    DuckDB, chunks are appended to a temporary file next to ``output`` that is renamed over
    it only when every customer is written. On any error (or a kill) ``output`` is left
    untouched.

    Parameters
    ----------
    transactions : DataFrame, Arrow table, CSV/Parquet path or ibis.Table
        Transactions in the column names the model was trained with.
    output : str or Path
        ``.parquet`` or ``.csv`` file. Checked (and its temporary file created) before any
        scoring work, so an unwritable path fails fast.
    model : ModelBundle, str or Path
        A bundle or a model directory (see :func:`load_model`).
    as_of : date-like
        Cut-off date (inclusive); rows after it are an error.
    events : optional
        Engagement events, when the model was trained with them.
    customers : optional
        The customers table of a model trained with covariates, as in :func:`score`.
    options : ScoreOptions, optional
        Chunking, read policies, stale-horizon switch and explanations, as in
        :func:`score` (see :class:`ScoreOptions`).
    **keywords
        The fields of :class:`ScoreOptions` as keywords, instead of ``options``.

    Returns
    -------
    ScoreSummary
        Output path, customer and chunk counts, as-of date, model version, data report.

    Raises
    ------
    CxmlUserError
        Bad output path, bad input data (see :func:`score`), model that cannot be loaded.
    TypeError
        Both ``options`` and keywords given, or a keyword that is not an option.
    """
    opts = ScoreOptions.resolve(options, dict(keywords))
    bundle = load_model(model)
    n = n_prior = n_chunks = 0
    unknown: dict = {}
    report: dict = {}
    with open_writer(output) as writer:  # a file or a database table
        for chunk in iter_scores(
            transactions,
            model=bundle,
            as_of=as_of,
            events=events,
            customers=customers,
            options=opts,
            report=report,
        ):
            writer.write(chunk)
            n += len(chunk)
            n_prior += int(chunk["insufficient_history"].sum())
            n_chunks += 1
            for c, k in _unknown_levels([chunk]).items():
                unknown[c] = unknown.get(c, 0) + k
    return ScoreSummary(
        path=writer.path,
        n_customers=n,
        n_insufficient_history=n_prior,
        n_chunks=n_chunks,
        as_of=to_date(as_of, "as_of").isoformat(),
        model_version=bundle.model_version,
        unknown_levels=unknown,
        data_report=_finish_report(report, (n, n_prior)),
    )
