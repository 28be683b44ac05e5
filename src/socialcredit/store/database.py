"""One engine per store, made from the settings; writes in short transactions.

SQLite: write-ahead logging, a busy timeout, and ``BEGIN IMMEDIATE`` for every
transaction, so that two writers (two server processes) queue instead of failing on a
lock upgrade. PostgreSQL: the default isolation; appends that must be serial lock a
row (see :mod:`socialcredit.audit`).
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from socialcredit.store.tables import METADATA


class Database:
    """The store at ``url``; its tables are created on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _engine(url)
        self._thread_lock = threading.Lock()
        METADATA.create_all(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def serial(self) -> Iterator[None]:
        """Writers that must take turns across processes (SQLite): an exclusive lock
        on a file beside the database, which wakes the next writer the moment it is
        released (SQLite's own busy wait sleeps in steps of milliseconds). Elsewhere
        (PostgreSQL) a no-op: row locks do it."""
        handle = self._write_lock
        if handle is None:
            yield
            return
        with self._thread_lock:  # flock is per open file, not per thread
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @cached_property
    def _write_lock(self) -> BinaryIO | None:
        database = make_url(self.url).database if self.is_sqlite else None
        if not database or database == ":memory:":
            return None
        return open(f"{database}.write-lock", "a+b")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a transaction, committed on success, rolled back on error."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads only (on SQLite it takes no write lock)."""
        with self.engine.connect().execution_options(reads_only=True) as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()
        lock = self.__dict__.pop("_write_lock", None)
        if lock is not None:
            lock.close()


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        reads_only = connection.get_execution_options().get("reads_only", False)
        connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")

    return engine
