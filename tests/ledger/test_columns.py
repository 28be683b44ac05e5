from __future__ import annotations

import datetime as dt
import math
import re

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.ledger import columns
from socialcredit.ledger.columns import MAX_TEXT_CHARS, Problems


def test_text_counts_characters_not_bytes_and_nulls_empty_cells() -> None:
    values = pa.array(
        ["中" * MAX_TEXT_CHARS, "中" * (MAX_TEXT_CHARS + 1), "", None, "a" * (MAX_TEXT_CHARS + 1)]
    )
    problems = Problems(len(values))
    typed = columns.text(values, len(values), "name", problems)
    assert typed.to_pylist() == ["中" * MAX_TEXT_CHARS, None, None, None, None]
    too_long = f"name: longer than {MAX_TEXT_CHARS:,} characters"
    assert [problems.reasons(row) for row in range(len(values))] == [
        [],
        [too_long],
        [],
        [],
        [too_long],
    ]


def test_required_text_is_missing_when_null_or_empty() -> None:
    values = pa.array(["x", "", None, " "])
    problems = Problems(len(values))
    columns.required(values, len(values), "authority", problems)
    assert [problems.reasons(row) for row in range(4)] == [
        [],
        ["authority: missing"],
        ["authority: missing"],
        [],
    ]
    sliced = pa.array(["", "y", "", "z"]).slice(1, 2)  # offsets of a slice
    problems = Problems(2)
    columns.required(sliced, 2, "authority", problems)
    assert [problems.reasons(row) for row in range(2)] == [[], ["authority: missing"]]


_RE2_NUMBER = re.compile(
    r"[\t\n\f\r ]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[\t\n\f\r ]*", re.ASCII
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="0123456789+-.eE \t\n\r\x0b\x0cx٣", max_size=8), max_size=40))
def test_numbers_are_the_decimal_texts_of_the_contract(values: list[str]) -> None:
    problems = Problems(len(values))
    typed = columns.number(pa.array(values, pa.string()), len(values), "amount", problems)
    for row, value in enumerate(values):
        if value == "":  # an empty cell is no value
            assert typed[row].as_py() is None
            assert problems.reasons(row) == []
        elif _RE2_NUMBER.fullmatch(value) and math.isinf(float(value)):  # 1e999
            assert typed[row].as_py() is None
            assert problems.reasons(row) == ["amount: not a finite number"]
        elif _RE2_NUMBER.fullmatch(value):
            assert typed[row].as_py() == float(value)
            assert problems.reasons(row) == []
        else:
            assert typed[row].as_py() is None
            assert problems.reasons(row) == [f"amount: {value!r} is not a number"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.integers(1, 9999), st.integers(0, 13), st.integers(0, 32)).map(
                lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}"
            ),
            st.text(alphabet="0123456789-/ ２", max_size=11),
        ),
        max_size=40,
    )
)
def test_iso_dates_are_real_calendar_dates(values: list[str]) -> None:
    days = columns._iso_dates(pa.array(values, pa.string())).cast(pa.int32()).to_pylist()
    for value, day in zip(values, days, strict=True):
        expected = None
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value, re.ASCII) and value[:4] != "0000":
            try:
                expected = (dt.date.fromisoformat(value) - dt.date(1970, 1, 1)).days
            except ValueError:
                expected = None
        assert day == expected, value
