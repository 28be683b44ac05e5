"""Validate a whole Arrow array of codes at once.

The rules and their order are exactly those of :mod:`socialcredit.identity.scalar`
(a property test checks the two agree row for row); this module only restates them
as NumPy operations over an ``(18, rows)`` byte matrix, which is what makes ingest
of millions of rows per second possible.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.identity.codes import (
    CENTRAL_REGION,
    EARLIEST_BIRTH_DATE,
    LENGTH,
    REASON_CODES,
    REGISTERING_AUTHORITIES,
    RIC_CHECK,
    RIC_WEIGHTS,
    USCC_ALPHABET,
    USCC_WEIGHTS,
    Kind,
    Reason,
)
from socialcredit.identity.scalar import validate
from socialcredit.regions import region_table

U8 = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]

_NO_VALUE = 255
_KIND_NAMES = pa.array(["person", "organisation"], pa.string())
_REASON_NAMES = pa.array([str(reason) for reason in Reason], pa.string())
_REASON_INDEX = {reason: index for index, reason in enumerate(REASON_CODES)}
#: days per month (February as 29; the 29th is checked against the year), 0 elsewhere
_DAYS_IN_MONTH = np.zeros(256, np.uint8)
_DAYS_IN_MONTH[1:13] = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True, slots=True)
class _Tables:
    digit: U8  # byte -> digit value or 255
    alphabet: U8  # byte -> USCC alphabet index or 255
    authority: Mask  # byte -> is a registering-authority code
    entity_type: Mask  # (authority byte, type byte) -> valid pair
    province: Mask  # 2-digit number (0-255) -> province exists
    ric_check: U8  # remainder mod 11 -> check byte
    uscc_check: U8  # index -> alphabet byte


@cache
def _tables() -> _Tables:
    digit = np.full(256, _NO_VALUE, np.uint8)
    digit[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10, dtype=np.uint8)
    alphabet = np.full(256, _NO_VALUE, np.uint8)
    alphabet[np.frombuffer(USCC_ALPHABET.encode(), np.uint8)] = np.arange(31, dtype=np.uint8)
    authority = np.zeros(256, np.bool_)
    entity_type = np.zeros((256, 256), np.bool_)
    for code, (_, types) in REGISTERING_AUTHORITIES.items():
        authority[ord(code)] = True
        for type_code in types:
            entity_type[ord(code), ord(type_code)] = True
    return _Tables(
        digit=digit,
        alphabet=alphabet,
        authority=authority,
        entity_type=entity_type,
        province=np.concatenate((region_table().province_known, np.zeros(156, np.bool_))),
        ric_check=np.frombuffer(RIC_CHECK.encode(), np.uint8).copy(),
        uscc_check=np.frombuffer(USCC_ALPHABET.encode(), np.uint8).copy(),
    )


@dataclass(frozen=True, slots=True)
class BatchValidation:
    """Per-row verdicts. ``reason_code`` and ``kind`` are dictionary-encoded."""

    input: pa.Array
    normalised: pa.Array
    valid: pa.BooleanArray
    kind: pa.DictionaryArray
    reason_code: pa.DictionaryArray
    today: dt.date
    expected_kind: Kind | None = None

    def __len__(self) -> int:
        return len(self.input)

    @property
    def invalid_count(self) -> int:
        return len(self) - int(pc.sum(self.valid).as_py() or 0)

    def invalid_indices(self) -> npt.NDArray[np.int64]:
        mask = self.valid.to_numpy(zero_copy_only=False)
        return np.flatnonzero(~mask)

    def messages(self) -> pa.Array:
        """A detailed reason per row (null where valid), worded as the scalar API words it.

        Computed for the invalid rows only, one by one: invalid rows are rare.
        """
        texts: list[str | None] = [None] * len(self)
        for index in self.invalid_indices():
            value = self.input[int(index)].as_py()
            texts[int(index)] = validate(value, kind=self.expected_kind, today=self.today).message
        return pa.array(texts, pa.string())


def _as_string_array(ids: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> pa.Array:
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks() if ids.num_chunks != 1 else ids.chunk(0)
    if isinstance(ids, str):
        raise TypeError("expected an array of codes, got one string: use validate() for one")
    if not isinstance(ids, pa.Array):
        return pa.array(list(ids), pa.string())
    if pa.types.is_large_string(ids.type) or pa.types.is_string_view(ids.type):
        return ids.cast(pa.string())
    if pa.types.is_dictionary(ids.type) or pa.types.is_null(ids.type):
        return ids.cast(pa.string())
    if not pa.types.is_string(ids.type):
        raise TypeError(f"expected an Arrow string array, got {ids.type}")
    return ids


_CHUNK_ROWS = 1 << 16  # rows per block: temporaries stay in the CPU cache


def _offsets(array: pa.Array) -> npt.NDArray[np.int32]:
    """The value offsets of a string array's rows (n + 1 of them), without a copy."""
    offsets: npt.NDArray[np.int32] = np.frombuffer(array.buffers()[1], np.int32)
    return offsets[array.offset : array.offset + len(array) + 1]


