"""What one scoring run sees of the ledger, as compact arrays.

The run sees the ledger *as recorded by* ``ledger_as_of``: each table at the last
version committed by then (a row's ``recorded_at`` is never later than its commit).
Subjects are dense rows; each record keeps its subject row, type code, date, amount and
flags. ``load_view`` reads the whole ledger through the scoring cache
(:mod:`ledger_cache`); ``read_view`` reads the rows of chosen subjects straight from the
ledger (for explanations). Both give the same arrays for the same rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from socialcredit.ledger import RECORDS, SUBJECTS, Layout, Ledger
from socialcredit.ledger.hashing import record_keys
from socialcredit.scoring.decode import (
    concat_or_empty,
    decode_records,
    decode_subjects,
    revoked_keys,
    take_strings,
)
from socialcredit.scoring.engine_kernels import (
    CASEWORK,
    FROZEN,
    REPAIRED,
    REVOKED,
    mark_kernel,
    parallel_for,
)
from socialcredit.scoring.ledger_cache import ScoringCache
from socialcredit.scoring.policy_tables import PolicyTables
from socialcredit.scoring.subject_index import SubjectIndex

U64 = npt.NDArray[np.uint64]

#: ``stage(description, total)`` starts a stage of a long job and returns the function
#: that advances its progress (the CLI draws bars; library callers may pass ``quiet``)
Stages = Callable[[str, int | None], Callable[[int], None]]


def quiet(description: str, total: int | None) -> Callable[[int], None]:
    return lambda advance: None


class CaseworkInputs(Protocol):
    """What casework tells a scoring run (issue 8 supplies it): the record IDs whose
    effect ended through credit repair, and those frozen by an open objection, as of
    the run's ledger-as-of time."""

    def repaired(self, ledger_as_of: dt.datetime) -> Iterable[str]: ...

    def under_objection(self, ledger_as_of: dt.datetime) -> Iterable[str]: ...


@dataclass(frozen=True)
class NoCasework:
    """No repairs and no objections (before casework exists, and in tests)."""

    def repaired(self, ledger_as_of: dt.datetime) -> Iterable[str]:
        return ()

    def under_objection(self, ledger_as_of: dt.datetime) -> Iterable[str]:
        return ()


@dataclass
class Subjects:
    index: SubjectIndex
    #: per dense row
    subject_id: pa.ChunkedArray
    kind: npt.NDArray[np.uint8]  # index into KINDS
    region: npt.NDArray[np.int32]  # the 6-digit code as a number
    variant: npt.NDArray[np.int16]

    def __len__(self) -> int:
        return len(self.kind)


@dataclass
class RecordIds:
    """Record IDs by record position, read only for the few a snapshot names: parts
    of consecutive positions, each with a function from its own positions to IDs."""

    parts: list[tuple[int, Callable[[npt.NDArray[np.int64]], pa.Array]]] = field(
        default_factory=list
    )

    def take(self, positions: npt.NDArray[np.int64]) -> list[str]:
        out: list[str] = [""] * len(positions)
        bounds = [start for start, _ in self.parts]
        part_of = np.searchsorted(bounds, positions, side="right") - 1
        for p in np.unique(part_of):
            start, ids_at = self.parts[int(p)]
            mine = np.flatnonzero(part_of == p)
            for k, value in zip(mine, ids_at(positions[mine] - start).to_pylist(), strict=True):
                out[int(k)] = str(value)
        return out


@dataclass
class Records:
    subject: npt.NDArray[np.int32]  # -1: no registered subject
    type_code: npt.NDArray[np.int16]  # -1: not a type of any policy variant
    occurred: npt.NDArray[np.int32]  # days since 1970-01-01
    amount: npt.NDArray[np.float64]  # NaN when none
    flags: npt.NDArray[np.uint8]
    ids: RecordIds

    def __len__(self) -> int:
        return len(self.subject)


@dataclass
class LedgerView:
    records_version: int
    subjects_version: int
    ledger_as_of: dt.datetime
    subjects: Subjects
    records: Records
    #: rows left out, and why (counted for the snapshot's metadata)
    skipped: dict[str, int] = field(default_factory=dict)
    #: for a view of chosen subjects: the full ledger rows of ``records``, in order
    detail: pa.Table | None = None


