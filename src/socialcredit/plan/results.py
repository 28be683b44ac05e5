"""A plan's result with names instead of bit masks: lists, incentives and restrictions
as the snapshot's per-subject table writes them (names in the policy's order)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from socialcredit.scoring.policy_tables import PolicyTables

#: the steps of the plan a run brings back (socialcredit.plan.sql)
OUTPUTS = ("scores", "statuses", "published", "listed_records")


@dataclass(frozen=True)
class PlanOutput:
    """What one run of the plan gives: ``scores`` (one row per subject), ``statuses``
    (records per status, with those of unregistered subjects and unknown types),
    ``published`` (organisations' published records) and ``listed_records`` (the
    records behind each list membership); and the ledger versions read."""

    scores: pa.Table
    statuses: pa.Table
    published: pa.Table
    listed_records: pa.Table
    records_version: int
    subjects_version: int


def _names(masks: pa.Array | pa.ChunkedArray, names: tuple[str, ...]) -> pa.Array:
    values = [
        [name for bit, name in enumerate(names) if int(mask) >> bit & 1]
        for mask in masks.to_pylist()
    ]
    return pa.array(values, pa.list_(pa.string()))


def named(result: pa.Table, tables: PolicyTables) -> pa.Table:
    """``result`` with ``lists``, ``incentives`` and ``restrictions`` as lists of names."""
    out = result
    for column, names in (
        ("lists", tables.list_names),
        ("incentives", tables.measure_names),
        ("restrictions", tables.measure_names),
    ):
        index = out.column_names.index(column)
        out = out.set_column(index, column, _names(out.column(column), names))
    return out
