"""The effective policies as small relational tables, for a run as of one date: what
the plan's SQL joins the records with. Everything that needs calendar arithmetic
(months in force, clean-history windows) is worked out here, in Python, once per
(variant, type), so the SQL only compares dates, the same on every engine.

Derived from :func:`socialcredit.scoring.policy_tables.compile_policy`: the same
variants, type codes and list bits as the embedded engine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa

from socialcredit.scoring.engine import decision_for
from socialcredit.scoring.policy_tables import KINDS, PolicyTables, add_months, in_force_from


@dataclass(frozen=True)
class PlanTables:
    """``rules``: one row per (variant, record type, kind) the type applies to;
    ``clears``: (variant, clearing type, cleared type); ``windows``: per grade-basis
    list bit, (variant, type) the first ``occurred_on`` that blemishes the clean
    history; ``grades``: the bands; ``grade_lists``: per grade-basis list bit, the
    lowest score it takes; ``decisions``: per (variant, kind, grade, lists) the
    measures granted and imposed (bit masks over the measure names)."""

    rules: pa.Table
    clears: pa.Table
    windows: pa.Table
    grades: pa.Table
    grade_lists: pa.Table
    decisions: pa.Table
    lists: pa.Table

    def as_dict(self) -> dict[str, pa.Table]:
        return {
            "rules": self.rules,
            "clears": self.clears,
            "windows": self.windows,
            "grades": self.grades,
            "grade_lists": self.grade_lists,
            "decisions": self.decisions,
            "lists": self.lists,
        }


def plan_tables(tables: PolicyTables, as_of: dt.date) -> PlanTables:
    rules: dict[str, list[object]] = {
        name: []
        for name in (
            "variant", "record_type", "kind", "fixed", "per_unit", "cap", "pooled",
            "first_day", "list_bits", "against", "public",
        )
    }  # fmt: skip
    clears: dict[str, list[object]] = {"variant": [], "clearing": [], "cleared": []}
    windows: dict[str, list[object]] = {"bit": [], "variant": [], "record_type": [], "since": []}
    national = tables.national
    grade_rules = [
        (tables.list_bit(name), rule)
        for name, rule in national.lists.items()
        if rule.basis == "grade" and rule.min_grade is not None
    ]
    for v, variant in enumerate(tables.variants):
        for key, rule in variant.record_types.items():
            for kind in rule.subject_kinds:
                rules["variant"].append(v)
                rules["record_type"].append(key)
                rules["kind"].append(kind)
                rules["fixed"].append(rule.points if rule.points_per_unit is None else None)
                rules["per_unit"].append(rule.points_per_unit)
                rules["cap"].append(rule.yearly_cap)
                rules["pooled"].append(
                    rule.points_per_unit is not None or rule.yearly_cap is not None
                )
                rules["first_day"].append(in_force_from(as_of, rule.in_force_months))
                bits = 0
                for name in rule.lists:
                    bits |= tables.list_bit(name)
                rules["list_bits"].append(bits)
                rules["against"].append(rule.counts_against)
                rules["public"].append(rule.public)
            for cleared in rule.clears:
                clears["variant"].append(v)
                clears["clearing"].append(key)
                clears["cleared"].append(cleared)
            if rule.counts_against:
                for bit, list_rule in grade_rules:
                    # in force on some day of the window: it ends after the window starts
                    start = add_months(as_of, -list_rule.clean_months)
                    windows["bit"].append(bit)
                    windows["variant"].append(v)
                    windows["record_type"].append(key)
                    windows["since"].append(in_force_from(start, rule.in_force_months))
    bands = sorted(national.grades, key=lambda band: -band.min)
    by_name = {band.name: band for band in bands}
    return PlanTables(
        rules=pa.table(
            rules,
            schema=pa.schema(
                [
                    ("variant", pa.int32()),
                    ("record_type", pa.string()),
                    ("kind", pa.string()),
                    ("fixed", pa.int64()),
                    ("per_unit", pa.float64()),
                    ("cap", pa.int64()),
                    ("pooled", pa.bool_()),
                    ("first_day", pa.date32()),
                    ("list_bits", pa.int32()),
                    ("against", pa.bool_()),
                    ("public", pa.bool_()),
                ]
            ),
        ),
        clears=pa.table(
            clears,
            schema=pa.schema(
                [("variant", pa.int32()), ("clearing", pa.string()), ("cleared", pa.string())]
            ),
        ),
        windows=pa.table(
            windows,
            schema=pa.schema(
                [
                    ("bit", pa.int32()),
                    ("variant", pa.int32()),
                    ("record_type", pa.string()),
                    ("since", pa.date32()),
                ]
            ),
        ),
        grades=pa.table(
            {
                "grade": [band.name for band in bands],
                "low": [band.min for band in bands],
                "high": [band.max for band in bands],
            },
            schema=pa.schema([("grade", pa.string()), ("low", pa.int32()), ("high", pa.int32())]),
        ),
        grade_lists=pa.table(
            {
                "bit": [bit for bit, _ in grade_rules],
                "low": [by_name[str(rule.min_grade)].min for _, rule in grade_rules],
            },
            schema=pa.schema([("bit", pa.int32()), ("low", pa.int32())]),
        ),
        decisions=_decisions(tables),
        lists=pa.table(
            {
                "bit": [tables.list_bit(name) for name in tables.list_names],
                "name": list(tables.list_names),
            },
            schema=pa.schema([("bit", pa.int32()), ("name", pa.string())]),
        ),
    )


def _decisions(tables: PolicyTables) -> pa.Table:
    """Every combination of variant, kind, grade and list mask, decided once by the
    embedded engine's own :func:`~socialcredit.scoring.engine.decision_for`."""
    rows: dict[str, list[object]] = {
        name: [] for name in ("variant", "kind", "grade", "lists", "incentives", "restrictions")
    }
    restriction = tables.restriction_bits
    for v in range(len(tables.variants)):
        for k, kind in enumerate(KINDS):
            for g, grade in enumerate(tables.grade_names):
                for mask in range(1 << len(tables.list_names)):
                    allowed = 0
                    for bit, measure in enumerate(tables.measure_names):
                        if decision_for(tables, v, k, g, mask, measure).allowed:
                            allowed |= 1 << bit
                    values = (v, kind, grade, mask, allowed & ~restriction, ~allowed & restriction)
                    for name, value in zip(rows, values, strict=True):
                        rows[name].append(value)
    return pa.table(
        rows,
        schema=pa.schema(
            [
                ("variant", pa.int32()),
                ("kind", pa.string()),
                ("grade", pa.string()),
                ("lists", pa.int32()),
                ("incentives", pa.int64()),
                ("restrictions", pa.int64()),
            ]
        ),
    )
