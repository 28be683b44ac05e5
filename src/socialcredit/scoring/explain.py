"""Why a subject has its score: every record with its points and rule, every record
that does not count and why, the arithmetic, lists, ranks and decisions.

The explanation re-runs the batch engine (:func:`score_view`) on a view of this one
subject, at the snapshot's ledger-as-of time and as-of date: the same code that
scored everyone, so the parts add up to the published score by construction (a
test checks they do).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from socialcredit.ledger import Ledger
from socialcredit.scoring.answers import figures_at
from socialcredit.scoring.engine import STATUS_CODES, STATUS_NAMES, ScoreResult, score_view
from socialcredit.scoring.engine_kernels import CASEWORK_ROW, COUNTED
from socialcredit.scoring.ledger_view import CaseworkInputs, LedgerView, read_view
from socialcredit.scoring.policy_tables import PolicyTables, add_months
from socialcredit.scoring.run import policy_identity
from socialcredit.scoring.snapshots import Snapshot, SnapshotError


class UnknownSubjectError(SnapshotError):
    """The subject is not in the snapshot."""


def explain(
    ledger: Ledger,
    tables: PolicyTables,
    snapshot: Snapshot,
    subject_id: str,
    casework: CaseworkInputs | None = None,
) -> dict[str, Any]:
    meta = snapshot.metadata
    row = int(snapshot.locate([subject_id])[0])
    if row < 0:
        raise UnknownSubjectError(f"no subject {subject_id} in snapshot {snapshot.id}")
    ledger_as_of = dt.datetime.fromisoformat(meta["ledger_as_of"])
    as_of = dt.date.fromisoformat(meta["as_of"])
    view = read_view(ledger, tables, ledger_as_of, [subject_id], casework)
    result = score_view(view, tables, as_of)
    policy = policy_identity(tables)
    published = figures_at(snapshot, subject_id, row)
    score = int(result.score[0]) if len(view.subjects) else published["score"]
    counted, not_counted = _records(view, result, tables)
    carried = np.flatnonzero(result.adjustment)
    adjustments: list[dict[str, Any]] = [
        {
            "record_type": tables.type_keys[int(view.records.type_code[i])],
            "year": int(view.records.occurred[i].astype("datetime64[D]").astype(object).year),
            "adjustment": float(result.adjustment[i]),
            "rule": _group_rule(
                tables, int(view.subjects.variant[0]), int(view.records.type_code[i])
            ),
        }
        for i in carried
    ]
    scale = tables.national.scale
    record_points = float(sum(item["points"] for item in counted))
    unclamped = scale.base + int(result.points_total[0]) if len(view.subjects) else scale.base
    combo = int(snapshot.array("combo")[row])
    return {
        **published,  # subject, kind, region, score, grade, lists, ranks, snapshot, policy
        "ledger_as_of": meta["ledger_as_of"],
        "policy_unchanged": policy["hash"] == meta["policy"]["hash"],
        "listed_by": [
            {"list": name, "record_id": record} for name, record in snapshot.listed_records(row)
        ],
        "arithmetic": {
            "base": scale.base,
            "records": record_points,
            "adjustments": float(sum(a["adjustment"] for a in adjustments)),
            "total": unclamped,
            "floor": scale.floor,
            "ceiling": scale.ceiling,
            "score": score,
        },
        "counted": counted,
        "adjustments": adjustments,
        "not_counted": not_counted,
        "measures": [_measure(snapshot, combo, m) for m in meta["measure_names"]],
    }


def _measure(snapshot: Snapshot, combo: int, measure: str) -> dict[str, Any]:
    decision = snapshot.decision(combo, measure)
    return {
        "measure": measure,
        "allowed": decision.allowed,
        "reasons": list(decision.reasons),
        "detail": decision.detail,
    }


def _group_rule(tables: PolicyTables, variant: int, type_code: int) -> str:
    rule = tables.variants[variant].record_types.get(tables.type_keys[type_code])
    if rule is None:
        return ""
    parts = ["points of the year summed, rounded towards zero"]
    if rule.yearly_cap is not None:
        parts.append(f"capped at {rule.yearly_cap} a year")
    return ", ".join(parts)


def _records(
    view: LedgerView, result: ScoreResult, tables: PolicyTables
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    detail = view.detail
    counted: list[dict[str, Any]] = []
    not_counted: list[dict[str, Any]] = []
    if detail is None or not len(view.subjects):
        return counted, not_counted
    variant = tables.variants[int(view.subjects.variant[0])]
    sources = variant.sources
    rows = detail.to_pylist()
    order = np.lexsort((np.arange(len(rows)), view.records.occurred))
    for i in order:
        row = rows[i]
        rule = variant.record_types.get(str(row["record_type"]))
        status = int(result.status[i])
        entry: dict[str, Any] = {
            "record_id": row["record_id"],
            "record_type": row["record_type"],
            "title": rule.title if rule else None,
            "occurred_on": row["occurred_on"].isoformat(),
            "authority": row["authority"],
            "jurisdiction": row["jurisdiction"],
            "decision_ref": row["decision_ref"],
            "amount": row["amount"],
            "recorded_at": row["recorded_at"].isoformat(),
        }
        if rule is not None:
            entry["legal_basis"] = rule.legal_basis
            entry["policy_file"] = sources.get(f"record_types.{row['record_type']}")
            entry["counts_until"] = add_months(row["occurred_on"], rule.in_force_months).isoformat()
        if status == COUNTED:
            entry["points"] = float(result.points[i])
            entry["rule"] = _points_rule(rule)
            counted.append(entry)
        else:
            entry["status"] = STATUS_CODES[status]
            entry["reason"] = STATUS_NAMES[status]
            if row["revokes"]:  # a casework row is about the record it names
                entry["about" if status == CASEWORK_ROW else "revokes"] = row["revokes"]
            not_counted.append(entry)
    return counted, not_counted


def _points_rule(rule: Any) -> str:
    if rule.points_per_unit is not None:
        return f"{rule.points_per_unit:g} points per {rule.unit or 'unit'} of amount"
    return f"{rule.points:+d} points per record"
