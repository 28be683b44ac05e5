"""A compact key index beside a Delta table: which keys it holds, with their fingerprints.

The index is a set of *runs*, one per table version that added rows. A run is a
``(3, rows)`` uint64 array, the rows sorted by key1: row 0 the keys1, row
1 the keys2, row 2 the content fingerprints (24 bytes a ledger row), stored as
``run-<version>.npy`` and memory-mapped when read. Looking up a batch is a binary
search per run in the contiguous keys1, touching only the pages it visits, so its
cost grows with the batch and the number of runs, not with the number of rows
already in the ledger; runs of similar size are merged (size-tiered, log-structured),
so there are O(log n) of them.

Runs are written after the table commit they describe. A crash between the two
leaves a version without a run; :meth:`KeyIndex.open` finds such versions and
rebuilds their runs from the files the version added, so the index always covers the
table. Runs for versions the table does not have (never committed) are deleted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
Run = npt.NDArray[np.uint64]  # (3, rows): key1, key2, fingerprint; sorted by the keys
#: never more runs than this (size-tiered merging keeps far fewer in practice)
MAX_RUNS = 32
_RUN = re.compile(r"^run-(\d+)(?:-(\d+))?\.npy$")


@dataclass(frozen=True)
class Lookup:
    """Per row of a batch: is the key in the index, and with the same fingerprint."""

    found: npt.NDArray[np.bool_]
    same: npt.NDArray[np.bool_]


def entries(
    key1: U64, key2: U64, fingerprint: U64, order: npt.NDArray[np.intp] | None = None
) -> Run:
    """A run of the given keys, sorted by key1 (entries sharing a key1, which almost
    never happens, are told apart by key2 in :meth:`KeyIndex.lookup`). ``order``, when
    given, already sorts ``key1``."""
    order = np.argsort(key1, kind="stable") if order is None else order
    run: Run = np.empty((3, len(order)), np.uint64)
    run[0], run[1], run[2] = key1[order], key2[order], fingerprint[order]
    return run


def empty_run() -> Run:
    return np.zeros((3, 0), np.uint64)


def merge_runs(runs: list[Run]) -> Run:
    """One sorted run of all the given sorted runs (the stable sort finds the runs)."""
    if not runs:
        return empty_run()
    merged = np.concatenate([np.asarray(run) for run in runs], axis=1)
    return entries(merged[0], merged[1], merged[2])


class KeyIndex:
    """The runs of one table's key index, in ``directory``."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory  # None: held in memory only
        self._runs: list[tuple[int, int, Run]] = []

    @classmethod
    def open(
        cls,
        directory: Path,
        table_version: int,
        rebuild: Callable[[int], Run],
    ) -> KeyIndex:
        """Open the index of a table at ``table_version``; ``rebuild(v)`` gives the
        entries that version ``v`` added (for versions whose run is missing)."""
        directory.mkdir(parents=True, exist_ok=True)
        index = cls(directory)
        covered: set[int] = set()
        spans: list[tuple[int, int, Path]] = []
        for path in directory.iterdir():
            match = _RUN.match(path.name)
            if path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)  # an interrupted write
            elif match:
                first = int(match.group(1))
                spans.append((first, int(match.group(2) or first), path))
        # widest first: after a merge interrupted before it deleted its inputs, the
        # merged run wins and the inputs it covers are deleted now
        for first, last, path in sorted(spans, key=lambda s: (s[0] - s[1], s[0])):
            if last > table_version:  # written for a commit that did not happen
                path.unlink(missing_ok=True)
                continue
            span = set(range(first, last + 1))
            if span <= covered:  # already merged into a wider run
                path.unlink(missing_ok=True)
                continue
            covered |= span
            index._runs.append((first, last, np.load(path, mmap_mode="r")))
        for version in range(1, table_version + 1):
            if version not in covered:
                index.add(version, rebuild(version))
        return index

    @classmethod
    def in_memory(cls, *runs: Run) -> KeyIndex:
        """An index of sorted runs held in memory (keys of a batch being ingested)."""
        index = cls(None)
        for run in runs:
            index.hold(run)
        return index

    def hold(self, run: Run) -> None:
        """Add a sorted run in memory, without writing it."""
        self._runs.append((0, 0, run))
        self._merge_similar()

    def merged(self) -> Run:
        """Every entry, as one sorted run."""
        return merge_runs([run for _, _, run in self._runs])

    @property
    def rows(self) -> int:
        return sum(run.shape[1] for _, _, run in self._runs)

    @property
    def run_count(self) -> int:
        return len(self._runs)

    def lookup(
        self, key1: U64, key2: U64, fingerprint: U64, order: npt.NDArray[np.intp] | None = None
    ) -> Lookup:
        """``order`` (optional) sorts ``key1``: callers that look up the same keys in
        several indexes sort them once."""
        found = np.zeros(len(key1), np.bool_)
        same = np.zeros(len(key1), np.bool_)
        if len(key1) == 0 or not self._runs:
            return Lookup(found, same)
        # searching in key order walks each run's pages once, in order
        order = np.argsort(key1, kind="stable") if order is None else order
        sorted_key1 = key1[order]
        for _, _, run in self._runs:
            size = run.shape[1]
            if size == 0:
                continue
            run_key1 = run[0]
            start = np.searchsorted(run_key1, sorted_key1, side="left")
            at = np.minimum(start, size - 1)
            equal = (start < size) & (run_key1[at] == sorted_key1)
            # almost always 0 or 1 entries share key1; more are checked one by one
            after = np.minimum(at + 1, size - 1)
            several = equal & (at + 1 < size) & (run_key1[after] == sorted_key1)
            single = np.flatnonzero(equal & ~several)
            rows, where = order[single], at[single]
            hit = run[1][where] == key2[rows]
            found[rows[hit]] = True
            same[rows[hit]] |= run[2][where[hit]] == fingerprint[rows[hit]]
            for position in np.flatnonzero(several).tolist():
                row = int(order[position])
                stop = int(np.searchsorted(run_key1, sorted_key1[position], side="right"))
                block = np.asarray(run[:, start[position] : stop])
                match = block[1] == key2[row]
                if match.any():
                    found[row] = True
                    same[row] |= bool((block[2][match] == fingerprint[row]).any())
        return Lookup(found, same)

    def add(self, version: int, rows: Run) -> None:
        """Record the entries a committed table version added (sorted by key)."""
        if self.directory is None:
            raise ValueError("an in-memory index holds runs; it does not add versions")
        path = self.directory / f"run-{version}.npy"
        _save(path, rows)
        self._runs.append((version, version, np.load(path, mmap_mode="r")))
        self._merge_similar()

    def _merge_similar(self) -> None:
        """Size-tiered merging: while the newest run is at least half the size of the one
        before, merge the two. Runs then shrink geometrically from oldest to newest:
        O(log n) runs to search, and each key is rewritten O(log n) times in all, never
        the whole ledger on every merge."""
        while len(self._runs) > 1 and (
            self._runs[-1][2].shape[1] * 2 >= self._runs[-2][2].shape[1]
            or len(self._runs) > MAX_RUNS
        ):
            older, newer = self._runs[-2], self._runs[-1]
            merged = merge_runs([older[2], newer[2]])
            first, last = older[0], newer[1]
            if self.directory is None:
                self._runs[-2:] = [(first, last, merged)]
                continue
            path = self.directory / f"run-{first}-{last}.npy"
            _save(path, merged)
            self._runs[-2:] = [(first, last, np.load(path, mmap_mode="r"))]
            for f, la in ((older[0], older[1]), (newer[0], newer[1])):
                name = f"run-{f}.npy" if f == la else f"run-{f}-{la}.npy"
                if name != path.name:
                    (self.directory / name).unlink(missing_ok=True)


def _save(path: Path, rows: Run) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        np.save(handle, rows)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
