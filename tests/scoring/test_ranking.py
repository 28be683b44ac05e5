"""Ranks and percentiles by counting, against plain references written here."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.scoring import ranking_kernels as kernels
from socialcredit.scoring.ranking import LEVELS, RankChunk, RankTables, rank_in_chunks

DIVISOR = {"national": 1_000_000, "province": 10_000, "city": 100, "county": 1}
#: codes sharing prefixes: two cities of Beijing (11), Tianjin (12), Shandong (37)
POOL = [110101, 110102, 110105, 110201, 120101, 120102, 371082, 371002, 0, 999_999]


def arrays(
    scores: list[int], regions: list[int], kinds: list[int] | None = None
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int32], npt.NDArray[np.uint8] | None]:
    return (
        np.array(scores, np.int16),
        np.array(regions, np.int32),
        None if kinds is None else np.array(kinds, np.uint8),
    )


def reference(
    scores: list[int], regions: list[int], kinds: list[int], level: str
) -> list[tuple[int, float]]:
    """Per subject: (1 + strictly higher, strictly lower * 100.0 / total) in its group."""
    figures = []
    for i, score in enumerate(scores):
        group = [
            scores[j]
            for j in range(len(scores))
            if kinds[j] == kinds[i] and regions[j] // DIVISOR[level] == regions[i] // DIVISOR[level]
        ]
        higher = sum(other > score for other in group)
        lower = sum(other < score for other in group)
        figures.append((1 + higher, lower * 100.0 / len(group)))
    return figures


def figures(chunk: RankChunk, level: str) -> list[tuple[int, float]]:
    return list(zip(chunk.rank[level].tolist(), chunk.percentile[level].tolist(), strict=True))


def ranked(
    scores: list[int],
    regions: list[int],
    kinds: list[int] | None = None,
    floor: int = 0,
    ceiling: int = 1500,
) -> RankChunk:
    s, r, k = arrays(scores, regions, kinds)
    return RankTables.count(s, r, k, floor, ceiling).lookup(s, r, k)


def test_ties_share_the_best_rank() -> None:
    chunk = ranked([10, 20, 20, 5, 20], [110101] * 5)
    assert chunk.rank["county"].tolist() == [4, 1, 1, 5, 1]
    # the top: (n - count of the top) / n * 100; the bottom: 0
    assert chunk.percentile["county"].tolist() == [20.0, 40.0, 40.0, 0.0, 40.0]
    assert chunk.rank["county"].dtype == np.int32
    assert chunk.percentile["county"].dtype == np.float64


def test_persons_and_organisations_are_ranked_apart() -> None:
    chunk = ranked([900, 800, 700, 1000], [110101] * 4, kinds=[0, 1, 0, 1])
    for level in LEVELS:
        assert chunk.rank[level].tolist() == [1, 2, 2, 1]
        assert chunk.percentile[level].tolist() == [50.0, 0.0, 0.0, 50.0]


def test_groups_are_region_code_prefixes() -> None:
    regions = [110101, 110102, 110201, 120101]  # city 1101 twice, city 1102, province 12
    chunk = ranked([400, 300, 200, 100], regions)
    assert chunk.rank["national"].tolist() == [1, 2, 3, 4]
    assert chunk.rank["province"].tolist() == [1, 2, 3, 1]
    assert chunk.rank["city"].tolist() == [1, 2, 1, 1]
    assert chunk.rank["county"].tolist() == [1, 1, 1, 1]
    assert chunk.percentile["province"].tolist() == [200 / 3, 100 / 3, 0.0, 0.0]


def test_a_single_subject_ranks_first_with_percentile_zero() -> None:
    chunk = ranked([1000], [371082])
    for level in LEVELS:
        assert (chunk.rank[level].tolist(), chunk.percentile[level].tolist()) == ([1], [0.0])


def test_scores_at_floor_and_ceiling() -> None:
    chunk = ranked([0, 1500, 1500, 0, 750], [110101] * 5)
    assert chunk.rank["national"].tolist() == [4, 1, 1, 4, 3]
    assert chunk.percentile["national"].tolist() == [0.0, 60.0, 60.0, 0.0, 40.0]
    chunk = ranked([-3, 7], [110101] * 2, floor=-3, ceiling=7)  # a scale below zero
    assert chunk.rank["county"].tolist() == [2, 1]


def test_groups_without_counted_subjects_are_empty() -> None:
    s, r, k = arrays([900, 800], [110101, 110102], [0, 0])
    tables = RankTables.count(s, r, k, 0, 1500)
    # county 110103 was not counted, its city and province were; kind 1 was not counted
    probe = tables.lookup(*arrays([850, 850], [110103, 110101], [0, 1]))
    assert probe.rank["city"].tolist() == [2, 1]
    assert probe.percentile["city"].tolist() == [50.0, 0.0]
    assert probe.rank["county"].tolist() == [1, 1]
    assert probe.percentile["county"].tolist() == [0.0, 0.0]
    assert tables.lookup_one(850, 110103, 0)["city"] == (2, 50.0)
    assert tables.lookup_one(850, 110101, 1) == dict.fromkeys(LEVELS, (1, 0.0))
    assert tables.histogram("national", 1).sum() == 0


def test_no_subjects_counted() -> None:
    tables = RankTables.count(np.zeros(0, np.int16), np.zeros(0, np.int32), None, 0, 10)
    chunk = tables.lookup(*arrays([5], [110101])[:2])
    assert all(chunk.rank[level].tolist() == [1] for level in LEVELS)
    assert tables.lookup_one(5, 110101, 0) == dict.fromkeys(LEVELS, (1, 0.0))
    assert list(rank_in_chunks(*arrays([], [])[:2], None, 0, 10)) == []


def test_scores_outside_the_scale_are_refused_without_copying() -> None:
    s, r, _ = arrays([10, 1501, 20], [110101] * 3)
    with pytest.raises(ValueError, match=r"\[0, 1500\]; these range from 10 to 1501"):
        RankTables.count(s, r, None, 0, 1500)
    tables = RankTables.count(*arrays([10], [110101])[:2], None, 0, 1500)
    with pytest.raises(ValueError, match=r"\[0, 1500\]"):
        tables.lookup(np.array([-1], np.int16), np.array([110101], np.int32))
    with pytest.raises(ValueError, match="region codes"):
        RankTables.count(np.zeros(2, np.int16), np.array([1, 1_000_000], np.int32), None, 0, 5)
    with pytest.raises(ValueError, match="region codes"):
        tables.lookup(np.zeros(1, np.int16), np.array([-5], np.int32))
    with pytest.raises(TypeError, match="int16"):
        RankTables.count(np.zeros(2, np.int64), np.zeros(2, np.int32), None, 0, 5)
    with pytest.raises(ValueError, match="rows"):
        RankTables.count(np.zeros(2, np.int16), np.zeros(3, np.int32), None, 0, 5)


@pytest.mark.parametrize("levels", [("national",), ("city",), LEVELS])
@pytest.mark.parametrize("with_kinds", [False, True])
def test_one_bad_row_past_the_first_tile_is_found(
    levels: tuple[str, ...], with_kinds: bool
) -> None:
    """The kernels flag a bad row without a branch, in any tile, at every level."""
    scores = np.full(5000, 10, np.int16)
    regions = np.full(5000, 110101, np.int32)
    kinds = np.zeros(5000, np.uint8) if with_kinds else None
    tables = RankTables.count(scores, regions, kinds, 0, 1500, levels)
    assert tables.lookup(scores, regions, kinds).rank[levels[0]].max() == 1
    high, far = scores.copy(), regions.copy()
    high[4500], far[4097] = 1501, 1_000_000
    with pytest.raises(ValueError, match=r"\[0, 1500\]"):
        RankTables.count(high, regions, kinds, 0, 1500, levels)
    with pytest.raises(ValueError, match=r"\[0, 1500\]"):
        tables.lookup(high, regions, kinds)
    with pytest.raises(ValueError, match="region codes"):
        tables.lookup(scores, far, kinds)


def peak_traced_bytes(rows: int) -> int:
    """Peak memory NumPy reports to tracemalloc (besides the inputs) while every subject
    of ``rows`` is counted and looked up, a chunk at a time."""
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 1501, rows).astype(np.int16)
    regions = rng.choice(np.array(POOL[:8], np.int32), rows)
    tracemalloc.start()
    try:
        checksum = 0
        for chunk in rank_in_chunks(scores, regions, None, 0, 1500, chunk_rows=4096):
            checksum += int(chunk.rank["county"][-1])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert checksum > 0
    return peak


@pytest.mark.parametrize("parallel", [False, True])
def test_counting_and_chunks_make_no_wide_copy_of_the_subjects(
    parallel: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory beyond the inputs does not grow with the subjects: a widened copy of the
    scores, or a 64-bit key per subject, would add at least 2 bytes per subject here."""
    monkeypatch.setattr(kernels, "PARALLEL_ROWS", 1000 if parallel else 1 << 30)
    small, large = peak_traced_bytes(20_000), peak_traced_bytes(200_000)
    assert large - small < 180_000


