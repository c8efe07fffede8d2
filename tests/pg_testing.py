"""A throwaway PostgreSQL cluster for tests: initdb and pg_ctl in a temporary directory, on a
free loopback port, stopped and removed at the end; one new database per test.

PostgreSQL comes from Debian's package (`bash dev.sh test` installs it when initdb is missing).
initdb refuses to run as root: as root, the cluster runs as the `postgres` user that package
creates. When PostgreSQL cannot start, the tests that need it fail and say why, in CI as
anywhere; on a machine without it, `FEDI_SKIP_POSTGRES=1` (ignored when CI is set) skips them.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import asyncpg
import pytest

SKIP_VARIABLE = "FEDI_SKIP_POSTGRES"
RUN_AS = "postgres"  # the user Debian's package creates, for running the cluster as root
SETTINGS = ("-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=200")


class PostgresUnavailable(Exception):
    """PostgreSQL is not installed or would not start; the message says what happened."""


@dataclass
class PostgresCluster:
    root: Path
    bindir: Path
    port: int
    run_as: list[str]
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    async def new_database(self) -> str:
        """An empty database of its own (for one test); returns its URL."""
        name = f"fedi_test_{next(self._numbers)}"
        connection = await asyncpg.connect(self.url())
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return self.url(name)

    def stop(self) -> None:
        try:
            _run([*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                  "stop"], "pg_ctl stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> PostgresCluster:
    """initdb + pg_ctl start in a new temporary directory; raises PostgresUnavailable."""
    bindir = find_bindir()
    run_as = _run_as()
    root = Path(tempfile.mkdtemp(prefix="fedi-pg-", dir="/tmp" if run_as else None))  # reachable by RUN_AS
    if run_as:
        shutil.chown(root, RUN_AS, RUN_AS)
    cluster = PostgresCluster(root, bindir, _free_port(), run_as)
    try:
        _run([*run_as, str(bindir / "initdb"), "-D", str(cluster.data), "-U", "postgres",
              "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"], "initdb")
        _run([*run_as, str(bindir / "pg_ctl"), "-D", str(cluster.data), "-l", str(root / "server.log"),
              "-w", "-t", "60", "-o", f"-p {cluster.port} -k {root} {SETTINGS}", "start"],
             "pg_ctl start", log=root / "server.log")
    except PostgresUnavailable:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster


def find_bindir() -> Path:
    """Debian keeps the server programs in /usr/lib/postgresql/VERSION/bin (newest first)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        found.append(Path(on_path).resolve())
    for initdb in found:
        if (initdb.parent / "pg_ctl").exists():
            return initdb.parent
    raise PostgresUnavailable("initdb not found (install PostgreSQL: `bash dev.sh test` does it,"
                              " or apt-get install postgresql)")


def start_cluster_for_tests() -> PostgresCluster:
    """`start_cluster`, or the test fails saying why (skips only when asked to, never in CI)."""
    try:
        return start_cluster()
    except PostgresUnavailable as error:
        reason = str(error)
    _not_available(reason)


def _not_available(reason: str) -> NoReturn:
    message = f"PostgreSQL could not be started for the tests: {reason}"
    if os.environ.get(SKIP_VARIABLE) == "1" and not os.environ.get("CI"):
        pytest.skip(f"{message} ({SKIP_VARIABLE}=1)")
    pytest.fail(f"{message}\n(set {SKIP_VARIABLE}=1 to skip these tests on a machine without it)",
                pytrace=False)


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        raise PostgresUnavailable(f"running as root, and there is no {RUN_AS!r} user to run"
                                  " PostgreSQL as (initdb refuses root)") from None
    return ["runuser", "-u", RUN_AS, "--"]


def _run(command: list[str], what: str, log: Path | None = None) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PostgresUnavailable(f"{what}: {error}") from error
    if result.returncode != 0:
        details = (result.stderr or result.stdout).strip()
        if log is not None and log.exists():
            details += "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise PostgresUnavailable(f"{what} failed ({result.returncode}): {details}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
