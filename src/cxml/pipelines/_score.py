"""``score``: one row of predictions and segments per customer in a transaction table.

Scoring at scale
----------------
Customers are scored in chunks of ``chunk_size`` customers so that memory stays bounded
whatever the input size. Transactions (a CSV or Parquet path is read lazily by DuckDB,
never loaded into pandas as a whole) are validated in one aggregate query; when there are
more customers than ``chunk_size``, one DuckDB pass writes them to a temporary Parquet
directory partitioned by chunk (customers ranked by id, so chunk ``k`` holds the ids of
rank ``[k * chunk_size, (k + 1) * chunk_size)``, found from the sorted distinct ids);
each chunk is then read back, its features
are built by DuckDB with the same :func:`~cxml.pipelines._customer_features.customer_features`
that training uses, and it is scored in pandas. :func:`score_to_file` streams the chunks to
a temporary file renamed over the target at the end; :func:`score` concatenates them.

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
time-zone aware timestamps             converted by DuckDB to its session time zone (the
                                       machine's; UTC on servers), then cut at that day;
                                       mixed offsets are fine (each row converted)
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
=====================================  ====================================================
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from cxml.data import validate_events, validate_transactions
from cxml.exceptions import DataValidationError, ModelLoadError
from cxml.pipelines._bundle import ModelBundle
from cxml.pipelines._core import CUTOFF_AGE
from cxml.pipelines._customer_features import btyd_outputs, customer_features
from cxml.pipelines._segmenting import assign_segments

__all__ = ["score", "score_to_file", "iter_scores", "load_model", "ScoreSummary",
           "SCORE_COLUMNS", "DEFAULT_CHUNK_SIZE"]

logger = logging.getLogger(__name__)

SCORE_COLUMNS = [
    "customer_id", "p_alive", "expected_purchases", "expected_average_value", "clv",
    "churn_probability", "segment", "rfm_segment", "value_tier", "risk_tier",
    "frequency", "recency", "T", "monetary_value", "insufficient_history",
    "as_of", "model_version",
]

#: Customers per chunk: bounds memory (about 0.5 GB of pandas per million customers).
DEFAULT_CHUNK_SIZE = 500_000

_FLOAT_COLUMNS = ("p_alive", "expected_purchases", "expected_average_value", "clv",
                  "churn_probability", "frequency", "recency", "T", "monetary_value")
_STRING_COLUMNS = ("segment", "rfm_segment", "value_tier", "risk_tier", "as_of",
                   "model_version")
# engagement count / trend features: a chunk without any event of a type has no column for
# it, but its customers have 0 such events (as they would in a larger batch)
_EVENT_COUNT = re.compile(r"^(?P<e>.+?)_(?:trend_)?\d+d$")

ProgressCallback = Callable[[int, int], None]
# more chunks than this: rows find their chunk by a join with the ranked ids instead of a CASE
_MAX_CASE_CHUNKS = 64
# chunks whose features are built at the same time (each on its own DuckDB connection)
_FEATURE_WORKERS = 2


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
        The model's version string, also in every row.
    """

    path: Path
    n_customers: int
    n_insufficient_history: int
    n_chunks: int
    as_of: str
    model_version: str


def _as_date(value, name: str) -> dt.date:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise DataValidationError(f"{name}: cannot parse {value!r} as a date (use YYYY-MM-DD)") \
            from None
    if ts is pd.NaT:
        raise DataValidationError(f"{name}: cannot parse {value!r} as a date (use YYYY-MM-DD)")
    return ts.date()


