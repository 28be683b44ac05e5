"""``ingest`` (records) and ``register`` (subjects): validate, deduplicate, append.

One command is one batch: every accepted row of every file lands in one Delta commit,
or none does. Rejected rows go to ``quarantine/<batch_id>.jsonl`` with their original
content, row number and every reason. ``accepted + rejected + duplicates`` always
equals the rows read.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from socialcredit.ledger.columns import Problems
from socialcredit.ledger.datafiles import DataFiles
from socialcredit.ledger.errors import UnusableInputError
from socialcredit.ledger.hashing import fingerprints, record_keys
from socialcredit.ledger.keys import (
    KeyIndex,
    Lookup,
    PendingKeys,
    Run,
    entries,
    first_of_each_key,
    key_order,
)
from socialcredit.ledger.quarantine import Quarantine
from socialcredit.ledger.readers import InputFile, RawBatch, Unparsed, batches
from socialcredit.ledger.schema import RECORDS, SUBJECTS, Layout
from socialcredit.ledger.store import Ledger
from socialcredit.ledger.validate import (
    Checked,
    TypeResolver,
    check_records,
    check_subjects,
    subjects_from_ids,
)
from socialcredit.policy import PolicyCatalog

Mask = npt.NDArray[np.bool_]
#: "today" for the not-in-the-future rule: records are dated in China's time (UTC+8)
CHINA_TIME = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
Progress = Callable[[int], None]  # rows read since the last call


@dataclass
class IngestSummary:
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    quarantine: str | None = None
    batch_id: str = ""
    version: int | None = None  # the table version the batch created (None: nothing new)
    registered: int = 0  # subjects registered on the way (--register-unknown)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self, accepted_name: str = "accepted") -> dict[str, object]:
        document: dict[str, object] = {
            accepted_name: self.accepted,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "quarantine": self.quarantine,
            "batch_id": self.batch_id,
            "version": self.version,
            "warnings": self.warnings,
        }
        if accepted_name == "accepted":
            document["registered"] = self.registered
        return document


def new_batch_id(now: dt.datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def check_columns(source: InputFile, layout: Layout, names: tuple[str, ...]) -> list[str]:
    """Refuse a file that lacks required columns; warn about unknown extra ones."""
    missing = [c for c in layout.required if c not in names]
    if missing:
        raise UnusableInputError(
            f"{source.path}: missing required column{'s' if len(missing) > 1 else ''}: "
            f"{', '.join(missing)}"
        )
    extra = [c for c in names if c not in layout.columns]
    return [f"{source.path}: unknown columns ignored: {', '.join(extra)}"] if extra else []


#: the longest --source name (it is stored on every row of the batch)
MAX_SOURCE_CHARS = 200
#: chunks checked at once (each in its own thread) ahead of the one being committed
PREPARING_THREADS = 2


@dataclass(frozen=True)
class _Keys:
    """The keys of a chunk's rows, their sort order, and what the ledger holds of them."""

    key1: npt.NDArray[np.uint64]
    key2: npt.NDArray[np.uint64]
    fingerprint: npt.NDArray[np.uint64]
    order: npt.NDArray[np.intp]  # sorts key1: shared by every look-up of these keys
    stored: Lookup  # in the ledger before this batch

    @classmethod
    def of(
        cls, values: pa.ChunkedArray, fingerprint: npt.NDArray[np.uint64], index: KeyIndex
    ) -> _Keys:
        key1, key2 = record_keys(values)
        order = key_order(key1)
        return cls(key1, key2, fingerprint, order, index.lookup(key1, key2, fingerprint, order))


@dataclass(frozen=True)
class _Prepared:
    """A chunk as read and checked, before it meets the rest of its batch."""

    path: Path
    raw: RawBatch
    checked: Checked | None  # None: no rows (only lines that could not be parsed)
    keys: _Keys | None = None
    subjects: _Keys | None = None  # records: the keys of their subjects


