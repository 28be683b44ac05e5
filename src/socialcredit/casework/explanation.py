"""An explanation with its casework: the records as the snapshot's scoring saw them
(objections and repairs as of its ledger-as-of time), the subject's open cases with
their deadlines, and each record under an open objection marked as such at once (its
effect is frozen from the next scoring on)."""

from __future__ import annotations

from typing import Any

from socialcredit.casework.case_store import CaseStore
from socialcredit.ledger import Ledger
from socialcredit.scoring.explain import explain
from socialcredit.scoring.policy_tables import PolicyTables
from socialcredit.scoring.snapshots import Snapshot


def explain_with_cases(
    ledger: Ledger,
    tables: PolicyTables,
    snapshot: Snapshot,
    subject_id: str,
    store: CaseStore | None,
) -> dict[str, Any]:
    """:func:`~socialcredit.scoring.explain.explain`, plus ``cases`` (open) and, on
    each record objected to, ``under_objection`` and its ``case``."""
    document = explain(ledger, tables, snapshot, subject_id, store)
    cases = store.open_cases_of(subject_id) if store is not None else []
    document["cases"] = [case.as_dict() for case in cases]
    objected = {case.record_id: case for case in cases if case.kind == "objection"}
    for record in (*document["counted"], *document["not_counted"]):
        case = objected.get(record["record_id"])
        record["under_objection"] = case is not None or record.get("status") == "under_objection"
        if case is not None:
            record["case"] = {
                "case_id": case.case_id,
                "deadline": case.deadline.isoformat(),
                "level": case.level,
            }
    return document