def load_model(model) -> ModelBundle:
    """A :class:`ModelBundle` from a bundle or a model / bundle directory, checked whole.

    On top of :meth:`ModelBundle.load` (format, SHA-256 of every model file), the
    ``bundle.json`` itself must still list a checksum for every model file (removing them
    would otherwise switch verification off) and hold settings of the right shape; any
    failure to interpret the stored files is a :class:`ModelLoadError`, never a traceback.
    Nothing stored is executed: parameters are JSON, the churn model LightGBM text.

    Parameters
    ----------
    model : ModelBundle, str or Path
        A bundle (returned as is), an MLflow model directory or a bundle directory.

    Returns
    -------
    ModelBundle
        The verified bundle.

    Raises
    ------
    ModelLoadError
        Missing or foreign directory, other bundle format, a file changed after saving,
        or a ``bundle.json`` whose content is not what cxml wrote.
    """
    if isinstance(model, ModelBundle):
        return model
    import json

    from cxml.pipelines._bundle import _FILES, resolve_bundle_dir

    d = resolve_bundle_dir(model)
    try:
        meta = json.loads((d / "bundle.json").read_text())
        sums = meta.get("sha256")
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelLoadError(f"cannot read {d / 'bundle.json'}: {exc}") from None
    unchecked = [f for f in _FILES if not isinstance(sums, dict) or f not in sums]
    if unchecked:
        raise ModelLoadError(f"{d / 'bundle.json'} has no checksum for {', '.join(unchecked)} "
                             "(edited after saving); refusing to load it: retrain the model")
    try:
        bundle = ModelBundle.load(d)
        _check_settings(bundle)
    except ModelLoadError:
        raise
    except (TypeError, KeyError, ValueError, AttributeError, OSError) as exc:
        raise ModelLoadError(f"model {model}: cannot read the stored bundle "
                             f"({type(exc).__name__}: {exc}); retrain or restore it") from None
    return bundle


def _check_settings(bundle: ModelBundle) -> None:
    """Raise ModelLoadError if bundle.json's settings are not what training writes."""
    spec, problems = bundle.spec, []
    if spec.time_unit not in ("D", "W"):
        problems.append(f"time_unit {spec.time_unit!r}")
    if not isinstance(spec.horizon_days, (int, float)) or not spec.horizon_days > 0:
        problems.append(f"horizon_days {spec.horizon_days!r}")
    if not (isinstance(spec.windows_days, list) and spec.windows_days
            and all(isinstance(w, int) and w > 0 for w in spec.windows_days)):
        problems.append(f"windows_days {spec.windows_days!r}")
    if not (isinstance(spec.columns, dict) and {"customer_id", "timestamp", "amount"}
            <= set(spec.columns) and all(isinstance(v, str) for v in spec.columns.values())):
        problems.append("columns")
    if not (isinstance(bundle.clv, dict) and all(
            isinstance(bundle.clv.get(k), (int, float))
            for k in ("horizon_months", "annual_discount_rate"))):
        problems.append("clv")
    seg = bundle.segments
    if not (isinstance(seg, dict) and {"value_thresholds", "risk_thresholds", "rules"}
            <= set(seg)):
        problems.append("segments")
    if problems:
        raise ModelLoadError(f"model bundle.json has invalid {', '.join(problems)} "
                             "(edited after saving?); retrain the model")


def _model_version(bundle: ModelBundle) -> str:
    return str(bundle.info.get("model_version", bundle.info.get("trained_with", "")))


@contextlib.contextmanager
def _reading(what: str, source):
    """Turn errors the query engine raises while reading user data into user errors."""
    import duckdb

    try:
        yield
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        name = source if isinstance(source, (str, Path)) else type(source).__name__
        raise DataValidationError(f"{what}: cannot read {name}: {first}") from None


def _refuse_empty_file(source, what: str) -> None:
    if isinstance(source, (str, Path)) and Path(source).is_file() \
            and Path(source).stat().st_size == 0:
        raise DataValidationError(f"{what}: {source} is an empty file (0 bytes)")


def _input_stats(tx: ibis.Table) -> tuple[int, int]:
    """(rows, non-finite amounts) in one query."""
    amt = tx.amount
    row = tx.aggregate(
        n=tx.count(),
        nonfinite=(amt.isnan() | amt.isinf()).fill_null(False).cast("int64").sum(),
    ).to_pyarrow().to_pylist()[0]
    return int(row["n"] or 0), int(row["nonfinite"] or 0)


def _sorted_ids(tx: ibis.Table):
    """Every distinct customer id, sorted (a pyarrow array; 40 MB per 5M integer ids)."""
    return tx.select("customer_id").distinct().order_by("customer_id").to_pyarrow().column(0)


def _is_duckdb(expr: ibis.Table) -> bool:
    try:
        return expr._find_backend(use_default=True).name == "duckdb"
    except Exception:  # noqa: BLE001 - unbound or foreign backend: no chunking
        return False