@dataclass
class _Batch:
    """The state of one command's batch while its files stream through."""

    layout: Layout
    today: dt.date
    source: str | None
    register_unknown: bool
    summary: IngestSummary
    quarantine: Quarantine
    index: KeyIndex
    subject_index: KeyIndex | None
    recorded_at: dt.datetime
    progress: Progress | None
    #: keys accepted so far in this batch (in memory, spilled to disk when large)
    pending: PendingKeys
    pending_subjects: PendingKeys
    #: subjects registered on the way (--register-unknown), committed after the records
    new_subjects: DataFiles | None = None
    resolver: TypeResolver | None = None
    #: land every row or none (casework decisions)
    whole: bool = False

    def accepted_batches(self, sources: list[InputFile]) -> Iterator[pa.RecordBatch]:
        # chunks are checked in worker threads (what needs no state of the batch),
        # then committed in order here (duplicates against the batch so far); the
        # kernels and Arrow release the GIL, so two chunks are checked at once
        with ThreadPoolExecutor(max_workers=PREPARING_THREADS) as pool:
            for source in sources:
                columns_checked = source.format != "jsonl"
                prepared: deque[Future[_Prepared]] = deque()
                for raw in batches(source):
                    if not columns_checked and raw.table.num_rows:
                        names = tuple(raw.table.column_names)
                        self.summary.warnings += check_columns(source, self.layout, names)
                        columns_checked = True
                    prepared.append(pool.submit(self._prepare, source.path, raw))
                    if len(prepared) > PREPARING_THREADS:
                        yield from self._commit(prepared.popleft().result())
                while prepared:
                    yield from self._commit(prepared.popleft().result())
                if not columns_checked:  # a JSON Lines file without one parsable row
                    check_columns(source, self.layout, ())

    def _prepare(self, path: Path, raw: RawBatch) -> _Prepared:
        """Everything about a chunk that does not depend on the chunks before it."""
        if not raw.table.num_rows:
            return _Prepared(path, raw, None)
        if self.layout is RECORDS:
            if self.resolver is None:
                raise ValueError("ingesting records needs the policy catalog")
            checked = check_records(raw.table, self.resolver, self.today)
        else:
            checked = check_subjects(raw.table, self.today)
        table = checked.table
        fingerprint = fingerprints([table.column(c) for c in self.layout.content])
        keys = _Keys.of(table.column(self.layout.key), fingerprint, self.index)
        subjects = None
        if self.layout is RECORDS:
            if self.subject_index is None:
                raise ValueError("ingesting records needs the subject registry")
            subject_id = table.column("subject_id")  # registry keys have no content here
            subjects = _Keys.of(
                subject_id, np.zeros(len(subject_id), np.uint64), self.subject_index
            )
        return _Prepared(path, raw, checked, keys, subjects)

    def _commit(self, prepared: _Prepared) -> Iterator[pa.RecordBatch]:
        raw = prepared.raw
        for unparsed in raw.unparsed:
            self._reject_unparsed(prepared.path, unparsed)
        if prepared.checked is not None:
            accepted = self._process(prepared)
            if accepted.num_rows:
                yield from accepted.to_batches()
        if self.progress is not None:
            self.progress(raw.table.num_rows + len(raw.unparsed))

    def _reject_unparsed(self, path: Path, unparsed: Unparsed) -> None:
        self.quarantine.write(path, unparsed.row, [unparsed.reason], unparsed.text)
        self.summary.rejected += 1

    def _process(self, prepared: _Prepared) -> pa.Table:
        checked, keys, raw, path = prepared.checked, prepared.keys, prepared.raw, prepared.path
        if checked is None or keys is None:
            raise ValueError("a chunk without rows has nothing to process")
        table, problems = checked.table, checked.problems
        key1, key2, fingerprint, order = keys.key1, keys.key2, keys.fingerprint, keys.order
        unknown = self._unknown_subjects(table, prepared.subjects, problems)
        duplicate, accepted = self._deduplicate(keys, problems, raw.row_number)
        if self.layout is RECORDS:
            self._check_revokes(table, key1, key2, accepted, problems)
        rejected = problems.failed
        duplicate &= ~rejected
        accepted &= ~rejected
        if unknown is not None and prepared.subjects is not None and self.register_unknown:
            # only subjects of rows that are kept (accepted, or already in the ledger)
            kept = unknown & (accepted | duplicate)
            subject = prepared.subjects
            self._register_subjects(table, checked.kind, subject.key1, subject.key2, kept)
        if rejected.any():
            rows = np.flatnonzero(rejected).tolist()
            self.quarantine.write_rows(
                path,
                [raw.row_number(row) for row in rows],
                [problems.reasons(row) for row in rows],
                raw.table.take(rows),
            )
        self.summary.rejected += int(rejected.sum())
        self.summary.duplicates += int(duplicate.sum())
        self.summary.accepted += int(accepted.sum())
        keep = np.flatnonzero(accepted)
        ranked = order[accepted[order]]
        self.pending.hold(entries(key1, key2, fingerprint, ranked))
        return self._stored(table if len(keep) == table.num_rows else table.take(keep))

    def _stored(self, table: pa.Table) -> pa.Table:
        return with_provenance(
            table, self.layout, self.recorded_at, self.source, self.summary.batch_id
        )

    def _unknown_subjects(
        self, table: pa.Table, subjects: _Keys | None, problems: Problems
    ) -> Mask | None:
        """Rows whose subject is not registered (a problem unless --register-unknown)."""
        if subjects is None:
            return None
        zero = subjects.fingerprint
        known = (
            subjects.stored.found
            | self.pending_subjects.lookup(subjects.key1, subjects.key2, zero, subjects.order).found
        )
        unknown: Mask = ~known & table.column("subject_id").is_valid().to_numpy(
            zero_copy_only=False
        )
        if not self.register_unknown:
            problems.add(
                unknown & ~problems.failed,
                "subject_id: not registered (register it first, or ingest with --register-unknown)",
            )
        return unknown

    def _register_subjects(
        self,
        table: pa.Table,
        kind: pa.Array,
        key1: npt.NDArray[np.uint64],
        key2: npt.NDArray[np.uint64],
        rows: Mask,
    ) -> None:
        """Registry rows derived from the IDs of ``rows`` (each subject once); ``key1``
        and ``key2`` are the subject keys of every row."""
        if not rows.any():
            return
        subject_id = table.column("subject_id")
        first, _ = first_of_each_key(key1, key2, rows)
        chosen = pa.array(np.flatnonzero(first))
        derived = subjects_from_ids(subject_id.take(chosen), kind.take(chosen))
        if self.new_subjects is None:
            raise ValueError("registering subjects on the way needs their data files")
        self.new_subjects.write(
            with_provenance(derived, SUBJECTS, self.recorded_at, self.source, self.summary.batch_id)
        )
        content = fingerprints([derived.column(c) for c in SUBJECTS.content])
        self.pending_subjects.hold(entries(key1[first], key2[first], content))
        self.summary.registered += derived.num_rows

    def _check_revokes(
        self,
        table: pa.Table,
        key1: npt.NDArray[np.uint64],
        key2: npt.NDArray[np.uint64],
        accepted: Mask,
        problems: Problems,
    ) -> None:
        """A revocation names a record in the ledger, accepted earlier in the batch, or
        accepted in this chunk, and not itself."""
        revokes = table.column("revokes")
        named = revokes.is_valid().to_numpy(zero_copy_only=False) & accepted
        if not named.any():
            return
        r1, r2 = record_keys(revokes)
        zero = np.zeros(len(r1), np.uint64)
        found = self.index.lookup(r1, r2, zero).found | self.pending.lookup(r1, r2, zero).found
        found |= _contains(entries(key1[accepted], key2[accepted], zero[accepted]), r1, r2)
        itself = (r1 == key1) & (r2 == key2)
        problems.add(named & itself, "revokes: a record cannot revoke itself")
        problems.add(
            named & ~itself & ~found,
            lambda row: f"revokes: no record {revokes[row].as_py()!r} in the ledger or this batch",
        )

    def _deduplicate(
        self, keys: _Keys, problems: Problems, row_number: Callable[[int], int]
    ) -> tuple[Mask, Mask]:
        """(duplicates, accepted) among the rows without problems; conflicts become problems."""
        key1, key2, fingerprint, order = keys.key1, keys.key2, keys.fingerprint, keys.order
        ok = ~problems.failed
        stored = keys.stored
        earlier = self.pending.lookup(key1, key2, fingerprint, order)
        duplicate = ok & ((stored.found & stored.same) | (earlier.found & earlier.same))
        name = self.layout.key
        problems.add(
            ok & stored.found & ~stored.same,
            f"{name}: already in the ledger with different content (conflict)",
        )
        problems.add(
            ok & ~stored.found & earlier.found & ~earlier.same,
            f"{name}: earlier in this batch with different content (conflict)",
        )
        candidates = ok & ~stored.found & ~earlier.found
        first, leader = first_of_each_key(key1, key2, candidates, order)
        later = candidates & ~first
        same = np.zeros(len(key1), np.bool_)
        same[later] = fingerprint[later] == fingerprint[leader[later]]
        duplicate |= later & same
        problems.add(
            later & ~same,
            lambda row: (
                f"{name}: repeats row {row_number(int(leader[row]))} of this file with "
                "different content (conflict)"
            ),
        )
        return duplicate, candidates & first


