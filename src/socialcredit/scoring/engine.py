"""One scoring run over the compact ledger view: statuses, points, scores, grades,
lists and decisions. The records are clustered by subject and each subject's records
are walked once by a compiled kernel (see :mod:`engine_kernels`); decisions are taken
once per combination of variant, kind, grade and lists.

A record's status says whether it counts and, if not, why (the explanations show it):
it is not in the policy of the subject's region, it is a revocation row, it was
revoked, repaired or is under objection, it lies after the as-of date, or its period
in force has ended.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from socialcredit.measures import Decision, decide
from socialcredit.scoring.engine_kernels import (
    NOT_IN_POLICY,
    cluster_kernel,
    parallel_for,
    published_kernel,
    score_kernel,
)
from socialcredit.scoring.ledger_view import LedgerView, Subjects
from socialcredit.scoring.policy_tables import (
    KINDS,
    PolicyTables,
    add_months,
    day_number,
    in_force_table,
)

STATUS_CODES = (
    "counted",
    "not_in_policy",
    "revocation",
    "revoked",
    "repaired",
    "under_objection",
    "not_yet",
    "expired",
    "casework",
)
STATUS_NAMES = (
    "counted",
    "not in the policy of the subject's region or kind",
    "a revocation of another record",
    "revoked",
    "repaired",
    "under objection",
    "after the as-of date",
    "expired: its period in force has ended",
    "a casework decision about another record",
)


@dataclass
class ScoreResult:
    tables: PolicyTables
    as_of: dt.date
    # per record (positions of the view's records)
    status: npt.NDArray[np.uint8]
    points: npt.NDArray[np.float64]  # the record's own points (0 unless counted)
    #: on the last record of each (type, year) sum: what rounding and the cap change
    adjustment: npt.NDArray[np.float64]
    #: the lists a record holds its subject on (0 for most)
    behind: npt.NDArray[np.uint8]
    # per subject
    points_total: npt.NDArray[np.int64]  # before the clamp
    score: npt.NDArray[np.int16]
    grade: npt.NDArray[np.uint8]  # index into tables.grade_names
    lists: npt.NDArray[np.uint8]  # bit mask over tables.list_names
    counted: npt.NDArray[np.int32]  # records that count
    #: the decision combination of each subject (see ``combo_shape``)
    combo: npt.NDArray[np.int32]
    decisions: list[list[Decision]]  # [combination][measure]

    @cached_property
    def combo_allowed(self) -> npt.NDArray[np.uint64]:
        return allowed_bits(self.decisions)


def score_view(view: LedgerView, tables: PolicyTables, as_of: dt.date) -> ScoreResult:
    """Score every subject of the view as of ``as_of`` (see docs/scoring.md)."""
    records, subjects = view.records, view.subjects
    n, m = len(subjects), len(records)
    starts, order = cluster_kernel()(records.subject, n)
    scale = tables.national.scale
    grade_lists = [
        (name, rule)
        for name, rule in tables.national.lists.items()
        if rule.basis == "grade" and rule.min_grade is not None
    ]
    windows = (
        np.stack(
            [
                in_force_table(tables, add_months(as_of, -rule.clean_months))
                for _, rule in grade_lists
            ]
        )
        if grade_lists
        else np.zeros((0, *tables.months.shape), np.int32)
    )
    window_bits = np.array([tables.list_bit(name) for name, _ in grade_lists], np.uint8)
    window_grades = np.array(
        [tables.grade_names.index(rule.min_grade or "") for _, rule in grade_lists], np.uint8
    )
    status = np.zeros(m, np.uint8)
    points = np.zeros(m, np.float64)
    adjustment = np.zeros(m, np.float64)
    behind = np.zeros(m, np.uint8)
    total = np.zeros(n, np.int64)
    score = np.zeros(n, np.int16)
    grade = np.zeros(n, np.uint8)
    lists = np.zeros(n, np.uint8)
    counted = np.zeros(n, np.int32)
    score_kernel(parallel_for(n))(
        starts, order, records.type_code, records.occurred, records.amount, records.flags,
        subjects.variant, subjects.kind,
        tables.months, tables.kinds, tables.points, tables.per_unit, tables.yearly_cap,
        tables.grouped, tables.lists, tables.clears, tables.clears.any(axis=2),
        tables.counts_against,
        in_force_table(tables, as_of), day_number(as_of),
        windows, window_bits, window_grades,
        scale.base, scale.floor, scale.ceiling, tables.grade_of_score,
        status, points, adjustment, behind, total, score, grade, lists, counted,
    )  # fmt: skip
    status[order[starts[n] :]] = NOT_IN_POLICY  # records of no registered subject
    combo, decisions = decisions_of(view.subjects, tables, grade, lists)
    return ScoreResult(
        tables=tables,
        as_of=as_of,
        status=status,
        points=points,
        adjustment=adjustment,
        behind=behind,
        points_total=total,
        score=score,
        grade=grade,
        lists=lists,
        counted=counted,
        combo=combo,
        decisions=decisions,
    )


def listed_by(
    view: LedgerView, result: ScoreResult
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """(subject row, list bits, record position) of each record behind a list."""
    positions = np.flatnonzero(result.behind)
    return view.records.subject[positions], result.behind[positions], positions


def published_by(view: LedgerView, result: ScoreResult) -> npt.NDArray[np.int64]:
    """The positions of organisations' published records: of a type the subject's
    policy marks public, in force on the as-of date (counted, or frozen while under
    objection). Persons' records are published only behind a public list, masked."""
    subjects, tables = view.subjects, result.tables
    organisation = KINDS.index("organisation")
    applies = (tables.kinds & np.uint8(1 << organisation)) != 0
    positions: npt.NDArray[np.int64] = published_kernel()(
        result.status,
        view.records.type_code,
        view.records.subject,
        subjects.kind,
        subjects.variant,
        tables.public,
        np.asarray((tables.public & applies).any(axis=0), np.bool_),
        np.uint8(organisation),
        view.records.occurred,
        in_force_table(tables, result.as_of),
        np.int32(day_number(result.as_of)),
    )
    return positions


