"""Dense subject numbers: subject IDs hashed, sorted, and found again in constant time.

A subject's row is its position in the registry sorted by the first of two 64-bit
hashes of its ID (the ledger's key hashes, :func:`socialcredit.ledger.hashing.record_keys`);
the second hash tells apart the (rare) IDs whose first hashes are equal. A bucket
table over the top bits of the first hash points into the sorted keys, so a look-up
touches one bucket and, on average, about one key: no binary search, no Python loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from socialcredit.ledger.hashing import record_keys
from socialcredit.ledger.runs import key_order
from socialcredit.scoring.engine_kernels import parallel_for

U64 = npt.NDArray[np.uint64]
Rows = npt.NDArray[np.int32]


@dataclass
class SubjectIndex:
    """Sorted key pairs and the row of each; ``locate`` gives rows (-1: not registered)."""

    keys1: U64
    keys2: U64
    rows: Rows
    _buckets: npt.NDArray[np.int32] | None = field(default=None, repr=False)
    _shift: int = field(default=64, repr=False)

    @classmethod
    def build(cls, subject_id: pa.Array | pa.ChunkedArray) -> SubjectIndex:
        """The index of these IDs, each row its position in ``subject_id``."""
        first, second = record_keys(subject_id)
        order = key_order(first)
        return cls(first[order], second[order], order.astype(np.int32))

    @classmethod
    def of_run(cls, run: npt.NDArray[np.uint64]) -> SubjectIndex:
        """From a sorted run (key1, key2, row), as :mod:`socialcredit.ledger.runs` makes."""
        return cls(run[0], run[1], run[2].astype(np.int32))

    def __len__(self) -> int:
        return len(self.keys1)

    def _table(self) -> tuple[npt.NDArray[np.int32], int]:
        if self._buckets is None:
            bits = max(len(self.keys1).bit_length(), 4)
            self._shift = 64 - bits
            self._buckets = _kernels()(self.keys1, bits)
        return self._buckets, self._shift

    def locate_keys(self, key1: U64, key2: U64) -> Rows:
        buckets, shift = self._table()
        locate = _locate_kernel(parallel_for(len(key1)))
        rows: Rows = locate(self.keys1, self.keys2, self.rows, buckets, shift, key1, key2)
        return rows

    def locate(self, subject_id: pa.Array | pa.ChunkedArray) -> Rows:
        key1, key2 = record_keys(subject_id)
        return self.locate_keys(key1, key2)


@cache
def _kernels() -> Callable[..., npt.NDArray[np.int32]]:
    """Compiled on first use and cached on disk."""
    import numba

    @numba.njit(nogil=True, cache=True)
    def bucket_starts(keys1: U64, bits: int) -> npt.NDArray[np.int32]:
        shift = np.uint64(64 - bits)
        starts = np.zeros((1 << bits) + 1, np.int32)
        for k in keys1:
            starts[(k >> shift) + np.uint64(1)] += 1
        for b in range(1, starts.shape[0]):
            starts[b] += starts[b - 1]
        return starts

    return bucket_starts


@cache
def _locate_kernel(parallel: bool) -> Callable[..., Rows]:
    """The look-up, compiled on first use (and cached on disk) with or without
    parallel loops (see :func:`parallel_for`)."""
    import numba

    @numba.njit(nogil=True, cache=True, parallel=parallel)
    def locate(
        keys1: U64,
        keys2: U64,
        rows: Rows,
        starts: npt.NDArray[np.int32],
        shift: int,
        key1: U64,
        key2: U64,
    ) -> Rows:
        out = np.full(key1.shape[0], -1, np.int32)
        # ``parallel`` is named in the body so that the disk cache, which keys on the
        # code and its closure but not on the compiler's options, keeps both apart
        if not parallel and key1.shape[0] == 0:
            return out
        width = np.uint64(shift)
        for i in numba.prange(key1.shape[0]):
            bucket = key1[i] >> width
            for k in range(starts[bucket], starts[bucket + np.uint64(1)]):
                if keys1[k] == key1[i] and keys2[k] == key2[i]:
                    out[i] = rows[k]
                    break
        return out

    return locate
