"""Writing one snapshot's files: the per-subject Parquet table, the serving arrays, the
records behind list memberships, and the rank tables.

```
SNAPSHOT/subjects/part-NNN.parquet   one row per subject, in the subjects' row order
SNAPSHOT/arrays/*.npy       the same rows as memory-mappable arrays, for look-ups
SNAPSHOT/ranks/             counting tables: any subject's ranks in constant time
SNAPSHOT/listed.parquet     subject_id, list, record_id of each record behind a list
SNAPSHOT/published.parquet  row, subject_id, record_id, under_objection: organisations'
                            published records (public disclosure)
SNAPSHOT/metadata.json      written last (see socialcredit.scoring.snapshots)
```
The Parquet files hold nothing that varies between two runs on the same inputs (no
timestamps, fixed row groups), so they are byte-identical when the inputs are.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from socialcredit.scoring.decode import take_strings
from socialcredit.scoring.engine import (
    STATUS_CODES,
    ScoreResult,
    combo_shape,
    listed_by,
    published_by,
)
from socialcredit.scoring.ledger_view import LedgerView
from socialcredit.scoring.policy_tables import KINDS
from socialcredit.scoring.ranking import LEVELS, RankTables

ROW_GROUP = 1 << 20
PART_ROWS = 2 * ROW_GROUP
#: snappy, and dictionaries only where values repeat (trying one on unique IDs or
#: ranks costs more than it saves): publishing is part of every scoring run
WRITE_OPTIONS: dict[str, Any] = {
    "compression": "snappy",
    "write_statistics": False,
    "use_dictionary": ["kind", "region", "grade", "lists", "incentives", "restrictions"],
}
#: the names the per-subject table gives the rank levels (DESIGN.md contract: the
#: county-level figures are ``region_rank`` and ``region_percentile``)
LEVEL_COLUMNS = {"national": "national", "province": "province", "city": "city", "county": "region"}
#: the columns of ``export snapshot`` that outside scripts rely on (DESIGN.md)
CONTRACT_COLUMNS = (
    "subject_id",
    "kind",
    "region",
    "score",
    "grade",
    "lists",
    "national_rank",
    "national_percentile",
    "region_rank",
    "region_percentile",
)
ARRAYS = (
    "keys1",
    "keys2",
    "key_rows",
    "score",
    "kind",
    "region",
    "variant",
    "grade",
    "lists",
    "combo",
)


def subject_schema() -> pa.Schema:
    names = pa.list_(pa.string())
    fields = [
        pa.field("subject_id", pa.string(), nullable=False),
        pa.field("kind", pa.dictionary(pa.int8(), pa.string()), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("score", pa.int16(), nullable=False),
        pa.field("grade", pa.dictionary(pa.int8(), pa.string()), nullable=False),
        pa.field("lists", names, nullable=False),
    ]
    for level in ("national", "region", "province", "city"):
        fields += [
            pa.field(f"{level}_rank", pa.int32(), nullable=False),
            pa.field(f"{level}_percentile", pa.float64(), nullable=False),
        ]
    fields += [
        pa.field("points", pa.int64(), nullable=False),
        pa.field("records_counted", pa.int32(), nullable=False),
        pa.field("incentives", names, nullable=False),
        pa.field("restrictions", names, nullable=False),
    ]
    return pa.schema(fields)


def _names_by_mask(names: tuple[str, ...], masks: npt.NDArray[np.uint64]) -> pa.ListArray:
    """A list array: for each mask, the names whose bit is set."""
    lists = [[n for i, n in enumerate(names) if int(mask) >> i & 1] for mask in masks]
    return pa.array(lists, pa.list_(pa.string()))


def write_subject_table(
    directory: Path,
    view: LedgerView,
    result: ScoreResult,
    ranks: RankTables,
    progress: Callable[[int], None] | None = None,
) -> None:
    """``directory/part-NNN.parquet``, each of ``PART_ROWS`` rows (the last fewer), two
    parts written at a time: encoding Parquet is the slow part of publishing, and one
    writer uses one core. The split depends only on the number of subjects."""
    directory.mkdir()
    rows = len(view.subjects)
    starts = list(range(0, max(rows, 1), PART_ROWS))
    lookup = _ChunkColumns(view, result)

    def write(number: int) -> int:
        stop = min(starts[number] + PART_ROWS, rows)
        path = directory / f"part-{number:03d}.parquet"
        with pq.ParquetWriter(path, subject_schema(), **WRITE_OPTIONS) as writer:
            for start in range(starts[number], max(stop, starts[number] + 1), ROW_GROUP):
                end = min(start + ROW_GROUP, stop)
                writer.write_table(lookup.table(start, end, ranks), ROW_GROUP)
                if progress is not None:
                    progress(end - start)
        sync_file(path)  # (while the other thread encodes)
        return number

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(write, range(len(starts))))


def sync_file(path: Path) -> None:
    """Force a written file to disk (a published snapshot must survive a power loss)."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def subject_table_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("part-*.parquet"))