def _contains(run: Run, key1: npt.NDArray[np.uint64], key2: npt.NDArray[np.uint64]) -> Mask:
    found: Mask = KeyIndex.in_memory(run).lookup(key1, key2, np.zeros(len(key1), np.uint64)).found
    return found


def run_batch(
    ledger: Ledger,
    layout: Layout,
    sources: list[InputFile],
    *,
    catalog: PolicyCatalog | None,
    source: str | None = None,
    register_unknown: bool = False,
    today: dt.date | None = None,
    progress: Progress | None = None,
    casework_rows: bool = False,
) -> IngestSummary:
    """Validate, deduplicate and append the rows of ``sources`` as one batch.
    ``casework_rows``: a casework decision's batch (see :class:`TypeResolver`), landed
    whole or not at all: one refused row refuses it (UnusableInputError, the reasons)."""
    if source is not None and not 0 < len(source) <= MAX_SOURCE_CHARS:
        raise UnusableInputError(
            f"--source: a name of 1 to {MAX_SOURCE_CHARS} characters, got {len(source):,}"
        )
    recorded_at = dt.datetime.now(dt.UTC)
    summary = IngestSummary(batch_id=new_batch_id(recorded_at))
    for input_file in sources:
        if input_file.format != "jsonl":
            summary.warnings += check_columns(input_file, layout, input_file.columns)
    with ledger.writing():
        ledger.clean_interrupted()
        batch = _Batch(
            layout=layout,
            today=today or recorded_at.astimezone(CHINA_TIME).date(),
            source=source,
            register_unknown=register_unknown,
            summary=summary,
            quarantine=Quarantine(ledger, summary.batch_id),
            index=ledger.key_index(layout),
            subject_index=ledger.key_index(SUBJECTS) if layout is RECORDS else None,
            recorded_at=recorded_at,
            progress=progress,
            pending=PendingKeys(ledger.pending_path(summary.batch_id, layout)),
            pending_subjects=PendingKeys(ledger.pending_path(summary.batch_id, SUBJECTS)),
            resolver=TypeResolver(catalog, casework_rows) if catalog is not None else None,
            whole=casework_rows,
            new_subjects=ledger.data_files(SUBJECTS) if register_unknown else None,
        )
        try:
            _land(ledger, batch, sources)
        finally:
            batch.pending.discard()
            batch.pending_subjects.discard()
    return summary