def iter_scores(transactions, *, model, as_of, events=None,
                chunk_size: int = DEFAULT_CHUNK_SIZE,
                on_progress: ProgressCallback | None = None,
                work_dir: str | Path | None = None,
                deterministic: bool = True) -> Iterator[pd.DataFrame]:
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
    chunk_size : int, default 500,000
        Customers per chunk (bounds memory).
    on_progress : callable, optional
        Called with ``(customers_done, customers_total)`` after each chunk.
    work_dir : str or Path, optional
        Directory for the temporary per-chunk files (default: the system temp dir).
    deterministic : bool, default True
        One DuckDB thread per connection, so reruns give bit-identical output.

    Yields
    ------
    pandas.DataFrame
        Up to ``chunk_size`` customers each, columns :data:`SCORE_COLUMNS`.
    """
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise DataValidationError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    bundle = load_model(model)
    as_of = _as_date(as_of, "as_of")
    spec = bundle.spec
    _refuse_empty_file(transactions, "transactions")
    if events is not None:
        _refuse_empty_file(events, "events")
    with _reading("transactions", transactions):
        tx = validate_transactions(transactions, observation_end=as_of, **spec.columns)
        n_rows, nonfinite = _input_stats(tx)
    if nonfinite:
        raise DataValidationError(
            f"transactions: column {_user_label('amount', spec.columns)}: {nonfinite:,} of "
            f"{n_rows:,} values are NaN or infinite; drop or fix them")
    if n_rows == 0:
        raise DataValidationError("transactions: no rows to score (the table is empty)")
    with _reading("transactions", transactions):
        ids = _sorted_ids(tx)  # sorted distinct ids: the same on any number of threads
    n_customers = len(ids)
    ev = None
    if events is not None:
        with _reading("events", events):
            ev = validate_events(events, observation_end=as_of, **(spec.event_columns or {}))
    if on_progress:
        on_progress(0, n_customers)
    n_chunks = math.ceil(n_customers / chunk_size)
    with _duckdb_threads([tx] + ([ev] if ev is not None else []), deterministic):
        if n_chunks == 1 or not _is_duckdb(tx) or (ev is not None and not _is_duckdb(ev)):
            with _reading("transactions", transactions):
                out = _chunk_scores(*_chunk_features(tx, ev, bundle, as_of), bundle, as_of)
            _check_count(len(out), n_customers)
            if on_progress:
                on_progress(len(out), n_customers)
            yield out
            return
        yield from _iter_chunks(transactions, tx, ev, bundle, as_of, ids, chunk_size,
                                on_progress, work_dir, deterministic)


def _chunk_of(t: ibis.Table, ids, chunk_size: int, tx: ibis.Table):
    """Chunk number of each row of ``t``: the rank of its customer id // chunk_size.

    Up to 64 chunks, a CASE over the chunk's first ids (one pass, no join); beyond that a
    join with the ranked ids.
    """
    bounds = [ids[i].as_py() for i in range(chunk_size, len(ids), chunk_size)]
    if len(bounds) < _MAX_CASE_CHUNKS:
        cid = t.customer_id
        expr = ibis.literal(len(bounds), "int64")
        for k in range(len(bounds) - 1, -1, -1):  # first bound above the id wins
            expr = ibis.ifelse(cid < bounds[k], ibis.literal(k, "int64"), expr)
        return t.mutate(_chunk=expr)
    distinct = tx.select("customer_id").distinct()
    ranked = distinct.mutate(
        _chunk=(ibis.row_number().over(order_by=distinct.customer_id) // chunk_size))
    return t.inner_join(ranked, "customer_id")


def _iter_chunks(transactions, tx, ev, bundle, as_of, ids, chunk_size, on_progress, work_dir,
                 deterministic):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    spec = bundle.spec
    n_customers = len(ids)
    n_chunks = math.ceil(n_customers / chunk_size)
    done = 0
    with tempfile.TemporaryDirectory(prefix="cxml-score-", dir=work_dir) as tmp:
        tmp = Path(tmp)
        logger.info("scoring %d customers in %d chunks (spill directory %s)",
                    n_customers, n_chunks, tmp)
        with _reading("transactions", transactions):
            con = tx._find_backend(use_default=True)
            con.to_parquet(_chunk_of(tx, ids, chunk_size, tx), tmp / "tx",
                           partition_by="_chunk")
            if ev is not None:
                ev_con = ev._find_backend(use_default=True)
                ev_con.to_parquet(_chunk_of(ev, ids, chunk_size, tx), tmp / "ev",
                                  partition_by="_chunk")
                _fill_empty_partitions(ev, tmp / "ev", n_chunks)
        canonical = {k: k for k in spec.columns}
        event_canonical = {"customer_id": "customer_id", "timestamp": "timestamp",
                           "event_type": "event_type", "value": "value"}
        # Each feature worker reads its chunk files through its own DuckDB connection (one
        # thread each when deterministic), so chunks are built in parallel without sharing
        # a connection between threads.
        local, connections = threading.local(), []

        def features_of(k):
            wcon = getattr(local, "con", None)
            if wcon is None:
                wcon = local.con = ibis.duckdb.connect(
                    **({"threads": 1} if deterministic else {}))
                connections.append(wcon)
            txk = validate_transactions(
                wcon.read_parquet(str(tmp / "tx" / f"_chunk={k}" / "*.parquet")), **canonical)
            evk = None
            if ev is not None:
                evk = validate_events(
                    wcon.read_parquet(str(tmp / "ev" / f"_chunk={k}" / "*.parquet")),
                    **event_canonical)
            return _chunk_features(txk, evk, bundle, as_of)

        # DuckDB builds the next chunks while LightGBM and pandas score the current one
        try:
            with ThreadPoolExecutor(max_workers=_FEATURE_WORKERS,
                                    thread_name_prefix="cxml-features") as pool:
                pending = {k: pool.submit(features_of, k)
                           for k in range(min(_FEATURE_WORKERS, n_chunks))}
                for k in range(n_chunks):
                    ids_k, X = pending.pop(k).result()
                    if k + _FEATURE_WORKERS < n_chunks:
                        pending[k + _FEATURE_WORKERS] = pool.submit(features_of,
                                                                    k + _FEATURE_WORKERS)
                    out = _chunk_scores(ids_k, X, bundle, as_of)
                    del X
                    done += len(out)
                    if on_progress:
                        on_progress(done, n_customers)
                    yield out
        finally:
            for wcon in connections:
                wcon.disconnect()
    _check_count(done, n_customers)


def _fill_empty_partitions(ev: ibis.Table, root: Path, n_chunks: int) -> None:
    """Write an empty events file for every chunk whose customers have no event."""
    import pyarrow.parquet as pq

    schema = ev.limit(0).to_pyarrow().schema
    for k in range(n_chunks):
        d = root / f"_chunk={k}"
        if not d.is_dir():
            d.mkdir(parents=True)
            pq.write_table(schema.empty_table(), d / "empty.parquet")


@contextlib.contextmanager
def _duckdb_threads(tables, deterministic: bool):
    """Run DuckDB single-threaded while scoring, for reproducible output.

    DuckDB's parallel aggregation adds a customer's amounts in an order that depends on
    thread scheduling, so float sums (monetary value, CLV) could differ in the last bit
    between two runs. One thread (and a deterministic scan order) makes reruns
    byte-identical; the settings are restored afterwards.
    """
    if not deterministic:
        yield
        return
    from cxml.data._io import duckdb_connection

    cons = {}
    for t in tables:
        if _is_duckdb(t):
            be = t._find_backend(use_default=True)
            cons[id(be.con)] = be.con
    cons.setdefault(id(duckdb_connection().con), duckdb_connection().con)
    saved = []
    for raw in cons.values():
        old = raw.execute("SELECT current_setting('threads')").fetchone()[0]
        raw.execute("SET threads = 1")
        saved.append((raw, old))
    try:
        yield
    finally:
        for raw, old in saved:
            raw.execute(f"SET threads = {int(old)}")


def _check_count(n_out: int, n_in: int) -> None:
    if n_out != n_in:  # the contract: every input customer exactly once
        raise AssertionError(f"scored {n_out} rows for {n_in} customers")


def _user_label(canonical: str, columns: dict) -> str:
    user = columns.get(canonical, canonical)
    return f"'{canonical}'" if user == canonical else f"'{canonical}' (your column '{user}')"


def _chunk_features(tx: ibis.Table, ev, bundle: ModelBundle, as_of: dt.date):
    """(sorted customer ids, feature frame) of a validated transaction table: the query
    engine's part of scoring a chunk."""
    # every customer of the chunk (those without a purchase day too) comes out of the
    # feature query itself: no separate distinct-ids pass
    X, ids = customer_features(tx, cutoff=as_of, purchase_model=bundle.purchase_model,
                               spend_model=bundle.spend_model, spec=bundle.spec,
                               clv=bundle.clv, events=ev, return_ids=True)
    return ids, X


