"""The tamper-evident audit log: who read or wrote a person's data, in what role, for
what purpose, and with what outcome.

Each entry's hash is SHA-256 over the hash of the entry before it and the entry's own
fields and subjects (canonical JSON), so editing, removing, inserting or reordering an
entry breaks the chain from that entry on; :func:`AuditLog.verify` names the first
broken position. The newest entry's number and hash are also kept in a one-row head
table, updated in the same transaction as each append, so entries cut off the end
are found too.

Appends are serial: on SQLite every write transaction is ``BEGIN IMMEDIATE``; on
PostgreSQL the append locks the head row (``SELECT ... FOR UPDATE``). An append can run
inside the caller's transaction (:meth:`AuditLog.append` with ``connection``) so that
the entry commits with the write it describes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from socialcredit.store import Database
from socialcredit.store.tables import AUDIT_HEAD, AUDIT_LOG, AUDIT_SUBJECTS

GENESIS = "0" * 64
#: an entry about this many subjects or more has its subject rows made by the database
MANY_SUBJECTS = 64
#: entries read at a time by verify (memory stays flat on a long log)
VERIFY_BATCH = 5_000


@dataclass(frozen=True)
class AuditEntry:
    """What happened: ``actor`` (a key id or ``cli:<user>``), its ``role``, the
    ``purpose`` given, the ``action`` (e.g. ``check:transport.flight``), the
    ``outcome`` (e.g. ``allowed``, ``denied``, ``forbidden``) and the subjects."""

    actor: str
    role: str
    purpose: str
    action: str
    outcome: str
    subjects: tuple[str, ...] = ()
    at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    def fields(self, seq: int) -> dict[str, Any]:
        return {
            "seq": seq,
            "at": self.at,
            "actor": self.actor,
            "role": self.role,
            "purpose": self.purpose,
            "action": self.action,
            "outcome": self.outcome,
            "subject_count": len(self.subjects),
        }


#: the hashed fields of an entry, as stored (the columns of ``audit_log`` before its hashes)
FIELDS = tuple(AuditEntry("", "", "", "", "").fields(0))


def entry_hash(prev_hash: str, fields: dict[str, Any], subjects: Sequence[str]) -> str:
    canonical = json.dumps(
        {"prev": prev_hash, **fields, "subjects": list(subjects)},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Verification:
    """``ok``, the entries checked, and where the chain first breaks (``position``: the
    1-based place in the log as stored, ``seq``: the entry's number there)."""

    ok: bool
    entries: int
    position: int | None = None
    seq: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "position": self.position,
            "seq": self.seq,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class _Statements:
    """One statement with parameters (its result readable), and one statement over
    many rows of parameters, of whichever connection runs them."""

    one: Callable[[str, Sequence[Any]], Any]
    many: Callable[[str, Sequence[Sequence[Any]]], Any]

    @classmethod
    def of(cls, connection: Connection) -> _Statements:
        return cls(connection.exec_driver_sql, connection.exec_driver_sql)


class AuditLog:
    def __init__(self, database: Database) -> None:
        self.database = database

    def append(
        self, entries: Sequence[AuditEntry], connection: Connection | None = None
    ) -> list[int]:
        """Append ``entries`` in order (in ``connection``'s transaction if given, else
        in one of their own); their numbers."""
        numbers = self.try_append(entries, connection, wait=True)
        assert numbers is not None  # waiting, the turn always comes
        return numbers

    def try_append(
        self,
        entries: Sequence[AuditEntry],
        connection: Connection | None = None,
        wait: bool = False,
    ) -> list[int] | None:
        """:meth:`append`, or None at once (nothing written) if another writer has the
        turn and ``wait`` is false: an event loop retries rather than blocks."""
        if not entries:
            return []
        if connection is not None:
            return self._append(_Statements.of(connection), entries)
        with self.database.serial(wait) as turn:
            if not turn:
                return None
            if self.database.is_sqlite:  # the driver itself: a server appends per answer
                with self.database.driver_transaction() as driver:
                    return self._append(_Statements(driver.execute, driver.executemany), entries)
            with self.database.transaction() as own:
                return self._append(_Statements.of(own), entries)

    def _append(self, run: _Statements, entries: Sequence[AuditEntry]) -> list[int]:
        """The statements are the driver's own (SQLAlchemy's statement building cost
        several times SQLite's work); ``?`` marks on SQLite, ``%s`` elsewhere."""
        mark = "?" if self.database.is_sqlite else "%s"
        lock = "" if self.database.is_sqlite else " FOR UPDATE"
        head_query = f"SELECT seq, hash FROM audit_head WHERE id = 1{lock}"
        head = run.one(head_query, ()).fetchone()
        if head is None:  # the first append; of two at once, one waits here
            run.one(
                f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, {mark}) "
                "ON CONFLICT DO NOTHING",
                (GENESIS,),
            )
            head = run.one(head_query, ()).fetchone()
        seq, prev = int(head[0]), str(head[1])
        rows: list[tuple[Any, ...]] = []
        subjects: list[tuple[int, int, str]] = []
        many: list[tuple[int, list[str]]] = []  # entries about many subjects (batches)
        numbers = []
        for entry in entries:
            seq += 1
            fields = entry.fields(seq)
            digest = entry_hash(prev, fields, entry.subjects)
            rows.append((*fields.values(), prev, digest))
            prev = digest
            if len(entry.subjects) >= MANY_SUBJECTS:
                many.append((seq, list(entry.subjects)))
            else:
                subjects += [(seq, i, s) for i, s in enumerate(entry.subjects)]
            numbers.append(seq)
        columns = (*FIELDS, "prev_hash", "hash")
        run.many(
            f"INSERT INTO audit_log ({', '.join(columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))})",
            rows,
        )
        if subjects:
            run.many(
                f"INSERT INTO audit_subjects (seq, position, subject_id) "
                f"VALUES ({mark}, {mark}, {mark})",
                subjects,
            )
        for seq_of, listed in many:  # the rows made by the database from one array
            if self.database.is_sqlite:
                run.one(
                    "INSERT INTO audit_subjects (seq, position, subject_id) "
                    "SELECT ?, key, value FROM json_each(?)",
                    (seq_of, json.dumps(listed)),
                )
            else:
                run.one(
                    "INSERT INTO audit_subjects (seq, position, subject_id) "
                    "SELECT %s, n - 1, s FROM unnest(%s::text[]) WITH ORDINALITY AS t(s, n)",
                    (seq_of, listed),
                )
        run.one(f"UPDATE audit_head SET seq = {mark}, hash = {mark} WHERE id = 1", (seq, prev))
        return numbers

    def verify(self) -> Verification:
        """Walk the chain in stored order; the first entry that does not follow. One
        consistent view of the log and its head, while others append."""
        with self.database.reading(consistent=True) as connection:
            head = connection.execute(select(AUDIT_HEAD.c.seq, AUDIT_HEAD.c.hash)).first()
            prev, expected_seq, position = GENESIS, 1, 0
            for row, subjects in self._entries(connection):
                position += 1
                fields = {name: row[name] for name in FIELDS}
                problem = None
                if row["seq"] != expected_seq:
                    problem = f"entry number {row['seq']} where {expected_seq} was due"
                elif row["prev_hash"] != prev:
                    problem = "does not follow the entry before it (inserted, removed or moved)"
                elif entry_hash(prev, fields, subjects) != row["hash"]:
                    problem = "its contents do not match its hash (edited)"
                if problem:
                    return Verification(False, position - 1, position, int(row["seq"]), problem)
                prev, expected_seq = row["hash"], expected_seq + 1
            count = position
        if head is None:
            if count:
                return Verification(False, count, None, None, "the head record is missing")
            return Verification(True, 0)
        if int(head.seq) != count or str(head.hash) != prev:
            return Verification(
                False,
                count,
                count + 1 if int(head.seq) > count else None,
                int(head.seq),
                f"the log ends at entry {count} but its head records entry {int(head.seq)}"
                if int(head.seq) != count
                else "the last entry does not match the head record (edited)",
            )
        return Verification(True, count)

    def _entries(self, connection: Connection) -> Iterator[tuple[dict[str, Any], list[str]]]:
        after = -1
        while True:
            rows = connection.execute(
                select(AUDIT_LOG)
                .where(AUDIT_LOG.c.seq > after)
                .order_by(AUDIT_LOG.c.seq)
                .limit(VERIFY_BATCH)
            ).all()
            if not rows:
                return
            low, high = rows[0].seq, rows[-1].seq
            listed: dict[int, list[tuple[int, str]]] = {}
            for s in connection.execute(
                select(AUDIT_SUBJECTS).where(AUDIT_SUBJECTS.c.seq.between(low, high))
            ):
                listed.setdefault(int(s.seq), []).append((int(s.position), str(s.subject_id)))
            for row in rows:
                mapping = dict(row._mapping)
                yield mapping, [s for _, s in sorted(listed.get(int(row.seq), []))]
            after = high

    def for_subject(self, subject_id: str, limit: int = 1000) -> list[dict[str, Any]]:
        """Who looked at or changed this subject's data, newest first."""
        with self.database.reading() as connection:
            rows = connection.execute(
                select(AUDIT_LOG)
                .join(AUDIT_SUBJECTS, AUDIT_SUBJECTS.c.seq == AUDIT_LOG.c.seq)
                .where(AUDIT_SUBJECTS.c.subject_id == subject_id)
                .order_by(AUDIT_LOG.c.seq.desc())
                .limit(limit)
            ).all()
        return [
            {
                "seq": int(row.seq),
                "at": row.at,
                "actor": row.actor,
                "role": row.role,
                "purpose": row.purpose,
                "action": row.action,
                "outcome": row.outcome,
                "subjects_in_entry": int(row.subject_count),
            }
            for row in rows
        ]

    def count(self) -> int:
        with self.database.reading() as connection:
            return int(connection.execute(select(func.count()).select_from(AUDIT_LOG)).scalar_one())


class AuditWriter:
    """Appends entries handed in by many threads, each batch in one transaction (a
    group commit): a request waits for its own entry to be committed, as the log
    requires, but a busy server pays for one transaction per batch, not per request."""

    def __init__(self, log: AuditLog, max_batch: int = 2_000) -> None:
        self.log = log
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[AuditEntry, Future[int]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, entry: AuditEntry) -> Future[int]:
        """The entry's number, once committed (or the error that kept it out)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()
        done: Future[int] = Future()
        self._queue.put((entry, done))
        return done

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                numbers = self.log.append([entry for entry, _ in batch])
            except Exception as error:  # every waiter still waiting learns it
                for _, done in batch:
                    if done.set_running_or_notify_cancel():
                        done.set_exception(error)
            else:
                for (_, done), number in zip(batch, numbers, strict=True):
                    # a waiter that gave up cancelled its future: the entry stands
                    if done.set_running_or_notify_cancel():
                        done.set_result(number)
            if stop:
                return
