"""The national picture adds up to the snapshot it is made from."""

from __future__ import annotations

import numpy as np

from socialcredit.scoring.picture import national_picture
from tests.scored import Scored


def test_the_picture_adds_up_to_the_snapshot(scored: Scored) -> None:
    snapshot = scored.snapshot
    picture = national_picture(snapshot)
    kinds = snapshot.array("kind")
    scores = snapshot.array("score")
    histogram = picture["histogram"]
    for code, kind in enumerate(("person", "organisation")):
        counts = histogram["counts"][kind]
        assert sum(counts) == int((kinds == code).sum())
        mine = scores[kinds == code]
        for start, count in zip(histogram["starts"], counts, strict=True):
            assert count == int(((mine >= start) & (mine < start + histogram["width"])).sum())
    provinces = picture["provinces"]
    assert sum(p["subjects"] for p in provinces) == len(snapshot)
    assert sum(p["discredited"] for p in provinces) == sum(
        counts["discredited"] for counts in picture["lists"].values()
    )
    first = provinces[0]
    in_first = (snapshot.array("region") // 10_000) == int(first["code"][:2])
    assert first["mean_score"] == round(float(np.mean(scores[in_first])), 1)
    assert first["name"] != first["code"]  # a named province
    assert picture["grades"]["names"][0] == "AAA"
