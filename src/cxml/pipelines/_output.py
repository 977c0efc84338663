"""Atomic table output: write to a temporary file next to the target, then rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from cxml.exceptions import CxmlUserError

__all__ = ["write_table"]

_FORMATS = (".parquet", ".csv")


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` to ``path`` (``.parquet`` or ``.csv``) so that readers never see a
    half-written file: the data goes to a temporary file in the same directory, is
    flushed to disk, and is renamed over the target.

    Raises
    ------
    CxmlUserError
        Unsupported extension, missing or unwritable directory.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in _FORMATS:
        raise CxmlUserError(f"output {p}: unsupported extension {p.suffix!r}; use .parquet or .csv")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise CxmlUserError(f"output directory does not exist: {parent}")
    if p.is_dir():
        raise CxmlUserError(f"output path {p} is a directory")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise CxmlUserError(f"cannot write to {parent}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            if suffix == ".parquet":
                df.to_parquet(fh, index=False)
            else:
                df.to_csv(fh, index=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p
