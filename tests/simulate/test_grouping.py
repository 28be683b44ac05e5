from __future__ import annotations

import numpy as np
import pytest

from socialcredit.simulate.grouping import distinct, ranks_within


@pytest.mark.parametrize("ordered", [True, False])
def test_distinct_agrees_with_numpy_unique(ordered: bool) -> None:
    values = np.random.default_rng(1).integers(0, 50, 10_000)
    if ordered:
        values = np.sort(values)
    unique, inverse = distinct(values)
    expected_unique, expected_inverse = np.unique(values, return_inverse=True)
    assert np.array_equal(unique, expected_unique)
    assert np.array_equal(inverse, expected_inverse)
    assert np.array_equal(unique[inverse], values)


def test_distinct_of_nothing() -> None:
    unique, inverse = distinct(np.zeros(0, np.int64))
    assert len(unique) == 0
    assert len(inverse) == 0


def _reference_ranks(group: np.ndarray, key: np.ndarray) -> list[int]:
    seen: dict[tuple[int, int], int] = {}
    ranks = []
    for pair in zip(group.tolist(), key.tolist(), strict=True):
        ranks.append(seen.get(pair, 0))
        seen[pair] = ranks[-1] + 1
    return ranks


@pytest.mark.parametrize("ordered", [True, False])
def test_ranks_within_count_rows_of_the_same_group_and_key_in_row_order(ordered: bool) -> None:
    rng = np.random.default_rng(2)
    group = rng.integers(100_000, 100_020, 20_000)
    if ordered:
        group = np.sort(group)
    key = rng.integers(-30, 30, 20_000)  # negative keys too: the range is shifted
    assert ranks_within(group, key).tolist() == _reference_ranks(group, key)


def test_ranks_within_of_nothing() -> None:
    assert len(ranks_within(np.zeros(0, np.int64), np.zeros(0, np.int64))) == 0