def test_threads_give_the_same_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    rows = 5000
    s = rng.integers(0, 30, rows).astype(np.int16)
    r = rng.choice(np.array(POOL, np.int32), rows)
    k = rng.choice(np.array([0, 1], np.uint8), rows)
    serial = RankTables.count(s, r, k, 0, 29).lookup(s, r, k)
    monkeypatch.setattr(kernels, "PARALLEL_ROWS", 100)
    threaded = RankTables.count(s, r, k, 0, 29).lookup(s, r, k)
    for level in LEVELS:
        assert np.array_equal(serial.rank[level], threaded.rank[level])
        assert np.array_equal(serial.percentile[level], threaded.percentile[level])


@st.composite
def populations(
    draw: st.DrawFn,
) -> tuple[list[int], list[int], list[int] | None, int, int]:
    rows = draw(st.integers(1, 40))
    floor = draw(st.sampled_from([0, -20, 300]))
    ceiling = floor + draw(st.integers(0, 15))
    score = st.one_of(st.just(floor), st.just(ceiling), st.integers(floor, ceiling))
    scores = draw(st.lists(score, min_size=rows, max_size=rows))
    regions = draw(st.lists(st.sampled_from(POOL), min_size=rows, max_size=rows))
    kinds = draw(st.none() | st.lists(st.sampled_from([0, 1, 7]), min_size=rows, max_size=rows))
    return scores, regions, kinds, floor, ceiling


