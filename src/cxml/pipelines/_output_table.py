"""Scores written to a database table, atomically (the table twin of :class:`TableWriter`).

Chunks go to a staging table; :meth:`DatabaseTableWriter.commit` swaps it in with one
transaction (``DROP`` the old table and ``RENAME`` the staging table between ``BEGIN`` and
``COMMIT``: PostgreSQL, DuckDB and SQLite all have transactional DDL). A crash or a kill
before the commit leaves the old table (and at worst a stray staging table, dropped on
abort); readers never see a half table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import ibis
import pandas as pd

from cxml.data import connect, masked
from cxml.exceptions import CxmlUserError

__all__ = ["DatabaseTableWriter", "OutputTable"]

_TRANSACTIONAL_DDL = ("postgres", "duckdb", "sqlite")


@dataclass(frozen=True)
class OutputTable:
    """Where scores go in a database: a connection URL (``${NAME}`` expanded) and a table.

    Attributes
    ----------
    connection : str
        ``postgres://...``, ``duckdb://PATH``, ``sqlite://PATH``.
    table : str
        The table (replaced as a whole at commit).
    """

    connection: str
    table: str

    def __str__(self) -> str:
        return f"{masked(self.connection)} (table {self.table})"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DatabaseTableWriter:
    """Write a table chunk by chunk to a database table, swapped in atomically.

    Same interface as :class:`cxml.pipelines.TableWriter` (``write``, ``commit``,
    ``abort``, a context manager). The connection is opened when the writer is
    constructed, so a wrong URL or password fails before any scoring work.

    Parameters
    ----------
    target : OutputTable
        Connection and table name.

    Raises
    ------
    CxmlUserError
        The connection fails, or its backend has no transactional DDL (no atomic swap).
    """

    def __init__(self, target: OutputTable):
        self.target = target
        self.path = str(target)  # how the output is shown (password masked)
        self._con = connect(target.connection, name="--output", writable=True)
        if self._con.name not in _TRANSACTIONAL_DDL:
            raise CxmlUserError(
                f"--output {masked(target.connection)}: writing tables is supported on "
                f"{', '.join(_TRANSACTIONAL_DDL)} (an atomic swap needs transactional DDL); "
                f"got {self._con.name}"
            )
        self._staging = f"{target.table}__cxml_staging_{uuid.uuid4().hex[:12]}"
        self._created = False
        self._done = False
        self.n_rows = 0

    def write(self, df: pd.DataFrame) -> None:
        """Append a chunk to the staging table.

        Parameters
        ----------
        df : pandas.DataFrame
            Same columns and dtypes as the first chunk; its index is not written.
        """
        df = df.reset_index(drop=True)
        if not self._created:
            self._con.create_table(self._staging, ibis.memtable(df))
            self._created = True
        else:
            self._con.insert(self._staging, ibis.memtable(df))
        self.n_rows += len(df)

    def _execute_in_transaction(self, statements: list[str]) -> None:
        raw = self._con.con  # the DB-API connection: psycopg, duckdb or sqlite3
        name = self._con.name
        if name == "postgres":
            with raw.transaction():
                for sql in statements:
                    raw.execute(sql)
        elif name == "sqlite":
            prev = raw.isolation_level
            raw.isolation_level = None  # manual transaction control
            try:
                raw.execute("BEGIN")
                try:
                    for sql in statements:
                        raw.execute(sql)
                except BaseException:
                    raw.execute("ROLLBACK")
                    raise
                raw.execute("COMMIT")
            finally:
                raw.isolation_level = prev
        else:  # duckdb
            raw.execute("BEGIN TRANSACTION")
            try:
                for sql in statements:
                    raw.execute(sql)
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            raw.execute("COMMIT")

    def commit(self) -> str:
        """Swap the staging table in for the target in one transaction.

        Returns
        -------
        str
            The target as shown to users (password masked).
        """
        if self._done:
            return self.path
        if not self._created:
            raise CxmlUserError(f"--output {self.path}: no scores to write")
        self._done = True
        target, staging = _quote(self.target.table), _quote(self._staging)
        try:
            self._execute_in_transaction(
                [
                    f"DROP TABLE IF EXISTS {target}",
                    f"ALTER TABLE {staging} RENAME TO {target}",
                ]
            )
        except BaseException:
            self._drop_staging()
            raise
        self._close()
        return self.path

    def abort(self) -> None:
        """Drop the staging table (the target is left as it was)."""
        if self._done:
            return
        self._done = True
        self._drop_staging()
        self._close()

    def _drop_staging(self) -> None:
        if self._created:
            try:
                # raw SQL: Ibis 12's drop_table renders an empty DROP with sqlglot 30
                self._execute_in_transaction([f"DROP TABLE IF EXISTS {_quote(self._staging)}"])
            except Exception:  # noqa: BLE001 - best effort; a stray staging table is harmless
                pass

    def _close(self) -> None:
        try:
            self._con.disconnect()
        except Exception:  # noqa: BLE001 - already closed
            pass

    def __enter__(self) -> DatabaseTableWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
