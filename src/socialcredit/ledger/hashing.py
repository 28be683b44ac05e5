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


def text_buffers(array: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
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


def byte_lengths(array: pa.Array) -> npt.NDArray[np.int64]:
    """The length in bytes of each value of a string or binary array, from its offsets
    (a null's length is whatever its offsets say: callers mask nulls)."""
    if pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type):
        offsets, _ = text_buffers(array)
        return np.diff(offsets)
    narrow = np.frombuffer(array.buffers()[1], np.int32, len(array) + 1, array.offset * 4)
    return np.diff(narrow).astype(np.int64)  # (no int64 copy of the offsets first)


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
    offsets, data = text_buffers(array)
    first, second = _kernels()[1](offsets, data)
    return first, second


def fingerprints(columns: list[pa.Array | pa.ChunkedArray]) -> U64:
    """A hash of each row's fields (typed: the same row from CSV or Parquet, once
    validated, has the same fingerprint); nulls are distinct from empty text.

    Each column is folded into the running hash in one compiled pass: per row,
    ``mix(combined * FNV_PRIME ^ hash(value, column number))``.
    """
    rows = len(columns[0]) if columns else 0
    combined = np.full(rows, 0x5C1D_0003, np.uint64)
    fold = _kernels()[2]
    no_text = (np.zeros(0, np.int64), np.zeros(0, np.uint8))
    for position, column in enumerate(columns):
        seed = np.uint64(position + 1)
        null_hash = _mix(np.array([seed ^ np.uint64(0x6E756C6C)], np.uint64))[0]
        array = as_array(column)
        nulls = (
            array.is_null().to_numpy(zero_copy_only=False)
            if array.null_count
            else np.zeros(0, np.bool_)
        )
        kind = array.type
        if pa.types.is_date32(kind) or pa.types.is_int32(kind):
            bits = pc.fill_null(array.cast(pa.int32()), 0).to_numpy(zero_copy_only=False)
            words = bits.astype(np.int64).view(np.uint64)
            fold(combined, *no_text, words, nulls, seed, null_hash)
        elif pa.types.is_floating(kind):
            numbers = pc.fill_null(array.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
            numbers = numbers + 0.0  # -0.0 and 0.0 are the same amount
            fold(combined, *no_text, numbers.view(np.uint64), nulls, seed, null_hash)
        elif rows:
            offsets, data = text_buffers(as_array(array.cast(pa.string())))
            fold(combined, offsets, data, np.zeros(0, np.uint64), nulls, seed, null_hash)
    return combined


def _mix(values: U64) -> U64:
    """SplitMix64's finaliser, vectorised (uint64 arithmetic wraps)."""
    z = values.copy()
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def utf8_valid(values: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    """Per row of a binary or string array: is it well-formed UTF-8 (nulls are)."""
    array = as_array(values)
    if len(array) == 0:
        return np.ones(0, np.bool_)
    offsets, data = text_buffers(array)
    valid: npt.NDArray[np.bool_] = _kernels()[0](offsets, data)
    return valid


@cache
def _kernels() -> tuple[
    Callable[..., npt.NDArray[np.bool_]],
    Callable[..., tuple[U64, U64]],
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

    # The text hashes take 8 bytes a step (a little-endian word; the last, partial word
    # zero-padded, and the length mixed in at the end), as xxHash64's rounds do. These
    # functions define the stored keys and fingerprints: changing them needs a new
    # INDEX_FORMAT in socialcredit.ledger.keys (indexes are then rebuilt).
    @numba.njit(nogil=True, cache=True)
    def pair_kernel(offsets: npt.NDArray[np.int64], data: npt.NDArray[np.uint8]) -> tuple[U64, U64]:
        rows = offsets.shape[0] - 1
        first = np.empty(rows, np.uint64)
        second = np.empty(rows, np.uint64)
        p1, p2 = np.uint64(0x9E3779B185EBCA87), np.uint64(0xC2B2AE3D27D4EB4F)
        p3, p4 = np.uint64(0x165667B19E3779F9), np.uint64(0x85EBCA77C2B2AE63)
        r31, l31, r27, l27 = np.uint64(33), np.uint64(31), np.uint64(37), np.uint64(27)
        for r in range(rows):
            start, end = np.uint64(offsets[r]), np.uint64(offsets[r + 1])
            h = np.uint64(0xCBF29CE484222325)
            g = np.uint64(0x27D4EB2F165667C5)
            k = start
            while k < end:
                w = np.uint64(0)
                if k + np.uint64(8) <= end:  # a whole word (one load, once compiled)
                    for j in range(np.uint64(8)):
                        w |= np.uint64(data[k + j]) << (np.uint64(8) * j)
                else:
                    for j in range(end - k):
                        w |= np.uint64(data[k + j]) << (np.uint64(8) * j)
                h ^= w * p2
                h = ((h << l31) | (h >> r31)) * p1
                g ^= w * p4
                g = ((g << l27) | (g >> r27)) * p3
                k += np.uint64(8)
            length = end - start
            h ^= length
            h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            first[r] = h ^ (h >> np.uint64(31))
            g ^= length
            g = (g ^ (g >> np.uint64(33))) * np.uint64(0xFF51AFD7ED558CCD)
            g = (g ^ (g >> np.uint64(33))) * np.uint64(0xC4CEB9FE1A85EC53)
            second[r] = g ^ (g >> np.uint64(33))
        return first, second

    # this kernel references no other compiled function (a closure over one makes
    # Numba compile it again in every process instead of using its cache), so the
    # SplitMix64 finaliser is written out where it is used
    @numba.njit(nogil=True, cache=True)
    def fold(
        combined: U64,
        offsets: npt.NDArray[np.int64],
        data: npt.NDArray[np.uint8],
        words: U64,
        nulls: npt.NDArray[np.bool_],
        seed: np.uint64,
        null_hash: np.uint64,
    ) -> None:
        # one column into the running hash: text (offsets and data) or 64-bit words
        prime = np.uint64(0x100000001B3)
        p1, p2 = np.uint64(0x9E3779B185EBCA87), np.uint64(0xC2B2AE3D27D4EB4F)
        m1, m2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
        s30, s27, s31, r33 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(33)
        text = offsets.shape[0] > 0
        has_nulls = nulls.shape[0] > 0
        for r in range(combined.shape[0]):
            if has_nulls and nulls[r]:
                h = null_hash
            else:
                if text:
                    start, end = np.uint64(offsets[r]), np.uint64(offsets[r + 1])
                    h = np.uint64(0xCBF29CE484222325) ^ seed
                    k = start
                    while k < end:
                        w = np.uint64(0)
                        if k + np.uint64(8) <= end:
                            for j in range(np.uint64(8)):
                                w |= np.uint64(data[k + j]) << (np.uint64(8) * j)
                        else:
                            for j in range(end - k):
                                w |= np.uint64(data[k + j]) << (np.uint64(8) * j)
                        h ^= w * p2
                        h = ((h << s31) | (h >> r33)) * p1
                        k += np.uint64(8)
                    h ^= end - start
                else:
                    h = words[r] + seed
                h = (h ^ (h >> s30)) * m1
                h = (h ^ (h >> s27)) * m2
                h ^= h >> s31
            z = combined[r] * prime ^ h
            z = (z ^ (z >> s30)) * m1
            z = (z ^ (z >> s27)) * m2
            combined[r] = z ^ (z >> s31)

    return utf8_kernel, pair_kernel, fold