def decision_for(
    tables: PolicyTables, variant: int, kind: int, grade: int, lists: int, measure: str
) -> Decision:
    """The decision on ``measure`` for one combination of variant, kind, grade and list
    mask; a measure of another region's overlay neither grants nor restricts."""
    policy = tables.variants[variant]
    on = frozenset(n for i, n in enumerate(tables.list_names) if lists >> i & 1)
    if measure in policy.measures:
        return decide(policy, measure, KINDS[kind], tables.grade_names[grade], on)
    restriction = bool(tables.restriction_bits >> tables.measure_names.index(measure) & 1)
    return Decision(measure, restriction, ("not_in_regional_policy",), "not a measure here")


def decisions_of(
    subjects: Subjects,
    tables: PolicyTables,
    grade: npt.NDArray[np.uint8],
    lists: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.int32], list[list[Decision]]]:
    """Every (variant, kind, grade, lists) combination decided once with
    :func:`decision_for`; subjects index the combinations."""
    shape = combo_shape(tables)
    decisions = []
    for combo in range(int(np.prod(shape))):
        v, k, g, mask = (int(i) for i in np.unravel_index(combo, shape))
        decisions.append([decision_for(tables, v, k, g, mask, m) for m in tables.measure_names])
    combo_of = np.ravel_multi_index((subjects.variant, subjects.kind, grade, lists), shape).astype(
        np.int32
    )
    return combo_of, decisions


def combo_shape(tables: PolicyTables) -> tuple[int, int, int, int]:
    return (len(tables.variants), len(KINDS), len(tables.grade_names), 1 << len(tables.list_names))


def allowed_bits(decisions: list[list[Decision]]) -> npt.NDArray[np.uint64]:
    """Per combination, the bit mask of the measures allowed or granted."""
    if decisions and len(decisions[0]) > 64:
        raise ValueError("more than 64 measures do not fit the decision bit mask")
    return np.array(
        [sum(1 << bit for bit, d in enumerate(row) if d.allowed) for row in decisions], np.uint64
    )
