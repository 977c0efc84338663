"""Table output (``.parquet`` / ``.csv``), chunk by chunk and atomically.

The bytes go through :class:`cxml._atomic.AtomicFile` (a temporary file renamed over the
target at the end), so readers never see a half-written table and a failed run leaves the
previous file untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from cxml._atomic import AtomicFile
from cxml.exceptions import CxmlUserError

__all__ = ["TableWriter", "check_output_path", "open_writer", "write_table"]

_FORMATS = (".parquet", ".csv")


def check_output_path(path: str | Path) -> Path:
    """Check that ``path`` can become a ``.parquet`` / ``.csv`` output file.

    Parameters
    ----------
    path : str or Path
        The target file.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    CxmlUserError
        Unsupported extension, missing parent directory, or ``path`` is a directory.
    """
    p = Path(path)
    if p.suffix.lower() not in _FORMATS:
        raise CxmlUserError(f"output {p}: unsupported extension {p.suffix!r}; use .parquet or .csv")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise CxmlUserError(f"output directory does not exist: {parent}")
    if p.is_dir():
        raise CxmlUserError(f"output path {p} is a directory")
    return p


class TableWriter:
    """Write a table chunk by chunk to ``.parquet`` or ``.csv``, atomically.

    The temporary file is created when the writer is constructed, so an unwritable
    target fails before any expensive work. Use it as a context manager: leaving the block
    normally commits (rename over the target), an exception aborts (temporary removed).

    Parameters
    ----------
    path : str or Path
        Target file; the extension picks the format.

    Raises
    ------
    CxmlUserError
        Unsupported extension, missing or unwritable directory, ``path`` is a directory.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with TableWriter(os.path.join(d, "out.csv")) as w:
    ...     w.write(pd.DataFrame({"a": [1]}))
    ...     w.write(pd.DataFrame({"a": [2]}))
    >>> pd.read_csv(os.path.join(d, "out.csv"))["a"].tolist()
    [1, 2]
    """

    def __init__(self, path: str | Path):
        self.path = check_output_path(path)
        self.format = self.path.suffix.lower()[1:]
        parent = self.path.parent if str(self.path.parent) else Path(".")
        try:
            self._file = AtomicFile(self.path)
        except OSError as exc:
            raise CxmlUserError(f"cannot write to {parent}: {exc.strerror}") from None
        self.tmp = self._file.tmp
        self._fh = self._file.file
        self._parquet: Any = None  # pyarrow ParquetWriter, created with the first chunk's schema
        self._arrow_schema: Any = None  # pyarrow.Schema of the first Parquet chunk
        self._csv_columns: list[str] | None = None  # set once the CSV header is written
        self.n_rows = 0
        self._done = False

    def write(self, df: pd.DataFrame) -> None:
        """Append a chunk to the table.

        Parameters
        ----------
        df : pandas.DataFrame
            Same columns and dtypes as the first chunk; its index is not written.
        """
        if self.format == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._parquet is None:
                table = pa.Table.from_pandas(df, preserve_index=False)
                self._arrow_schema = table.schema
                self._parquet = pq.ParquetWriter(self._fh, self._arrow_schema)
            else:
                table = pa.Table.from_pandas(df, schema=self._arrow_schema, preserve_index=False)
            self._parquet.write_table(table)
        else:
            df.to_csv(self._fh, index=False, header=self._csv_columns is None)
            self._csv_columns = list(df.columns)  # the header is written once
        self.n_rows += len(df)

    def commit(self) -> Path:
        """Close the table, then flush, fsync and rename it over the target.

        Returns
        -------
        Path
            The target file, now complete.
        """
        if self._done:
            return self.path
        try:
            if self._parquet is not None:
                self._parquet.close()
        except BaseException:
            self.abort()
            raise
        self._done = True
        self._file.commit()
        return self.path

    def abort(self) -> None:
        """Discard everything written so far (the target is left as it was)."""
        if self._done:
            return
        self._done = True
        try:
            if self._parquet is not None:
                self._parquet.close()
        except Exception:  # noqa: BLE001 - closing a broken writer; the file goes anyway
            pass
        self._file.abort()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` to ``path`` (``.parquet`` or ``.csv``) atomically.

    The table goes to a temporary file that is renamed over ``path``, so readers never see
    a half-written file (see :class:`TableWriter`).

    Parameters
    ----------
    df : pandas.DataFrame
        The table; its index is not written.
    path : str or Path
        Target file; the extension picks the format.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    CxmlUserError
        Unsupported extension, missing or unwritable directory.
    """
    with TableWriter(path) as w:
        w.write(df)
    return w.path


def open_writer(output):
    """A writer for ``output``: a :class:`TableWriter` for a path, a
    :class:`cxml.pipelines.DatabaseTableWriter` for an :class:`cxml.pipelines.OutputTable`."""
    from cxml.pipelines._output_table import DatabaseTableWriter, OutputTable

    if isinstance(output, OutputTable):
        return DatabaseTableWriter(output)
    return TableWriter(output)
