"""Where a local copy of a public data set is looked for: one search order for every loader.

cxml does not ship the real data sets it evaluates on. A loader finds a file ``FILE`` that
the shared data folder keeps as ``<data dir>/<SUBDIR>/<FILE>`` by looking, in this order:

1. the ``path`` argument (the file itself, or a folder holding ``<SUBDIR>/<FILE>`` or
   ``<FILE>``);
2. the folder in ``$CXML_DATA_DIR`` (when set, it is the only place searched);
3. ``../shared/data`` relative to the working directory and to each of its parents (the
   layout next to a checkout, ``<dir>/../shared/data/<SUBDIR>/<FILE>``).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_DIR_ENV", "data_candidates", "find_data_file"]

#: Environment variable naming the data folder (the one holding each data set's folder).
DATA_DIR_ENV = "CXML_DATA_DIR"


def _in_folder(folder: Path, subdir: str, filename: str) -> list[Path]:
    return [folder / subdir / filename, folder / filename]


def data_candidates(path, subdir: str, filename: str) -> list[Path]:
    """Every location searched for ``subdir/filename``, in order (module docstring)."""
    if path is not None:
        p = Path(path).expanduser()
        return _in_folder(p, subdir, filename) if p.is_dir() else [p]
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        # An explicit data folder is authoritative: pointing it at an empty folder is how
        # a user (or a test) asks for "no real data".
        return _in_folder(Path(env).expanduser(), subdir, filename)
    cwd = Path.cwd()
    seen: list[Path] = []
    for d in (cwd, *cwd.parents):
        candidate = d.parent / "shared" / "data" / subdir / filename
        if candidate not in seen:
            seen.append(candidate)
    return seen


def find_data_file(path, subdir: str, filename: str) -> Path | None:
    """The first existing file among :func:`data_candidates`, or None."""
    for candidate in data_candidates(path, subdir, filename):
        if candidate.is_file():
            return candidate
    return None
