"""A compact key index beside a Delta table: which keys it holds, with their fingerprints.

The index is a set of *runs*, one per table version that added rows. A run is a
``(3, rows)`` uint64 array, the rows sorted by key1: row 0 the keys1, row
1 the keys2, row 2 the content fingerprints (24 bytes a ledger row), stored as
``run-<version>.npy`` and memory-mapped when read (the run primitives are in
:mod:`socialcredit.ledger.runs`). Looking up a batch walks each run in key order through
its fence (every 64th key, in memory) and reads a few cache lines of the run per key, so
its cost grows with the batch and the number of runs, not with the number of rows
already in the ledger; runs of similar size are merged (size-tiered, log-structured),
so there are O(log n) of them.

Runs are written after the table commit they describe. A crash between the two
leaves a version without a run; :meth:`KeyIndex.open` finds such versions and
rebuilds their runs from the files the version added, so the index always covers the
table. Runs for versions the table does not have (never committed) are deleted.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from socialcredit.ledger.runs import (
    U64,
    Mask,
    Run,
    empty_run,
    entries,
    fence_of,
    key_order,
    lower_bounds,
    merge_runs,
    merge_to,
    probe_kernel,
)

__all__ = [  # the run primitives are used through this module too
    "INDEX_FORMAT",
    "MAX_RUNS",
    "KeyIndex",
    "Lookup",
    "PendingKeys",
    "Run",
    "empty_run",
    "entries",
    "first_of_each_key",
    "key_order",
    "lower_bounds",
    "merge_runs",
    "merge_to",
]
#: the version of the key and fingerprint functions (socialcredit.ledger.hashing) the
#: runs were made with, kept in the index's FORMAT file: an index of another version
#: is rebuilt from its table when opened (2: hashes take a word of 8 bytes a step)
INDEX_FORMAT = 2
#: never more runs than this (size-tiered merging keeps far fewer in practice)
MAX_RUNS = 32
_RUN = re.compile(r"^run-(\d+)(?:-(\d+))?\.npy$")


@dataclass(frozen=True)
class Lookup:
    """Per row of a batch: is the key in the index, and with the same fingerprint."""

    found: npt.NDArray[np.bool_]
    same: npt.NDArray[np.bool_]


@dataclass
class _Span:
    """One run of an index: the table versions it covers, its entries, its fence."""

    first: int
    last: int
    rows: Run
    _fence: U64 | None = None

    @property
    def fence(self) -> U64:
        # computed on first use (a strided read of the whole run) and kept: a race
        # between two looking-up threads computes the same array twice, harmlessly
        if self._fence is None:
            self._fence = fence_of(self.rows[0])
        return self._fence


class KeyIndex:
    """The runs of one table's key index, in ``directory``."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory  # None: held in memory only
        self._runs: list[_Span] = []

    @classmethod
    def open(
        cls,
        directory: Path,
        table_version: int,
        rebuild: Callable[[int], Iterable[Run]],
    ) -> KeyIndex:
        """Open the index of a table at ``table_version``; ``rebuild(v)`` gives the
        entries that version ``v`` added, as sorted runs (for versions whose run is
        missing: spilled to disk as they come, so memory stays bounded)."""
        directory.mkdir(parents=True, exist_ok=True)
        index = cls(directory)
        marker = directory / "FORMAT"
        stale = not marker.exists() or marker.read_text().strip() != str(INDEX_FORMAT)
        covered: set[int] = set()
        spans: list[tuple[int, int, Path]] = []
        for path in directory.iterdir():
            match = _RUN.match(path.name)
            if path.is_dir() and path.name.endswith(".tmp"):
                shutil.rmtree(path, ignore_errors=True)  # an interrupted rebuild
            elif path.name.endswith(".tmp") or (stale and match):
                # an interrupted write, or a run hashed by other functions: rebuilt below
                path.unlink(missing_ok=True)
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
            index._runs.append(_Span(first, last, np.load(path, mmap_mode="r")))
        # oldest first, as merging expects (a merged run is named by the versions of
        # the older and the newer of the two)
        index._runs.sort(key=lambda span: span.first)
        if stale:  # (every run of the old format is gone: none can be mixed in)
            marker.write_text(f"{INDEX_FORMAT}\n")
        for version in range(1, table_version + 1):
            if version not in covered:
                pending = PendingKeys(directory / f"rebuild-{version}.tmp")
                try:
                    for run in rebuild(version):
                        pending.hold(run)
                    index.add_runs(version, pending.runs())
                finally:
                    pending.discard()
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
        self._runs.append(_Span(0, 0, run))
        self._merge_similar()

    def runs(self) -> list[Run]:
        return [span.rows for span in self._runs]

    @property
    def rows(self) -> int:
        return sum(span.rows.shape[1] for span in self._runs)

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
        order = key_order(key1) if order is None else order
        needles = (key1[order], key2[order], fingerprint[order])
        # a key repeated (the subjects of a person's records) is looked up once: each
        # look-up in a large run costs a cache miss or two
        distinct = np.ones(len(order), np.bool_)
        distinct[1:] = (
            (needles[0][1:] != needles[0][:-1])
            | (needles[1][1:] != needles[1][:-1])
            | (needles[2][1:] != needles[2][:-1])
        )
        repeated = int(distinct.sum()) * 8 < len(order) * 7
        if repeated:
            needles = (needles[0][distinct], needles[1][distinct], needles[2][distinct])
        sorted_found = np.zeros(len(needles[0]), np.bool_)
        sorted_same = np.zeros(len(needles[0]), np.bool_)
        for span in self._runs:
            if span.rows.shape[1]:
                rows = np.asarray(span.rows)  # a memory-mapped run, as a plain array view
                starts = lower_bounds(rows[0], needles[0], span.fence)
                probe_kernel()(
                    rows[0], rows[1], rows[2], starts, *needles, sorted_found, sorted_same
                )
        if repeated:
            group = np.cumsum(distinct) - 1
            sorted_found, sorted_same = sorted_found[group], sorted_same[group]
        found[order] = sorted_found
        same[order] = sorted_same
        return Lookup(found, same)

    def add(self, version: int, rows: Run) -> None:
        """Record the entries a committed table version added (sorted by key)."""
        self.add_runs(version, [rows])

    def add_runs(self, version: int, runs: list[Run]) -> None:
        """Record the entries a committed table version added, given as sorted runs
        (merged on disk into the version's run)."""
        self.add_staged(version, self.stage(runs))

    def stage(self, runs: list[Run]) -> Path:
        """Merge ``runs`` into a run file that is not yet part of the index, so it can be
        written before the commit it describes: until :meth:`add_staged` names it after
        the committed version, its name ends in ``.tmp`` (deleted by :meth:`open`)."""
        if self.directory is None:
            raise ValueError("an in-memory index holds runs; it does not add versions")
        path = self.directory / f"staged-{uuid.uuid4().hex}.npy.tmp"
        merge_to(path, runs)
        return path

    def add_staged(self, version: int, staged: Path) -> None:
        """Make a staged run the run of the committed table version ``version``."""
        if self.directory is None:
            raise ValueError("an in-memory index holds runs; it does not add versions")
        path = self.directory / f"run-{version}.npy"
        os.replace(staged, path)
        self._runs.append(_Span(version, version, np.load(path, mmap_mode="r")))
        self._merge_similar()

    def _merge_similar(self) -> None:
        """Size-tiered merging: while the newest run is at least half the size of the one
        before, merge the two. Runs then shrink geometrically from oldest to newest:
        O(log n) runs to search, and each key is rewritten O(log n) times in all, never
        the whole ledger on every merge."""
        while len(self._runs) > 1 and (
            self._runs[-1].rows.shape[1] * 2 >= self._runs[-2].rows.shape[1]
            or len(self._runs) > MAX_RUNS
        ):
            older, newer = self._runs[-2], self._runs[-1]
            first, last = older.first, newer.last
            if self.directory is None:
                self._runs[-2:] = [_Span(first, last, merge_runs([older.rows, newer.rows]))]
                continue
            path = self.directory / f"run-{first}-{last}.npy"
            merge_to(path, [older.rows, newer.rows])
            self._runs[-2:] = [_Span(first, last, np.load(path, mmap_mode="r"))]
            for f, la in ((older.first, older.last), (newer.first, newer.last)):
                name = f"run-{f}.npy" if f == la else f"run-{f}-{la}.npy"
                if name != path.name:
                    (self.directory / name).unlink(missing_ok=True)


