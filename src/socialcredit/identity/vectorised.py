"""Validate a whole Arrow array of codes at once.

The rules and their order are exactly those of :mod:`socialcredit.identity.scalar`
(a property test checks the two agree row for row); this module only restates them
as one compiled pass over the bytes of each code, straight from the Arrow buffers,
which is what makes ingest of millions of rows per second possible.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
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


def _offsets(array: pa.Array) -> npt.NDArray[np.int32]:
    """The value offsets of a string array's rows (n + 1 of them), without a copy."""
    offsets: npt.NDArray[np.int32] = np.frombuffer(array.buffers()[1], np.int32)
    return offsets[array.offset : array.offset + len(array) + 1]


def _non_ascii(array: pa.Array) -> Mask:
    ascii_rows = pc.fill_null(pc.string_is_ascii(array), True)
    mask: Mask = ~ascii_rows.to_numpy(zero_copy_only=False)
    return mask


def _lengths(array: pa.Array) -> npt.NDArray[np.int32]:
    offsets = _offsets(array)
    return np.diff(offsets)


#: ``kind`` as the verdict kernel takes it
_MODES = {None: 0, "person": 1, "organisation": 2}


def _verdicts(
    array: pa.Array, rows: npt.NDArray[np.intp], today: dt.date, kind: Kind | None
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """(reason index, kind index) of each of ``rows``: rows of ``array`` (upper-cased
    text) that are 18 ASCII characters long.

    A code whose first 17 characters are digits is tried as a resident ID first;
    any code not valid as one is tried as a Unified Social Credit Code. With
    ``kind`` given, only that kind's rules apply.
    """
    t = _tables()
    data_buffer = array.buffers()[2]
    data = (
        np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    )
    starts = _offsets(array)[rows].astype(np.int64)
    reasons = np.zeros(len(rows), np.int8)
    kinds = np.zeros(len(rows), np.int8)
    codes = np.array(
        [
            _REASON_INDEX[reason]
            for reason in (
                Reason.UNKNOWN_REGION,
                Reason.BAD_DATE,
                Reason.BAD_CHECK_CHARACTER,
                Reason.BAD_CHARACTER,
                Reason.BAD_AUTHORITY,
                Reason.BAD_ENTITY_TYPE,
            )
        ],
        np.int8,
    )
    _verdict_kernel()(
        data,
        starts,
        _MODES[kind],
        today.year,
        today.month * 100 + today.day,
        EARLIEST_BIRTH_DATE // 10000,
        np.array(RIC_WEIGHTS, np.int64),
        np.array(USCC_WEIGHTS, np.int64),
        t.province,
        _DAYS_IN_MONTH,
        t.ric_check,
        t.alphabet,
        t.authority,
        t.entity_type,
        t.uscc_check,
        np.frombuffer(CENTRAL_REGION.encode(), np.uint8),
        codes,
        reasons,
        kinds,
    )
    return reasons, kinds


@cache
def _verdict_kernel() -> Callable[..., None]:
    """Compiled on first use (and cached on disk): one pass over each code's bytes."""
    import numba

    @numba.njit(nogil=True, cache=True)
    def kernel(  # the rules' tables are passed in: a kernel without globals is cacheable
        data: U8,
        starts: npt.NDArray[np.int64],
        mode: int,
        year_now: int,
        month_day_now: int,
        earliest_year: int,
        ric_weights: npt.NDArray[np.int64],
        uscc_weights: npt.NDArray[np.int64],
        province: Mask,
        days_in_month: U8,
        ric_check: U8,
        alphabet: U8,
        authority: Mask,
        entity_type: Mask,
        uscc_check: U8,
        central: U8,
        codes: npt.NDArray[np.int8],
        reasons: npt.NDArray[np.int8],
        kinds: npt.NDArray[np.int8],
    ) -> None:
        unknown_region, bad_date, bad_check = codes[0], codes[1], codes[2]
        bad_character, bad_authority, bad_entity_type = codes[3], codes[4], codes[5]
        d = np.empty(18, np.int64)
        for r in range(starts.shape[0]):
            s = starts[r]
            digits17 = True
            for i in range(18):
                d[i] = (np.int64(data[s + i]) - 48) & 255  # non-digits: 10 or more
                if i < 17 and d[i] >= 10:
                    digits17 = False
            first_province = province[(d[0] * 10 + d[1]) & 255]
            # as a resident ID (-1: not 17 digits)
            person = -1
            if digits17 and mode != 2:
                year = d[6] * 1000 + d[7] * 100 + d[8] * 10 + d[9]
                month = d[10] * 10 + d[11]
                day = d[12] * 10 + d[13]
                date_ok = 1 <= month <= 12 and 1 <= day <= days_in_month[month]
                if date_ok and month == 2 and day == 29:
                    date_ok = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
                date_ok = date_ok and year >= earliest_year
                date_ok = date_ok and (
                    year < year_now or (year == year_now and month * 100 + day <= month_day_now)
                )
                total = 0
                for i in range(17):
                    total += d[i] * ric_weights[i]
                if not first_province:
                    person = unknown_region
                elif not date_ok:
                    person = bad_date
                elif data[s + 17] != ric_check[total % 11]:
                    person = bad_check
                else:
                    person = 0
            if mode == 1:
                reasons[r] = bad_character if person == -1 else person
                kinds[r] = 1
                continue
            # as a Unified Social Credit Code (-1: not needed)
            organisation = -1
            if person != 0:
                letters_ok = True
                total = 0
                for i in range(18):
                    value = alphabet[data[s + i]]
                    if value == 255:
                        letters_ok = False
                    elif i < 17:
                        total += np.int64(value) * uscc_weights[i]
                digits_ok = True
                is_central = True
                for i in range(2, 8):
                    if d[i] >= 10:
                        digits_ok = False
                    if data[s + i] != central[i - 2]:
                        is_central = False
                if not letters_ok or not digits_ok:
                    organisation = bad_character
                elif not authority[data[s]]:
                    organisation = bad_authority
                elif not entity_type[data[s], data[s + 1]]:
                    organisation = bad_entity_type
                elif not (province[(d[2] * 10 + d[3]) & 255] or is_central):
                    organisation = unknown_region
                elif data[s + 17] != uscc_check[(31 - total % 31) % 31]:
                    organisation = bad_check
                else:
                    organisation = 0
            if mode == 2:
                reasons[r] = organisation
                kinds[r] = 2
                continue
            prefers_person = digits17 and (first_province or not authority[data[s]])
            if person == 0 or (organisation != 0 and prefers_person):
                reasons[r] = max(person, 0)
                kinds[r] = 1
            else:
                reasons[r] = organisation
                kinds[r] = 2

    return kernel


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
    if len(rows):
        reasons[rows], kinds[rows] = _verdicts(normalised, rows, today, kind)
    return BatchValidation(
        input=array,
        normalised=normalised,
        valid=pa.array(reasons == 0, pa.bool_()),
        kind=_dictionary(kinds, _KIND_NAMES),
        reason_code=_dictionary(reasons, _REASON_NAMES),
        today=today,
        expected_kind=kind,
    )