def version_at(ledger: Ledger, layout: Layout, moment: dt.datetime) -> int:
    """The last version of the table committed at or before ``moment`` (-1: none)."""
    cutoff = moment.timestamp() * 1000
    versions = [
        int(entry["version"])
        for entry in ledger.table(layout).history()
        if "timestamp" in entry and float(entry["timestamp"]) <= cutoff
    ]
    return max(versions, default=-1)


def ordered_files(ledger: Ledger, layout: Layout, version: int) -> list[str]:
    """The data files of a table version in the ledger's order: by the earliest
    ``recorded_at`` of each (from the Delta log's statistics; else the time the file
    was added), then by name. A function of the version alone, not of who reads it."""
    if version < 0:
        return []
    actions = pa.table(ledger.table(layout, version).get_add_actions(flatten=True))
    paths = [str(p) for p in actions.column("path").to_pylist()]
    added = [
        int(t.timestamp() * 1e6) if isinstance(t, dt.datetime) else int(t) * 1000
        for t in actions.column("modification_time").to_pylist()
    ]
    if "min.recorded_at" in actions.column_names:
        first = [
            int(t.timestamp() * 1e6) if t is not None else added[i]
            for i, t in enumerate(actions.column("min.recorded_at").to_pylist())
        ]
    else:
        first = added
    root = ledger.table_path(layout)
    order = sorted(range(len(paths)), key=lambda i: (first[i], paths[i]))
    return [str(root / unquote(paths[i])) for i in order]


def _type_codes(tables: PolicyTables, names: list[str]) -> npt.NDArray[np.int16]:
    return np.array(
        [tables.type_keys.index(n) if n in tables.type_keys else -1 for n in names], np.int16
    )


def _variants(tables: PolicyTables, region: npt.NDArray[np.int32]) -> npt.NDArray[np.int16]:
    present = np.flatnonzero(np.bincount(region, minlength=1)) if len(region) else region
    variants = tables.variant_of_regions([f"{code:06d}" for code in present])
    table = np.zeros(int(present.max()) + 1 if len(present) else 1, np.int16)
    table[present] = variants
    out: npt.NDArray[np.int16] = table[region]
    return out


def _marks(casework: CaseworkInputs | None, moment: dt.datetime) -> dict[int, U64]:
    casework = casework or NoCasework()
    return {
        REPAIRED: _keys_of(casework.repaired(moment)),
        FROZEN: _keys_of(casework.under_objection(moment)),
    }


def _keys_of(record_ids: Iterable[str]) -> U64:
    keys, _ = record_keys(pa.array(list(record_ids), pa.string()))
    return np.unique(keys)


def _apply_marks(flags: npt.NDArray[np.uint8], keys: U64, marks: dict[int, U64]) -> None:
    for bit, targets in marks.items():
        if len(targets) and len(keys):
            mark_kernel(parallel_for(len(keys)))(keys, targets, flags, np.uint8(bit))


def load_view(
    ledger: Ledger,
    tables: PolicyTables,
    ledger_as_of: dt.datetime,
    casework: CaseworkInputs | None = None,
    stage: Stages = quiet,
) -> LedgerView:
    """Every subject and record as recorded by ``ledger_as_of`` (an aware datetime).
    Builds missing cache entries: call it with the scoring lock held."""
    records_version = version_at(ledger, RECORDS, ledger_as_of)
    cache = ScoringCache(ledger.data)
    cache.remove_leftovers()
    subjects, subjects_version, registry = _registered(ledger, tables, ledger_as_of, cache)
    files = ordered_files(ledger, RECORDS, records_version)
    progress = stage("reading the ledger", len(files))
    parts = []
    part_paths = {}
    for path in files:
        parts.append(cache.record_part(path, registry))
        part_paths[parts[-1].directory] = path
        progress(1)
    columns: dict[str, npt.NDArray[Any]] = {
        name: np.empty(sum(p.rows for p in parts), dtype)
        for name, dtype in (
            ("subject", np.int32), ("type", np.int16), ("occurred", np.int32),
            ("amount", np.float64), ("flags", np.uint8),
        )
    }  # fmt: skip
    marks = _marks(casework, ledger_as_of)
    marks[REVOKED] = np.unique(concat_or_empty([p.array("revokes") for p in parts], np.uint64))
    ids = RecordIds()
    start = 0
    for part in parts:
        rows = slice(start, start + part.rows)
        try:
            for name, out in columns.items():
                part.read_into(name, out[rows])
        except (OSError, ValueError):  # a damaged entry: made again from the ledger
            part = cache.record_part(part_paths[part.directory], registry, remake=True)
            for name, out in columns.items():
                part.read_into(name, out[rows])
        columns["type"][rows] = _type_codes(tables, part.types)[columns["type"][rows]]
        # the keys are read only where something is marked
        _apply_marks(columns["flags"][rows], part.array("key1"), marks)
        ids.parts.append((start, part.record_ids))
        start += part.rows
    subject = columns["subject"]
    subject[subject >= len(subjects)] = -1  # registered after the subjects version read
    type_code = columns["type"]
    records = Records(
        subject, type_code, columns["occurred"], columns["amount"], columns["flags"], ids
    )
    skipped = {
        "records_of_unregistered_subjects": int((subject < 0).sum()),
        "records_of_unknown_types": int(
            ((type_code < 0) & (subject >= 0) & (columns["flags"] & CASEWORK == 0)).sum()
        ),
    }
    return LedgerView(records_version, subjects_version, ledger_as_of, subjects, records, skipped)


