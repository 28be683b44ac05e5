from __future__ import annotations

import pyarrow as pa

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
