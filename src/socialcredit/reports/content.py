"""What a personal credit report says: the snapshot's figures and the subject's
explanation (every record, with its authority, decision reference, points and the date
it stops counting), ranks and lists, the measures that apply, and the issue (number,
free or paid). Pure data: :mod:`.render` lays it out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.casework.case_store import CaseStore
from socialcredit.casework.explanation import explain_with_cases
from socialcredit.ledger import Ledger
from socialcredit.policy import PolicyCatalog
from socialcredit.reports.quota import FREE_PER_YEAR, FREE_REPORTS_MEASURE, Issue
from socialcredit.scoring.disclosure import mask_id, mask_name, subject_names
from socialcredit.scoring.policy_tables import PolicyTables
from socialcredit.scoring.snapshots import Snapshot

#: the levels a report shows ranks for, in order, with their labels
RANK_LEVELS = (("national", "全国 national"), ("province", "省 province"), ("city", "市 city"))


def explanation_of(
    ledger: Ledger,
    tables: PolicyTables,
    snapshot: Snapshot,
    subject_id: str,
    store: CaseStore | None = None,
) -> dict[str, Any]:
    """The subject's explanation (``socialcredit show``), with its open cases;
    UnknownSubjectError if the snapshot has no such subject."""
    return explain_with_cases(ledger, tables, snapshot, subject_id, store)


def free_reports_per_year(catalog: PolicyCatalog, explanation: dict[str, Any]) -> int:
    """The subject's yearly free reports: the policy's ``per_year`` where it grants
    the free-report measure to this subject, else the rule's 2."""
    granted = any(
        m["measure"] == FREE_REPORTS_MEASURE and m["allowed"] for m in explanation["measures"]
    )
    rule = catalog.effective(explanation["region"]).measures.get(FREE_REPORTS_MEASURE)
    if granted and rule is not None and rule.per_year:
        return max(rule.per_year, FREE_PER_YEAR)
    return FREE_PER_YEAR


def report_content(
    ledger: Ledger,
    catalog: PolicyCatalog,
    explanation: dict[str, Any],
    issue: Issue,
    shared: bool = False,
) -> dict[str, Any]:
    """The report's content. ``shared``: for someone other than the subject (a
    landlord, an employer): the ID and name masked as on public lists, and only the
    records that count (not those expired, repaired or revoked)."""
    subject_id = explanation["subject_id"]
    moment = dt.datetime.fromisoformat(explanation["ledger_as_of"])
    name = subject_names(ledger, moment, [subject_id]).get(subject_id)
    person = explanation["kind"] == "person"
    records = [_record(r, counted=True) for r in explanation["counted"]]
    if not shared:  # what no longer counts (expired, repaired, revoked) is the subject's
        records += [_record(r, counted=False) for r in explanation["not_counted"]]
    records.sort(key=lambda r: (r["occurred_on"], r["record_id"]))
    measures = applying_measures(catalog, explanation)
    return {
        "number": issue.number,
        "issued_at": issue.issued_at.isoformat(timespec="seconds"),
        "paid": issue.paid,
        "free_per_year": issue.free_per_year,
        "free_left": issue.free_left,
        "shared": shared,
        "snapshot": explanation["snapshot"],
        "as_of": explanation["as_of"],
        "ledger_as_of": explanation["ledger_as_of"],
        "policy": {"version": explanation["policy"]},
        "subject": {
            "id": mask_id(subject_id) if shared and person else subject_id,
            "name": mask_name(name) if shared and person else name,
            "kind": explanation["kind"],
            "region": explanation["region"],
        },
        "score": explanation["score"],
        "grade": explanation["grade"],
        "lists": explanation["lists"],
        "ranks": [
            {"level": level, "label": label, **explanation["ranks"][level]}
            for level, label in RANK_LEVELS
            if level in explanation["ranks"]
        ],
        "records": records,
        "measures": measures,
    }


def applying_measures(catalog: PolicyCatalog, explanation: dict[str, Any]) -> list[dict[str, Any]]:
    """The restrictions that bind the subject and the incentives it is granted, each
    with its title, what it means, why and its legal basis."""
    policy = catalog.effective(explanation["region"])
    out = []
    for decision in explanation["measures"]:
        rule = policy.measures.get(decision["measure"])
        if rule is None:
            continue
        if (rule.kind == "incentive") == bool(decision["allowed"]):
            out.append(
                {
                    "measure": decision["measure"],
                    "title": rule.title,
                    "description": rule.description,
                    "kind": rule.kind,
                    "detail": decision["detail"],
                    "legal_basis": rule.legal_basis,
                }
            )
    return out


def _record(entry: dict[str, Any], counted: bool) -> dict[str, Any]:
    return {
        "record_id": entry["record_id"],
        "record_type": entry["record_type"],
        "title": entry.get("title") or entry["record_type"],
        "occurred_on": entry["occurred_on"],
        "authority": entry["authority"],
        "decision_ref": entry["decision_ref"],
        "legal_basis": entry.get("legal_basis"),
        "points": entry.get("points") if counted else None,
        "counts_until": entry.get("counts_until"),
        "status": "counted" if counted else entry["status"],
        "reason": None if counted else entry["reason"],
        # an open objection: frozen from the next scoring on (the case and its deadline)
        "under_objection": bool(entry.get("under_objection")),
        "case": entry.get("case"),
    }
