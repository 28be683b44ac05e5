"""Ranks and percentiles by counting (DESIGN.md, "Rank and percentile").

A subject's rank in a group is 1 + the number of subjects of the group with a strictly
higher score (tied scores share the best rank); its percentile is the share of the
group with a strictly lower score, times 100 (``lower * 100.0 / total``). Groups are
always within one kind (persons and organisations are ranked apart): ``national``;
``province``, ``city`` and ``county``, the first 2, 4 and all 6 digits of the region
code.

Scores are integers in the policy's ``[floor, ceiling]``, so nothing is sorted: one
pass counts the subjects per (kind, group, score) at the finest level asked for
(county by default), coarser groups are sums of those rows, and cumulative sums give,
per (group, score), the subjects strictly higher and strictly lower. A subject's
figures are then a constant-time look-up, and the tables (a few MB per level) are
saved with a snapshot to answer look-ups without recounting.

Memory stays at the input arrays plus O(score range x groups) plus the output chunk:
the passes are compiled kernels over the int16 scores, int32 region codes and uint8
kinds as given (see :mod:`socialcredit.scoring.ranking_kernels`), never wider copies.

A group without counted subjects (a region or kind absent from the counted data) is
empty: any score ranks 1 there with percentile 0.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from socialcredit.scoring import ranking_kernels as kernels
from socialcredit.scoring.ranking_kernels import (
    CODES,
    DIVISORS,
    F64,
    I16,
    I32,
    I64,
    KIND_STRIDE,
    LEVELS,
    U8,
    Ranks,
)

__all__ = [
    "DIVISORS",
    "KIND_STRIDE",
    "LEVELS",
    "RankChunk",
    "RankTables",
    "group_code",
    "rank_in_chunks",
]

FORMAT = 1
#: levels of at most this many groups (and kinds) look percentiles up in a table
SHARE_TABLE_ROWS = 128
_INT32_MAX = 2**31 - 1


def group_code(level: str, region: int) -> int:
    """The group of a 6-digit region code at ``level``: 0 (national), its first 2, 4 or
    6 digits as a number (e.g. 37, 3710, 371082 for 371082)."""
    return int(region) // DIVISORS[_check_level(level)]


@dataclass
class RankChunk:
    """The figures of consecutive subjects ``start, start + 1, ...``: per level, ranks
    (int32, or int64 when a group may exceed 2**31 - 1 subjects) and percentiles."""

    start: int
    rank: dict[str, Ranks]
    percentile: dict[str, F64]

    @classmethod
    def allocate(
        cls,
        rows: int,
        levels: tuple[str, ...] = LEVELS,
        rank_dtype: type[np.int32] | type[np.int64] = np.int32,
        start: int = 0,
    ) -> RankChunk:
        return cls(
            start,
            {_check_level(level): np.empty(rows, rank_dtype) for level in levels},
            {level: np.empty(rows, np.float64) for level in levels},
        )

    def __len__(self) -> int:
        return next((len(values) for values in self.percentile.values()), 0)

    def head(self, rows: int, start: int) -> RankChunk:
        """The first ``rows`` rows as views (the same buffers), starting at ``start``."""
        return RankChunk(
            start,
            {level: values[:rows] for level, values in self.rank.items()},
            {level: values[:rows] for level, values in self.percentile.items()},
        )


@dataclass(frozen=True, eq=False)
class RankTables:
    """Per level held: ``keys`` (rows,) the group key of each row (``kind * 1_000_000 +
    group code``, ascending: kind-major), ``higher`` and ``lower`` (rows, ceiling -
    floor + 1) the subjects strictly higher and strictly lower than each score, and
    ``total`` (rows,) the subjects of each group."""

    floor: int
    ceiling: int
    keys: dict[str, I64]
    higher: dict[str, I64]
    lower: dict[str, I64]
    total: dict[str, I64]
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    @property
    def span(self) -> int:
        return self.ceiling - self.floor + 1

    @property
    def levels(self) -> tuple[str, ...]:
        return tuple(level for level in LEVELS if level in self.keys)

    @property
    def kinds(self) -> I64:
        """The kinds with counted subjects, ascending."""
        kinds: I64 = np.unique(np.asarray(self.keys[self.levels[0]]) // KIND_STRIDE)
        return kinds

    @property
    def rank_dtype(self) -> type[np.int32] | type[np.int64]:
        """int32, or int64 if a group holds more than 2**31 - 1 subjects."""
        if "rank_dtype" not in self._cache:
            most = max((int(t.max()) for t in self.total.values() if len(t)), default=0)
            self._cache["rank_dtype"] = np.int32 if most <= _INT32_MAX else np.int64
        dtype: type[np.int32] | type[np.int64] = self._cache["rank_dtype"]
        return dtype

    @classmethod
    def count(
        cls,
        scores: I16,
        regions: I32,
        kinds: U8 | None,
        floor: int,
        ceiling: int,
        levels: tuple[str, ...] = LEVELS,
    ) -> RankTables:
        """Count the subjects (``kinds`` None: all one kind, 0) at the finest of
        ``levels``, and sum the counts up to the others. Raises ValueError if a score is
        outside ``[floor, ceiling]`` or a region code outside 0..999999."""
        scores, regions, kinds = _inputs(scores, regions, kinds)
        levels = _check_levels(levels)
        span = _span(floor, ceiling)
        blocks = kernels.blocks(len(scores))
        given = _NO_KINDS if kinds is None else kinds
        present = np.zeros((len(blocks), CODES), np.uint8)
        seen = np.zeros((len(blocks), 256), np.uint8)
        presence = kernels.presence_kernel()
        if kernels.run(
            partial(presence, regions[part], given[part], present[b], seen[b])
            for b, part in enumerate(blocks)
        ):
            raise _domain_error(scores, regions, floor, ceiling)
        codes = np.flatnonzero(present.max(axis=0))
        kind_codes = np.flatnonzero(seen.max(axis=0)).astype(np.int64)
        del present, seen
        finest = levels[-1]
        prefixes = np.unique(codes // DIVISORS[finest])  # of the finest groups
        row_index = kernels.code_map(prefixes, DIVISORS[finest], DIVISORS[finest])
        slots = np.full(256, -1, np.int32)
        slots[kind_codes] = np.arange(len(kind_codes), dtype=np.int32)
        rows = len(kind_codes) * len(prefixes)
        # per block: one byte per cell, and a carry of 256 (pages never carried into
        # are never touched, so never take memory)
        parts = np.zeros((len(blocks), rows * span), np.uint8)
        carry = np.zeros((len(blocks), rows * span), np.int32)
        count = kernels.count_kernel(LEVELS.index(finest), kinds is not None)
        common = (row_index, slots, len(prefixes), floor, span)
        if kernels.run(
            partial(count, scores[part], regions[part], given[part], *common, parts[b], carry[b])
            for b, part in enumerate(blocks)
        ):
            raise _domain_error(scores, regions, floor, ceiling)
        counts = parts.sum(axis=0, dtype=np.int64) + 256 * carry.sum(axis=0, dtype=np.int64)
        del parts, carry
        by_kind = counts.reshape(len(kind_codes), len(prefixes), span)
        tables: tuple[dict[str, I64], ...] = ({}, {}, {}, {})
        keys, higher, lower, totals = tables
        for level in levels:
            coarse = prefixes // (DIVISORS[level] // DIVISORS[finest])
            starts = np.flatnonzero(np.diff(coarse, prepend=-1))
            grouped = np.add.reduceat(by_kind, starts, axis=1) if rows else by_kind
            keys[level] = (kind_codes[:, None] * KIND_STRIDE + coarse[starts][None, :]).ravel()
            level_counts = grouped.reshape(-1, span)
            below = np.cumsum(level_counts, axis=1)  # at or below each score
            totals[level] = below[:, -1].copy() if span else np.zeros(0, np.int64)
            lower[level] = below - level_counts
            higher[level] = np.subtract(totals[level][:, None], below, out=below)
        return cls(floor, ceiling, keys, higher, lower, totals)

    def lookup(
        self,
        scores: I16,
        regions: I32,
        kinds: U8 | None = None,
        out: RankChunk | None = None,
        *,
        levels: tuple[str, ...] | None = None,
        start: int = 0,
    ) -> RankChunk:
        """The figures of these subjects, in constant time each, at ``levels`` (default:
        all held). ``out``: a chunk to fill instead (its levels are computed; its
        arrays may be longer than the input, and the result then holds views of their
        first rows). ``start``: the chunk's start."""
        scores, regions, kinds = _inputs(scores, regions, kinds)
        rows = len(scores)
        if out is None:
            wanted = self.levels if levels is None else _check_levels(levels)
            out = RankChunk.allocate(rows, wanted, self.rank_dtype, start)
        for level, ranks in out.rank.items():
            if level not in self.keys:
                raise ValueError(f"these tables hold no {level!r} level")
            if len(ranks) < rows or len(out.percentile[level]) < rows:
                raise ValueError(f"the chunk holds fewer than {rows} rows")
            if ranks.dtype.itemsize < np.dtype(self.rank_dtype).itemsize:
                raise ValueError(f"{level} ranks need {np.dtype(self.rank_dtype)}")
        chunk = out if len(out) == rows else out.head(rows, start)
        chunk.start = start
        index = self._index()
        rank_dtype = next(iter(chunk.rank.values())).dtype if chunk.rank else np.int32
        no_ranks, no_shares = np.empty(0, rank_dtype), np.empty(0, np.float64)
        tables: list[Ranks | F64] = []
        outputs: list[Ranks | F64] = []
        for level in LEVELS:
            if level in chunk.rank:
                tables += self._above(level)
                outputs += [chunk.rank[level], chunk.percentile[level]]
            else:
                tables += self._above(self.levels[0])  # of the same type; not read
                outputs += [no_ranks, no_shares]
        given = _NO_KINDS if kinds is None else kinds
        computed = _per_level([level in chunk.rank for level in LEVELS])
        # the levels computed without a table of percentiles divide
        no_table = [len(shares) == 0 for shares in tables[2::3]]
        divides = _per_level([c and n for c, n in zip(computed, no_table, strict=True)])
        lookup = kernels.lookup_kernel(computed, divides, index.depth, kinds is not None)
        head: tuple[object, ...] = (self.floor, self.span, index.kind_slot, index.cell_index)
        head += (index.cells, index.groups, *tables)
        wrong = kernels.run(
            partial(lookup, scores[p], regions[p], given[p], *head, *(v[p] for v in outputs))
            for p in kernels.blocks(rows)
        )
        if wrong:
            raise _domain_error(scores, regions, self.floor, self.ceiling)
        return chunk

    def chunks(
        self,
        scores: I16,
        regions: I32,
        kinds: U8 | None,
        chunk_rows: int = 1 << 20,
        levels: tuple[str, ...] | None = None,
    ) -> Iterator[RankChunk]:
        """The figures of all these subjects, ``chunk_rows`` at a time. The chunks share
        one set of buffers: each is overwritten by the next (copy what you keep)."""
        scores, regions, kinds = _inputs(scores, regions, kinds)
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be positive")
        wanted = self.levels if levels is None else _check_levels(levels)
        buffer = RankChunk.allocate(min(chunk_rows, len(scores)), wanted, self.rank_dtype)
        for begin in range(0, len(scores), chunk_rows):
            part = slice(begin, begin + chunk_rows)
            yield self.lookup(
                scores[part],
                regions[part],
                None if kinds is None else kinds[part],
                out=buffer,
                start=begin,
            )

    def lookup_one(self, score: int, region: int, kind: int = 0) -> dict[str, tuple[int, float]]:
        """``{level: (rank, percentile)}`` of one subject (for serving a single one)."""
        if not self.floor <= score <= self.ceiling:
            raise ValueError(f"score {score} is outside [{self.floor}, {self.ceiling}]")
        if not 0 <= region < CODES or not 0 <= kind <= 255:
            raise ValueError(f"region {region} or kind {kind} is outside the domain")
        at = score - self.floor
        figures = {}
        for level in self.levels:
            row = self._row(level, kind, group_code(level, region))
            if row is None:
                figures[level] = (1, 0.0)
                continue
            total = int(self.total[level][row])
            lower = int(self.lower[level][row, at])
            share = lower * 100.0 / total if total else 0.0
            figures[level] = (int(self.higher[level][row, at]) + 1, share)
        return figures

    def histogram(self, level: str, kind: int, group_code: int | None = None) -> I64:
        """Subjects per score (index 0 is the floor) of ``kind`` in the group
        ``group_code`` at ``level`` (37, 3710 or 371082 for 371082, see the function
        :func:`group_code`; None or 0 for national): zeros if none was counted."""
        if _check_level(level) not in self.keys:
            raise ValueError(f"these tables hold no {level!r} level")
        if group_code is None and level != "national":
            raise ValueError(f"a {level} histogram needs the group's code")
        row = self._row(level, kind, group_code or 0)
        if row is None:
            return np.zeros(self.span, np.int64)
        counts: I64 = self.total[level][row] - self.higher[level][row] - self.lower[level][row]
        return counts

    def save(self, directory: Path) -> None:
        """Write the tables as .npy files (and ``ranking.json``) into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        for level in self.levels:
            for name, table in (
                ("keys", self.keys),
                ("higher", self.higher),
                ("lower", self.lower),
                ("total", self.total),
            ):
                _write(directory / f"{level}.{name}.npy", table[level])
        meta = {
            "format": FORMAT,
            "floor": self.floor,
            "ceiling": self.ceiling,
            "levels": list(self.levels),
        }
        tmp = directory / "ranking.json.tmp"
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, directory / "ranking.json")

    @classmethod
    def load(cls, directory: Path, mmap: bool = True) -> RankTables:
        """Tables written by :meth:`save` (memory-mapped, read-only, when ``mmap``)."""
        meta = json.loads((directory / "ranking.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{directory}: rank tables of format {meta.get('format')}")
        floor, ceiling = int(meta["floor"]), int(meta["ceiling"])
        span = _span(floor, ceiling)
        mode: Literal["r"] | None = "r" if mmap else None
        parts: dict[str, dict[str, I64]] = {"keys": {}, "higher": {}, "lower": {}, "total": {}}
        for level in _check_levels(tuple(meta["levels"])):
            for name, table in parts.items():
                table[level] = np.load(directory / f"{level}.{name}.npy", mmap_mode=mode)
            rows = len(parts["keys"][level])
            for name, shape in (("higher", (rows, span)), ("lower", (rows, span))):
                if parts[name][level].shape != shape or parts["total"][level].shape != (rows,):
                    raise ValueError(f"{directory}: the {level} tables do not match")
        return cls(floor, ceiling, parts["keys"], parts["higher"], parts["lower"], parts["total"])

    def _row(self, level: str, kind: int, code: int) -> int | None:
        keys = self.keys[level]
        key = kind * KIND_STRIDE + code
        row = int(np.searchsorted(keys, key))
        return row if row < len(keys) and keys[row] == key else None

    def _index(self) -> kernels.Index:
        index: kernels.Index | None = self._cache.get("index")
        if index is None:
            index = self._cache["index"] = kernels.build_index(self.keys, self.levels)
        return index

    def _above(self, level: str) -> tuple[Ranks, F64, F64]:
        """The flat (rows + 1, span + 1) table of subjects at or above each score (the
        last row and column empty), int32 when it fits; the totals as floats; for a
        level of at most SHARE_TABLE_ROWS rows, the percentiles in the same layout."""
        tables: tuple[Ranks, F64, F64] | None = self._cache.get(level)
        if tables is None:
            rows, span = len(self.keys[level]), self.span
            above = np.zeros((rows + 1, span + 1), self.rank_dtype)
            total = np.zeros(rows + 1, np.float64)
            total[:rows] = self.total[level]
            lower = np.asarray(self.lower[level])
            above[:rows, :span] = np.asarray(self.total[level])[:, None] - lower
            shares = np.zeros((rows + 1, span + 1) if rows <= SHARE_TABLE_ROWS else 0)
            if rows <= SHARE_TABLE_ROWS:  # lower * 100.0 / total, as in the contract
                np.divide(lower * 100.0, total[:rows, None], out=shares[:rows, :span],
                          where=total[:rows, None] > 0)  # fmt: skip
            tables = self._cache[level] = (above.reshape(-1), total, shares.reshape(-1))
        return tables


def rank_in_chunks(
    scores: I16,
    regions: I32,
    kinds: U8 | None,
    floor: int,
    ceiling: int,
    chunk_rows: int = 1 << 20,
    levels: tuple[str, ...] = LEVELS,
) -> Iterator[RankChunk]:
    """Count once (now: errors are raised here), then give every subject's figures a
    chunk at a time, never holding all of them. The chunks share one set of buffers:
    each yielded chunk is overwritten by the next (copy what you keep)."""
    tables = RankTables.count(scores, regions, kinds, floor, ceiling, levels)
    return tables.chunks(scores, regions, kinds, chunk_rows, levels)


_NO_KINDS: U8 = np.zeros(0, np.uint8)


def _check_level(level: str) -> str:
    if level not in DIVISORS:
        raise ValueError(f"unknown level {level!r}: one of {', '.join(LEVELS)}")
    return level


def _span(floor: int, ceiling: int) -> int:
    if not floor <= ceiling or ceiling - floor >= 1 << 16:
        raise ValueError(f"the scale [{floor}, {ceiling}] is empty or too wide")
    return int(ceiling) - int(floor) + 1


def _inputs(scores: I16, regions: I32, kinds: U8 | None) -> tuple[I16, I32, U8 | None]:
    """The arrays as given (no copies): 1-D, int16 / int32 / uint8, of equal length."""
    given: list[tuple[str, npt.NDArray[Any] | None, type[np.generic]]] = [
        ("scores", scores, np.int16),
        ("regions", regions, np.int32),
        ("kinds", kinds, np.uint8),
    ]
    for name, values, dtype in given:
        if values is None:
            continue
        if not isinstance(values, np.ndarray) or values.dtype != dtype or values.ndim != 1:
            described = getattr(values, "dtype", type(values).__name__)
            raise TypeError(f"{name} must be a 1-D {np.dtype(dtype)} array, not {described}")
        if len(values) != len(scores):
            raise ValueError(f"{name} has {len(values)} rows, scores {len(scores)}")
    return scores, regions, kinds


def _domain_error(scores: I16, regions: I32, floor: int, ceiling: int) -> ValueError:
    """What is wrong, found by two min/max passes (on error only)."""
    low, high = kernels.extremes_kernel()(scores)
    if len(scores) and (low < floor or high > ceiling):
        return ValueError(
            f"scores must lie in [{floor}, {ceiling}]; these range from {low} to {high}"
        )
    low, high = kernels.extremes_kernel()(regions)
    return ValueError(f"region codes must lie in 0..999999; these range from {low} to {high}")


def _per_level(flags: list[bool]) -> tuple[bool, bool, bool, bool]:
    """One flag per level of LEVELS, as the kernels take them."""
    national, province, city, county = flags
    return national, province, city, county


def _check_levels(levels: tuple[str, ...]) -> tuple[str, ...]:
    """The levels, known and at least one, in the order of LEVELS."""
    for level in levels:
        _check_level(level)
    if not levels:
        raise ValueError("no levels asked for")
    return tuple(level for level in LEVELS if level in levels)


def _write(path: Path, values: I64) -> None:
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, np.asarray(values))
    os.replace(tmp, path)
