"""One engine per store, made from the settings; writes in short transactions.

SQLite: write-ahead logging, a busy timeout, and ``BEGIN IMMEDIATE`` for every
transaction, so that two writers (two server processes) queue instead of failing on a
lock upgrade. PostgreSQL: the default isolation; appends that must be serial lock a
row (see :mod:`socialcredit.audit`).
"""

from __future__ import annotations

import fcntl
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, inspect
from sqlalchemy.engine import make_url

from socialcredit.store.tables import INDEX_METADATA, METADATA


class Database:
    """The store at ``url``; its tables are created on first use."""

    def __init__(
        self, url: str, checkpoints_apart: bool = False, tables: MetaData = METADATA
    ) -> None:
        """``checkpoints_apart`` (servers): SQLite's write-ahead log is copied into the
        database by :meth:`checkpoint`, called from a thread of the server's own, not
        by whichever write fills it (a checkpoint syncs the disk: milliseconds inside
        an answer's commit otherwise). ``tables``: those this store holds."""
        self.url = url
        self.engine = _engine(url, checkpoints_apart)
        self._thread_lock = threading.Lock()
        self._named_locks: dict[str, threading.Lock] = {}
        if tables is METADATA:
            from socialcredit.store import migrate

            migrate.upgrade(self.engine)  # the store's schema: Alembic's migrations
        else:
            tables.create_all(self.engine)  # derived data (the audit index): no history
        try:
            _require_columns(self.engine, tables)
        except OutdatedStoreError:
            if tables is not INDEX_METADATA:
                raise
            tables.drop_all(self.engine)  # derived data: made again from the log
            tables.create_all(self.engine)

    @cached_property
    def audit_index(self) -> Database:
        """Where the audit log's index by subject is kept. SQLite: a file of its own
        beside this one (``<name>.audit-index``), so that writing the index never
        makes an append wait for the one write lock; elsewhere this store. An index
        left beside another store's file is found and remade (its newest entry is not
        in this log)."""
        parsed = make_url(self.url)
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)  # named after the whole name: one per store
            beside = parsed.set(database=str(path.with_name(f"{path.name}.audit-index")))
            return Database(beside.render_as_string(hide_password=False), tables=INDEX_METADATA)
        INDEX_METADATA.create_all(self.engine)
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def serial(self, wait: bool = True) -> Iterator[bool]:
        """Writers that must take turns across processes (SQLite): an exclusive lock
        on a file beside the database, which wakes the next writer the moment it is
        released (SQLite's own busy wait sleeps in steps of milliseconds). Elsewhere
        (PostgreSQL) a no-op: row locks do it. Yields whether the turn was taken: with
        ``wait`` false, False at once if another writer has it."""
        handle = self._write_lock
        if handle is None:
            yield True
            return
        if not self._thread_lock.acquire(blocking=wait):  # flock is per file, not thread
            yield False
            return
        try:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    @cached_property
    def _write_lock(self) -> BinaryIO | None:
        return self._lock_file("write")

    def _lock_file(self, name: str) -> BinaryIO | None:
        """The file ``<database>.<name>-lock`` (SQLite on a file), None elsewhere."""
        database = make_url(self.url).database if self.is_sqlite else None
        if not database or database == ":memory:":
            return None
        return open(f"{database}.{name}-lock", "a+b")

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """At most one holder of ``name`` across threads and processes, never waiting:
        yields False at once if another has it (background work that one process does
        for all). SQLite: a lock file; PostgreSQL: a session advisory lock."""
        thread_lock = self._named_locks.setdefault(name, threading.Lock())
        if not thread_lock.acquire(blocking=False):
            yield False
            return
        try:
            if not self.is_sqlite:
                with self.engine.connect() as connection:
                    number = zlib.crc32(name.encode("utf-8"))
                    taken = connection.exec_driver_sql(
                        "SELECT pg_try_advisory_lock(%s)", (number,)
                    ).scalar()
                    connection.commit()
                    if not taken:
                        yield False
                        return
                    try:
                        yield True
                    finally:
                        try:
                            connection.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (number,))
                            connection.commit()
                        except Exception:  # a session lock must not stay on a pooled one
                            connection.invalidate()
                return
            handle = self._lock_file(name)
            if handle is None:  # an in-memory database lives in this process only
                yield True
                return
            with handle:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    yield False
                    return
                yield True  # closing the file releases the lock
        finally:
            thread_lock.release()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a transaction, committed on success, rolled back on error."""
        with self.engine.begin() as connection:
            yield connection

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database without blocking writers
        (SQLite's passive checkpoint); nothing elsewhere."""
        if self.is_sqlite:
            with self.engine.connect() as connection:
                driver = connection.connection.driver_connection
                if driver is not None:
                    driver.execute("PRAGMA wal_checkpoint(PASSIVE)")

    @contextmanager
    def driver_transaction(self) -> Iterator[Any]:
        """SQLite: the driver's own connection (``sqlite3``) in a ``BEGIN IMMEDIATE``
        transaction, committed on success, rolled back on error: for statements run
        often enough that SQLAlchemy's own work would cost more than SQLite's."""
        with self.engine.connect() as connection:
            driver = connection.connection.driver_connection
            if driver is None:
                raise RuntimeError("the pool gave no driver connection")
            driver.execute("BEGIN IMMEDIATE")
            try:
                yield driver
            except BaseException:
                driver.execute("ROLLBACK")
                raise
            driver.execute("COMMIT")

    @contextmanager
    def reading(self, consistent: bool = False) -> Iterator[Connection]:
        """A connection for reads only (on SQLite it takes no write lock);
        ``consistent``: every read sees the same moment (PostgreSQL's repeatable read;
        a SQLite read transaction already does)."""
        connection = self.engine.connect().execution_options(reads_only=True)
        if consistent and not self.is_sqlite:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection:
            yield connection

    def dispose(self) -> None:
        index = self.__dict__.pop("audit_index", None)
        if index is not None and index is not self:
            index.dispose()
        self.engine.dispose()
        lock = self.__dict__.pop("_write_lock", None)
        if lock is not None:
            lock.close()


class OutdatedStoreError(RuntimeError):
    """The store's tables were made by an earlier version (no migrations yet)."""


def _require_columns(engine: Engine, tables: MetaData) -> None:
    found = inspect(engine)
    for table in tables.sorted_tables:
        have = {column["name"] for column in found.get_columns(table.name)}
        missing = sorted(set(table.columns.keys()) - have)
        if missing:
            raise OutdatedStoreError(
                f"table {table.name} has no column {', '.join(missing)}: the store was made by "
                "an earlier version of socialcredit; move it aside to start a new one"
            )


def _engine(url: str, checkpoints_apart: bool) -> Engine:
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
        if checkpoints_apart:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        reads_only = connection.get_execution_options().get("reads_only", False)
        connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")

    return engine