def _chunk_scores(ids: pd.Index, X: pd.DataFrame, bundle: ModelBundle,
                  as_of: dt.date) -> pd.DataFrame:
    """Scores of the customers ``ids`` from their features (pandas and LightGBM only)."""
    spec = bundle.spec
    missing = ~ids.isin(X.index)
    X = X.reindex(ids)
    if missing.any():
        # Prior-based score: a customer with no usable purchase day is treated as just acquired.
        logger.info("%d customers without usable history scored from the prior", missing.sum())
        idx = X.index[missing]
        zero = pd.DataFrame(0.0, index=idx, columns=["frequency", "recency", "T",
                                                      "monetary_value"])
        X.loc[idx, zero.columns] = zero
        prior = btyd_outputs(bundle.purchase_model, bundle.spend_model, zero,
                             time_unit=spec.time_unit, horizon_days=spec.horizon_days,
                             clv=bundle.clv)
        X.loc[idx, prior.columns] = prior
    churn_p = bundle.churn_model.predict_proba(_model_matrix(X, bundle))[:, 1]

    out = X[["frequency", "recency", "T", "monetary_value", "p_alive", "expected_purchases",
             "expected_average_value", "clv"]].astype("float64")
    out["churn_probability"] = churn_p
    out["insufficient_history"] = missing  # before segments: no tier for prior-based scores
    out = assign_segments(out, bundle.segments)
    out["as_of"] = as_of.isoformat()
    out["model_version"] = _model_version(bundle)
    out = out.reset_index()[SCORE_COLUMNS]
    for c in _FLOAT_COLUMNS:
        out[c] = out[c].astype("float64")
    for c in _STRING_COLUMNS:
        out[c] = _as_object(out[c])
    out["insufficient_history"] = out["insufficient_history"].astype(bool)
    return out