def _land(ledger: Ledger, batch: _Batch, sources: list[InputFile]) -> None:
    """Stream the accepted rows into data files, commit them as one version, then
    publish the batch's quarantine and keys."""
    summary, layout = batch.summary, batch.layout
    files = ledger.data_files(layout)
    staged: Path | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="key-run") as pool:
        try:
            for rows in batch.accepted_batches(sources):
                files.write(rows)
            if batch.whole and summary.rejected:
                reasons = "; ".join(batch.quarantine.reasons())
                raise UnusableInputError(f"nothing written, rows were refused: {reasons}")
            # the batch's key run is merged while the last data files are finished
            accepted = summary.accepted > 0
            run = pool.submit(batch.index.stage, batch.pending.runs()) if accepted else None
            try:
                files.close()
                if batch.new_subjects is not None:
                    batch.new_subjects.close()
            finally:
                staged = run.result() if run is not None else None
        except BaseException:
            files.discard()
            if batch.new_subjects is not None:
                batch.new_subjects.discard()
            batch.quarantine.discard()
            if staged is not None:
                staged.unlink(missing_ok=True)
            raise
    try:
        summary.version = files.commit(summary.batch_id)  # nothing accepted: no commit
    except BaseException:
        batch.quarantine.discard()  # (its files stay: the commit may have landed)
        if batch.new_subjects is not None:
            batch.new_subjects.discard()  # not committed: registered by the next run
        raise
    finally:
        if summary.version is None and staged is not None:
            staged.unlink(missing_ok=True)
    # the batch has landed (or had nothing to land): its quarantine is published
    # before anything that could still fail
    summary.quarantine = batch.quarantine.publish()
    if summary.version is not None and staged is not None:
        batch.index.add_staged(summary.version, staged)  # (else rebuilt on open)
    if batch.new_subjects is not None:
        _register_derived(batch, batch.new_subjects)


