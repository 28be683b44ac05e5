"""Turn the columns of a raw batch into typed columns, noting every row's problems.

Each converter takes a column as read (text, bytes from CSV, or a typed Parquet
column) and returns the typed column, with a null where the value is unusable and
the reason recorded against the row, naming the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.ledger.hashing import as_array, byte_lengths, text_buffers, utf8_valid

Mask = npt.NDArray[np.bool_]
#: longest accepted text field; a longer one is quarantined, not stored
MAX_TEXT_CHARS = 1000


class Problems:
    """The reasons each row of a batch fails, collected field by field."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self._reasons: dict[int, list[str]] = {}

    def add(self, mask: Mask, reason: str | Callable[[int], str]) -> None:
        for row in np.flatnonzero(mask).tolist():
            text = reason(row) if callable(reason) else reason
            self._reasons.setdefault(row, []).append(text)

    def add_row(self, row: int, reason: str) -> None:
        self._reasons.setdefault(row, []).append(reason)

    @property
    def failed(self) -> Mask:
        mask = np.zeros(self.rows, np.bool_)
        mask[list(self._reasons)] = True
        return mask

    def reasons(self, row: int) -> list[str]:
        return self._reasons.get(row, [])


def _mask(values: pa.Array | pa.ChunkedArray) -> Mask:
    array = as_array(values)
    mask: Mask = array.to_numpy(zero_copy_only=False)
    return mask.astype(np.bool_)


def _valid(array: pa.Array) -> Mask:
    """Which values are not null (without converting the bitmap when none is)."""
    return _mask(array.is_valid()) if array.null_count else np.ones(len(array), np.bool_)


def _null_where(column: pa.Array, mask: Mask) -> pa.Array:
    if not mask.any():
        return column
    return pc.if_else(pa.array(mask), pa.nulls(len(column), column.type), column)


def text(
    column: pa.Array | pa.ChunkedArray | None, rows: int, name: str, problems: Problems
) -> pa.Array:
    """A string column: bytes must be UTF-8; empty cells are null; long ones refused."""
    if column is None:
        return pa.nulls(rows, pa.string())
    array = as_array(column)
    if pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type):
        try:  # Arrow validates UTF-8 as it casts, fast; only a failure is looked into
            array = array.cast(pa.string())
        except pa.ArrowInvalid:
            bad = ~utf8_valid(array)
            problems.add(bad, f"{name}: not valid UTF-8")
            array = _null_where(array, bad).cast(pa.string())
    elif pa.types.is_dictionary(array.type):
        array = array.cast(pa.string())
    elif not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        try:
            array = array.cast(pa.string())
        except pa.ArrowException:
            problems.add(np.ones(rows, np.bool_), f"{name}: a {array.type} column, not text")
            return pa.nulls(rows, pa.string())
    array = array.cast(pa.string())
    size = byte_lengths(array)
    # characters are counted only where the bytes could be too many (a character is
    # at least one byte): counting every value costs more than the rest of the check
    too_long = np.zeros(len(array), np.bool_)
    maybe = np.flatnonzero(size > MAX_TEXT_CHARS)
    if len(maybe):
        chars = pc.fill_null(pc.utf8_length(array.take(pa.array(maybe))), 0)
        too_long[maybe] = chars.to_numpy(zero_copy_only=False) > MAX_TEXT_CHARS
    problems.add(too_long, f"{name}: longer than {MAX_TEXT_CHARS:,} characters")
    empty = (size == 0) & _valid(array)  # nulls are null already: no copy for them
    return _null_where(array, too_long | empty)


def required(
    column: pa.Array | pa.ChunkedArray | None, rows: int, name: str, problems: Problems
) -> None:
    """Note rows where the input gives no value (null, or empty text) for ``name``."""
    if column is None:
        problems.add(np.ones(rows, np.bool_), f"{name}: missing")
        return
    array = as_array(column)
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    if pa.types.is_string_view(array.type):
        array = array.cast(pa.string())
    missing = ~_valid(array)
    if (
        pa.types.is_string(array.type)
        or pa.types.is_binary(array.type)
        or pa.types.is_large_string(array.type)
        or pa.types.is_large_binary(array.type)
    ):
        missing |= byte_lengths(array) == 0
    problems.add(missing, f"{name}: missing")


def date(
    column: pa.Array | pa.ChunkedArray | None,
    rows: int,
    name: str,
    problems: Problems,
    earliest: dt.date,
    latest: dt.date,
) -> pa.Array:
    """A date32 column from dates, timestamps or ``YYYY-MM-DD`` text, within the range."""
    if column is None:
        return pa.nulls(rows, pa.date32())
    array = as_array(column)
    if pa.types.is_date(array.type) or pa.types.is_timestamp(array.type):
        dates = array.cast(pa.date32())
    else:
        values = text(array, rows, name, problems)  # unusable text is null from here on
        dates = _iso_dates(values)
        unparsed = _mask(values.is_valid()) & _mask(dates.is_null())
        problems.add(
            unparsed, lambda row: f"{name}: {values[row].as_py()!r} is not a date (YYYY-MM-DD)"
        )
    low = (earliest - dt.date(1970, 1, 1)).days
    days = pc.fill_null(dates.cast(pa.int32()), low).to_numpy(zero_copy_only=False)
    early = days < low
    late = days > (latest - dt.date(1970, 1, 1)).days
    problems.add(early, f"{name}: before {earliest.isoformat()}")
    problems.add(late, f"{name}: after {latest.isoformat()} (in the future)")
    return _null_where(dates, early | late)


