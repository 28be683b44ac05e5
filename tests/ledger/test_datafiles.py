from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from socialcredit.ledger import RECORDS, SUBJECTS, Ledger
from socialcredit.ledger.datafiles import DataFiles
from socialcredit.ledger.ingest import with_provenance


def _subjects(count: int, start: int = 0) -> pa.Table:
    table = pa.table(
        {
            "subject_id": [f"S{n:017d}" for n in range(start, start + count)],
            "kind": ["person"] * count,
            "name": [None] * count,
            "region": ["110101"] * count,
            "birth_date": pa.nulls(count, pa.date32()),
            "registered_on": pa.nulls(count, pa.date32()),
        }
    )
    return with_provenance(table, SUBJECTS, dt.datetime.now(dt.UTC), "test", "b1")


def test_rows_land_in_several_files_as_one_version(tmp_path: Path) -> None:
    ledger, _ = Ledger.init(tmp_path)
    files = DataFiles(ledger.table_path(SUBJECTS), SUBJECTS, rows_per_file=7)
    for start in range(0, 30, 10):
        files.write(_subjects(10, start))
    version = files.commit("b1")
    table = ledger.table(SUBJECTS)
    assert version == table.version() == 1
    assert len(table.file_uris()) == 5  # 30 rows, 7 a file
    stored = table.to_pyarrow_table().sort_by("subject_id")
    assert stored.column("subject_id").to_pylist() == [f"S{n:017d}" for n in range(30)]
    assert stored.schema == SUBJECTS.table_schema.remove_metadata()
    assert ledger.stats(SUBJECTS)["rows"] == 30  # the files' statistics count rows


def test_nothing_written_commits_nothing(tmp_path: Path) -> None:
    ledger, _ = Ledger.init(tmp_path)
    assert DataFiles(ledger.table_path(RECORDS), RECORDS).commit("b1") is None
    assert ledger.version(RECORDS) == 0


def test_a_discarded_batch_leaves_no_files_and_no_version(tmp_path: Path) -> None:
    ledger, _ = Ledger.init(tmp_path)
    path = ledger.table_path(SUBJECTS)
    before = {p.name for p in path.iterdir()}
    files = DataFiles(path, SUBJECTS, rows_per_file=4)
    files.write(_subjects(10))
    files.discard()
    assert {p.name for p in path.iterdir()} == before
    assert ledger.version(SUBJECTS) == 0


def test_a_failed_write_is_raised_to_the_caller(tmp_path: Path) -> None:
    ledger, _ = Ledger.init(tmp_path)
    files = DataFiles(ledger.table_path(SUBJECTS), SUBJECTS)
    files.write(pa.table({"other": [1, 2]}))  # not the table's schema
    with pytest.raises((ValueError, pa.ArrowException)):
        files.close()
    files.discard()
    assert ledger.version(SUBJECTS) == 0
