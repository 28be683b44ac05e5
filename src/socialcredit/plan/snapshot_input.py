"""A plan run published as a snapshot, in the same format and the same atomic way as
the embedded engine's (``socialcredit.scoring.run``): the plan's per-subject figures
are placed in the registry's dense rows, and the records the snapshot names (those
behind a list, and organisations' published records) become the view's records; the
metadata's record counts are the plan's own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from socialcredit.ledger import Ledger
from socialcredit.plan.results import PlanOutput
from socialcredit.scoring.decode import take_strings
from socialcredit.scoring.engine import STATUS_CODES, ScoreResult, decisions_of
from socialcredit.scoring.engine_kernels import COUNTED, UNDER_OBJECTION
from socialcredit.scoring.ledger_view import (
    CaseworkInputs,
    LedgerView,
    RecordIds,
    Records,
    Stages,
    Subjects,
    registered_subjects,
)
from socialcredit.scoring.policy_tables import EPOCH, PolicyTables
from socialcredit.scoring.run import Scored, Scorer, ScoreRequest

T = TypeVar("T", bound=np.generic)
#: ``run(ledger, tables, as_of, ledger_as_of, casework)``: a plan engine
PlanRun = Callable[[Ledger, PolicyTables, dt.date, dt.datetime, CaseworkInputs | None], PlanOutput]


class PlanMismatchError(RuntimeError):
    """The plan's subjects are not the registry's (the run is not published)."""


def plan_scorer(run: PlanRun, name: str) -> Scorer:
    """A scorer for :func:`~socialcredit.scoring.run.run_scoring` that runs the plan."""

    def scorer(
        ledger: Ledger,
        tables: PolicyTables,
        request: ScoreRequest,
        casework: CaseworkInputs | None,
        stage: Stages,
    ) -> Scored:
        stage(f"scoring on {name} (the compiled plan)", None)(0)
        output = run(ledger, tables, request.as_of, request.ledger_as_of, casework)
        stage("placing the results", None)(0)
        subjects, _ = registered_subjects(ledger, tables, request.ledger_as_of)
        return scored_from_plan(output, subjects, tables, request, engine=name.lower())

    return scorer


def scored_from_plan(
    output: PlanOutput,
    subjects: Subjects,
    tables: PolicyTables,
    request: ScoreRequest,
    engine: str,
) -> Scored:
    scores = output.scores
    n = len(subjects)
    rows = subjects.index.locate(scores.column("subject_id")).astype(np.int64)
    repeated = n > 0 and int(np.bincount(rows, minlength=n).max()) > 1
    if scores.num_rows != n or (rows < 0).any() or repeated:
        raise PlanMismatchError(
            f"the plan scored {scores.num_rows:,} subjects, the registry holds {n:,}"
        )

    def placed(column: str, dtype: type[T]) -> npt.NDArray[T]:
        out: npt.NDArray[T] = np.zeros(n, dtype)
        out[rows] = scores.column(column).to_numpy()
        return out

    grade_code = {name: code for code, name in enumerate(tables.grade_names)}
    grade = np.zeros(n, np.uint8)
    grade[rows] = [grade_code[g] for g in scores.column("grade").to_pylist()]
    lists = placed("lists", np.uint8)
    records, status, behind = _named_records(output, subjects, tables)
    view = LedgerView(
        output.records_version, output.subjects_version, request.ledger_as_of, subjects, records
    )
    combo, decisions = decisions_of(subjects, tables, grade, lists)
    result = ScoreResult(
        tables=tables,
        as_of=request.as_of,
        status=status,
        points=np.zeros(len(status)),
        adjustment=np.zeros(len(status)),
        behind=behind,
        points_total=placed("points", np.int64),
        score=placed("score", np.int16),
        grade=grade,
        lists=lists,
        counted=placed("records_counted", np.int32),
        combo=combo,
        decisions=decisions,
    )
    return Scored(view, result, _record_counts(output.statuses), engine)


def _named_records(
    output: PlanOutput, subjects: Subjects, tables: PolicyTables
) -> tuple[Records, npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """The records behind lists and the published ones, one position each (ordered by
    subject row, then record ID), with their status and list bits."""
    listed, published = output.listed_records, output.published
    columns = ["subject_id", "record_id", "record_type", "occurred_on"]
    both = pa.concat_tables([listed.select(columns), published.select(columns)])
    first: dict[str, int] = {}  # a record both listed and published: once
    for k, record_id in enumerate(both.column("record_id").to_pylist()):
        first.setdefault(record_id, k)
    keep = np.array(sorted(first.values()), np.int64)
    table = both.take(pa.array(keep))
    subject = subjects.index.locate(table.column("subject_id")).astype(np.int32)
    order = np.lexsort((np.array(table.column("record_id").to_pylist(), object), subject))
    table, subject = table.take(pa.array(order)), subject[order]
    record_ids = table.column("record_id")
    position = {record_id: p for p, record_id in enumerate(record_ids.to_pylist())}
    status = np.full(table.num_rows, COUNTED, np.uint8)
    objected = published.filter(published.column("under_objection"))
    for record_id in objected.column("record_id").to_pylist():
        status[position[record_id]] = UNDER_OBJECTION
    behind = np.zeros(table.num_rows, np.uint8)
    for record_id, bit in zip(
        listed.column("record_id").to_pylist(), listed.column("bit").to_pylist(), strict=True
    ):
        behind[position[record_id]] |= np.uint8(bit)
    type_index = {key: code for code, key in enumerate(tables.type_keys)}
    occurred = np.array(
        [(day - EPOCH).days for day in table.column("occurred_on").to_pylist()], np.int32
    )
    records = Records(
        subject=subject,
        type_code=np.array(
            [type_index.get(t, -1) for t in table.column("record_type").to_pylist()], np.int16
        ),
        occurred=occurred,
        amount=np.full(table.num_rows, np.nan),
        flags=np.zeros(table.num_rows, np.uint8),
        ids=RecordIds([(0, lambda positions: take_strings(record_ids, positions))]),
    )
    return records, status, behind


def _record_counts(statuses: pa.Table) -> dict[str, object]:
    found = {row["status"]: row for row in statuses.to_pylist()}
    by_status = {name: int(found[name]["n"]) if name in found else 0 for name in STATUS_CODES}
    return {
        "seen": sum(by_status.values()),
        "counted": by_status["counted"],
        "by_status": by_status,
        "skipped": {
            "records_of_unregistered_subjects": sum(int(r["unregistered"]) for r in found.values()),
            "records_of_unknown_types": sum(int(r["unknown_type"]) for r in found.values()),
        },
    }
