"""Turn the columns of a raw batch into typed columns, noting every row's problems.

Each converter takes a column as read (text, bytes from CSV, or a typed Parquet
column) and returns the typed column, with a null where the value is unusable and
the reason recorded against the row, naming the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.ledger.hashing import as_array, byte_lengths, utf8_valid

Mask = npt.NDArray[np.bool_]
#: longest accepted text field; a longer one is quarantined, not stored
MAX_TEXT_CHARS = 1000
_NUMBER = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"


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
    empty = size == 0
    if array.null_count:  # nulls are null already: only empty text needs a copy
        empty &= _mask(array.is_valid())
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
    missing = _mask(array.is_null()) if array.null_count else np.zeros(len(array), np.bool_)
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


_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _iso_dates(values: pa.Array) -> pa.Array:
    """``YYYY-MM-DD`` text as date32; null where it is not a real date (2024-02-30 is
    not). Vectorised arithmetic: Arrow's strptime rolls impossible days over."""
    shaped = _mask(pc.fill_null(pc.match_substring_regex(values, _DATE), False))
    usable = _null_where(values, ~shaped)

    def part(start: int, stop: int) -> npt.NDArray[np.int64]:
        digits = pc.utf8_slice_codeunits(usable, start, stop)
        number: npt.NDArray[np.int64] = pc.fill_null(pc.cast(digits, pa.int64()), 0).to_numpy(
            zero_copy_only=False
        )
        return number

    year, month, day = part(0, 4), part(5, 7), part(8, 10)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_index = np.clip(month - 1, 0, 11)
    longest = _DAYS_IN_MONTH[month_index] + ((month == 2) & leap)
    real = shaped & (month >= 1) & (month <= 12) & (day >= 1) & (day <= longest)
    months = ((year - 1970) * 12 + month_index).astype("datetime64[M]")
    days = (months.astype("datetime64[D]").astype(np.int64) + day - 1).astype(np.int32)
    return pa.array(days, pa.date32(), mask=~real)


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
        numeric = _mask(pc.fill_null(pc.match_substring_regex(texts, _NUMBER), True))
        numeric |= _mask(texts.is_null())
        problems.add(~numeric, lambda row: f"{name}: {texts[row].as_py()!r} is not a number")
        values = pc.cast(pc.utf8_trim_whitespace(_null_where(texts, ~numeric)), pa.float64())
    finite = _mask(pc.fill_null(pc.is_finite(values), True))
    problems.add(~finite, f"{name}: not a finite number")
    return _null_where(values, ~finite)
