"""Sorted runs of key-index entries: building, merging and searching them.

A run is a ``(3, rows)`` uint64 array, the rows sorted by key1: row 0 the keys1, row 1
the keys2, row 2 the content fingerprints (see :mod:`socialcredit.ledger.keys`, which
keeps runs on disk as an index). The kernels are compiled with Numba on first use and
cached on disk; none calls another compiled function (that would make Numba compile it
again in every process).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
Run = npt.NDArray[np.uint64]  # (3, rows): key1, key2, fingerprint; sorted by the keys
Mask = npt.NDArray[np.bool_]


def key_order(key1: U64) -> npt.NDArray[np.intp]:
    """``np.argsort(key1, kind="stable")``, several times faster.

    Each key's low bits are replaced by its position and the packed values are sorted
    (a plain sort of numbers is far faster than an arg-sort): equal keys then stay in
    input order. Keys that differ only in those low bits (rare: keys are hashes) come
    out misordered; that is checked, and the exact arg-sort used instead.
    """
    rows = len(key1)
    bits = max((rows - 1).bit_length(), 1)
    if rows < 2 or bits > 32:
        return np.argsort(key1, kind="stable")
    low = np.uint64((1 << bits) - 1)
    packed = (key1 & ~low) | np.arange(rows, dtype=np.uint64)
    packed.sort()
    order = (packed & low).astype(np.intp)
    ordered = key1[order]
    if (ordered[1:] < ordered[:-1]).any():
        return np.argsort(key1, kind="stable")
    return order


def entries(
    key1: U64, key2: U64, fingerprint: U64, order: npt.NDArray[np.intp] | None = None
) -> Run:
    """A run of the given keys, sorted by key1 (entries sharing a key1, which almost
    never happens, are told apart by key2 in :meth:`KeyIndex.lookup`). ``order``, when
    given, already sorts ``key1``."""
    order = key_order(key1) if order is None else order
    run: Run = np.empty((3, len(order)), np.uint64)
    run[0], run[1], run[2] = key1[order], key2[order], fingerprint[order]
    return run


def empty_run() -> Run:
    return np.zeros((3, 0), np.uint64)


def merge_runs(runs: list[Run]) -> Run:
    """One sorted run of all the given sorted runs, in memory; entries with equal key1
    keep the order of the runs (as a stable sort of their concatenation would)."""
    pending = [np.asarray(run) for run in runs if run.shape[1]]
    if not pending:
        return empty_run()
    while len(pending) > 1:  # pairwise, in rounds: each entry is copied log2(runs) times
        pending = [
            _merge_kernel()(pending[i], pending[i + 1]) if i + 1 < len(pending) else pending[i]
            for i in range(0, len(pending), 2)
        ]
    merged: Run = np.ascontiguousarray(pending[0])
    return merged


#: entries taken from all runs together per step of a merge on disk (24 bytes each)
MERGE_BLOCK = 1 << 21


def merge_to(path: Path, runs: list[Run], block: int = MERGE_BLOCK) -> None:
    """Merge sorted runs into one sorted run saved at ``path`` (a .npy file), a block
    at a time, so memory stays bounded whatever the runs' sizes and number; written
    under a temporary name, synced, then renamed."""
    runs = [run for run in runs if run.shape[1]]
    block = max(block // max(len(runs), 1), 1)  # a step takes at most a block in all
    total = sum(run.shape[1] for run in runs)
    tmp = path.with_name(path.name + ".tmp")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint64, shape=(3, total))
    positions = [0] * len(runs)
    written = 0
    while written < total:
        # every entry with key1 <= bound is taken now, and none after: the bound is the
        # smallest of the runs' block ends, so no run gives more than a block
        bound = min(
            run[0, min(at + block, run.shape[1]) - 1]
            for run, at in zip(runs, positions, strict=True)
            if at < run.shape[1]
        )
        pieces = []
        for number, run in enumerate(runs):
            at = positions[number]
            if at < run.shape[1]:
                end = at + int(np.searchsorted(run[0, at:], bound, side="right"))
                pieces.append(np.asarray(run[:, at:end]))
                positions[number] = end
        merged = merge_runs(pieces)
        out[:, written : written + merged.shape[1]] = merged
        written += merged.shape[1]
    out.flush()
    del out
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


#: every FENCE_STRIDE-th key of a run is kept in memory to narrow each search
FENCE_STRIDE = 64


def fence_of(keys: U64) -> U64:
    """Every :data:`FENCE_STRIDE`-th key of sorted ``keys``: 1/64 of their size, so it
    stays in the CPU caches while the run itself is a memory-mapped file."""
    fence: U64 = np.ascontiguousarray(np.asarray(keys)[::FENCE_STRIDE])
    return fence


def lower_bounds(keys: U64, needles: U64, fence: U64 | None = None) -> npt.NDArray[np.int64]:
    """``np.searchsorted(keys, needles, side="left")`` for sorted ``needles``.

    Each search gallops in the fence (``fence_of(keys)``, computed if not given) from
    the previous needle's place, then searches the 64 keys between two fence posts:
    a few cache lines of the run per needle, where a search of the whole run would
    touch a line (and often a page) per step.
    """
    if len(keys) == 0 or len(needles) == 0:
        return np.zeros(len(needles), np.int64)
    fence = fence_of(keys) if fence is None else fence
    result: npt.NDArray[np.int64] = _lower_bound_kernel()(
        np.asarray(keys), np.ascontiguousarray(needles, np.uint64), fence, FENCE_STRIDE
    )
    return result


@cache
def _lower_bound_kernel() -> Callable[[U64, U64, U64, int], npt.NDArray[np.int64]]:
    """Compiled on first use (and cached on disk)."""
    import numba

    @numba.njit(nogil=True, cache=True)
    def kernel(keys: U64, needles: U64, fence: U64, stride: int) -> npt.NDArray[np.int64]:
        n, posts = keys.shape[0], fence.shape[0]
        out = np.empty(needles.shape[0], np.int64)
        post = 0  # the first fence post >= the needle; needles are sorted: never falls
        floor = 0  # nor does the answer
        for i in range(needles.shape[0]):
            x = needles[i]
            if post < posts and fence[post] < x:
                # gallop to a range [a, b] with fence[a - 1] < x <= fence[b]
                a, step = post + 1, 1
                while a + step - 1 < posts and fence[a + step - 1] < x:
                    a += step
                    step *= 2
                b = min(a + step - 1, posts)
                while a < b:
                    middle = (a + b) // 2
                    if fence[middle] < x:
                        a = middle + 1
                    else:
                        b = middle
                post = a
            # keys[(post - 1) * stride] < x <= keys[post * stride]
            a = max((post - 1) * stride + 1, floor) if post > 0 else floor
            b = min(post * stride, n)
            while a < b:  # binary search in [a, b): the first key >= x
                middle = (a + b) // 2
                if keys[middle] < x:
                    a = middle + 1
                else:
                    b = middle
            out[i] = a
            floor = a
        return out

    return kernel


@cache
def _merge_kernel() -> Callable[[Run, Run], Run]:
    """Compiled on first use (and cached on disk): a linear merge of two sorted runs."""
    import numba

    @numba.njit(nogil=True, cache=True)
    def kernel(first: Run, second: Run) -> Run:
        n, m = first.shape[1], second.shape[1]
        out = np.empty((3, n + m), np.uint64)
        i = j = k = 0
        while i < n and j < m:
            if second[0, j] < first[0, i]:  # ties: the first run's entry first (stable)
                out[0, k], out[1, k], out[2, k] = second[0, j], second[1, j], second[2, j]
                j += 1
            else:
                out[0, k], out[1, k], out[2, k] = first[0, i], first[1, i], first[2, i]
                i += 1
            k += 1
        out[:, k : k + n - i] = first[:, i:]
        out[:, k + n - i :] = second[:, j:]
        return out

    return kernel


@cache
def probe_kernel() -> Callable[..., None]:
    """Compiled on first use (and cached on disk; it calls no other compiled function,
    which would make Numba compile it again in every process)."""
    import numba

    @numba.njit(nogil=True, cache=True)
    def kernel(
        run1: U64,
        run2: U64,
        run_fp: U64,
        starts: npt.NDArray[np.int64],
        key1: U64,
        key2: U64,
        fingerprint: U64,
        found: npt.NDArray[np.bool_],
        same: npt.NDArray[np.bool_],
    ) -> None:
        # each needle's first key1 match is at its lower bound; every entry sharing that
        # key1 (almost never more than one) is compared by key2 and fingerprint
        n = run1.shape[0]
        for i in range(key1.shape[0]):
            k = starts[i]
            while k < n and run1[k] == key1[i]:
                if run2[k] == key2[i]:
                    found[i] = True
                    if run_fp[k] == fingerprint[i]:
                        same[i] = True
                k += 1

    return kernel
