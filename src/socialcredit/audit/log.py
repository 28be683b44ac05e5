"""The tamper-evident audit log: who read or wrote a person's data, in what role, for
what purpose, and with what outcome.

Each entry's hash is SHA-256 over the hash of the entry before it and the entry's own
fields and subjects (canonical JSON), so editing, removing, inserting or reordering an
entry breaks the chain from that entry on; :func:`AuditLog.verify` names the first
broken position. The newest entry's number and hash are also kept in a one-row head
table, updated in the same transaction as each append, so entries cut off the end
are found too.

An entry's subjects are stored with it, in order (one JSON array); which entries name
a given subject is found through :mod:`socialcredit.audit.subject_index`.

Appends are serial: on SQLite every write transaction is ``BEGIN IMMEDIATE``; on
PostgreSQL the append locks the head row (``SELECT ... FOR UPDATE``). An append can run
inside the caller's transaction (:meth:`AuditLog.append` with ``connection``) so that
the entry commits with the write it describes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, select

from socialcredit.audit.subject_index import SubjectIndex
from socialcredit.audit.subjects import (
    contains,
    pairs_digest,
    quoted,
    stored_subjects,
    subject_keys,
)
from socialcredit.store import Database
from socialcredit.store.tables import AUDIT_HEAD, AUDIT_LOG

GENESIS = "0" * 64
#: an entry about this many subjects or more takes long enough to hash and store to be
#: appended off a server's event loop
MANY_SUBJECTS = 64
#: entries read at a time by verify (memory stays flat on a long log)
VERIFY_BATCH = 200
#: a command that appends indexes the tail once it names this many subjects (a server
#: indexes every second instead)
TAIL_PAIRS = 16_384


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


def as_stored(subjects: Sequence[str]) -> str:
    """An entry's subjects as stored: compact JSON, not ASCII-escaped (look-ups search
    this exact text, so ``verify`` refuses any other spelling of the same list)."""
    return json.dumps(list(subjects), ensure_ascii=False, separators=(",", ":"))


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
    #: the chain is intact but the index by subject is not (``audit reindex`` remakes it)
    index_problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "position": self.position,
            "seq": self.seq,
            "problem": self.problem,
            "index_problem": self.index_problem,
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
    def __init__(self, database: Database, maintains_index: bool = True) -> None:
        """``maintains_index``: an append made in its own transaction then indexes the
        tail once it is ``TAIL_PAIRS`` long (a server passes False and runs an
        :class:`~socialcredit.audit.subject_index.IndexMaintainer` instead)."""
        self.database = database
        self.index = SubjectIndex(database)
        self.maintains_index = maintains_index

    def append(
        self, entries: Sequence[AuditEntry], connection: Connection | None = None
    ) -> list[int]:
        """Append ``entries`` in order (in ``connection``'s transaction if given, else
        in one of their own); their numbers."""
        numbers = self.try_append(entries, connection, wait=True)
        assert numbers is not None  # waiting, the turn always comes
        if connection is None and self.maintains_index:
            self.index.maintain(min_tail_pairs=TAIL_PAIRS)
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
        numbers = []
        for entry in entries:
            seq += 1
            fields = entry.fields(seq)
            digest = entry_hash(prev, fields, entry.subjects)
            stored = as_stored(entry.subjects)
            rows.append((*fields.values(), stored, prev, digest))
            prev = digest
            numbers.append(seq)
        columns = (*FIELDS, "subjects", "prev_hash", "hash")
        run.many(
            f"INSERT INTO audit_log ({', '.join(columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))})",
            rows,
        )
        run.one(f"UPDATE audit_head SET seq = {mark}, hash = {mark} WHERE id = 1", (seq, prev))
        return numbers

    def verify(self, anchors: Sequence[tuple[int, str]] = ()) -> Verification:
        """Walk the chain in stored order; the first entry that does not follow, or
        whose hash is not the one an anchor (entry number, hash: :meth:`head` as
        recorded outside the store) gives: a chain rewritten from the start follows
        itself, but not its anchors. Then the index by subject: it must hold exactly
        the pairs of the entries it covers. One consistent view of the log, its head
        and its index, while others append."""
        anchored = dict(anchors)
        with self.database.reading(consistent=True) as connection:
            index = self.index.check(connection)  # first: it covers no entry the log lacks
            head = connection.execute(select(AUDIT_HEAD.c.seq, AUDIT_HEAD.c.hash)).first()
            prev, expected_seq, position = GENESIS, 1, 0
            indexed_pairs, digest = 0, 0
            for row in self._entries(connection):
                position += 1
                fields = {name: row[name] for name in FIELDS}
                subjects = stored_subjects(row["subjects"])
                problem = None
                if row["seq"] != expected_seq:
                    problem = f"entry number {row['seq']} where {expected_seq} was due"
                elif row["prev_hash"] != prev:
                    problem = "does not follow the entry before it (inserted, removed or moved)"
                elif (
                    subjects is None
                    or row["subjects"] != as_stored(subjects)  # look-ups search this text
                    or entry_hash(prev, fields, subjects) != row["hash"]
                ):
                    problem = "its contents do not match its hash (edited)"
                elif anchored.get(row["seq"], row["hash"]) != row["hash"]:
                    problem = (
                        "its hash is not the anchored one: the log was rewritten "
                        "from this entry or before"
                    )
                if problem:
                    return Verification(False, position - 1, position, int(row["seq"]), problem)
                assert subjects is not None
                if row["seq"] <= index.watermark and subjects:
                    keys = subject_keys(subjects)
                    seqs = np.full(len(keys), row["seq"], np.int64)
                    digest = (digest + pairs_digest(keys, seqs)) % (1 << 64)
                    indexed_pairs += len(keys)
                prev, expected_seq = row["hash"], expected_seq + 1
            count = position
        beyond = sorted(seq for seq in anchored if seq > count)
        if beyond:
            return Verification(
                False,
                count,
                count + 1,
                beyond[0],
                f"the log ends at entry {count}, before anchored entry {beyond[0]} (cut short)",
            )
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
        index_problem = index.problem
        if index_problem is None and (index.pairs, index.digest) != (indexed_pairs, digest):
            index_problem = (
                f"the index by subject holds {index.pairs:,} pairs where the log's first "
                f"{index.watermark:,} entries name {indexed_pairs:,}"
                + (
                    " (the same number, but not the same pairs)"
                    if index.pairs == indexed_pairs
                    else ""
                )
            )
        if index_problem is not None:
            return Verification(False, count, index_problem=index_problem)
        return Verification(True, count)

    def _entries(self, connection: Connection) -> Iterator[dict[str, Any]]:
        result = connection.execution_options(yield_per=VERIFY_BATCH).execute(
            select(AUDIT_LOG).order_by(AUDIT_LOG.c.seq)
        )
        for row in result:
            yield dict(row._mapping)

    def for_subject(self, subject_id: str, limit: int = 1000) -> list[dict[str, Any]]:
        """Who looked at or changed this subject's data, newest first."""
        needle = quoted(subject_id)
        columns = [AUDIT_LOG.c[name] for name in FIELDS]
        found: list[Any] = []
        with self.database.reading(consistent=True) as connection:
            candidates = self.index.entries_about(connection, subject_id)
            for start in range(0, len(candidates), limit):
                chunk = [int(seq) for seq in candidates[start : start + limit]]
                found += connection.execute(
                    select(*columns)
                    .where(
                        AUDIT_LOG.c.seq.in_(chunk),
                        contains(needle, self.database.engine.dialect.name),
                    )
                    .order_by(AUDIT_LOG.c.seq.desc())
                ).all()
                if len(found) >= limit:
                    break
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
            for row in found[:limit]
        ]

    def head(self) -> tuple[int, str] | None:
        """The newest entry's number and hash: recorded outside the store (printed,
        sent elsewhere), an anchor that ``verify`` checks the log against later."""
        with self.database.reading() as connection:
            row = connection.execute(select(AUDIT_HEAD.c.seq, AUDIT_HEAD.c.hash)).first()
        return None if row is None else (int(row.seq), str(row.hash))

    def count(self) -> int:
        with self.database.reading() as connection:
            return int(connection.execute(select(func.count()).select_from(AUDIT_LOG)).scalar_one())
