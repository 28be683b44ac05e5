"""Build Arrow string columns from NumPy byte matrices, without a Python loop per row.

A column is assembled from *pieces*: each piece is an ``(rows, width)`` byte matrix
with the number of bytes each row uses (left-aligned). Joining pieces row by row is
one boolean-mask selection over the stacked matrices, which keeps generation at
millions of rows per second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

U8 = npt.NDArray[np.uint8]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Piece:
    bytes: U8  # (rows, width)
    lengths: Ints  # (rows,) bytes used per row


@dataclass(frozen=True, slots=True)
class TextTable:
    """A small table of strings, encoded once, to pick from by index."""

    matrix: U8
    lengths: Ints

    @classmethod
    def of(cls, values: Sequence[str]) -> TextTable:
        encoded = [value.encode("utf-8") for value in values]
        lengths = np.array([len(e) for e in encoded], np.int64)
        width = int(lengths.max(initial=0)) or 1
        matrix = np.zeros((len(encoded), width), np.uint8)
        matrix[np.arange(width)[None, :] < lengths[:, None]] = np.frombuffer(
            b"".join(encoded), np.uint8
        )
        return cls(matrix, lengths)

    def pick(self, indices: npt.NDArray[np.integer]) -> Piece:
        return Piece(self.matrix[indices], self.lengths[indices])


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
    return TextTable.of([value]).pick(np.zeros(rows, np.intp))


def digits(values: npt.NDArray[np.integer], width: int) -> Piece:
    """Zero-padded decimal digits of non-negative values, ``width`` characters each."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    matrix = ((values.astype(np.int64)[:, None] // powers) % 10).astype(np.uint8) + np.uint8(48)
    return Piece(matrix, np.full(len(values), width, np.int64))


@dataclass(frozen=True, slots=True)
class DigitTable:
    """Zero-padded digits of every value in ``[low, low + count)``, to pick from."""

    low: int
    matrix: U8

    @classmethod
    def of(cls, low: int, count: int, width: int) -> DigitTable:
        return cls(low, digits(np.arange(low, low + count), width).bytes)

    def pick(self, values: npt.NDArray[np.integer]) -> U8:
        picked: U8 = self.matrix[values - self.low]
        return picked


def fixed(matrix: U8) -> Piece:
    return Piece(matrix, np.full(matrix.shape[0], matrix.shape[1], np.int64))


def join(pieces: Sequence[Piece], valid: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    """The row-wise concatenation of ``pieces`` as an Arrow string array.

    ``valid`` marks rows that are present; the others are null.
    """
    rows = pieces[0].bytes.shape[0]
    stacked = np.hstack([piece.bytes for piece in pieces])
    width = stacked.shape[1]
    if valid is None and all((p.lengths == p.bytes.shape[1]).all() for p in pieces):
        # every row uses every byte: the stacked matrix already is the data buffer
        offsets = np.arange(0, rows * width + 1, width, dtype=np.int32)
        data_buffer = pa.py_buffer(np.ascontiguousarray(stacked))
        return pa.Array.from_buffers(pa.string(), rows, [None, pa.py_buffer(offsets), data_buffer])
    used = np.hstack([np.arange(p.bytes.shape[1])[None, :] < p.lengths[:, None] for p in pieces])
    if valid is not None:
        used &= valid[:, None]
    data = stacked[used]
    offsets = np.zeros(rows + 1, np.int32)
    np.cumsum(used.sum(axis=1), out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    if valid is not None and not valid.all():
        mask = pa.array(valid, pa.bool_())
        buffers[0] = mask.buffers()[1]
        return pa.Array.from_buffers(pa.string(), rows, buffers, null_count=int((~valid).sum()))
    return pa.Array.from_buffers(pa.string(), rows, buffers, null_count=0)
