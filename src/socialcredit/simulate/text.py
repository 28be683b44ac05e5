"""Build Arrow string columns from small byte tables, without a Python loop per row.

A column is assembled from *pieces*. A piece is a byte matrix (one left-aligned
string per matrix row, with its length) and, optionally, an index saying which
matrix row each output row takes: a surname drawn from a table of 500 is the table
plus 1 million indices, never 1 million copied strings. Joining pieces row by row
is one compiled pass (Numba, without the GIL, so chunks build in parallel threads)
that writes the Arrow offsets and data buffers directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa

U8 = npt.NDArray[np.uint8]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Piece:
    """Row r of the piece is ``matrix[i, :lengths[i]]`` with ``i = index[r]`` (or r).

    A piece without an index is a table to pick from. ``width`` is the length of every
    row when they all have the same one (identity codes, digits), else -1: the join
    then needs no per-row length look-up for it.
    """

    matrix: U8  # (table rows, width)
    lengths: Ints  # (table rows,) bytes used per matrix row
    index: npt.NDArray[np.integer] | None = None
    width: int = -1

    @classmethod
    def of(cls, values: Sequence[str]) -> Piece:
        """A table of strings, encoded once, to pick from by index."""
        encoded = [value.encode("utf-8") for value in values]
        lengths = np.array([len(e) for e in encoded], np.int64)
        width = int(lengths.max(initial=0)) or 1
        matrix = np.zeros((len(encoded), width), np.uint8)
        matrix[np.arange(width)[None, :] < lengths[:, None]] = np.frombuffer(
            b"".join(encoded), np.uint8
        )
        same = bool(len(lengths)) and bool((lengths == lengths[0]).all())
        return cls(matrix, lengths, None, int(lengths[0]) if same else -1)

    @property
    def rows(self) -> int:
        return len(self.lengths) if self.index is None else len(self.index)

    def pick(self, indices: npt.NDArray[np.integer]) -> Piece:
        """Rows ``indices`` of this (unindexed) piece, without copying bytes."""
        if self.index is not None:
            raise ValueError("pick from a table, not from a picked piece")
        return Piece(self.matrix, self.lengths, indices, self.width)


@dataclass(frozen=True, slots=True)
class WeightedChoice:
    """Draw indices 0..k-1 with given weights, fast: a look-up into an expanded table.

    Each index appears in the table in proportion to its weight (resolution 1/65536),
    so a draw is one uniform integer and one look-up instead of a binary search.
    """

    table: npt.NDArray[np.int32]

    @classmethod
    def of(cls, weights: Sequence[float] | npt.NDArray[np.float64]) -> WeightedChoice:
        shares = np.asarray(weights, np.float64) / float(np.sum(weights))
        counts = np.floor(shares * 65536).astype(np.int64)
        remainder = shares * 65536 - counts
        counts[np.argsort(-remainder)[: 65536 - int(counts.sum())]] += 1
        return cls(np.repeat(np.arange(len(shares), dtype=np.int32), counts))

    def draw(self, rng: np.random.Generator, rows: int) -> npt.NDArray[np.int32]:
        drawn: npt.NDArray[np.int32] = self.table[rng.integers(0, len(self.table), rows)]
        return drawn


def constant(value: str, rows: int) -> Piece:
    return Piece.of([value]).pick(np.zeros(rows, np.int64))


def digits(values: npt.NDArray[np.integer], width: int) -> Piece:
    """Zero-padded decimal digits of non-negative values, ``width`` characters each."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    matrix = ((values.astype(np.int64)[:, None] // powers) % 10).astype(np.uint8) + np.uint8(48)
    return Piece(matrix, np.full(len(values), width, np.int64), None, width)


@dataclass(frozen=True, slots=True)
class DigitTable:
    """Zero-padded digits of every value in ``[low, low + count)``, to pick from."""

    low: int
    table: Piece

    @classmethod
    def of(cls, low: int, count: int, width: int) -> DigitTable:
        return cls(low, digits(np.arange(low, low + count), width))

    def pick(self, values: npt.NDArray[np.integer]) -> Piece:
        return self.table.pick(values - self.low)


def fixed(matrix: U8) -> Piece:
    """Every row of ``matrix`` whole: one fixed-width string per row."""
    return Piece(matrix, np.full(matrix.shape[0], matrix.shape[1], np.int64), None, matrix.shape[1])


