"""Row keys and content fingerprints for the ledger's duplicate check, and UTF-8 checks.

A record's key is two independent 64-bit hashes of its ``record_id`` (a collision of
both among billions of keys is about as likely as 1 in 10^19); its fingerprint is a
64-bit hash of its content, so "same key, other fingerprint" is a conflict. The
kernels run compiled (Numba) over Arrow's offsets and data buffers, without the GIL.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

U64 = npt.NDArray[np.uint64]


def _buffers(array: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """Offsets (as int64, rebased on the array's slice) and the data buffer."""
    if pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type):
        offsets: npt.NDArray[np.int64] = np.frombuffer(
            array.buffers()[1], np.int64, len(array) + 1, array.offset * 8
        ).copy()
    else:
        offsets = np.frombuffer(
            array.buffers()[1], np.int32, len(array) + 1, array.offset * 4
        ).astype(np.int64)
    data = array.buffers()[2]
    return offsets, (np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8))


def as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One Arrow array: a chunked array's chunks combined (without a copy if one)."""
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return values


def record_keys(record_id: pa.Array | pa.ChunkedArray) -> tuple[U64, U64]:
    """Two hashes of each key from two different functions (FNV-1a, and a multiply-
    rotate hash), in one pass over the bytes."""
    array = as_array(record_id)
    if len(array) == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    offsets, data = _buffers(array)
    first, second = _kernels()[1](offsets, data)
    return first, second


#: what a null hashes to, in column ``seed``: apart from every value
_NULL_TAG = 0x6E756C6C