@settings(max_examples=60, deadline=None)
@given(populations())
def test_every_level_matches_the_plain_reference(
    population: tuple[list[int], list[int], list[int] | None, int, int],
) -> None:
    scores, regions, kinds, floor, ceiling = population
    chunk = ranked(scores, regions, kinds, floor, ceiling)
    for level in LEVELS:
        assert figures(chunk, level) == reference(
            scores, regions, kinds or [0] * len(scores), level
        )


@settings(max_examples=30, deadline=None)
@given(populations(), st.integers(1, 7), st.sampled_from([LEVELS, ("city",), ("national",)]))
def test_chunks_concatenate_to_one_lookup(
    population: tuple[list[int], list[int], list[int] | None, int, int],
    chunk_rows: int,
    levels: tuple[str, ...],
) -> None:
    scores, regions, kinds, floor, ceiling = population
    s, r, k = arrays(scores, regions, kinds)
    whole = RankTables.count(s, r, k, floor, ceiling).lookup(s, r, k)
    starts, ranks, shares = [], [], []
    for chunk in rank_in_chunks(s, r, k, floor, ceiling, chunk_rows, levels):
        assert tuple(chunk.rank) == levels
        starts.append(chunk.start)
        ranks.append({level: chunk.rank[level].copy() for level in levels})
        shares.append({level: chunk.percentile[level].copy() for level in levels})
    assert starts == list(range(0, len(scores), chunk_rows))
    for level in levels:
        assert np.array_equal(np.concatenate([c[level] for c in ranks]), whole.rank[level])
        assert np.array_equal(np.concatenate([c[level] for c in shares]), whole.percentile[level])