def _as_object(col: pd.Series) -> pd.Series:
    """Strings as Python objects (the output's dtype), through the few distinct labels.

    A segment column has a handful of distinct values over 500,000 rows: converting the
    labels once and indexing is ~20x faster than converting every Arrow string.
    """
    codes, labels = pd.factorize(col, use_na_sentinel=False)
    labels = np.asarray(labels, dtype=object)
    return pd.Series(labels[codes], index=col.index, name=col.name, dtype=object)


def _model_matrix(X: pd.DataFrame, bundle: ModelBundle) -> pd.DataFrame:
    """The churn model's feature matrix, independent of which other customers are in X."""
    cols = list(bundle.churn_model.feature_names_in_)
    absent = [c for c in cols if c not in X.columns]
    # one-hot columns of a class no customer of this chunk has, and counts of an event
    # type nobody in the chunk had, are 0 for every customer (not unknown); a model
    # trained on stacked cut-offs scores as of its newest one (cut-off age 0)
    zero = {c for c in absent if c.startswith("nps_class_") or c == CUTOFF_AGE
            or (_EVENT_COUNT.match(c) and c.startswith(_event_prefixes(cols)))}
    rest = [c for c in absent if c not in zero]
    if rest:
        logger.warning("features absent at scoring (treated as missing): %s", rest)
    # one float block in pandas' own (columns x rows) layout, filled row of the block by
    # row with contiguous writes: no consolidation of 30+ column blocks when LightGBM asks
    # for the matrix (half a second per 500,000-customer chunk)
    values = np.empty((len(cols), len(X)))
    for j, c in enumerate(cols):
        if c in X.columns:
            values[j] = X[c].to_numpy(dtype=float, na_value=np.nan)
        else:
            values[j] = 0.0 if c in zero else np.nan
    M = pd.DataFrame(values.T, index=X.index, columns=cols, copy=False)
    return M