#: a batch keeps up to this many accepted keys in memory (24 bytes each), then spills
SPILL_ENTRIES = 1 << 21


class PendingKeys:
    """The keys a batch has accepted so far: held in memory up to ``spill`` entries,
    then as runs in ``directory`` (deleted with :meth:`discard`), so a batch's memory
    stays bounded whatever its size."""

    def __init__(self, directory: Path, spill: int | None = None) -> None:
        self.directory = directory
        self._spill = SPILL_ENTRIES if spill is None else spill
        self._memory = KeyIndex.in_memory()
        self._disk: KeyIndex | None = None
        self._added = 0

    @property
    def rows(self) -> int:
        return self._memory.rows + (self._disk.rows if self._disk is not None else 0)

    def hold(self, run: Run) -> None:
        if self._disk is None and self._memory.rows + run.shape[1] <= self._spill:
            self._memory.hold(run)
            return
        if self._disk is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._disk = KeyIndex(self.directory)
            self._add(self._memory.runs())
            self._memory = KeyIndex.in_memory()
        self._add([run])

    def _add(self, runs: list[Run]) -> None:
        if self._disk is not None and any(run.shape[1] for run in runs):
            self._added += 1
            self._disk.add_runs(self._added, runs)

    def lookup(
        self, key1: U64, key2: U64, fingerprint: U64, order: npt.NDArray[np.intp] | None = None
    ) -> Lookup:
        result = self._memory.lookup(key1, key2, fingerprint, order)
        if self._disk is None:
            return result
        other = self._disk.lookup(key1, key2, fingerprint, order)
        return Lookup(result.found | other.found, result.same | other.same)

    def runs(self) -> list[Run]:
        disk = self._disk.runs() if self._disk is not None else []
        return disk + self._memory.runs()

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
        with contextlib.suppress(OSError):  # the batch's directory, once it is empty
            self.directory.parent.rmdir()


