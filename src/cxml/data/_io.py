"""Reading user tables into Ibis: the one place where cxml touches files.

Everything that comes in (pandas, polars, pyarrow, a CSV or Parquet path, or an Ibis table
of any backend) becomes an :class:`ibis.Table`. A pandas frame of NumPy columns becomes a
view that DuckDB scans in place (no copy); other in-memory frames are wrapped with
:func:`ibis.memtable` (through Arrow); files are read lazily by an in-process DuckDB
connection; an Ibis table is passed through untouched so the work stays in its backend.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import tempfile
import uuid
import weakref
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from cxml.exceptions import DataValidationError

__all__ = ["read_table", "duckdb_connection", "execute_arrow"]

logger = logging.getLogger(__name__)

_CSV = (".csv", ".csv.gz", ".tsv", ".txt")
_PARQUET = (".parquet", ".pq")
_CSV_TYPES = ["BOOLEAN", "BIGINT", "DOUBLE", "VARCHAR"]


def duckdb_connection(*, new: bool = False, threads: int | None = None):
    """The in-process DuckDB connection cxml uses, or a new one set up the same way.

    The shared connection (created on first use) reads files and executes every expression
    built on in-memory input, so that an in-memory table is registered in one place only.
    Every connection cxml opens comes from here, so all run with the same settings: the
    session time zone is UTC (time-zone-aware timestamps become UTC whatever the machine's
    zone, so the same data gives the same purchase days everywhere), results are
    aggregates whose row order cxml does not rely on (``preserve_insertion_order`` off,
    less memory), and spill files go to the system temporary directory instead of
    DuckDB's default ``.tmp`` in the working directory.

    DuckDB may use up to 80 % of RAM before it spills. To bound cxml's memory (at the cost
    of speed: spilling aggregations run 2-3x slower), set a limit once::

        cxml.data.duckdb_connection().raw_sql("SET memory_limit = '1GB'")

    Parameters
    ----------
    new : bool, default False
        Open a new connection (e.g. one per worker thread) instead of returning the
        shared one; the caller disconnects it.
    threads : int, optional
        DuckDB threads of a new connection (default: all cores).

    Returns
    -------
    ibis.backends.duckdb.Backend
        The shared connection, or a new one with ``new=True``.
    """
    if not new:
        if threads is not None:
            raise TypeError("threads applies to a new connection only (new=True)")
        return _shared_connection()
    return _connect(threads, shared=False)


_NEW_CONNECTIONS = itertools.count(1)  # numbers the spill directories of new connections


@functools.lru_cache(maxsize=1)
def _shared_connection():
    return _connect(None, shared=True)


def _connect(threads: int | None, *, shared: bool):
    # one spill directory per connection: two databases must not share temporary files
    tag = "" if shared else f"-{next(_NEW_CONNECTIONS)}"
    tmp = os.path.join(tempfile.gettempdir(), f"cxml-duckdb-{os.getpid()}{tag}")
    kw = {} if threads is None else {"threads": int(threads)}
    con = ibis.duckdb.connect(preserve_insertion_order=False, temp_directory=tmp, **kw)
    con.raw_sql("SET TimeZone = 'UTC'")
    return con


def execute_arrow(expr) -> pa.Table:
    """Execute an Ibis expression into a pyarrow Table.

    Expressions bound to a backend (a user's Spark or DuckDB table, a file read by cxml)
    run there; expressions over in-memory data only (``ibis.memtable``) run on
    :func:`duckdb_connection`.

    Parameters
    ----------
    expr : ibis.Table
        The expression.

    Returns
    -------
    pyarrow.Table
        Its result.
    """
    try:
        expr._find_backend(use_default=False)
    except ibis.common.exceptions.IbisError:
        return duckdb_connection().to_pyarrow(expr)
    return expr.to_pyarrow()


def _is_polars(obj) -> bool:
    mod = type(obj).__module__ or ""
    return mod.startswith("polars") and type(obj).__name__ in {"DataFrame", "LazyFrame"}


def read_table(source, *, name: str = "table") -> ibis.Table:
    """Turn any supported input into an Ibis table, without validating it.

    Parameters
    ----------
    source : pandas.DataFrame, polars.DataFrame, polars.LazyFrame, pyarrow.Table, \
str, os.PathLike or ibis.Table
        The data. Paths ending in ``.csv`` / ``.csv.gz`` / ``.tsv`` / ``.txt`` are read as
        delimited text (DuckDB's sniffer detects the delimiter and numeric types;
        dates stay text, for cxml's date policy), ``.parquet`` / ``.pq``
        as Parquet; a directory of Parquet files is not supported (pass a glob such as
        ``"data/*.parquet"``).
    name : str, default "table"
        What the table is (e.g. "transactions"), used in error messages.

    Returns
    -------
    ibis.Table
        A lazy table expression; nothing is read until it is executed.

    Raises
    ------
    DataValidationError
        If a path does not exist, is a directory, has an unsupported extension, cannot be
        parsed, or ``source`` is of an unsupported type.

    Examples
    --------
    >>> import pandas as pd
    >>> t = read_table(pd.DataFrame({"customer_id": [1], "amount": [2.0]}))
    >>> t.columns
    ('customer_id', 'amount')
    """
    if isinstance(source, ibis.Table):
        return source
    if isinstance(source, pd.DataFrame):
        if not all(isinstance(c, str) for c in source.columns):
            raise DataValidationError(
                f"{name}: column names must be strings, got {list(source.columns)[:10]}"
            )
        if _numpy_columns(source):
            return _register_frame(source)
        return ibis.memtable(source)
    if isinstance(source, (pa.Table, pa.RecordBatch)):
        return ibis.memtable(source)
    if _is_polars(source):
        if type(source).__name__ == "LazyFrame":
            source = source.collect()
        return ibis.memtable(source.to_arrow())
    if isinstance(source, (str, os.PathLike)):
        return _read_path(source, name)
    raise DataValidationError(
        f"{name}: unsupported input type {type(source).__name__}; pass a pandas, polars or "
        "pyarrow table, a CSV or Parquet path, or an ibis.Table"
    )


def _numpy_columns(df: pd.DataFrame) -> bool:
    """Whether ``df`` has columns, all NumPy bool, integer, float or naive datetime."""
    return len(df.columns) > 0 and all(
        isinstance(dt, np.dtype) and dt.kind in "biufM" for dt in df.dtypes
    )


def _register_frame(df: pd.DataFrame) -> ibis.Table:
    """``df`` as a view of cxml's DuckDB connection, scanned in place.

    ``ibis.memtable`` hands DuckDB an Arrow copy of a pandas frame (620 MB more at 26M
    transactions); DuckDB scans NumPy columns directly. The view is dropped when the last
    expression over it is garbage-collected. Other dtypes (strings, categoricals, nullable
    extension types) keep the memtable path, whose Arrow conversion validation relies on.
    """
    con = duckdb_connection()
    name = f"cxml_frame_{uuid.uuid4().hex}"
    con.con.register(name, df)
    table = con.table(name)
    weakref.finalize(table.op(), _unregister, con, name)
    return table


def _unregister(con, name: str) -> None:
    try:
        con.con.unregister(name)
    except Exception:  # noqa: BLE001 - connection already closed at interpreter exit
        pass


def _read_path(source, name: str) -> ibis.Table:
    path_str = os.fspath(source)
    lower = path_str.lower()
    is_glob = any(ch in path_str for ch in "*?[")
    path = Path(path_str)
    if not is_glob:
        if path.is_dir():
            raise DataValidationError(
                f"{name}: expected a CSV or Parquet file, got a directory: {path_str} "
                "(pass a glob such as 'dir/*.parquet')"
            )
        if not path.exists():
            raise DataValidationError(f"{name}: file not found: {path_str}")
        if path.stat().st_size == 0:
            raise DataValidationError(f"{name}: {path_str} is an empty file (0 bytes)")
    con = duckdb_connection()
    try:
        if lower.endswith(_PARQUET):
            return con.read_parquet(path_str)
        if lower.endswith(_CSV):
            # DuckDB's sniffer would pick a date format from a sample (day/month order, a
            # two-digit year); date-like columns stay text, parsed by cxml's one policy.
            return con.read_csv(path_str, auto_type_candidates=_CSV_TYPES)
    except Exception as exc:  # DuckDB raises its own IOException / InvalidInputException
        raise DataValidationError(f"{name}: cannot read {path_str}: {exc}") from exc
    raise DataValidationError(
        f"{name}: unsupported file extension for {path_str}; use .csv, .csv.gz, .tsv, .txt, "
        ".parquet or .pq"
    )
