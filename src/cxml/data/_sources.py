"""Data where it lives: a source is a file path or a database table / query.

A source is either a path (CSV, Parquet, a glob), read by :func:`cxml.data.read_table`,
or a mapping ``{"connection": URL, "table": NAME}`` / ``{"connection": URL, "query": SQL}``
where URL is anything :func:`ibis.connect` understands (``duckdb://PATH``,
``postgres://user:password@host:port/db``, ``sqlite://PATH``, ...) or ``spark`` (the active
Spark session, else :func:`cxml.spark.local_session`). The table stays in its engine:
Ibis pushes cxml's feature queries down and only customer-level results come back (except
SQLite, which lacks functions the features use: its rows are read into cxml's DuckDB).

Values may reference environment variables as ``${NAME}`` so that passwords stay out of
configuration files; a URL is only ever shown through :func:`masked` (password replaced by
``***``), and a backend's error text is scrubbed of the password before it is re-raised.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import ibis

from cxml.exceptions import DataValidationError

__all__ = [
    "connect",
    "expand_env",
    "masked",
    "open_source",
    "source_label",
    "source_secrets",
    "is_table_source",
]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MASK = "***"
# user:password@ in any URL-like text, for scrubbing messages that quote a URL
_USERINFO = re.compile(r"(?P<pre>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?=@)")
_PW_PARAM = re.compile(r"(?P<pre>(?:password|passwd|pwd)=)(?P<pw>[^&\s]*)", re.IGNORECASE)


def expand_env(value: str, *, name: str = "value") -> str:
    """``value`` with every ``${NAME}`` replaced by the environment variable ``NAME``.

    Parameters
    ----------
    value : str
        Text such as ``"postgres://cxml:${PG_PASSWORD}@db:5432/shop"``.
    name : str, default "value"
        What the value is (e.g. ``"data.transactions.connection"``), for the error.

    Returns
    -------
    str
        The expanded text.

    Raises
    ------
    DataValidationError
        A referenced variable is not set (the message names it, never its neighbours).

    Examples
    --------
    >>> import os
    >>> os.environ["CXML_DOC_DB"] = "shop"
    >>> expand_env("duckdb://${CXML_DOC_DB}.duckdb")
    'duckdb://shop.duckdb'
    """

    def sub(m: re.Match) -> str:
        var = m.group(1)
        if var not in os.environ:
            raise DataValidationError(
                f"{name}: environment variable {var} is not set (referenced as ${{{var}}}); "
                "export it before running cxml"
            )
        return os.environ[var]

    return _ENV.sub(sub, value)


def masked(url: str) -> str:
    """``url`` with its password (``user:password@``, ``password=``) replaced by ``***``.

    Parameters
    ----------
    url : str
        A connection URL, or any text quoting one.

    Returns
    -------
    str
        The same text, every password masked.

    Examples
    --------
    >>> masked("postgres://cxml:s3cret@localhost:5432/shop")
    'postgres://cxml:***@localhost:5432/shop'
    >>> masked("duckdb://shop.duckdb")
    'duckdb://shop.duckdb'
    """
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if (
        parts is not None
        and parts.scheme
        and parts.password is not None
        and "\n" not in text
        and " " not in text
    ):
        host = parts.netloc.rpartition("@")[2]
        user = parts.netloc.rpartition("@")[0].partition(":")[0]
        text = urlunsplit(parts._replace(netloc=f"{user}:{_MASK}@{host}"))
    text = _USERINFO.sub(lambda m: m.group("pre") + _MASK, text)
    return _PW_PARAM.sub(lambda m: m.group("pre") + _MASK, text)


def source_secrets(url: str) -> list[str]:
    """The passwords in ``url`` (as written and URL-decoded), to scrub from messages.

    Parameters
    ----------
    url : str
        A connection URL.

    Returns
    -------
    list of str
        Longest first (so that no part of a longer one is left after replacing).
    """
    out = []
    try:
        pw = urlsplit(url).password
    except ValueError:
        pw = None
    if pw:
        out += [pw, unquote(pw), quote(unquote(pw), safe="")]
    out += [m.group("pw") for m in _PW_PARAM.finditer(url) if m.group("pw")]
    return sorted({s for s in out if s}, key=len, reverse=True)


def _scrub(text: object, url: str) -> str:
    text = " ".join(str(text).split())
    for secret in source_secrets(url):
        text = text.replace(secret, _MASK)
    return masked(text)


def _get(spec, key: str):
    if isinstance(spec, Mapping):
        return spec.get(key)
    return getattr(spec, key, None)


def is_table_source(spec) -> bool:
    """Whether ``spec`` is a ``{connection, table | query}`` mapping (or a SourceConfig).

    Parameters
    ----------
    spec : object
        A source as accepted by :func:`open_source`.

    Returns
    -------
    bool
        True for a database table or query, False for a path or an in-memory table.
    """
    return _get(spec, "connection") is not None and not isinstance(spec, (str, os.PathLike))


def source_label(spec) -> str:
    """How a source is shown (errors, logs, lineage): a path, or the masked URL and table.

    Parameters
    ----------
    spec : str, os.PathLike or mapping
        A source as accepted by :func:`open_source`.

    Returns
    -------
    str
        The label.
    """
    if not is_table_source(spec):
        return str(os.fspath(spec)) if isinstance(spec, (str, os.PathLike)) else type(spec).__name__
    what = f"table {_get(spec, 'table')}" if _get(spec, "table") else "query"
    return f"{masked(str(_get(spec, 'connection')))} ({what})"


def open_source(spec, *, name: str = "transactions") -> ibis.Table:
    """Open a source as a lazy Ibis table bound to its own engine.

    Parameters
    ----------
    spec : str, os.PathLike, mapping or object with ``connection`` and ``table`` / ``query``
        A file path (``${NAME}`` expanded; read as :func:`cxml.data.read_table` does), or
        ``{"connection": URL, "table": NAME}`` / ``{"connection": URL, "query": SQL}``.
        ``duckdb://`` and ``sqlite://`` databases must exist (they are opened read-only
        where the backend allows it, never created); ``spark`` is the active Spark session
        (else :func:`cxml.spark.local_session`); any other URL goes to
        :func:`ibis.connect`.
    name : str, default "transactions"
        What the source is, for error messages.

    Returns
    -------
    ibis.Table
        Nothing is read until it is executed.

    Raises
    ------
    DataValidationError
        A missing environment variable; an unknown URL scheme or a backend that is not
        installed; a connection that fails (wrong password, unreachable host); a missing
        table; a query that fails. One line, the password masked.

    Examples
    --------
    >>> import duckdb, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "shop.duckdb")
    >>> with duckdb.connect(path) as con:
    ...     _ = con.execute("CREATE TABLE orders AS SELECT 1 AS customer_id, 2.0 AS amount")
    >>> open_source({"connection": f"duckdb://{path}", "table": "orders"}).columns
    ('customer_id', 'amount')
    """
    from cxml.data._io import read_table

    if isinstance(spec, (str, os.PathLike)):
        return read_table(expand_env(os.fspath(spec), name=name), name=name)
    if not is_table_source(spec):
        return read_table(spec, name=name)
    url = expand_env(str(_get(spec, "connection")), name=f"{name}.connection")
    table, query = _get(spec, "table"), _get(spec, "query")
    if bool(table) == bool(query):
        raise DataValidationError(
            f"{name}: a database source needs exactly one of 'table' or 'query' "
            f"(connection {masked(url)})"
        )
    con = _connect(url, name=name)
    try:
        if table:
            t = con.table(expand_env(str(table), name=f"{name}.table"))
        else:
            sql = expand_env(str(query), name=f"{name}.query")
            t = (
                con.sql(sql, schema=_query_schema(con, sql))
                if con.name in ("postgres", "duckdb")
                else con.sql(sql)
            )
        if con.name == "sqlite":
            # SQLite lacks functions cxml's features use (isnan, date arithmetic): its rows
            # are scanned once into cxml's DuckDB (an in-process file is small by nature)
            t = ibis.memtable(t.to_pyarrow())
    except DataValidationError:
        raise
    except Exception as exc:  # noqa: BLE001 - every backend raises its own error types
        what = f"table {table!r}" if table else "the query"
        raise DataValidationError(
            f"{name}: cannot read {what} from {masked(url)}: {_scrub(exc, url)}"
        ) from None
    return t


_FILE_BACKENDS = ("duckdb", "sqlite")


def _query_schema(con, sql: str):
    """The schema of a query, as Ibis derives it (a temporary view), by raw SQL: Ibis 12's
    own path renders DROP VIEW without a name under sqlglot 30 (PostgreSQL) and calls
    DuckDB's removed ``fetch_arrow_table`` (DuckDB 1.4)."""
    import uuid

    view = f"cxml_query_{uuid.uuid4().hex}"
    raw = con.con

    def execute(stmt: str) -> None:
        if con.name == "postgres":
            with raw.transaction():
                raw.execute(stmt)
        else:
            raw.execute(stmt)

    execute(f'CREATE TEMPORARY VIEW "{view}" AS {sql}')
    try:
        return con.get_schema(view)
    finally:
        execute(f'DROP VIEW IF EXISTS "{view}"')


