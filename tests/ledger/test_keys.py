from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import socialcredit.ledger.keys as keys_module
import socialcredit.ledger.readers as readers_module
from socialcredit.ledger import RECORDS, SUBJECTS, Ledger, open_input, run_batch
from socialcredit.ledger.hashing import fingerprints, record_keys
from socialcredit.ledger.keys import (
    INDEX_FORMAT,
    MAX_RUNS,
    KeyIndex,
    PendingKeys,
    Run,
    entries,
    key_order,
    lower_bounds,
    merge_runs,
    merge_to,
)
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
    index = KeyIndex.open(tmp_path, 0, lambda v: [])
    index.add(1, _entries(["a", "b"], ["1", "2"]))
    index.add(2, _entries(["c"], ["3"]))
    assert _lookup(index, ["a", "b", "c", "d"], ["1", "x", "3", "4"]) == (
        [True, True, True, False],
        [True, False, True, False],
    )
    reopened = KeyIndex.open(tmp_path, 2, lambda v: [])
    assert reopened.rows == 3


def test_runs_are_merged_when_they_grow_many(tmp_path: Path) -> None:
    index = KeyIndex.open(tmp_path, 0, lambda v: [])
    for version in range(1, MAX_RUNS + 3):
        index.add(version, _entries([f"id-{version}"], ["x"]))
    assert index.run_count <= 3
    assert index.rows == MAX_RUNS + 2
    assert _lookup(index, ["id-1", f"id-{MAX_RUNS + 2}"], ["x", "x"])[1] == [True, True]
    reopened = KeyIndex.open(tmp_path, MAX_RUNS + 2, lambda v: [])
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


def test_an_index_of_another_hash_format_is_rebuilt_from_its_table(
    registered: Ledger, generated: Path, shipped_catalog: PolicyCatalog
) -> None:
    first = ingest(registered, shipped_catalog, generated / "records.parquet")
    keys = registered.keys_path(RECORDS)
    assert (keys / "FORMAT").read_text().strip() == str(INDEX_FORMAT)
    # an index written by older hash functions: its entries match nothing now
    (keys / "FORMAT").write_text("1\n")
    np.save(keys / f"run-{first.version}.npy", _entries(["old-hash"], ["x"]))
    index = registered.key_index(RECORDS)
    assert (keys / "FORMAT").read_text().strip() == str(INDEX_FORMAT)
    assert index.rows == stored(registered).num_rows
    again = ingest(registered, shipped_catalog, generated / "records.parquet")
    assert (again.accepted, again.duplicates) == (0, first.accepted)