def first_of_each_key(
    key1: npt.NDArray[np.uint64],
    key2: npt.NDArray[np.uint64],
    rows: Mask,
    order: npt.NDArray[np.intp] | None = None,
) -> tuple[Mask, npt.NDArray[np.int64]]:
    """Among ``rows``, the first occurrence of each key, and for every row the
    position of its key's first occurrence. ``order`` (optional) sorts ``key1``."""
    if order is None:
        order = key_order(key1)
    ranked = order[rows[order]]  # the rows, by key1, in input order among equals
    k1, k2 = key1[ranked], key2[ranked]
    if len(ranked) > 1 and ((k1[1:] == k1[:-1]) & (k2[1:] != k2[:-1])).any():
        # two keys share key1 (astronomically rare): sort by both keys exactly
        ranked = ranked[np.lexsort((ranked, k2, k1))]
        k1, k2 = key1[ranked], key2[ranked]
    first = np.ones(len(ranked), np.bool_)
    if len(ranked) > 1:
        first[1:] = (k1[1:] != k1[:-1]) | (k2[1:] != k2[:-1])
    group_first = ranked[np.maximum.accumulate(np.where(first, np.arange(len(ranked)), 0))]
    leader = np.full(len(key1), -1, np.int64)
    leader[ranked] = group_first
    is_first = np.zeros(len(key1), np.bool_)
    is_first[ranked[first]] = True
    return is_first, leader