def _registered(
    ledger: Ledger, tables: PolicyTables, ledger_as_of: dt.datetime, cache: ScoringCache
) -> tuple[Subjects, int, Any]:
    subjects_version = version_at(ledger, SUBJECTS, ledger_as_of)
    registry = cache.registry(
        ordered_files(ledger, SUBJECTS, subjects_version),
        latest=subjects_version == ledger.version(SUBJECTS),
    )
    subjects = Subjects(
        registry.index,
        registry.subject_id,
        np.asarray(registry.kind),
        np.asarray(registry.region),
        _variants(tables, np.asarray(registry.region)),
    )
    return subjects, subjects_version, registry


def registered_subjects(
    ledger: Ledger, tables: PolicyTables, ledger_as_of: dt.datetime
) -> tuple[Subjects, int]:
    """The registry as of ``ledger_as_of`` in its dense rows (the snapshot's row order),
    through the scoring cache: call it with the scoring lock held."""
    subjects, version, _ = _registered(ledger, tables, ledger_as_of, ScoringCache(ledger.data))
    return subjects, version


def read_view(
    ledger: Ledger,
    tables: PolicyTables,
    ledger_as_of: dt.datetime,
    subject_ids: list[str],
    casework: CaseworkInputs | None = None,
) -> LedgerView:
    """The chosen subjects and their records, straight from the ledger files; the view
    keeps the records' full rows (``detail``)."""
    subjects_version = version_at(ledger, SUBJECTS, ledger_as_of)
    records_version = version_at(ledger, RECORDS, ledger_as_of)
    only = [("subject_id", "in", subject_ids)]
    pieces = [
        pq.read_table(path, columns=["subject_id", "kind", "region"], filters=only)
        for path in ordered_files(ledger, SUBJECTS, subjects_version)
    ]
    table = (
        pa.concat_tables(pieces)
        if pieces
        else SUBJECTS.table_schema.empty_table().select(["subject_id", "kind", "region"])
    )
    kind, region = decode_subjects(table)
    subjects = Subjects(
        SubjectIndex.build(table.column("subject_id")),
        table.column("subject_id"),
        kind,
        region,
        _variants(tables, region),
    )
    revoked: list[U64] = []
    rows: list[pa.Table] = []
    for path in ordered_files(ledger, RECORDS, records_version):
        named = pq.read_table(
            path, columns=["record_type", "revokes"], read_dictionary=["record_type"]
        )
        revoked.append(revoked_keys(named))
        rows.append(pq.read_table(path, columns=list(RECORDS.table_schema.names), filters=only))
    detail = pa.concat_tables(rows).combine_chunks() if rows else RECORDS.table_schema.empty_table()
    decoded = decode_records(detail, subjects.index)
    marks = _marks(casework, ledger_as_of)
    marks[REVOKED] = np.unique(concat_or_empty(revoked, np.uint64))
    _apply_marks(decoded.flags, decoded.key1, marks)
    records = Records(
        decoded.subject,
        _type_codes(tables, decoded.type_names)[decoded.type_index],
        decoded.occurred,
        decoded.amount,
        decoded.flags,
        RecordIds([(0, lambda positions: take_strings(detail.column("record_id"), positions))]),
    )
    return LedgerView(
        records_version, subjects_version, ledger_as_of, subjects, records, {}, detail
    )