@settings(max_examples=15, deadline=None)
@given(populations())
def test_saved_tables_answer_the_same(
    tmp_path_factory: pytest.TempPathFactory,
    population: tuple[list[int], list[int], list[int] | None, int, int],
) -> None:
    scores, regions, kinds, floor, ceiling = population
    s, r, k = arrays(scores, regions, kinds)
    tables = RankTables.count(s, r, k, floor, ceiling)
    directory = tmp_path_factory.mktemp("ranks")
    tables.save(directory)
    loaded = RankTables.load(directory)
    assert isinstance(loaded.higher["county"], np.memmap)
    before, after = tables.lookup(s, r, k), loaded.lookup(s, r, k)
    for level in LEVELS:
        assert np.array_equal(before.rank[level], after.rank[level])
        assert np.array_equal(before.percentile[level], after.percentile[level])
    kind_list = kinds or [0] * len(scores)
    for i, (score, region) in enumerate(zip(scores, regions, strict=True)):
        one = loaded.lookup_one(score, region, kind_list[i])
        assert one == {level: figures(before, level)[i] for level in LEVELS}
    for kind in set(kind_list):
        counts = loaded.histogram("national", kind)
        assert counts.sum() == kind_list.count(kind)
        expected = np.bincount(
            [sc - floor for sc, kd in zip(scores, kind_list, strict=True) if kd == kind],
            minlength=ceiling - floor + 1,
        )
        assert counts.tolist() == expected.tolist()
        assert loaded.histogram("county", kind, regions[kind_list.index(kind)]).sum() > 0


def test_fewer_levels_count_at_the_finest_asked(tmp_path: Path) -> None:
    s, r, _ = arrays([5, 6, 7, 8], [110101, 110102, 110201, 120101])
    tables = RankTables.count(s, r, None, 0, 10, ("national", "city"))
    assert tables.levels == ("national", "city")
    chunk = tables.lookup(s, r)
    assert chunk.rank["city"].tolist() == [2, 1, 1, 1]
    assert chunk.rank["national"].tolist() == [4, 3, 2, 1]
    with pytest.raises(ValueError, match="county"):
        tables.lookup(s, r, levels=("county",))
    tables.save(tmp_path)
    assert RankTables.load(tmp_path, mmap=False).lookup_one(6, 110102, 0) == {
        "national": (3, 25.0),
        "city": (1, 50.0),
    }


def test_a_preallocated_chunk_is_filled_in_place() -> None:
    s, r, _ = arrays([3, 1, 2], [110101] * 3)
    tables = RankTables.count(s, r, None, 0, 5)
    buffer = RankChunk.allocate(8, ("county",))
    chunk = tables.lookup(s, r, out=buffer, start=40)
    assert chunk.start == 40
    assert chunk.rank["county"].tolist() == [1, 3, 2]
    assert np.shares_memory(chunk.rank["county"], buffer.rank["county"])
    assert buffer.rank["county"][:3].tolist() == [1, 3, 2]


def test_benchmark_subjects_are_plausible() -> None:
    from benchmarks.ranking import county_table, make_subjects

    scores, regions = make_subjects(200_000, seed=9)
    again, _ = make_subjects(200_000, seed=9)
    assert np.array_equal(scores, again)
    assert scores.dtype == np.int16
    assert regions.dtype == np.int32
    assert scores.min() >= 0
    assert scores.max() <= 1500
    assert 950 <= scores.mean() <= 1000
    assert 100 <= scores.std() <= 200
    assert np.isin(regions, county_table()).all()
    counts = np.bincount(regions)[np.unique(regions)]
    assert counts.max() > 5 * np.median(counts)  # skewed
