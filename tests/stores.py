"""The store's two backends for tests: SQLite files, and a real PostgreSQL server
(Debian's ``postgresql``) initialised and started in a temporary directory on a free
loopback port, once per session, with a fresh database per test."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from socialcredit.web.server import free_port


def _bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """``postgresql+psycopg://...`` of a server of this session's own (its
    ``postgres`` database)."""
    bindir = _bin()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL tests must run under CI: .ci/run installs postgresql")
        pytest.skip("install PostgreSQL (apt-get install postgresql) for these tests")
    # not under pytest's own directory: its parents are closed to the postgres user
    base = Path(tempfile.mkdtemp(prefix="socialcredit-postgres-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run it as the package's own user
        owner = pwd.getpwnam("postgres")
        os.chown(base, owner.pw_uid, owner.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", free_port()
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "socialcredit",
         "--auth=trust", "-E", "UTF8", "--no-locale"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
         "-l", str(base / "log"), "-w", "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql+psycopg://socialcredit@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def fresh_postgres_database(server: str) -> str:
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    address = server.removeprefix("postgresql+psycopg://")
    with psycopg.connect(f"postgresql://{address}/postgres", autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return f"{server}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    server: str = request.getfixturevalue("postgres_server")
    return fresh_postgres_database(server)