def with_provenance(
    table: pa.Table, layout: Layout, recorded_at: dt.datetime, source: str | None, batch_id: str
) -> pa.Table:
    """The rows as stored: input columns plus ``recorded_at``, ``source``, ``batch_id``."""
    rows = table.num_rows
    micros = int(recorded_at.timestamp() * 1_000_000)
    provenance = {
        "recorded_at": pa.array(np.full(rows, micros, np.int64)).cast(
            layout.table_schema.field("recorded_at").type
        ),
        "source": _constant(source, rows),
        "batch_id": _constant(batch_id, rows),
    }
    columns = {name: table.column(name) for name in table.column_names} | provenance
    return pa.table(columns).select(layout.table_schema.names).cast(layout.table_schema)


def _constant(value: str | None, rows: int) -> pa.Array:
    """``value`` on every row, built from its buffers (a dictionary cast copies per row)."""
    if value is None:
        return pa.nulls(rows, pa.string())
    data = value.encode("utf-8")
    if rows * len(data) >= 2**31:  # callers pass chunks; a whole batch would overflow
        raise ValueError("a constant column of 2 GiB or more: pass smaller chunks")
    offsets = (np.arange(rows + 1, dtype=np.int64) * len(data)).astype(np.int32)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data * rows)]
    return pa.Array.from_buffers(pa.string(), rows, buffers)


def _register_derived(batch: _Batch, files: DataFiles) -> None:
    """Commit the subjects that --register-unknown derived from the records' IDs (after
    the records: a crash in between is repaired by running the same ingest again, whose
    rows are then duplicates that still register their subjects)."""
    version = files.commit(batch.summary.batch_id)
    if version is not None and batch.subject_index is not None:
        batch.subject_index.add_runs(version, batch.pending_subjects.runs())
