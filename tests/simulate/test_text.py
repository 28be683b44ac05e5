from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from socialcredit.simulate.text import (
    DigitTable,
    Piece,
    WeightedChoice,
    constant,
    digits,
    fixed,
    join,
    table_of,
)


def test_join_concatenates_indexed_and_fixed_pieces_row_by_row() -> None:
    surnames = Piece.of(["王", "欧阳", ""])
    numbers = digits(np.array([7, 42, 999]), 3)
    joined = join([surnames.pick(np.array([1, 0, 2])), constant("-", 3), numbers])
    assert joined.to_pylist() == ["欧阳-007", "王-042", "-999"]
    assert joined.type == pa.string()
    joined.validate(full=True)


def test_join_marks_invalid_rows_null_and_keeps_the_rest() -> None:
    words = Piece.of(["a", "bcd"])
    joined = join(
        [words.pick(np.array([0, 1, 1, 0])), DigitTable.of(0, 100, 2).pick(np.array([5, 6, 7, 8]))],
        valid=np.array([True, False, True, False]),
    )
    assert joined.to_pylist() == ["a05", None, "bcd07", None]
    assert joined.null_count == 2
    joined.validate(full=True)


def test_join_of_no_rows_and_of_empty_strings() -> None:
    empty = Piece.of([""])
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


def test_pieces_know_when_every_row_has_the_same_length() -> None:
    assert Piece.of(["ab", "cd"]).width == 2
    assert Piece.of(["王", "欧阳"]).width == -1
    assert Piece.of([]).width == -1
    assert digits(np.array([1, 2]), 4).width == 4
    assert DigitTable.of(0, 10, 3).pick(np.array([4])).width == 3
    assert table_of(pa.array(["abc", "def"])).width == 3
    assert table_of(pa.array(["a", "def"])).width == -1


def test_join_of_fixed_and_variable_pieces_with_nulls_matches_python() -> None:
    rng = np.random.default_rng(7)
    rows = 5_000
    words = ["", "王", "欧阳", "abc", "司马相如"]
    pick = rng.integers(0, len(words), rows)
    number = rng.integers(0, 1_000_000, rows)
    valid = rng.random(rows) < 0.8
    joined = join(
        [
            Piece.of(words).pick(pick),
            constant("-", rows),
            DigitTable.of(0, 1_000_000, 6).pick(number),
            Piece.of(words).pick(pick[::-1].copy()),
        ],
        valid=valid,
    )
    expected = [
        f"{words[a]}-{n:06d}{words[b]}" if ok else None
        for a, n, b, ok in zip(
            pick.tolist(), number.tolist(), pick[::-1].tolist(), valid.tolist(), strict=True
        )
    ]
    assert joined.to_pylist() == expected
    joined.validate(full=True)
