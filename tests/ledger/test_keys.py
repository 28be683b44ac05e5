from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.ledger import RECORDS, Ledger
from socialcredit.ledger.hashing import fingerprints, record_keys
from socialcredit.ledger.keys import MAX_RUNS, KeyIndex, Run, entries
from socialcredit.policy import PolicyCatalog
from tests.ledger.conftest import ingest, records_table, stored


def _entries(ids: list[str], content: list[str]) -> Run:
    key1, key2 = record_keys(pa.array(ids))
    return entries(key1, key2, fingerprints([pa.array(ids), pa.array(content)]))


def _lookup(index: KeyIndex, ids: list[str], content: list[str]) -> tuple[list[bool], list[bool]]:
    key1, key2 = record_keys(pa.array(ids))
    found = index.lookup(key1, key2, fingerprints([pa.array(ids), pa.array(content)]))
    return found.found.tolist(), found.same.tolist()


def test_lookup_tells_new_same_and_changed_keys(tmp_path: Path) -> None:
    index = KeyIndex.open(tmp_path, 0, lambda v: _entries([], []))
    index.add(1, _entries(["a", "b"], ["1", "2"]))
    index.add(2, _entries(["c"], ["3"]))
    assert _lookup(index, ["a", "b", "c", "d"], ["1", "x", "3", "4"]) == (
        [True, True, True, False],
        [True, False, True, False],
    )
    reopened = KeyIndex.open(tmp_path, 2, lambda v: _entries([], []))
    assert reopened.rows == 3


def test_runs_are_merged_when_they_grow_many(tmp_path: Path) -> None:
    index = KeyIndex.open(tmp_path, 0, lambda v: _entries([], []))
    for version in range(1, MAX_RUNS + 3):
        index.add(version, _entries([f"id-{version}"], ["x"]))
    assert index.run_count <= 3
    assert index.rows == MAX_RUNS + 2
    assert _lookup(index, ["id-1", f"id-{MAX_RUNS + 2}"], ["x", "x"])[1] == [True, True]
    reopened = KeyIndex.open(tmp_path, MAX_RUNS + 2, lambda v: _entries([], []))
    assert reopened.rows == MAX_RUNS + 2


def test_missing_runs_are_rebuilt_and_uncommitted_ones_dropped(
    registered: Ledger, generated: Path, shipped_catalog: PolicyCatalog
) -> None:
    first = ingest(registered, shipped_catalog, generated / "records.parquet")
    keys = registered.keys_path(RECORDS)
    # a crash after the commit, before the run was written; and a run of a commit
    # that never happened
    (keys / f"run-{first.version}.npy").unlink()
    np.save(keys / "run-99.npy", _entries(["ghost"], ["x"]))
    index = registered.key_index(RECORDS)
    assert index.rows == stored(registered).num_rows
    assert not (keys / "run-99.npy").exists()
    again = ingest(registered, shipped_catalog, generated / "records.parquet")
    assert (again.accepted, again.duplicates) == (0, first.accepted)


def test_index_entries_match_the_stored_rows(
    registered: Ledger, generated: Path, shipped_catalog: PolicyCatalog
) -> None:
    summary = ingest(registered, shipped_catalog, generated / "records.parquet")
    assert summary.version is not None
    written = np.load(registered.keys_path(RECORDS) / f"run-{summary.version}.npy")
    rebuilt = registered.entries_added(RECORDS, summary.version)
    assert np.array_equal(written, rebuilt)
    ids = records_table(generated).column("record_id")
    assert pc.count_distinct(ids).as_py() == written.shape[1]


def test_runs_stay_few_and_an_interrupted_merge_is_cleaned_up(tmp_path: Path) -> None:
    index = KeyIndex.open(tmp_path, 0, lambda v: _entries([], []))
    for version in range(1, 101):
        index.add(version, _entries([f"id-{version}-{n}" for n in range(10)], ["x"] * 10))
    assert index.run_count <= 7  # size-tiered: about log2(100)
    assert index.rows == 1000
    # a merge killed after writing its output and before deleting its inputs
    merged = index.merged()
    np.save(tmp_path / "run-1-100.npy", merged)
    reopened = KeyIndex.open(tmp_path, 100, lambda v: _entries([], []))
    assert reopened.run_count == 1
    assert reopened.rows == 1000
    assert sorted(p.name for p in tmp_path.glob("run-*.npy")) == ["run-1-100.npy"]
