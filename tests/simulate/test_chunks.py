"""Chunk planning: counties split into parts stay unique; totals are exact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from socialcredit.identity import validate_array
from socialcredit.simulate import GenerateOptions
from socialcredit.simulate.chunks import MAX_COUNTY_PARTS, plan_chunks
from socialcredit.simulate.people import generate_people
from tests.populations import AS_OF


def test_parts_of_one_county_never_share_an_id() -> None:
    order = np.random.default_rng(1).permutation(500).astype(np.int64)
    ids = []
    for part in range(3):
        rng = np.random.default_rng([9, part])
        regions = np.full(60_000, 371082, np.int64)
        people = generate_people(
            rng,
            regions,
            AS_OF,
            order,
            np.full(60_000, part, np.int64),
            np.full(60_000, 3, np.int64),
        )
        ids.append(people.subject_id)
    combined = pa.concat_arrays(ids)
    assert validate_array(combined, today=AS_OF).invalid_count == 0
    assert len(set(combined.to_pylist())) == 180_000


def test_large_counties_are_split_and_totals_are_exact(tmp_path: Path) -> None:
    options = GenerateOptions(
        people=300_000, organisations=20_000, seed=4, out=tmp_path, as_of=AS_OF, chunk_people=100
    )
    chunks = list(plan_chunks(options))
    assert sum(int(c.people.sum()) for c in chunks) == 300_000
    assert sum(int(c.organisations.sum()) for c in chunks) == 20_000
    parts = np.concatenate([c.parts for c in chunks])
    assert parts.max() > 1
    assert parts.max() <= MAX_COUNTY_PARTS
    first = [c.first_organisation for c in chunks]
    assert first == sorted(first)
    assert first[0] == 0