def test_a_rebuild_spills_to_disk_and_gives_the_run_the_ingest_wrote(
    registered: Ledger,
    generated: Path,
    shipped_catalog: PolicyCatalog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    summary = ingest(registered, shipped_catalog, generated / "records.parquet")
    keys = registered.keys_path(RECORDS)
    written = np.load(keys / f"run-{summary.version}.npy")
    (keys / f"run-{summary.version}.npy").unlink()
    monkeypatch.setattr(keys_module, "SPILL_ENTRIES", 100)  # a rebuild far past memory
    index = registered.key_index(RECORDS)
    assert np.array_equal(np.asarray(index.runs()[-1]), written)
    assert not [p for p in keys.iterdir() if p.name.endswith(".tmp")]


def test_runs_are_rebuilt_in_a_data_dir_whose_path_needs_escaping(
    generated: Path, shipped_catalog: PolicyCatalog, tmp_path: Path
) -> None:
    ledger, _ = Ledger.init(tmp_path / "data dir ü")  # file URIs escape both
    ingest_subjects = run_batch(
        ledger, SUBJECTS, [open_input(generated / "subjects.parquet")], catalog=None
    )
    first = ingest(ledger, shipped_catalog, generated / "records.parquet")
    for layout, version in ((SUBJECTS, ingest_subjects.version), (RECORDS, first.version)):
        (ledger.keys_path(layout) / f"run-{version}.npy").unlink()
    assert ledger.key_index(RECORDS).rows == stored(ledger).num_rows
    again = ingest(ledger, shipped_catalog, generated / "records.parquet")
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
    index = KeyIndex.open(tmp_path, 0, lambda v: [])
    for version in range(1, 101):
        index.add(version, _entries([f"id-{version}-{n}" for n in range(10)], ["x"] * 10))
    assert index.run_count <= 7  # size-tiered: about log2(100)
    assert index.rows == 1000
    # a merge killed after writing its output and before deleting its inputs
    merged = merge_runs(index.runs())
    np.save(tmp_path / "run-1-100.npy", merged)
    reopened = KeyIndex.open(tmp_path, 100, lambda v: [])
    assert reopened.run_count == 1
    assert reopened.rows == 1000
    assert sorted(p.name for p in tmp_path.glob("run-*.npy")) == ["run-1-100.npy"]


def _random_runs(rng: np.random.Generator, sizes: list[int]) -> list[Run]:
    runs = []
    for size in sizes:
        keys = rng.integers(0, 50, (3, size), dtype=np.uint64)  # many equal key1
        runs.append(entries(keys[0], keys[1], keys[2]))
    return runs


def test_merge_on_disk_in_small_blocks_matches_the_merge_in_memory(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    runs = _random_runs(rng, [1000, 0, 37, 2500])
    merge_to(tmp_path / "run-1.npy", runs, block=16)
    merged = np.load(tmp_path / "run-1.npy")
    assert merged.shape == (3, 3537)
    assert (np.diff(merged[0].astype(np.int64)) >= 0).all()
    # the same entries as the in-memory merge (order among equal key1 may differ)
    expected = merge_runs(runs)
    assert sorted(map(tuple, merged.T.tolist())) == sorted(map(tuple, expected.T.tolist()))
    assert not list(tmp_path.glob("*.tmp"))
    merge_to(tmp_path / "empty.npy", [])
    assert np.load(tmp_path / "empty.npy").shape == (3, 0)


def test_pending_keys_spill_to_disk_and_answer_as_in_memory(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    runs = [entries(*rng.integers(0, 2**63, (3, 40), dtype=np.uint64)) for _ in range(9)]
    spilled = PendingKeys(tmp_path / "batch.1" / "records", spill=100)
    held = KeyIndex.in_memory()
    for run in runs:
        spilled.hold(run)
        held.hold(run)
    assert spilled.rows == held.rows == 360
    assert list((tmp_path / "batch.1" / "records").glob("run-*.npy"))  # it did spill
    probe = np.concatenate([runs[0][:, :5], rng.integers(0, 2**63, (3, 5), dtype=np.uint64)], 1)
    a, b = spilled.lookup(*probe), held.lookup(*probe)
    assert a.found.tolist() == b.found.tolist() == [True] * 5 + [False] * 5
    assert a.same.tolist() == b.same.tolist()
    assert np.array_equal(merge_runs(spilled.runs()), merge_runs(held.runs()))
    spilled.discard()
    assert not (tmp_path / "batch.1").exists()


def test_a_batch_larger_than_the_spill_threshold_lands_whole(
    ledger: Ledger,
    generated: Path,
    shipped_catalog: PolicyCatalog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(keys_module, "SPILL_ENTRIES", 1000)
    monkeypatch.setattr(readers_module, "BATCH_ROWS", 700)
    summary = ingest(ledger, shipped_catalog, generated / "records.parquet", register_unknown=True)
    rows = records_table(generated).num_rows
    assert (summary.accepted, summary.rejected) == (rows, 0)
    index = ledger.key_index(RECORDS)
    assert index.rows == rows
    again = ingest(ledger, shipped_catalog, generated / "records.parquet", register_unknown=True)
    assert (again.accepted, again.duplicates) == (0, rows)
    assert not any((ledger.root / "pending").iterdir())  # it spilled; all removed


def test_leftovers_of_killed_batches_are_removed_whatever_their_process_id(
    ledger: Ledger,
) -> None:
    # the writer holds the lock: anything left belongs to a killed batch, even when its
    # process id is alive again (in a container, every run may be process 1)
    dead = ledger.root / "pending" / "20260101T000000-deadbeef.999999999" / "records"
    dead.mkdir(parents=True)
    (dead / "run-1.npy").write_bytes(b"")
    reused = ledger.pending_path("20260101T000000-cafecafe", RECORDS)
    reused.mkdir(parents=True)
    quarantine = ledger.quarantine / f"20260101T000000-cafecafe.{os.getpid()}.jsonl.tmp"
    quarantine.write_text("{}\n", encoding="utf-8")
    ledger.clean_interrupted()
    assert not any((ledger.root / "pending").iterdir())
    assert not quarantine.exists()


@pytest.mark.parametrize(("size", "needles"), [(1, 5), (10, 100), (1000, 10), (50_000, 50_000)])
def test_lower_bounds_agree_with_searchsorted(size: int, needles: int) -> None:
    rng = np.random.default_rng(size)
    keys = np.sort(rng.integers(0, 2**64 - 1, size, dtype=np.uint64))
    keys[size // 2 : size // 2 + 3] = keys[size // 2]  # equal keys
    keys = np.sort(keys)
    queries = np.sort(
        np.concatenate(
            [
                rng.integers(0, 2**64 - 1, needles, dtype=np.uint64),
                keys[: min(size, needles)],  # present ones
                np.array([0, 2**64 - 1], np.uint64),  # the extremes
            ]
        )
    )
    assert np.array_equal(lower_bounds(keys, queries), np.searchsorted(keys, queries, "left"))
    assert len(lower_bounds(keys[:0], queries)) == len(queries)


def test_entries_sharing_key1_are_told_apart_by_key2(tmp_path: Path) -> None:
    index = KeyIndex.open(tmp_path, 0, lambda v: [])
    shared = np.array([7, 7, 7, 9], np.uint64)
    index.add(1, entries(shared, np.array([1, 2, 3, 1], np.uint64), np.arange(4, dtype=np.uint64)))
    found = index.lookup(
        np.array([7, 7, 7, 9, 8], np.uint64),
        np.array([3, 4, 2, 1, 1], np.uint64),
        np.array([2, 0, 0, 0, 0], np.uint64),
    )
    assert found.found.tolist() == [True, False, True, True, False]
    assert found.same.tolist() == [True, False, False, False, False]


@pytest.mark.parametrize("sizes", [[5, 7], [1000, 3, 0, 50], [0], [], [4000, 4000, 7, 1234, 1]])
def test_merge_runs_equals_a_stable_sort_of_the_runs_together(sizes: list[int]) -> None:
    rng = np.random.default_rng(len(sizes))
    runs = []
    for size in sizes:
        values = rng.integers(0, 40, (3, size), dtype=np.uint64)  # key1 ties everywhere
        runs.append(entries(values[0], values[1], values[2]))
    together = np.concatenate([np.zeros((3, 0), np.uint64), *runs], axis=1)
    expected = entries(together[0], together[1], together[2])
    assert np.array_equal(merge_runs(runs), expected)


@pytest.mark.parametrize("rows", [0, 1, 2, 1000, 70_000])
def test_key_order_is_the_stable_argsort(rows: int) -> None:
    rng = np.random.default_rng(rows)
    spread = rng.integers(0, 2**64 - 1, rows, dtype=np.uint64, endpoint=True)
    repeated = spread.copy()
    repeated[rows // 2 :] = spread[: rows - rows // 2]  # every key twice: ties
    # keys that differ only in their low bits (the packed sort cannot order them)
    near = np.uint64(0xABC << 52) | rng.integers(0, 1 << 16, rows, dtype=np.uint64)
    for keys in (spread, repeated, near):
        assert np.array_equal(key_order(keys), np.argsort(keys, kind="stable"))


def test_lower_bounds_across_fence_posts_with_long_runs_of_equal_keys() -> None:
    rng = np.random.default_rng(9)
    keys = np.sort(rng.integers(0, 50, 10_000, dtype=np.uint64))  # runs of ~200 equal keys
    queries = np.sort(rng.integers(0, 52, 3_000, dtype=np.uint64))
    assert np.array_equal(lower_bounds(keys, queries), np.searchsorted(keys, queries, "left"))
    few = np.sort(rng.integers(0, 2**64 - 1, 5, dtype=np.uint64))  # sparse needles
    spread = np.sort(rng.integers(0, 2**64 - 1, 100_000, dtype=np.uint64))
    assert np.array_equal(lower_bounds(spread, few), np.searchsorted(spread, few, "left"))


def test_repeated_keys_are_answered_as_if_looked_up_one_by_one(tmp_path: Path) -> None:
    stored_ids = [f"s{n}" for n in range(50)]
    index = KeyIndex.in_memory(_entries(stored_ids, ["v"] * 50))
    # mostly repeats (as the subjects of many records), some with other content
    ids = [f"s{n % 60}" for n in range(1000)]
    content = ["v" if n % 7 else "changed" for n in range(1000)]
    assert _lookup(index, ids, content) == (
        [int(i[1:]) < 50 for i in ids],
        [int(i[1:]) < 50 and c == "v" for i, c in zip(ids, content, strict=True)],
    )
