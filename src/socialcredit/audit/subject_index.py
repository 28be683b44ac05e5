"""The audit log's index by subject: which entries are about a given person.

A B-tree with one row per subject an entry names costs a random insert per subject,
and every commit rewrites the index pages it touched: with a million rows, 14 us a
subject, most of a batch check's time. This index is built apart from the appends
instead, as sorted runs (a log-structured merge):

* a subject id maps to a 64-bit key (:func:`.subjects.subject_keys`: a fixed mixing function,
  since the keys are stored);
* :meth:`SubjectIndex.maintain` (a server's maintainer process, or the command that
  appended) turns the entries not yet indexed, the tail, into a run: its (key, entry
  number) pairs sorted, stored in pages of ``PAGE_PAIRS``;
* ``FANOUT`` runs of like size are merged into one, so a look-up seeks in a few runs;
* a look-up adds the tail, scanned, so it is exact whether or not the index is behind.

A run is written while not yet ``live`` and made live in one transaction (that also
retires the runs it replaces), so readers, each in one consistent transaction, see
every indexed entry exactly once. The index is derived from the log: ``audit verify``
checks it holds exactly the log's pairs, and :meth:`SubjectIndex.rebuild` remakes it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, delete, func, insert, select, update

from socialcredit.audit.subjects import (
    contains,
    pairs_digest,
    parse_subjects,
    quoted,
    stored_subjects,
    subject_keys,
)
from socialcredit.store import Database
from socialcredit.store.tables import AUDIT_INDEX_PAGES, AUDIT_INDEX_RUNS, AUDIT_LOG

log = logging.getLogger(__name__)

#: pairs in one stored page (64 KiB of keys and entry numbers)
PAGE_PAIRS = 4096
#: pages written in one transaction: another maintainer's look-up of the lock, and
#: PostgreSQL's appends (one store there), wait for at most this much
WRITE_PAGES = 16
#: runs of one size tier merged at once
FANOUT = 8
#: runs smaller than this are the first tier; each tier above is FANOUT times larger
FIRST_TIER_PAIRS = 4096
#: no merge makes a run larger than this (a merge holds its pairs in memory: 16 bytes
#: each, and as much again to sort them)
FINAL_RUN_PAIRS = 1 << 24
#: the most pairs one new run takes from the tail
BUILD_PAIRS = 1 << 20
#: entries read at a time from the log
READ_ENTRIES = 500


@dataclass(frozen=True)
class Run:
    run: int
    first_seq: int
    last_seq: int
    pairs: int
    #: the hash of the log's entry ``last_seq``: an index that does not match its log
    #: (a store moved aside, a backup restored) is not used
    last_hash: str

    @property
    def tier(self) -> int:
        if self.pairs < FIRST_TIER_PAIRS:
            return 0
        return 1 + int(math.log(self.pairs / FIRST_TIER_PAIRS, FANOUT))


@dataclass(frozen=True)
class IndexCheck:
    """What :meth:`SubjectIndex.check` found: the pairs indexed, and the problem if any."""

    pairs: int
    watermark: int
    digest: int
    problem: str | None


class SubjectIndex:
    def __init__(self, database: Database) -> None:
        """The index of ``database``'s log, kept in ``database.audit_index``."""
        self.log_store = database
        self.store = database.audit_index

    @contextmanager
    def _reading(self, log_connection: Connection) -> Iterator[Connection]:
        """The index as one consistent view, read before the log's own view begins (an
        entry indexed is then always in the log as read): the same transaction when
        both are in one store."""
        if self.store is self.log_store:
            yield log_connection
        else:
            with self.store.reading(consistent=True) as connection:
                yield connection

    # -- reading (in the caller's consistent read transaction) --------------------------

    def live_runs(self, connection: Connection) -> list[Run]:
        rows = connection.execute(
            select(
                AUDIT_INDEX_RUNS.c.run,
                AUDIT_INDEX_RUNS.c.first_seq,
                AUDIT_INDEX_RUNS.c.last_seq,
                AUDIT_INDEX_RUNS.c.pairs,
                AUDIT_INDEX_RUNS.c.last_hash,
            )
            .where(AUDIT_INDEX_RUNS.c.live.is_(True))
            .order_by(AUDIT_INDEX_RUNS.c.first_seq)
        ).all()
        return [Run(int(r[0]), int(r[1]), int(r[2]), int(r[3]), str(r[4])) for r in rows]

    @staticmethod
    def belongs(runs: Sequence[Run], log_connection: Connection) -> bool:
        """Whether the index is of this log: its newest indexed entry is there, with the
        same hash (hash-chained, so every entry before it is the same too)."""
        if not runs:
            return True
        newest = max(runs, key=lambda run: run.last_seq)
        found = log_connection.execute(
            select(AUDIT_LOG.c.hash).where(AUDIT_LOG.c.seq == newest.last_seq)
        ).scalar()
        return found == newest.last_hash

    @staticmethod
    def watermark(runs: Sequence[Run]) -> int:
        """Entries up to this number are indexed; those after it are the tail."""
        return max((run.last_seq for run in runs), default=0)

    def entries_about(self, log_connection: Connection, subject_id: str) -> np.ndarray:
        """The numbers of the entries that name ``subject_id``, newest first (the log
        read through ``log_connection``, which must not have read yet). Indexed ones
        may include an entry whose other subject shares the key: the caller confirms
        against the stored subjects (:func:`contains`)."""
        key = int(subject_keys([subject_id])[0])
        with self._reading(log_connection) as connection:
            runs = self.live_runs(connection)
            found = [self._in_run(connection, run.run, key) for run in runs]
        if not self.belongs(runs, log_connection):  # another log's: scan all (maintain mends)
            runs, found = [], []
        tail = log_connection.execute(
            select(AUDIT_LOG.c.seq, AUDIT_LOG.c.subjects).where(
                AUDIT_LOG.c.seq > self.watermark(runs),
                contains(quoted(subject_id), self.log_store.engine.dialect.name),
            )
        )
        # the text search may match inside another id (one holding quotes): parse
        named = [seq for seq, text in tail if subject_id in (stored_subjects(text) or ())]
        found.append(np.asarray(named, np.int64))
        return np.unique(np.concatenate(found))[::-1]

    def _in_run(self, connection: Connection, run: int, key: int) -> np.ndarray:
        pages = AUDIT_INDEX_PAGES
        columns = (
            pages.c.page,
            pages.c.first_key,
            pages.c.last_key,
            pages.c.key_data,
            pages.c.seq_data,
        )
        row = connection.execute(
            select(*columns)
            .where(pages.c.run == run, pages.c.last_key >= key)
            .order_by(pages.c.last_key, pages.c.page)
            .limit(1)
        ).first()
        found = []
        while row is not None and row.first_key <= key:
            keys = np.frombuffer(row.key_data, "<i8")
            low, high = np.searchsorted(keys, key, "left"), np.searchsorted(keys, key, "right")
            found.append(np.frombuffer(row.seq_data, "<i8")[low:high])
            if row.last_key != key:  # the key's pairs may go on into the next page
                break
            row = connection.execute(
                select(*columns).where(pages.c.run == run, pages.c.page == row.page + 1)
            ).first()
        return np.concatenate(found) if found else np.empty(0, np.int64)

    def check(self, log_connection: Connection) -> IndexCheck:
        """Each live page well formed, and the pairs' digest (to compare with the log's
        entries up to the watermark, read next through ``log_connection``)."""
        with self._reading(log_connection) as connection:
            found = self._check(connection)
            runs = self.live_runs(connection)
        if found.problem is None and not self.belongs(runs, log_connection):
            return IndexCheck(
                found.pairs, 0, 0, "it is the index of another log (its newest entry differs)"
            )
        return found

    def _check(self, connection: Connection) -> IndexCheck:
        runs = self.live_runs(connection)
        count, digest = 0, 0
        for run in runs:
            pairs = 0
            previous_key: int | None = None
            pages = enumerate(self._pages(connection, run.run))
            for expected_page, (page, first_key, last_key, keys, seqs) in pages:
                problem = _page_problem(page, expected_page, first_key, last_key, keys, seqs)
                if problem is None and previous_key is not None and first_key < previous_key:
                    problem = "out of order with the page before it"
                if problem:
                    return IndexCheck(count, 0, 0, f"run {run.run}, page {page}: {problem}")
                key_array = np.frombuffer(keys, "<i8")
                seq_array = np.frombuffer(seqs, "<i8")
                if len(seq_array) and (
                    seq_array.min() < run.first_seq or seq_array.max() > run.last_seq
                ):
                    return IndexCheck(
                        count, 0, 0, f"run {run.run}, page {page}: entries outside the run"
                    )
                digest = (digest + pairs_digest(key_array, seq_array)) % (1 << 64)
                pairs += len(key_array)
                previous_key = last_key
            if pairs != run.pairs:
                return IndexCheck(
                    count, 0, 0, f"run {run.run} holds {pairs} pairs where {run.pairs} are due"
                )
            count += pairs
        return IndexCheck(count, self.watermark(runs), digest, None)

    def _pages(
        self, connection: Connection, run: int
    ) -> Iterator[tuple[int, int, int, bytes, bytes]]:
        pages = AUDIT_INDEX_PAGES
        result = connection.execution_options(yield_per=64).execute(
            select(
                pages.c.page,
                pages.c.first_key,
                pages.c.last_key,
                pages.c.key_data,
                pages.c.seq_data,
            )
            .where(pages.c.run == run)
            .order_by(pages.c.page)
        )
        for row in result:
            yield int(row[0]), int(row[1]), int(row[2]), bytes(row[3]), bytes(row[4])

    # -- maintenance ------------------------------------------------------------------

    def maintain(self, min_tail_pairs: int = 0) -> bool:
        """Index the tail (once it names at least ``min_tail_pairs`` subjects, or any
        entry at all if 0) and merge runs, unless another process is at it; whether
        this call did the work."""
        with self.store.exclusive("audit-index") as mine:
            if not mine:
                return False
            self._disown_if_foreign()
            self._collect_garbage()
            while self._index_tail(min_tail_pairs):
                min_tail_pairs = 1
            while self._merge_one():
                pass
            return True

    def _disown_if_foreign(self) -> None:
        """An index of another log (the store moved aside or restored from a backup,
        the index file left): retired whole, to be made again from this log."""
        with self.store.reading() as connection:
            runs = self.live_runs(connection)
        with self.log_store.reading() as connection:
            if self.belongs(runs, connection):
                return
        log.warning("the audit index is of another log; indexing this log from its start")
        with self.store.serial(), self.store.transaction() as connection:
            connection.execute(update(AUDIT_INDEX_RUNS).values(live=False))

    def rebuild(self) -> int:
        """Remake the index from the log (after ``audit verify`` found it wrong); the
        pairs indexed. Look-ups stay exact meanwhile: the whole log is the tail."""
        with self.store.exclusive("audit-index") as mine:
            if not mine:
                raise RuntimeError("another process is maintaining the audit index; try again")
            with self.store.serial(), self.store.transaction() as connection:
                connection.execute(update(AUDIT_INDEX_RUNS).values(live=False))
            self._collect_garbage()
            while self._index_tail(1):
                pass
            while self._merge_one():
                pass
        with self.store.reading(consistent=True) as connection:
            return sum(run.pairs for run in self.live_runs(connection))

    def _collect_garbage(self) -> None:
        """Runs left not live: replaced by a merge, or cut short by a crash."""
        with self.store.reading() as connection:
            dead = (
                connection.execute(
                    select(AUDIT_INDEX_RUNS.c.run).where(AUDIT_INDEX_RUNS.c.live.is_(False))
                )
                .scalars()
                .all()
            )
        for run in dead:
            self._drop(int(run))

    def _drop(self, run: int) -> None:
        pages = AUDIT_INDEX_PAGES
        while True:
            with self.store.serial(), self.store.transaction() as connection:
                some = (
                    connection.execute(
                        select(pages.c.page).where(pages.c.run == run).limit(WRITE_PAGES)
                    )
                    .scalars()
                    .all()
                )
                if not some:
                    connection.execute(
                        delete(AUDIT_INDEX_RUNS).where(AUDIT_INDEX_RUNS.c.run == run)
                    )
                    return
                connection.execute(delete(pages).where(pages.c.run == run, pages.c.page.in_(some)))

    def _index_tail(self, min_pairs: int) -> bool:
        """One run from the oldest unindexed entries (at most ``BUILD_PAIRS`` pairs);
        whether there were any."""
        with self.store.reading() as connection:
            after = self.watermark(self.live_runs(connection))
        with self.log_store.reading(consistent=True) as connection:
            if min_pairs > 1:
                waiting = connection.execute(
                    select(func.coalesce(func.sum(AUDIT_LOG.c.subject_count), 0)).where(
                        AUDIT_LOG.c.seq > after
                    )
                ).scalar_one()
                if int(waiting) < min_pairs:
                    return False
            seqs: list[int] = []
            stored: list[str] = []
            pairs, last_hash = 0, ""
            rows = connection.execution_options(yield_per=READ_ENTRIES).execute(
                select(
                    AUDIT_LOG.c.seq,
                    AUDIT_LOG.c.subject_count,
                    AUDIT_LOG.c.subjects,
                    AUDIT_LOG.c.hash,
                )
                .where(AUDIT_LOG.c.seq > after)
                .order_by(AUDIT_LOG.c.seq)
            )
            for seq, count, subjects, digest in rows:
                seqs.append(int(seq))
                stored.append(subjects)
                pairs, last_hash = pairs + int(count), str(digest)
                if pairs >= BUILD_PAIRS:
                    break
            rows.close()
        listed = parse_subjects(seqs, stored)
        ids = [subject for one in listed for subject in one]
        counts = [len(one) for one in listed]
        if not seqs:
            return False
        keys = subject_keys(ids)
        entries = np.repeat(np.asarray(seqs, np.int64), counts)
        self._write_run(keys, entries, (seqs[0], seqs[-1], last_hash), replaces=())
        return True

    def _merge_one(self) -> bool:
        """Merge the ``FANOUT`` oldest runs of the lowest tier that has that many, unless
        the run made would pass ``FINAL_RUN_PAIRS``; whether any were."""
        with self.store.reading(consistent=True) as connection:
            tiers: dict[int, list[Run]] = {}
            for run in self.live_runs(connection):
                tiers.setdefault(run.tier, []).append(run)
            groups = [members[:FANOUT] for _, members in sorted(tiers.items())]
            chosen = next(
                (
                    group
                    for group in groups
                    if len(group) == FANOUT and sum(r.pairs for r in group) <= FINAL_RUN_PAIRS
                ),
                None,
            )
            if chosen is None:
                return False
            keys, seqs = [], []
            for run in chosen:
                for _page, _first, _last, page_keys, page_seqs in self._pages(connection, run.run):
                    keys.append(np.frombuffer(page_keys, "<i8"))
                    seqs.append(np.frombuffer(page_seqs, "<i8"))
        self._write_run(
            np.concatenate(keys) if keys else np.empty(0, np.int64),
            np.concatenate(seqs) if seqs else np.empty(0, np.int64),
            (
                min(r.first_seq for r in chosen),
                max(r.last_seq for r in chosen),
                max(chosen, key=lambda r: r.last_seq).last_hash,
            ),
            replaces=[r.run for r in chosen],
        )
        return True

    def _write_run(
        self,
        keys: np.ndarray,
        seqs: np.ndarray,
        covers: tuple[int, int, str],
        replaces: Sequence[int],
    ) -> None:
        """Sort the pairs, write them as a run not yet live (``covers``: its first and
        last entry and the last one's hash), a few pages a transaction, then make it
        live and retire ``replaces`` in one transaction."""
        order = np.lexsort((seqs, keys))
        keys, seqs = keys[order].astype("<i8"), seqs[order].astype("<i8")
        with self.store.serial(), self.store.transaction() as connection:
            made = connection.execute(
                insert(AUDIT_INDEX_RUNS).values(
                    first_seq=covers[0],
                    last_seq=covers[1],
                    last_hash=covers[2],
                    pairs=len(keys),
                    live=False,
                )
            ).inserted_primary_key
            assert made is not None
            run = int(made[0])
        starts = range(0, len(keys), PAGE_PAIRS)
        pages = [
            {
                "run": run,
                "page": number,
                "first_key": int(keys[start]),
                "last_key": int(keys[min(start + PAGE_PAIRS, len(keys)) - 1]),
                "key_data": keys[start : start + PAGE_PAIRS].tobytes(),
                "seq_data": seqs[start : start + PAGE_PAIRS].tobytes(),
            }
            for number, start in enumerate(starts)
        ]
        for start in range(0, len(pages), WRITE_PAGES):
            with self.store.serial(), self.store.transaction() as connection:
                connection.execute(insert(AUDIT_INDEX_PAGES), pages[start : start + WRITE_PAGES])
        with self.store.serial(), self.store.transaction() as connection:
            connection.execute(
                update(AUDIT_INDEX_RUNS).where(AUDIT_INDEX_RUNS.c.run == run).values(live=True)
            )
            if replaces:
                connection.execute(
                    update(AUDIT_INDEX_RUNS)
                    .where(AUDIT_INDEX_RUNS.c.run.in_(list(replaces)))
                    .values(live=False)
                )
        for old in replaces:
            self._drop(old)


def _page_problem(
    page: int, expected: int, first_key: int, last_key: int, keys: bytes, seqs: bytes
) -> str | None:
    if page != expected:
        return f"page {expected} is missing"
    if len(keys) != len(seqs) or not keys or len(keys) % 8:
        return "its keys and entries do not pair up"
    key_array = np.frombuffer(keys, "<i8")
    if int(key_array[0]) != first_key or int(key_array[-1]) != last_key:
        return "its first or last key does not match its contents"
    if len(key_array) > 1 and bool(np.any(np.diff(key_array) < 0)):
        return "its keys are out of order"
    return None