def _iso_dates(values: pa.Array) -> pa.Array:
    """``YYYY-MM-DD`` text as date32; null where it is not a real date (2024-02-30 is
    not: Arrow's strptime would roll it over). One compiled pass over the bytes."""
    offsets, data = text_buffers(values)
    days = np.zeros(len(values), np.int32)
    real = np.zeros(len(values), np.bool_)
    _date_kernel()(offsets, data, _valid(values), days, real)
    return pa.array(days, pa.date32(), mask=~real)


@cache
def _date_kernel() -> Callable[..., None]:
    """Compiled on first use (and cached on disk)."""
    import numba

    @numba.njit(nogil=True, cache=True)
    def kernel(
        offsets: npt.NDArray[np.int64],
        data: npt.NDArray[np.uint8],
        valid: Mask,
        days: npt.NDArray[np.int32],
        real: Mask,
    ) -> None:
        longest = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
        for r in range(offsets.shape[0] - 1):
            start = offsets[r]
            if not valid[r] or offsets[r + 1] - start != 10:
                continue
            shaped = True
            for j in range(10):
                byte = data[start + j]
                dash = j == 4 or j == 7  # "-" there, digits elsewhere
                shaped = shaped and (byte == 45 if dash else 48 <= byte <= 57)
            if not shaped:
                continue
            year = np.int64(0)
            for j in range(4):
                year = year * 10 + (np.int64(data[start + j]) - 48)
            month = (np.int64(data[start + 5]) - 48) * 10 + (np.int64(data[start + 6]) - 48)
            day = (np.int64(data[start + 8]) - 48) * 10 + (np.int64(data[start + 9]) - 48)
            if month < 1 or month > 12 or day < 1:
                continue
            leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
            if day > longest[month - 1] + (1 if month == 2 and leap else 0):
                continue
            # days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant)
            shifted = year - 1 if month <= 2 else year
            era = (shifted if shifted >= 0 else shifted - 399) // 400
            of_era = shifted - era * 400
            of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
            of_cycle = of_era * 365 + of_era // 4 - of_era // 100 + of_year
            days[r] = era * 146097 + of_cycle - 719468
            real[r] = True

    return kernel


def number(
    column: pa.Array | pa.ChunkedArray | None, rows: int, name: str, problems: Problems
) -> pa.Array:
    """A float64 column from numbers or numeric text; NaN and infinities are refused."""
    if column is None:
        return pa.nulls(rows, pa.float64())
    array = as_array(column)
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
        values = array.cast(pa.float64(), safe=False)  # huge integers round, as text would
    elif pa.types.is_null(array.type):
        return pa.nulls(rows, pa.float64())
    else:
        texts = text(array, rows, name, problems)
        offsets, data = text_buffers(texts)
        numeric = np.ones(len(texts), np.bool_)
        spaced = np.zeros(len(texts), np.bool_)
        _number_kernel()(offsets, data, _valid(texts), numeric, spaced)
        problems.add(~numeric, lambda row: f"{name}: {texts[row].as_py()!r} is not a number")
        usable = _null_where(texts, ~numeric)
        values = pc.cast(pc.utf8_trim_whitespace(usable) if spaced.any() else usable, pa.float64())
    finite = _mask(pc.fill_null(pc.is_finite(values), True))
    problems.add(~finite, f"{name}: not a finite number")
    return _null_where(values, ~finite)


@cache
def _number_kernel() -> Callable[..., None]:
    """Compiled on first use (and cached on disk): which texts are decimal numbers,
    ``^\\s*[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?\\s*$`` (ASCII digits and
    whitespace), and which of those have whitespace around them."""
    import numba

    @numba.njit(nogil=True, cache=True)
    def kernel(
        offsets: npt.NDArray[np.int64],
        data: npt.NDArray[np.uint8],
        valid: Mask,
        numeric: Mask,
        spaced: Mask,
    ) -> None:
        for r in range(offsets.shape[0] - 1):
            if not valid[r]:
                continue  # null: nothing to say
            k, end = offsets[r], offsets[r + 1]
            # \s: tab, newline, form feed, carriage return, space
            while k < end and (data[k] == 32 or (9 <= data[k] <= 13 and data[k] != 11)):
                k += 1
            while end > k and (
                data[end - 1] == 32 or (9 <= data[end - 1] <= 13 and data[end - 1] != 11)
            ):
                end -= 1
            spaced[r] = k != offsets[r] or end != offsets[r + 1]
            if k < end and (data[k] == 43 or data[k] == 45):  # sign
                k += 1
            whole = 0
            while k < end and 48 <= data[k] <= 57:
                k += 1
                whole += 1
            fraction = 0
            if k < end and data[k] == 46:  # "."
                k += 1
                while k < end and 48 <= data[k] <= 57:
                    k += 1
                    fraction += 1
                # "5." and ".5" are numbers, "." is not
            ok = whole > 0 or fraction > 0
            if ok and k < end and (data[k] == 101 or data[k] == 69):  # exponent
                k += 1
                if k < end and (data[k] == 43 or data[k] == 45):
                    k += 1
                digits = 0
                while k < end and 48 <= data[k] <= 57:
                    k += 1
                    digits += 1
                ok = digits > 0
            numeric[r] = ok and k == end

    return kernel