def table_of(array: pa.Array) -> Piece:
    """An Arrow string array (without nulls) as a table to pick rows from. Fixed-width
    arrays, such as identity codes, are a zero-copy view of their data buffer."""
    if array.null_count:
        raise ValueError("a table to pick from has no nulls")
    rows = len(array)
    offsets = np.frombuffer(array.buffers()[1], np.int32, rows + 1, array.offset * 4)
    data = np.frombuffer(array.buffers()[2], np.uint8)
    lengths = np.diff(offsets).astype(np.int64)
    if rows and (lengths == lengths[0]).all():
        width = int(lengths[0])
        start = int(offsets[0])
        matrix = data[start : start + rows * width].reshape(rows, width)
        return Piece(matrix, lengths, None, width)
    return Piece.of(array.to_pylist())


_NO_INDEX = np.zeros(0, np.int64)


def join(pieces: Sequence[Piece], valid: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    """The row-wise concatenation of ``pieces`` as an Arrow string array.

    ``valid`` marks rows that are present; the others are null.
    """
    rows = pieces[0].rows
    if any(piece.rows != rows for piece in pieces):
        raise ValueError("pieces of a join must have the same number of rows")
    present = np.ones(rows, np.bool_) if valid is None else np.ascontiguousarray(valid, np.bool_)
    # one argument type for the kernel (a different one would compile it again)
    offsets, data = _join_kernel()(
        tuple(np.ascontiguousarray(p.matrix, np.uint8) for p in pieces),
        tuple(np.ascontiguousarray(p.lengths, np.int64) for p in pieces),
        tuple(
            _NO_INDEX if p.index is None else np.ascontiguousarray(p.index, np.int64)
            for p in pieces
        ),
        np.array([p.width for p in pieces], np.int64),
        present,
    )
    nulls = rows - int(np.count_nonzero(present))
    validity = pa.array(present, pa.bool_()).buffers()[1] if nulls else None
    return pa.Array.from_buffers(
        pa.string(),
        rows,
        [validity, pa.py_buffer(offsets), pa.py_buffer(data)],
        null_count=nulls,
    )


@cache
def _join_kernel() -> Callable[..., tuple[npt.NDArray[np.int32], U8]]:
    """Compiled on first use (and cached on disk), so importing this module stays cheap."""
    import numba

    @numba.njit(nogil=True, cache=True)
    def kernel(
        matrices: tuple[U8, ...],
        lengths: tuple[Ints, ...],
        indices: tuple[Ints, ...],
        widths: Ints,
        present: npt.NDArray[np.bool_],
    ) -> tuple[npt.NDArray[np.int32], U8]:
        # positions are unsigned: with signed ones Numba tests every access for a
        # negative index, which made the copy four times slower. One piece at a time
        # (not one row at a time), so each loop keeps its piece's arrays in registers.
        rows = present.shape[0]
        sizes = np.zeros(rows, np.uint64)
        fixed_size = np.uint64(0)  # the pieces whose rows all have the same length
        for p in range(len(matrices)):
            if widths[p] >= 0:
                fixed_size += np.uint64(widths[p])
                continue
            length = lengths[p]
            index = indices[p]
            if index.shape[0]:
                for r in range(rows):
                    sizes[r] += np.uint64(length[np.uint64(index[r])])
            else:
                for r in range(rows):
                    sizes[r] += np.uint64(length[np.uint64(r)])
        offsets = np.empty(rows + 1, np.int32)
        cursor = np.empty(rows, np.uint64)
        total = np.uint64(0)
        offsets[0] = 0
        for r in range(rows):
            cursor[r] = total
            if present[r]:
                total += sizes[r] + fixed_size
            offsets[r + 1] = total
        data = np.empty(total, np.uint8)
        for p in range(len(matrices)):
            flat = matrices[p].ravel()
            width = np.uint64(matrices[p].shape[1])
            length = lengths[p]
            index = indices[p]
            indexed = index.shape[0] > 0
            same = widths[p] >= 0
            for r in range(rows):
                if not present[r]:
                    continue
                i = np.uint64(index[r]) if indexed else np.uint64(r)
                n = np.uint64(widths[p]) if same else np.uint64(length[i])
                source = i * width
                at = cursor[r]
                for k in range(n):
                    data[at + k] = flat[source + k]
                cursor[r] = at + n
        return offsets, data

    return kernel