class _ChunkColumns:
    """The per-subject table's columns for a slice of rows."""

    def __init__(self, view: LedgerView, result: ScoreResult) -> None:
        tables = result.tables
        self.view, self.result = view, result
        masks = np.arange(1 << len(tables.list_names), dtype=np.uint64)
        self.list_sets = _names_by_mask(tables.list_names, masks)
        restriction = np.uint64(tables.restriction_bits)
        self.incentives = _names_by_mask(tables.measure_names, result.combo_allowed & ~restriction)
        self.restrictions = _names_by_mask(
            tables.measure_names, ~result.combo_allowed & restriction
        )
        self.kind_names = pa.array(KINDS, pa.string())
        self.grade_names = pa.array(tables.grade_names, pa.string())

    def table(self, start: int, stop: int, ranks: RankTables) -> pa.Table:
        subjects, result = self.view.subjects, self.result
        part = slice(start, stop)
        chunk = ranks.lookup(result.score[part], subjects.region[part], subjects.kind[part])
        columns: dict[str, pa.Array | pa.ChunkedArray] = {
            "subject_id": subjects.subject_id[start:stop],
            "kind": pa.DictionaryArray.from_arrays(
                pa.array(subjects.kind[part].astype(np.int8)), self.kind_names
            ),
            "region": pc.cast(pa.array(subjects.region[part]), pa.string()),
            "score": pa.array(result.score[part]),
            "grade": pa.DictionaryArray.from_arrays(
                pa.array(result.grade[part].astype(np.int8)), self.grade_names
            ),
            "lists": self.list_sets.take(pa.array(result.lists[part])),
        }
        for level in LEVELS:
            name = LEVEL_COLUMNS[level]
            columns[f"{name}_rank"] = pa.array(chunk.rank[level].astype(np.int32))
            columns[f"{name}_percentile"] = pa.array(chunk.percentile[level])
        combo = pa.array(result.combo[part])
        columns |= {
            "points": pa.array(result.points_total[part]),
            "records_counted": pa.array(result.counted[part]),
            "incentives": self.incentives.take(combo),
            "restrictions": self.restrictions.take(combo),
        }
        schema = subject_schema()
        return pa.table([columns[f.name] for f in schema], schema=schema)


def write_arrays(directory: Path, view: LedgerView, result: ScoreResult) -> None:
    directory.mkdir()
    subjects = view.subjects
    values: dict[str, npt.NDArray[np.generic]] = {
        "keys1": subjects.index.keys1,
        "keys2": subjects.index.keys2,
        "key_rows": subjects.index.rows,
        "score": result.score,
        "kind": subjects.kind,
        "region": subjects.region,
        "variant": subjects.variant,
        "grade": result.grade,
        "lists": result.lists,
        "combo": result.combo,
        "combo_allowed": result.combo_allowed,
    }
    for name, array in values.items():
        np.save(directory / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        sync_file(directory / f"{name}.npy")


def write_decisions(path: Path, result: ScoreResult) -> None:
    """Each combination's decision on every measure, with reasons: a check answers from
    this file and the subject's combination, without the policy."""
    document = {
        "shape": list(combo_shape(result.tables)),
        "measures": list(result.tables.measure_names),
        "decisions": [
            [[d.allowed, list(d.reasons), d.detail] for d in row] for row in result.decisions
        ],
    }
    path.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")), "utf-8")


def write_listed(path: Path, view: LedgerView, result: ScoreResult) -> None:
    """The records behind each list membership, by subject row."""
    subject_rows, bits, positions = listed_by(view, result)
    columns: dict[str, list[npt.NDArray[Any]]] = {"row": [], "position": [], "list": []}
    for i, _ in enumerate(result.tables.list_names):
        on = np.flatnonzero(bits & np.uint8(1 << i))
        columns["row"].append(subject_rows[on].astype(np.int64))
        columns["position"].append(positions[on])
        columns["list"].append(np.full(len(on), i, np.int8))
    row, position, code = (np.concatenate(columns[k]) for k in ("row", "position", "list"))
    order = np.lexsort((position, row))
    row, position, code = row[order], position[order], code[order]
    table = pa.table(
        {
            "row": pa.array(row),
            "subject_id": take_strings(view.subjects.subject_id, row),
            "list": pa.DictionaryArray.from_arrays(
                pa.array(code), pa.array(result.tables.list_names, pa.string())
            ),
            "record_id": pa.array(view.records.ids.take(position), pa.string()),
        }
    )
    pq.write_table(table, path, compression="zstd")


def write_published(path: Path, view: LedgerView, result: ScoreResult) -> None:
    """Organisations' published records (:func:`published_by`), by subject row."""
    positions = published_by(view, result)
    row = view.records.subject[positions].astype(np.int64)
    order = np.lexsort((positions, row))
    row, positions = row[order], positions[order]
    objected = result.status[positions] == STATUS_CODES.index("under_objection")
    table = pa.table(
        {
            "row": pa.array(row),
            "subject_id": take_strings(view.subjects.subject_id, row),
            "record_id": pa.array(view.records.ids.take(positions), pa.string()),
            "under_objection": pa.array(objected),
        }
    )
    pq.write_table(table, path, compression="zstd")
