"""The per-subject passes of :mod:`socialcredit.scoring.ranking`, compiled with Numba.

Each kernel reads the int16 scores, int32 region codes and (optional) uint8 kinds as
they are and never makes a wider copy of them: the only memory besides the inputs is
the small look-up arrays and tables passed in and the outputs. The kernels release the
GIL: the caller runs one per block of subjects in its own thread (a thread pool, which
unlike Numba's parallel loops costs microseconds per call even on a busy machine and
compiles once). Blocks are fixed by the caller and histograms are integer sums, so
results do not depend on scheduling.

Random access is what costs here, so the loops are tiled: a first loop over a tile of
subjects computes where each one's figures are (into small buffers in the L1 cache),
then one tight loop per table does the independent look-ups or increments, which the
processor overlaps. Histogram counters are one byte (a carry array takes each 256th
increment), so a thread's histogram is a quarter of the cache it would take as int32.

The kernels are compiled on first use and cached on disk; none calls another compiled
function (that would make Numba compile it again in every process).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

I16 = npt.NDArray[np.int16]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]
Ranks = npt.NDArray[np.int32 | np.int64]

#: region codes are six digits: 0 to CODES - 1
CODES = 1_000_000
LEVELS = ("national", "province", "city", "county")
#: a region code's group at each level is ``code // DIVISORS[level]`` (national: 0)
DIVISORS = {"national": CODES, "province": 10_000, "city": 100, "county": 1}
#: a row's group key is ``kind * KIND_STRIDE + group code``
KIND_STRIDE = CODES
#: inputs from this many subjects on are split between threads
PARALLEL_ROWS = 1 << 16


def threads(rows: int) -> int:
    """The number of blocks (threads) a pass over ``rows`` subjects splits them into."""
    return min(os.cpu_count() or 1, 16) if rows >= PARALLEL_ROWS else 1


def blocks(rows: int) -> list[slice]:
    """The blocks of subjects a pass over ``rows`` runs in threads of its own."""
    count = threads(rows)
    step = -(-rows // count) if rows else 1
    return [slice(b * step, min((b + 1) * step, rows)) for b in range(count)]


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads(PARALLEL_ROWS))


def run(calls: Iterable[Callable[[], int]]) -> int:
    """Run the kernel calls (which release the GIL), the first here and the others in
    the pool; the sum of their results."""
    first, *others = calls
    pending = [_pool().submit(call) for call in others]
    return first() + sum(future.result() for future in pending)


@cache
def presence_kernel() -> Callable[[I32, U8, U8, U8], int]:
    """``(regions, kinds, present, kind_seen) -> codes out of range``: marks in
    ``present[code]`` and ``kind_seen[kind]`` what the block holds (``kinds`` of length
    0: all kind 0)."""
    import numba

    @numba.njit(nogil=True, cache=True)
    def kernel(regions: I32, kinds: U8, present: U8, kind_seen: U8) -> int:
        bad = 0
        for i in range(regions.shape[0]):
            code = regions[i]
            if code < 0 or code >= 1_000_000:
                bad += 1
            elif present[np.uint32(code)] == 0:  # a read, not a store, when already set
                present[np.uint32(code)] = 1
        if kinds.shape[0] == 0 and regions.shape[0] > 0:
            kind_seen[0] = 1
        for i in range(kinds.shape[0]):
            if kind_seen[kinds[i]] == 0:
                kind_seen[kinds[i]] = 1
        return bad

    return kernel


@cache
def count_kernel(depth: int, has_kinds: bool) -> Callable[..., int]:
    """``(scores, regions, kinds, row_index, kind_slot, rows_per_kind, floor, span,
    part, carry) -> 1 if a score is out of [floor, floor + span), else 0``: adds the
    block's subjects to its own histogram, cell ``(kind_slot * rows_per_kind +
    row_index[group]) * span + score - floor``, ``group`` the code's group at level
    ``depth`` (``code // 100`` for city): one byte ``part[cell]``, plus 256 per
    ``carry[cell]``. Region codes must have been checked by the presence kernel; the
    histogram is not to be used if a score was out of the domain. One kernel per
    ``depth`` and ``has_kinds``, constants in it (as for :func:`lookup_kernel`)."""
    import numba

    @numba.njit(nogil=True, cache=True)
    def kernel(
        scores: I16,
        regions: I32,
        kinds: U8,
        row_index: I32,
        kind_slot: I32,
        rows_per_kind: int,
        floor: int,
        span: int,
        part: U8,
        carry: I32,
    ) -> int:
        n = np.uint64(scores.shape[0])
        last_score = np.uint64(span - 1)
        cells = np.empty(2048, np.uint32)
        bad: np.bool_ = np.bool_(False)
        for tile in range(0, n, 2048):
            m = min(np.uint64(2048), n - np.uint64(tile))
            for j in range(m):
                i = np.uint64(tile) + np.uint64(j)
                s = np.uint64(np.int64(scores[i]) - floor)
                bad |= s >= np.uint64(span)  # flagged, counted at a valid place
                s = min(s, last_score)
                code = np.uint64(regions[i])
                if depth == 2:
                    code = code // np.uint64(100)
                elif depth == 1:
                    code = code // np.uint64(10_000)
                elif depth == 0:
                    code = np.uint64(0)
                row = np.uint64(row_index[code])
                if has_kinds:
                    row += np.uint64(kind_slot[kinds[i]]) * np.uint64(rows_per_kind)
                cells[j] = np.uint32(row * np.uint64(span) + s)
            for j in range(m):  # independent increments: the processor overlaps them
                cell = np.uint64(cells[j])
                count = part[cell] + np.uint8(1)
                part[cell] = count
                if count == 0:
                    carry[cell] += 1
        return 1 if bad else 0

    return kernel


@cache
def lookup_kernel(
    wanted: tuple[bool, bool, bool, bool],
    divides: tuple[bool, bool, bool, bool],
    depth: int,
    has_kinds: bool,
) -> Callable[..., int]:
    """``(scores, regions, kinds, floor, span, kind_slot, cell_index, cells, groups,
    above0, total0, shares0, ..., above3, total3, shares3, rank0, percentile0, ...,
    rank3, percentile3) -> 1 if a subject is out of the domain, else 0``.

    ``cell_index[group]`` is the cell of the code's group at level ``depth``,
    ``groups[kind_slot * cells + cell, level]`` the row of its group in each level's
    tables: ``above[row, s]`` the subjects with a score of at least ``floor + s`` (a
    last column of zeros) and ``total[row]``; ``shares[row, s]`` (same layout), for the
    levels that do not ``divide``, the percentiles (for small levels: a read instead of
    a division). An absent kind has slot ``kinds``, an absent group an empty row. Only
    the ``wanted`` levels are computed. NumPy's error model: no test for a division by
    zero (which the loop rules out) in the innermost loop.

    One kernel per combination of the arguments, which are constants in it: compiled
    loops with run-time options in them were up to 1.5x slower (the compiler did not
    take the tests out of the loops)."""
    import numba

    @numba.njit(nogil=True, cache=True, error_model="numpy")
    def kernel(
        scores: I16,
        regions: I32,
        kinds: U8,
        floor: int,
        span: int,
        kind_slot: I32,
        cell_index: I32,
        cells: int,
        groups: I32,
        a0: Ranks,
        t0: F64,
        s0: F64,
        a1: Ranks,
        t1: F64,
        s1: F64,
        a2: Ranks,
        t2: F64,
        s2: F64,
        a3: Ranks,
        t3: F64,
        s3: F64,
        r0: Ranks,
        p0: F64,
        r1: Ranks,
        p1: F64,
        r2: Ranks,
        p2: F64,
        r3: Ranks,
        p3: F64,
    ) -> int:
        n = np.uint64(scores.shape[0])
        width = np.uint64(span + 1)
        last_score, last_code = np.uint64(span - 1), np.uint64(999_999)
        at = np.empty((4, 2048), np.uint32)  # per level: row * width + score - floor
        rows = np.empty((4, 2048), np.uint32)  # per level dividing: the row
        bad: np.bool_ = np.bool_(False)
        for tile in range(0, n, 2048):
            m = min(np.uint64(2048), n - np.uint64(tile))
            for j in range(m):
                i = np.uint64(tile) + np.uint64(j)
                # out of the domain: flagged (the call fails) and read at a valid place;
                # without a branch, which would cost more than all the reads here
                s = np.uint64(np.int64(scores[i]) - floor)
                code = np.uint64(np.int64(regions[i]))
                bad |= (s >= np.uint64(span)) | (code >= np.uint64(1_000_000))
                s, code = min(s, last_score), min(code, last_code)
                if depth == 2:
                    group = code // np.uint64(100)
                elif depth == 1:
                    group = code // np.uint64(10_000)
                elif depth == 0:
                    group = np.uint64(0)
                else:
                    group = code
                cell = np.uint64(cell_index[group])
                if has_kinds:
                    cell += np.uint64(kind_slot[kinds[i]]) * np.uint64(cells)
                for level in range(4):  # constants: the compiler unrolls this
                    if wanted[level]:
                        row = np.uint64(groups[cell, level])
                        at[level, j] = np.uint32(row * width + s)
                        if divides[level]:
                            rows[level, j] = np.uint32(row)
            # one loop per level: look-ups in one table at a time
            for level in range(4):
                if level == 0:
                    above, total, share, ranks, shares = a0, t0, s0, r0, p0
                elif level == 1:
                    above, total, share, ranks, shares = a1, t1, s1, r1, p1
                elif level == 2:
                    above, total, share, ranks, shares = a2, t2, s2, r2, p2
                else:
                    above, total, share, ranks, shares = a3, t3, s3, r3, p3
                if not wanted[level]:
                    continue
                cells_at = at[level]
                if not divides[level]:  # percentiles in a table: a read, no division
                    for j in range(m):
                        k = np.uint64(cells_at[j])
                        ranks[np.uint64(tile) + np.uint64(j)] = above[k + np.uint64(1)] + 1
                        shares[np.uint64(tile) + np.uint64(j)] = share[k]
                    continue
                of_row = rows[level]
                for j in range(m):
                    k = np.uint64(cells_at[j])
                    ranks[np.uint64(tile) + np.uint64(j)] = above[k + np.uint64(1)] + 1
                    count = total[np.uint64(of_row[j])]
                    # lower * 100.0 / total, lower = total - at or above
                    lower = count - above[k]
                    shares[np.uint64(tile) + np.uint64(j)] = (
                        lower * 100.0 / count if count > 0 else 0.0
                    )
        return 1 if bad else 0

    return kernel


@cache
def extremes_kernel() -> Callable[[I16 | I32], tuple[int, int]]:
    """``values -> (min, max)`` in one pass (for error messages)."""
    import numba

    @numba.njit(nogil=True, cache=True)
    def kernel(values: I16 | I32) -> tuple[int, int]:
        low, high = np.int64(2**31), np.int64(-(2**31) - 1)
        for i in range(values.shape[0]):
            low = min(low, np.int64(values[i]))
            high = max(high, np.int64(values[i]))
        return int(low), int(high)

    return kernel


@dataclass(frozen=True)
class Index:
    """Where each subject's groups are in the look-up tables (built from the keys)."""

    kind_slot: I32  # (256,): the kind's block of cells; kinds (an empty block) if absent
    depth: int  # the finest level held (its position in LEVELS)
    cell_index: I32  # by group at that level: the most specific counted group's cell
    cells: int  # cells per kind
    groups: I32  # ((kinds + 1) * cells, 4): the row at each level (an empty row if none)


def code_map(prefixes: npt.NDArray[np.integer[Any]], divisor: int, granularity: int) -> I32:
    """For every group of codes ``code // granularity``, the position of its group
    ``code // divisor`` among the ``prefixes`` (sorted), or -1."""
    by_prefix = np.full(CODES // divisor + 1, -1, np.int32)
    by_prefix[prefixes] = np.arange(len(prefixes), dtype=np.int32)
    if divisor == granularity:
        return by_prefix
    mapped: I32 = np.repeat(by_prefix, divisor // granularity)[: CODES // granularity + 1]
    return mapped


def build_index(keys: dict[str, I64], levels: tuple[str, ...]) -> Index:
    """Cells: every counted group of every level held, one more for codes in none;
    a code's cell is its most specific counted group."""
    kinds = np.unique(np.asarray(keys[levels[0]]) // KIND_STRIDE)
    slots = np.full(256, len(kinds), np.int32)
    slots[kinds] = np.arange(len(kinds), dtype=np.int32)
    per_kind = {level: len(keys[level]) // max(len(kinds), 1) for level in levels}
    prefixes = {level: np.asarray(keys[level][: per_kind[level]]) % KIND_STRIDE for level in levels}
    cells = sum(per_kind.values()) + 1
    first = {}  # the first cell of each level's groups
    at = 0
    for level in levels:
        first[level] = at
        at += per_kind[level]
    # from coarse to fine: each group of codes takes its parent's cell, or its own
    cell_index = np.full(1, cells - 1, np.int32)  # one group (national): no counted one
    for level in LEVELS[: LEVELS.index(levels[-1]) + 1]:
        if level != "national":
            cell_index = np.repeat(cell_index, 100)
            cell_index = np.append(cell_index, cells - 1) if level == "county" else cell_index
        if level in levels:
            cell_index[prefixes[level]] = np.arange(per_kind[level]) + first[level]
    # each cell's group at each level: its own and the coarser ones containing it; the
    # empty row (after the rows of every kind) at finer levels and for the last cell
    held = np.array([per_kind.get(level, 0) for level in LEVELS], np.int64)
    empty = held * len(kinds)
    of_cell = np.tile(empty, (cells, 1))
    for column, level in enumerate(LEVELS):
        for own in levels if level in levels else ():
            if DIVISORS[own] <= DIVISORS[level]:
                codes = prefixes[own] // (DIVISORS[level] // DIVISORS[own])
                rows = np.searchsorted(prefixes[level], codes)
                of_cell[first[own] : first[own] + per_kind[own], column] = rows
    is_empty = of_cell == empty
    groups = np.empty((len(kinds) + 1, cells, 4), np.int64)
    for slot in range(len(kinds)):
        groups[slot] = np.where(is_empty, empty, of_cell + slot * held)
    groups[len(kinds)] = empty
    groups32 = groups.reshape(-1, 4).astype(np.int32)
    return Index(slots, LEVELS.index(levels[-1]), cell_index, cells, groups32)
