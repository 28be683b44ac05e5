from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from socialcredit.simulate.text import (
    DigitTable,
    TextTable,
    WeightedChoice,
    constant,
    digits,
    fixed,
    join,
    table_of,
)


def test_join_concatenates_indexed_and_fixed_pieces_row_by_row() -> None:
    surnames = TextTable.of(["王", "欧阳", ""])
    numbers = digits(np.array([7, 42, 999]), 3)
    joined = join([surnames.pick(np.array([1, 0, 2])), constant("-", 3), numbers])
    assert joined.to_pylist() == ["欧阳-007", "王-042", "-999"]
    assert joined.type == pa.string()
    joined.validate(full=True)


def test_join_marks_invalid_rows_null_and_keeps_the_rest() -> None:
    words = TextTable.of(["a", "bcd"])
    joined = join(
        [words.pick(np.array([0, 1, 1, 0])), DigitTable.of(0, 100, 2).pick(np.array([5, 6, 7, 8]))],
        valid=np.array([True, False, True, False]),
    )
    assert joined.to_pylist() == ["a05", None, "bcd07", None]
    assert joined.null_count == 2
    joined.validate(full=True)


def test_join_of_no_rows_and_of_empty_strings() -> None:
    empty = TextTable.of([""])
    assert join([empty.pick(np.zeros(0, np.int64))]).to_pylist() == []
    assert join([empty.pick(np.zeros(2, np.int64))]).to_pylist() == ["", ""]


def test_join_refuses_pieces_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="same number of rows"):
        join([constant("x", 2), constant("y", 3)])


def test_pick_from_a_picked_piece_is_refused() -> None:
    with pytest.raises(ValueError, match="from a table"):
        fixed(np.zeros((2, 1), np.uint8)).pick(np.array([0])).pick(np.array([0]))


def test_weighted_choice_follows_the_weights() -> None:
    drawn = WeightedChoice.of([1.0, 3.0]).draw(np.random.default_rng(1), 100_000)
    assert abs(float(np.mean(drawn == 1)) - 0.75) < 0.01


def test_table_of_views_fixed_width_arrays_and_copies_the_rest() -> None:
    codes = pa.array(["110101199001011234", "330102198507071111"])
    view = table_of(codes)
    assert view.matrix.shape == (2, 18)
    assert np.shares_memory(view.matrix, np.frombuffer(codes.buffers()[2], np.uint8))
    assert join([view.pick(np.array([1, 1, 0]))]).to_pylist() == [
        "330102198507071111",
        "330102198507071111",
        "110101199001011234",
    ]
    sliced = pa.array(["a", "bb", "cc"]).slice(1)  # fixed width after an offset
    assert join([table_of(sliced).pick(np.array([1, 0]))]).to_pylist() == ["cc", "bb"]
    mixed = pa.array(["a", "bbb"])
    assert join([table_of(mixed).pick(np.array([1, 0]))]).to_pylist() == ["bbb", "a"]
    with pytest.raises(ValueError, match="no nulls"):
        table_of(pa.array(["a", None]))
