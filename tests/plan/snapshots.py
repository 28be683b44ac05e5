"""Two snapshots compared as a reader sees them: the per-subject table (every column),
the records behind each list, the organisations' published records, every decision,
and the metadata's counts."""

from __future__ import annotations

from typing import Any

import pyarrow.parquet as pq

from socialcredit.scoring.snapshots import Snapshot


def _subjects(snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    table = snapshot.subject_table()
    return {row["subject_id"]: row for row in table.to_pylist()}


def _pairs(snapshot: Snapshot, name: str, columns: list[str]) -> set[tuple[Any, ...]]:
    table = pq.read_table(snapshot.path / name, columns=columns)
    return set(zip(*(table.column(c).to_pylist() for c in columns), strict=True))


def snapshot_differences(ours: Snapshot, theirs: Snapshot) -> list[str]:
    found: list[str] = []
    a, b = _subjects(ours), _subjects(theirs)
    if list(a) != list(b):
        found.append("subjects: not the same rows in the same order")
    for subject_id in a.keys() & b.keys():
        if a[subject_id] != b[subject_id]:
            found.append(f"{subject_id}: {a[subject_id]} != {b[subject_id]}")
    for name, columns in (
        ("listed.parquet", ["subject_id", "list", "record_id"]),
        ("published.parquet", ["subject_id", "record_id", "under_objection"]),
    ):
        if _pairs(ours, name, columns) != _pairs(theirs, name, columns):
            found.append(f"{name} differs")
    if (ours.path / "decisions.json").read_bytes() != (theirs.path / "decisions.json").read_bytes():
        found.append("decisions.json differs")
    for key in ("records", "grades", "lists", "histograms", "subjects", "policy"):
        if ours.metadata[key] != theirs.metadata[key]:
            found.append(f"metadata {key}: {ours.metadata[key]} != {theirs.metadata[key]}")
    return found
