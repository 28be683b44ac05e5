"""The national picture of a snapshot, for the portal's home page and anyone: the score
histogram, the grade distribution, list sizes and figures by province, with the policy
version and the snapshot's date. Aggregates only: no one can be told apart in it."""

from __future__ import annotations

from typing import Any

import numpy as np

from socialcredit.regions import region_table
from socialcredit.scoring.policy_tables import KINDS
from socialcredit.scoring.snapshots import Snapshot

#: points per histogram bar
BIN_WIDTH = 10


def national_picture(snapshot: Snapshot, bin_width: int = BIN_WIDTH) -> dict[str, Any]:
    meta = snapshot.metadata
    floor, ceiling = meta["scale"]["floor"], meta["scale"]["ceiling"]
    starts = list(range(floor, ceiling + 1, bin_width))
    counts = {}
    for kind, per_point in meta["histograms"]["national"].items():
        points = np.asarray(per_point, np.int64)
        counts[kind] = [int(points[s - floor : s - floor + bin_width].sum()) for s in starts]
    return {
        "snapshot": snapshot.id,
        "as_of": meta["as_of"],
        "policy": meta["policy"]["version"],
        "subjects": meta["subjects"],
        "histogram": {"floor": floor, "ceiling": ceiling, "width": bin_width, "starts": starts,
                      "counts": counts},
        "grades": {"names": meta["grade_names"], "counts": meta["grades"]},
        "lists": meta["lists"],
        "provinces": _provinces(snapshot),
    }  # fmt: skip


def _provinces(snapshot: Snapshot) -> list[dict[str, Any]]:
    """Per province: subjects, persons, mean score and the discredited."""
    province = snapshot.array("region").astype(np.int64) // 10_000
    score = snapshot.array("score").astype(np.int64)
    persons = snapshot.array("kind") == KINDS.index("person")
    names: list[str] = snapshot.metadata["list_names"]
    discredited = np.zeros(len(province), np.bool_)
    if "discredited" in names:
        bit = np.uint8(1 << names.index("discredited"))
        discredited = (snapshot.array("lists") & bit) != 0
    size = 100
    subjects = np.bincount(province, minlength=size)
    totals = np.bincount(province, weights=score, minlength=size)
    people = np.bincount(province, weights=persons, minlength=size)
    listed = np.bincount(province, weights=discredited, minlength=size)
    table = region_table()
    out = []
    for number in np.flatnonzero(subjects):
        code = f"{int(number):02d}0000"
        region = table.get(code)
        out.append(
            {
                "code": code,
                "name": region.name if region else code,
                "subjects": int(subjects[number]),
                "persons": int(people[number]),
                "mean_score": round(float(totals[number] / subjects[number]), 1),
                "discredited": int(listed[number]),
            }
        )
    return out