def fingerprints(columns: list[pa.Array | pa.ChunkedArray]) -> U64:
    """A hash of each row's fields (typed: the same row from CSV or Parquet, once
    validated, has the same fingerprint); nulls are distinct from empty text.

    Each column is folded into the running hash in one compiled pass: per row,
    ``mix(combined * FNV_PRIME ^ hash(value, column number))``.
    """
    rows = len(columns[0]) if columns else 0
    combined = np.full(rows, 0x5C1D_0003, np.uint64)
    fold_text, fold_words = _kernels()[2], _kernels()[3]
    for position, column in enumerate(columns):
        seed = np.uint64(position + 1)
        array = as_array(column)
        nulls = (
            array.is_null().to_numpy(zero_copy_only=False)
            if array.null_count
            else np.zeros(0, np.bool_)
        )
        kind = array.type
        if pa.types.is_date32(kind) or pa.types.is_int32(kind):
            bits = pc.fill_null(array.cast(pa.int32()), 0).to_numpy(zero_copy_only=False)
            fold_words(combined, bits.astype(np.int64).view(np.uint64), nulls, seed)
        elif pa.types.is_floating(kind):
            numbers = pc.fill_null(array.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
            numbers = numbers + 0.0  # -0.0 and 0.0 are the same amount
            fold_words(combined, numbers.view(np.uint64), nulls, seed)
        elif rows:
            offsets, data = _buffers(as_array(array.cast(pa.string())))
            fold_text(combined, offsets, data, nulls, seed)
    return combined


def utf8_valid(values: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    """Per row of a binary or string array: is it well-formed UTF-8 (nulls are)."""
    array = as_array(values)
    if len(array) == 0:
        return np.ones(0, np.bool_)
    offsets, data = _buffers(array)
    valid: npt.NDArray[np.bool_] = _kernels()[0](offsets, data)
    return valid


@cache
def _kernels() -> tuple[
    Callable[..., npt.NDArray[np.bool_]],
    Callable[..., tuple[U64, U64]],
    Callable[..., None],
    Callable[..., None],
]:
    import numba

    @numba.njit(nogil=True, cache=True)
    def utf8_kernel(
        offsets: npt.NDArray[np.int64], data: npt.NDArray[np.uint8]
    ) -> npt.NDArray[np.bool_]:
        rows = offsets.shape[0] - 1
        out = np.ones(rows, np.bool_)
        for r in range(rows):
            k, end = offsets[r], offsets[r + 1]
            while k < end:
                b = data[k]
                if b < 0x80:
                    k += 1
                    continue
                if 0xC2 <= b <= 0xDF:
                    need, low, high = 1, 0x80, 0xBF
                elif b == 0xE0:
                    need, low, high = 2, 0xA0, 0xBF
                elif 0xE1 <= b <= 0xEC or 0xEE <= b <= 0xEF:
                    need, low, high = 2, 0x80, 0xBF
                elif b == 0xED:
                    need, low, high = 2, 0x80, 0x9F  # no surrogates
                elif b == 0xF0:
                    need, low, high = 3, 0x90, 0xBF
                elif 0xF1 <= b <= 0xF3:
                    need, low, high = 3, 0x80, 0xBF
                elif b == 0xF4:
                    need, low, high = 3, 0x80, 0x8F
                else:
                    out[r] = False
                    break
                if k + need >= end:  # truncated sequence
                    out[r] = False
                    break
                second = data[k + 1]
                if second < low or second > high:
                    out[r] = False
                    break
                ok = True
                for j in range(2, need + 1):
                    if data[k + j] < 0x80 or data[k + j] > 0xBF:
                        ok = False
                        break
                if not ok:
                    out[r] = False
                    break
                k += need + 1
        return out

    @numba.njit(nogil=True, cache=True)
    def pair_kernel(offsets: npt.NDArray[np.int64], data: npt.NDArray[np.uint8]) -> tuple[U64, U64]:
        rows = offsets.shape[0] - 1
        first = np.empty(rows, np.uint64)
        second = np.empty(rows, np.uint64)
        prime = np.uint64(0x100000001B3)
        golden = np.uint64(0x9E3779B97F4A7C15)
        other = np.uint64(0xC2B2AE3D27D4EB4F)
        for r in range(rows):
            h = np.uint64(0xCBF29CE484222325)
            g = np.uint64(0x27D4EB2F165667C5)
            for k in range(np.uint64(offsets[r]), np.uint64(offsets[r + 1])):
                b = np.uint64(data[k])  # unsigned positions: no negative-index test
                h = (h ^ b) * prime
                g ^= (b + np.uint64(1)) * golden
                g = ((g << np.uint64(23)) | (g >> np.uint64(41))) * other
            length = np.uint64(offsets[r + 1] - offsets[r])
            h ^= length
            h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            first[r] = h ^ (h >> np.uint64(31))
            g ^= length
            g = (g ^ (g >> np.uint64(33))) * np.uint64(0xFF51AFD7ED558CCD)
            g = (g ^ (g >> np.uint64(33))) * np.uint64(0xC4CEB9FE1A85EC53)
            second[r] = g ^ (g >> np.uint64(33))
        return first, second

    @numba.njit(nogil=True, cache=True, inline="always")
    def mix(z: np.uint64) -> np.uint64:
        # SplitMix64's finaliser (uint64 arithmetic wraps)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))

    @numba.njit(nogil=True, cache=True)
    def fold_text(
        combined: U64,
        offsets: npt.NDArray[np.int64],
        data: npt.NDArray[np.uint8],
        nulls: npt.NDArray[np.bool_],
        seed: np.uint64,
    ) -> None:
        prime = np.uint64(0x100000001B3)
        null_hash = mix(seed ^ np.uint64(_NULL_TAG))
        has_nulls = nulls.shape[0] > 0
        for r in range(combined.shape[0]):
            if has_nulls and nulls[r]:
                h = null_hash
            else:
                h = np.uint64(0xCBF29CE484222325) ^ seed  # FNV-1a
                for k in range(np.uint64(offsets[r]), np.uint64(offsets[r + 1])):
                    h = (h ^ np.uint64(data[k])) * prime
                h = mix(h ^ np.uint64(offsets[r + 1] - offsets[r]))
            combined[r] = mix(combined[r] * prime ^ h)

    @numba.njit(nogil=True, cache=True)
    def fold_words(
        combined: U64, words: U64, nulls: npt.NDArray[np.bool_], seed: np.uint64
    ) -> None:
        prime = np.uint64(0x100000001B3)
        null_hash = mix(seed ^ np.uint64(_NULL_TAG))
        has_nulls = nulls.shape[0] > 0
        for r in range(combined.shape[0]):
            h = null_hash if has_nulls and nulls[r] else mix(words[r] + seed)
            combined[r] = mix(combined[r] * prime ^ h)

    return utf8_kernel, pair_kernel, fold_text, fold_words