def connect(url: str, *, name: str = "connection", writable: bool = False):
    """An Ibis backend for a connection URL (``${NAME}`` expanded), errors one line, masked.

    Parameters
    ----------
    url : str
        As in :func:`open_source`.
    name : str, default "connection"
        What the connection is for, in error messages.
    writable : bool, default False
        Open to write (an output table): a DuckDB or SQLite file is then created when
        missing and DuckDB is not opened read-only.

    Returns
    -------
    ibis.BaseBackend
        The connected backend (DuckDB sessions in UTC, as cxml's own connection).

    Raises
    ------
    DataValidationError
        As :func:`open_source`.
    """
    return _connect(expand_env(str(url), name=name), name=name, writable=writable)


def _connect(url: str, *, name: str, writable: bool = False):
    scheme = url.partition("://")[0].lower() if "://" in url else url.lower()
    try:
        if url.lower() in ("spark", "pyspark", "spark://", "pyspark://"):
            return _spark()
        if scheme in _FILE_BACKENDS:
            path = url.partition("://")[2].partition("?")[0]
            if path not in ("", ":memory:") and not writable and not Path(path).is_file():
                raise DataValidationError(
                    f"{name}: database file not found: {path} (connection {masked(url)})"
                )
            if scheme == "duckdb":
                con = ibis.duckdb.connect(path or ":memory:", read_only=bool(path) and not writable)
                con.raw_sql("SET TimeZone = 'UTC'")  # as cxml.data.duckdb_connection
                return con
        return ibis.connect(url)
    except DataValidationError:
        raise
    except (ImportError, ModuleNotFoundError) as exc:
        raise DataValidationError(
            f"{name}: the Ibis backend for {scheme}:// is not installed ({exc.name or exc}); "
            f"pip install 'ibis-framework[{scheme}]'"
        ) from None
    except Exception as exc:  # noqa: BLE001 - psycopg, duckdb, ibis each raise their own
        msg = _scrub(exc, url)
        if msg.startswith("Don't know how to connect"):
            msg = (
                f"unknown connection scheme {scheme!r}; use a URL ibis.connect understands "
                "(duckdb://, postgres://, sqlite://, ...) or 'spark'"
            )
        raise DataValidationError(f"{name}: cannot connect to {masked(url)}: {msg}") from None


def _spark():
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        from cxml.spark import local_session

        session = local_session()
    return ibis.pyspark.connect(session)
