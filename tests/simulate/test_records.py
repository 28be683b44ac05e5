from __future__ import annotations

import numpy as np
import pytest

from socialcredit.simulate.records import bernoulli_positions


@pytest.mark.parametrize("share", [0.001, 0.05, 0.19, 0.2, 0.6])
def test_bernoulli_positions_are_ordered_in_range_and_at_the_share(share: float) -> None:
    rng = np.random.default_rng(11)
    rows, runs = 200_000, 20
    counts = []
    for _ in range(runs):
        positions = bernoulli_positions(rng, rows, share)
        assert (np.diff(positions) > 0).all()
        assert positions.size == 0 or (positions[0] >= 0 and positions[-1] < rows)
        counts.append(len(positions))
    mean, spread = rows * share, (rows * share * (1 - share) / runs) ** 0.5
    assert abs(float(np.mean(counts)) - mean) < 5 * spread + 1


def test_bernoulli_positions_spread_over_the_rows() -> None:
    positions = bernoulli_positions(np.random.default_rng(5), 1_000_000, 0.01)
    halves = np.histogram(positions, bins=2, range=(0, 1_000_000))[0]
    assert abs(int(halves[0]) - int(halves[1])) < 600  # about 5 standard deviations


def test_bernoulli_positions_edge_cases() -> None:
    rng = np.random.default_rng(1)
    assert bernoulli_positions(rng, 0, 0.5).size == 0
    assert bernoulli_positions(rng, 10, 0.0).size == 0
    assert bernoulli_positions(rng, 5, 1.0).tolist() == [0, 1, 2, 3, 4]
