"""Atomic file output: write to a temporary file next to the target, then rename it over.

The one atomic writer of cxml (score tables, model files, ``bundle.json``). Readers never
see a half-written file: the bytes go to a hidden temporary file in the target's directory
(``.NAME.cxml-PID-XXXX.tmp``), are flushed and fsynced, and the file is renamed over the
target with :func:`os.replace` (atomic on POSIX and Windows within one file system). A
Python exception removes the temporary file. A process killed with SIGKILL cannot clean up;
its temporary file is removed by the next writer of the same target once the writing
process (named by the PID in the file name) no longer exists.

The file gets the mode an ordinary ``open(path, "w")`` would give it (``0o666`` minus the
umask: 0644 under umask 022), not the 0600 of :func:`tempfile.mkstemp`.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

__all__ = ["AtomicFile", "write_atomic"]

logger = logging.getLogger(__name__)

_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask, read without changing it where the OS allows."""
    try:
        with open("/proc/self/status") as fh:  # Linux >= 4.7
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:  # elsewhere: set and restore (the only portable way to read it)
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


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
    for f in p.parent.iterdir():
        if not (f.name.startswith(prefix) and f.name.endswith(".tmp")):
            continue
        pid_part = f.name[len(prefix) :].split("-", 1)[0]
        if pid_part.isdigit() and int(pid_part) != os.getpid() and not _pid_alive(int(pid_part)):
            logger.info("removing %s left by a killed writer (pid %s)", f, pid_part)
            f.unlink(missing_ok=True)


class AtomicFile:
    """A binary file that appears at ``path`` only when :meth:`commit` is called.

    The temporary file is created by the constructor, so an unwritable directory fails
    before any expensive work. As a context manager, leaving the block normally commits
    and an exception aborts (the target is left as it was).

    Parameters
    ----------
    path : str or Path
        The target file; its directory must exist.

    Attributes
    ----------
    path : Path
        The target.
    tmp : Path
        The temporary file being written.
    file : io.BufferedWriter
        Write the content here.

    Raises
    ------
    OSError
        The directory does not exist or is not writable.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> with AtomicFile(os.path.join(d, "a.txt")) as f:
    ...     _ = f.file.write(b"hello")
    >>> with open(os.path.join(d, "a.txt")) as g:
    ...     g.read()
    'hello'
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not str(self.path.parent):
            self.path = Path(".") / self.path
        _remove_stale_temporaries(self.path)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.cxml-{os.getpid()}-", suffix=".tmp", dir=self.path.parent
        )
        self.tmp = Path(tmp)
        try:
            os.fchmod(fd, 0o666 & ~_umask())  # what open() would have created
        except (AttributeError, OSError):  # no fchmod (Windows): keep mkstemp's mode
            pass
        self.file = os.fdopen(fd, "wb")
        self._done = False

    def commit(self) -> Path:
        """Flush, fsync and rename the temporary file over the target."""
        if self._done:
            return self.path
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise
        self._done = True
        return self.path

    def abort(self) -> None:
        """Discard everything written so far."""
        if self._done:
            return
        self._done = True
        self.file.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text is UTF-8 encoded) to ``path`` atomically.

    Parameters
    ----------
    path : str or Path
        Target file; replaced only once fully written.
    data : bytes or str
        The content.

    Returns
    -------
    Path
        ``path``.
    """
    with AtomicFile(path) as f:
        f.file.write(data.encode("utf-8") if isinstance(data, str) else data)
    return f.path
