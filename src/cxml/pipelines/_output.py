"""Atomic table output: write to a temporary file next to the target, then rename.

Readers never see a half-written file: the data goes to a hidden temporary file in the
target's directory (``.NAME.cxml-PID-XXXX.tmp``), is flushed and fsynced, and is renamed
over the target with :func:`os.replace` (atomic on POSIX and Windows within one file
system). A Python exception removes the temporary file. A process killed with SIGKILL
cannot clean up; its temporary file is removed by the next writer of the same target once
the writing process (named by the PID in the file name) no longer exists.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import pandas as pd

from cxml.exceptions import CxmlUserError

__all__ = ["TableWriter", "check_output_path", "write_table"]

logger = logging.getLogger(__name__)

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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _remove_stale_temporaries(p: Path) -> None:
    """Delete temporary files of earlier writers of ``p`` that were killed mid-way."""
    prefix = f".{p.name}.cxml-"
    parent = p.parent if str(p.parent) else Path(".")
    for f in parent.iterdir():
        if not (f.name.startswith(prefix) and f.name.endswith(".tmp")):
            continue
        pid_part = f.name[len(prefix):].split("-", 1)[0]
        if pid_part.isdigit() and int(pid_part) != os.getpid() and not _pid_alive(int(pid_part)):
            logger.info("removing %s left by a killed writer (pid %s)", f, pid_part)
            f.unlink(missing_ok=True)


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
            _remove_stale_temporaries(self.path)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.cxml-{os.getpid()}-",
                                       suffix=".tmp", dir=parent)
        except OSError as exc:
            raise CxmlUserError(f"cannot write to {parent}: {exc.strerror}") from None
        self.tmp = Path(tmp)
        self._fh = os.fdopen(fd, "wb")
        self._parquet = None  # pyarrow ParquetWriter, created with the first chunk's schema
        self._schema = None
        self.n_rows = 0
        self._done = False

    def write(self, df: pd.DataFrame) -> None:
        """Append ``df`` (same columns and dtypes as the first chunk; index not written)."""
        if self.format == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._parquet is None:
                table = pa.Table.from_pandas(df, preserve_index=False)
                self._schema = table.schema
                self._parquet = pq.ParquetWriter(self._fh, self._schema)
            else:
                table = pa.Table.from_pandas(df, schema=self._schema, preserve_index=False)
            self._parquet.write_table(table)
        else:
            df.to_csv(self._fh, index=False, header=self._schema is None)
            self._schema = list(df.columns)  # the header is written once
        self.n_rows += len(df)

    def commit(self) -> Path:
        """Flush, fsync and rename the temporary file over the target."""
        if self._done:
            return self.path
        try:
            if self._parquet is not None:
                self._parquet.close()
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise
        self._done = True
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
        self._fh.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> "TableWriter":
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