def _byte_rows(array: pa.Array, rows: npt.NDArray[np.intp]) -> U8:
    """The 18 bytes of each selected row, as a (len(rows), 18) matrix.

    Every selected row is 18 bytes long. A view of the data buffer when the rows are
    consecutive (the usual case); otherwise a copy of the runs of consecutive rows.
    """
    offsets = _offsets(array)
    data_buffer = array.buffers()[2]
    data = (
        np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    )
    first, last = int(rows[0]), int(rows[-1])
    start = int(offsets[first])
    if last - first + 1 == len(rows) and int(offsets[last + 1]) - start == LENGTH * len(rows):
        view: U8 = data[start : start + LENGTH * len(rows)].reshape(len(rows), LENGTH)
        return view
    # runs of consecutive rows are contiguous in the buffer: copy them run by run
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = offsets[rows[np.concatenate(([0], breaks))]]
    ends = offsets[rows[np.concatenate((breaks - 1, [len(rows) - 1]))] + 1]
    pieces = [data[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    gathered: U8 = np.concatenate(pieces).reshape(len(rows), LENGTH)
    return gathered


def _non_ascii(array: pa.Array) -> Mask:
    ascii_rows = pc.fill_null(pc.string_is_ascii(array), True)
    mask: Mask = ~ascii_rows.to_numpy(zero_copy_only=False)
    return mask


def _lengths(array: pa.Array) -> npt.NDArray[np.int32]:
    offsets = _offsets(array)
    return np.diff(offsets)


def _number(digits: U8, first: int, count: int) -> npt.NDArray[np.uint16]:
    """The decimal number formed by ``count`` digit rows from ``first`` (digits < 10)."""
    value: npt.NDArray[np.uint16] = digits[first].astype(np.uint16)
    for position in range(first + 1, first + count):
        value *= np.uint16(10)
        value += digits[position]
    return value


def _weighted_sum(values: U8, weights: tuple[int, ...]) -> npt.NDArray[np.uint16]:
    """Sum of values[i] * weights[i] per column, in uint16 (max 17 * 30 * 30 fits)."""
    total = np.zeros(values.shape[1], np.uint16)
    term = np.empty(values.shape[1], np.uint16)
    for position, weight in enumerate(weights):
        np.multiply(values[position], np.uint16(weight), out=term)
        total += term
    return total


def _first_failure(checks: list[tuple[Mask, Reason]], size: int) -> npt.NDArray[np.int8]:
    """Reason index of the first failing check per column (0 = all passed)."""
    reasons = np.zeros(size, np.int8)
    for failed, reason in reversed(checks):
        np.copyto(reasons, np.int8(_REASON_INDEX[reason]), where=failed)
    return reasons


def _province_known(digits: U8, position: int) -> Mask:
    """Whether the two digits at ``position`` name a known province (garbage-safe)."""
    number = digits[position] * np.uint8(10) + digits[position + 1]  # wraps, stays < 256
    known: Mask = _tables().province[number]
    return known


def _resident_id_reasons(matrix: U8, digits: U8, today: dt.date) -> npt.NDArray[np.int8]:
    """Reason index per column for the resident-ID rules (0 = valid).

    ``digits`` is ``matrix - 48``: every one of the first 17 rows is below 10.
    """
    year = _number(digits, 6, 4)
    month = digits[10] * np.uint8(10) + digits[11]
    day = digits[12] * np.uint8(10) + digits[13]
    date_ok = (month >= 1) & (month <= 12) & (day >= 1) & (day <= _DAYS_IN_MONTH[month])
    february_29 = np.flatnonzero((month == 2) & (day == 29))
    if len(february_29):
        leap_year = year[february_29]
        date_ok[february_29] = ((leap_year % 4 == 0) & (leap_year % 100 != 0)) | (
            leap_year % 400 == 0
        )
    month_day = month.astype(np.uint16) * np.uint16(100) + day
    today_month_day = today.month * 100 + today.day
    date_ok &= year >= EARLIEST_BIRTH_DATE // 10000
    date_ok &= (year < today.year) | ((year == today.year) & (month_day <= today_month_day))
    total = _weighted_sum(digits, RIC_WEIGHTS)
    check_ok = matrix[17] == _tables().ric_check[total % np.uint16(11)]
    return _first_failure(
        [
            (~_province_known(digits, 0), Reason.UNKNOWN_REGION),
            (~date_ok, Reason.BAD_DATE),
            (~check_ok, Reason.BAD_CHECK_CHARACTER),
        ],
        matrix.shape[1],
    )


def _uscc_reasons(matrix: U8, digits: U8) -> npt.NDArray[np.int8]:
    """Reason index per column for the Unified Social Credit Code rules (0 = valid)."""
    t = _tables()
    values = t.alphabet[matrix]
    total = _weighted_sum(values, USCC_WEIGHTS)
    check_ok = matrix[17] == t.uscc_check[(np.uint16(31) - total % np.uint16(31)) % np.uint16(31)]
    return _first_failure(
        [
            (values.max(axis=0) == _NO_VALUE, Reason.BAD_CHARACTER),
            (digits[2:8].max(axis=0) >= 10, Reason.BAD_CHARACTER),
            (~t.authority[matrix[0]], Reason.BAD_AUTHORITY),
            (~t.entity_type[matrix[0], matrix[1]], Reason.BAD_ENTITY_TYPE),
            (~(_province_known(digits, 2) | _is_central(matrix)), Reason.UNKNOWN_REGION),
            (~check_ok, Reason.BAD_CHECK_CHARACTER),
        ],
        matrix.shape[1],
    )


def _is_central(matrix: U8) -> Mask:
    """Whether the division code (positions 3-8) is the central-level 100000."""
    central = np.frombuffer(CENTRAL_REGION.encode(), np.uint8)[:, None]
    found: Mask = (matrix[2:8] == central).all(axis=0)
    return found


def _columns(matrix: U8, mask: Mask) -> U8:
    return matrix if mask.all() else matrix[:, mask]


def _verdicts(
    rows: U8, today: dt.date, kind: Kind | None
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """(reason index, kind index) per row of a (rows, 18) matrix of upper-cased bytes.

    A code whose first 17 characters are digits is tried as a resident ID first;
    any code not valid as one is tried as a Unified Social Credit Code. With
    ``kind`` given, only that kind's rules apply.
    """
    matrix = np.ascontiguousarray(rows.T)
    size = matrix.shape[1]
    digits = matrix - np.uint8(48)  # non-digits wrap to values >= 10
    if kind == "organisation":
        return _uscc_reasons(matrix, digits), np.full(size, 2, np.int8)
    digits17 = digits[:17].max(axis=0) < 10
    if kind == "person":
        person_only = np.full(size, _REASON_INDEX[Reason.BAD_CHARACTER], np.int8)
        person_only[digits17] = _resident_id_reasons(
            _columns(matrix, digits17), _columns(digits, digits17), today
        )
        return person_only, np.ones(size, np.int8)
    person = np.full(size, -1, np.int8)
    person[digits17] = _resident_id_reasons(
        _columns(matrix, digits17), _columns(digits, digits17), today
    )
    needs_organisation = person != 0
    organisation = np.full(size, -1, np.int8)
    if needs_organisation.any():
        organisation[needs_organisation] = _uscc_reasons(
            _columns(matrix, needs_organisation), _columns(digits, needs_organisation)
        )
    prefers_person = digits17 & (_province_known(digits, 0) | ~_tables().authority[matrix[0]])
    as_person = (person == 0) | ((organisation != 0) & prefers_person)
    reasons = np.where(as_person, np.maximum(person, 0), organisation).astype(np.int8)
    kinds = np.where(as_person, 1, 2).astype(np.int8)
    return reasons, kinds


def _dictionary(indices: npt.NDArray[np.int8], names: pa.Array) -> pa.DictionaryArray:
    """Index 0 means null; 1.. index into ``names``."""
    return pa.DictionaryArray.from_arrays(
        pa.array(indices - 1, pa.int8(), mask=indices == 0), names
    )


def validate_array(
    ids: pa.Array | pa.ChunkedArray | Sequence[str | None],
    *,
    kind: Kind | None = None,
    today: dt.date | None = None,
) -> BatchValidation:
    """Validate every code of ``ids`` (an Arrow string array, or a list of strings).

    ``kind`` restricts every row to one kind, as :func:`validate` does.
    """
    today = today or dt.date.today()
    array = _as_string_array(ids)
    normalised = pc.ascii_upper(array)
    count = len(array)
    reasons = np.zeros(count, np.int8)
    kinds = np.zeros(count, np.int8)  # 0 none, 1 person, 2 organisation
    is_null = array.is_null().to_numpy(zero_copy_only=False)
    lengths = _lengths(normalised)
    non_ascii = _non_ascii(normalised)
    reasons[lengths != LENGTH] = _REASON_INDEX[Reason.LENGTH]
    reasons[non_ascii] = _REASON_INDEX[Reason.BAD_CHARACTER]
    reasons[(lengths == 0) | is_null] = _REASON_INDEX[Reason.MISSING]
    rows = np.flatnonzero((lengths == LENGTH) & ~non_ascii & ~is_null)
    for start in range(0, len(rows), _CHUNK_ROWS):
        block = rows[start : start + _CHUNK_ROWS]
        reasons[block], kinds[block] = _verdicts(_byte_rows(normalised, block), today, kind)
    return BatchValidation(
        input=array,
        normalised=normalised,
        valid=pa.array(reasons == 0, pa.bool_()),
        kind=_dictionary(kinds, _KIND_NAMES),
        reason_code=_dictionary(reasons, _REASON_NAMES),
        today=today,
        expected_kind=kind,
    )
