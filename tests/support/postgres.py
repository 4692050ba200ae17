"""A throwaway PostgreSQL server for the tests (Debian's postgresql package, no service)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from frontline.rasa import free_port


def pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


class PostgresCluster:
    """A private cluster on a free port, owned by this process: ``start``, ``stop`` (to test
    what happens while the database is away) and ``start`` again; ``url`` for SQLAlchemy."""

    def __init__(self) -> None:
        bindir = pg_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bindir = bindir
        self.root = tempfile.mkdtemp(prefix="frontline-pg-")
        self.data = os.path.join(self.root, "data")
        self.port = free_port()
        self.url = f"postgresql+psycopg2://frontline@127.0.0.1:{self.port}/frontline_test"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.root, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "frontline", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, f"{self.bindir}/{tool}", *args], check=True,
                       capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.root, "log"), "-w", "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off",
                  "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast`` ends sessions; ``immediate`` is a crash)."""
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def remove(self) -> None:
        subprocess.run([*self.as_user, f"{self.bindir}/pg_ctl", "-D", self.data, "-m",
                        "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A started private cluster with an empty ``frontline_test`` database; removed after."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        cluster._run("createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "frontline",
                     "frontline_test")
        yield cluster
    finally:
        cluster.remove()


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a private cluster on a free port; yield an SQLAlchemy URL; stop and delete it."""
    with postgres_cluster() as cluster:
        yield cluster.url
