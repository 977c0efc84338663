"""A real PostgreSQL server for the test session (Debian's ``postgresql`` package).

``initdb`` on a temporary directory, ``pg_ctl start`` on a free port of 127.0.0.1, a
database ``cxml`` owned by a password user ``cxml``; stopped at the end of the session.
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` system
user (created by the package). Skips cleanly when PostgreSQL is not installed.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD = "pg-S3cret-7f2c"  # what the leak test greps every output for


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    database: str

    def url(self, password: str | None = None) -> str:
        pw = self.password if password is None else password
        return f"postgres://{self.user}:{pw}@{self.host}:{self.port}/{self.database}"


def _bin_dir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server():
    """A running PostgreSQL server (see the module docstring); skips without one."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    try:
        import psycopg
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'ibis-framework[postgres]')")
    prefix: list[str] = []
    # a directory of its own under the system temp dir: pytest's base temp directory is
    # private to the user running the tests, which the postgres user is not
    root = Path(tempfile.mkdtemp(prefix="cxml-postgres-"))
    data = root / "data"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL")
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL")
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    pwfile = root / "pw"
    pwfile.write_text("bootstrap\n")
    if prefix:
        shutil.chown(pwfile, "postgres")

    def run(*cmd):
        done = subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{' '.join(cmd[:1])} failed: {done.stderr.strip()}")

    run(
        f"{bin_dir}/initdb",
        "-D",
        str(data),
        "-U",
        "admin",
        "--auth=scram-sha-256",
        f"--pwfile={pwfile}",
        "-E",
        "UTF8",
        "--locale=C",
    )
    port = _free_port()
    run(
        f"{bin_dir}/pg_ctl",
        "-D",
        str(data),
        "-w",
        "-l",
        str(root / "log"),
        "-o",
        f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off",
        "start",
    )
    try:
        admin = f"postgresql://admin:bootstrap@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f"CREATE USER cxml PASSWORD '{PASSWORD}'")
            con.execute("CREATE DATABASE cxml OWNER cxml")
        yield PostgresServer("127.0.0.1", port, "cxml", PASSWORD, "cxml")
    finally:
        subprocess.run(
            [*prefix, f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(root, ignore_errors=True)