def _event_prefixes(cols) -> tuple[str, ...]:
    """Event-type prefixes of the engagement count features the model was trained on."""
    out = set()
    for c in cols:
        m = re.match(r"^(?P<e>.+)_trend_\d+d$", c)
        if m and not c.startswith(("trend_transactions_", "trend_value_")):
            out.add(m.group("e") + "_")
    return tuple(sorted(out)) or ("\0",)


def score(transactions, *, model: ModelBundle | str | Path, as_of, events=None,
          chunk_size: int = DEFAULT_CHUNK_SIZE, on_progress: ProgressCallback | None = None,
          work_dir: str | Path | None = None, deterministic: bool = True) -> pd.DataFrame:
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
    chunk_size : int, default 500_000
        Customers scored at a time (bounds memory; the result does not depend on it).
    on_progress : callable, optional
        Called as ``on_progress(customers_done, customers_total)`` after each chunk.
    work_dir : path, optional
        Where the temporary chunk files go (default: the system temporary directory).
    deterministic : bool, default True
        Run DuckDB on one thread so that a rerun gives bit-identical floats (parallel
        aggregation sums amounts in a scheduling-dependent order). False uses all cores
        for the queries; results then agree to about 1e-12 relative between runs.

    Returns
    -------
    pandas.DataFrame
        Exactly one row per customer in ``transactions``, sorted by ``customer_id``, with
        the columns of :data:`SCORE_COLUMNS`: ``expected_purchases`` is over the model's
        horizon (the training holdout length), ``clv`` is the discounted CLV over the
        configured months. A customer whose history nets to nothing usable is scored from
        the population prior (frequency 0, age 0) and has ``insufficient_history=True``.
        ``as_of`` and ``model_version`` record the cut-off and the model.

    Raises
    ------
    DataValidationError
        Bad input data or an ``as_of`` before the data.
    ModelLoadError
        The model cannot be loaded (see :func:`load_model`).

    Examples
    --------
    >>> from cxml.pipelines import score  # doctest: +SKIP
    >>> scores = score("tx.parquet", model="models/cdnow", as_of="1998-06-30")  # doctest: +SKIP
    """
    frames = list(iter_scores(transactions, model=model, as_of=as_of, events=events,
                              chunk_size=chunk_size, on_progress=on_progress,
                              work_dir=work_dir, deterministic=deterministic))
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


def score_to_file(transactions, output: str | Path, *, model, as_of, events=None,
                  chunk_size: int = DEFAULT_CHUNK_SIZE,
                  on_progress: ProgressCallback | None = None,
                  work_dir: str | Path | None = None,
                  deterministic: bool = True) -> ScoreSummary:
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
    chunk_size : int, default 500,000
        Customers per chunk (bounds memory).
    on_progress : callable, optional
        Called with ``(customers_done, customers_total)`` after each chunk.
    work_dir : str or Path, optional
        Directory for the temporary per-chunk files (default: the system temp dir).
    deterministic : bool, default True
        One DuckDB thread per connection, so reruns give bit-identical output.

    Returns
    -------
    ScoreSummary
        Output path, customer and chunk counts, as-of date and model version.

    Raises
    ------
    CxmlUserError
        Bad output path, bad input data (see :func:`score`), model that cannot be loaded.
    """
    from cxml.pipelines._output import TableWriter

    bundle = load_model(model)
    n = n_prior = n_chunks = 0
    with TableWriter(output) as writer:
        for chunk in iter_scores(transactions, model=bundle, as_of=as_of, events=events,
                                 chunk_size=chunk_size, on_progress=on_progress,
                                 work_dir=work_dir, deterministic=deterministic):
            writer.write(chunk)
            n += len(chunk)
            n_prior += int(chunk["insufficient_history"].sum())
            n_chunks += 1
    return ScoreSummary(path=writer.path, n_customers=n, n_insufficient_history=n_prior,
                        n_chunks=n_chunks, as_of=_as_date(as_of, "as_of").isoformat(),
                        model_version=_model_version(bundle))
