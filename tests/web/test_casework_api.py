"""Objections and credit repair over the API, on SQLite and on PostgreSQL: a small
ledger of its own (court records of 2026-06-01 by 测试机关 in 110101), keys of each
role, and the casework service behind the routes (its refusals as JSON errors)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient

from socialcredit.audit import AuditLog
from socialcredit.casework import EVIDENCE_KINDS, OBJECTION_OUTCOMES, REPAIR_OUTCOMES
from socialcredit.casework.case_store import china_today
from socialcredit.casework.cases import MAX_TEXT
from socialcredit.policy import PolicyCatalog
from socialcredit.settings import load_settings
from socialcredit.web import create_app
from socialcredit.web.app import build_services
from socialcredit.web.case_schemas import CASE_TEXT, EvidenceKind, ObjectionOutcome, RepairOutcome
from socialcredit.web.deps import Services
from tests.scoring.factories import LedgerBook

COURT = "court.judgment_default"
AUTHORITY = "测试机关"  # LedgerBook's
JURISDICTION = "110101"
GROUNDS = "The judgment was performed in full on 2026-05-20; receipt attached."
OBJECTIONS = "/api/v1/objections"
REPAIRS = "/api/v1/repairs"


@dataclass
class World:
    client: TestClient
    services: Services
    debtor: str
    #: the debtor's court records, each for one test's story
    records: list[str]
    other: str
    other_record: str

    def key(self, role: str, *scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.services.keys.create(role, scope)[1]}"}

    def subject(self, subject_id: str | None = None) -> dict[str, str]:
        return self.key("subject", subject_id or self.debtor)

    def agency(self, authority: str = AUTHORITY) -> dict[str, str]:
        return self.key("agency", f"authority:{authority}", f"region:{JURISDICTION}")

    def object_to(self, record: str, headers: dict[str, str]) -> dict[str, Any]:
        answer = self.client.post(
            OBJECTIONS, json={"record_id": record, "grounds": GROUNDS}, headers=headers
        )
        assert answer.status_code == 201, answer.text
        case: dict[str, Any] = answer.json()
        return case


@pytest.fixture
def world(store_url: str, tmp_path: Path, shipped_catalog: PolicyCatalog) -> Iterator[World]:
    book = LedgerBook(tmp_path / "data", shipped_catalog)
    debtor, other = book.person(), book.person()
    records = [book.record(debtor, COURT, "2026-06-01") for _ in range(3)]
    other_record = book.record(other, COURT, "2026-06-01")
    book.commit()
    book.score(dt.date(2026, 11, 27))
    settings = load_settings(
        data=tmp_path / "data",
        database_url=store_url,
        snapshot_poll_seconds=0.05,
        rate_limit=1_000_000,
    )
    services = build_services(settings)
    with TestClient(create_app(settings, services)) as client:
        yield World(client, services, debtor, records, other, other_record)
    services.database.dispose()


def _error(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    return error


def _decision(outcome: str, version: int | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "decision_ref": "(2026)京0101执异7号",
        "reasons": "The judgment was performed before the listing.",
        "version": version,
        **extra,
    }


def test_a_subject_objects_and_the_issuing_authority_revokes(world: World) -> None:
    record = world.records[0]
    subject = world.subject()
    before = china_today()
    case = world.object_to(record, subject)
    after = china_today()
    assert case["kind"] == "objection"
    assert case["status"] == "open"
    assert case["level"] == 1
    assert case["record_id"] == record
    assert case["authority"] == AUTHORITY
    # a court list record: 15 calendar days
    allowed = {(day + dt.timedelta(days=15)).isoformat() for day in (before, after)}
    assert case["deadline"] in allowed

    # the service audited the step (and the route added none of its own)
    entries = AuditLog(world.services.database).for_subject(world.debtor)
    opened = [e for e in entries if e["action"] == f"objection:{case['case_id']}"]
    assert [e["outcome"] for e in opened] == ["opened"]
    assert opened[0]["role"] == "subject"

    # the subject sees it with its status and deadline
    shown = world.client.get(f"{OBJECTIONS}/{case['case_id']}", headers=subject)
    assert shown.status_code == 200, shown.text
    assert shown.json()["status"] == "open"
    assert shown.json()["deadline"] == case["deadline"]
    listed = world.client.get(OBJECTIONS, headers=subject, params={"status": "open"})
    assert [c["case_id"] for c in listed.json()["cases"]] == [case["case_id"]]
    assert world.client.get(REPAIRS, headers=subject).json() == {"cases": []}

    # the issuing authority decides; a second decision is refused
    agency = world.agency()
    decided = world.client.post(
        f"{OBJECTIONS}/{case['case_id']}/decision",
        json=_decision("revoked", case["version"]),
        headers=agency,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["outcome"] == "revoked"
    assert decided.json()["status"] == "decided"
    assert decided.json()["decision_ref"] == "(2026)京0101执异7号"
    assert decided.json()["ledger_written"] is True
    assert decided.json()["ledger_records"]
    again = world.client.post(
        f"{OBJECTIONS}/{case['case_id']}/decision", json=_decision("upheld"), headers=agency
    )
    assert _error(again, 409)["code"] == "conflict"


def test_the_objected_record_is_marked_at_once(world: World) -> None:
    record = world.records[0]
    subject = world.subject()
    world.object_to(record, subject)
    answer = world.client.get(f"/api/v1/subjects/{world.debtor}/records", headers=subject)
    assert answer.status_code == 200, answer.text
    document = answer.json()
    shown = {r["record_id"]: r for r in (*document["counted"], *document["not_counted"])}
    assert shown[record]["under_objection"] is True
    assert shown[world.records[1]]["under_objection"] is False


def test_who_may_object(world: World) -> None:
    record = world.records[0]
    # someone else's record: as if there were none
    stranger = world.subject(world.other)
    body = {"record_id": record, "grounds": GROUNDS}
    refused = world.client.post(OBJECTIONS, json=body, headers=stranger)
    assert _error(refused, 404)["code"] == "not_found"
    missing = {"record_id": "no-such-record", "grounds": GROUNDS}
    assert world.client.post(OBJECTIONS, json=missing, headers=stranger).status_code == 404
    # a relying party never
    airline = world.key("relying_party", "transport.flight")
    assert _error(world.client.post(OBJECTIONS, json=body, headers=airline), 403)["code"] == (
        "forbidden"
    )
    assert world.client.get(OBJECTIONS, headers=airline).status_code == 403
    # no key
    assert world.client.post(OBJECTIONS, json=body).status_code == 401
    # a malformed body
    extra = {**body, "urgent": True}
    assert world.client.post(OBJECTIONS, json=extra, headers=stranger).status_code == 422
    long = {"record_id": record, "grounds": "x" * (CASE_TEXT + 1)}
    assert world.client.post(OBJECTIONS, json=long, headers=stranger).status_code == 422
    # a second objection while one is open
    subject = world.subject()
    case = world.object_to(record, subject)
    twice = _error(world.client.post(OBJECTIONS, json=body, headers=subject), 409)
    assert twice["detail"] == {"case_id": case["case_id"]}


def test_cases_are_seen_only_by_those_who_may(world: World) -> None:
    case = world.object_to(world.records[0], world.subject())
    path = f"{OBJECTIONS}/{case['case_id']}"
    assert world.client.get(path, headers=world.subject(world.other)).status_code == 404
    assert world.client.get(path, headers=world.agency("另一机关")).status_code == 404
    assert world.client.get(path, headers=world.agency()).status_code == 200
    assert world.client.get(path, headers=world.key("auditor")).status_code == 200
    assert world.client.get(f"{OBJECTIONS}/999999", headers=world.key("admin")).status_code == 404
    # another subject's list is empty, another authority's too
    other = world.client.get(OBJECTIONS, headers=world.subject(world.other))
    assert other.json() == {"cases": []}
    assert world.client.get(OBJECTIONS, headers=world.agency("另一机关")).json() == {"cases": []}
    by_subject = world.client.get(
        OBJECTIONS, headers=world.key("reviewer"), params={"subject_id": world.debtor.lower()}
    )
    assert [c["case_id"] for c in by_subject.json()["cases"]] == [case["case_id"]]
    bad = world.client.get(OBJECTIONS, headers=world.key("reviewer"), params={"subject_id": "1"})
    assert _error(bad, 422)["message"].startswith("subject_id:")
    # nothing escalated nor appealed yet: the reviewers' queue is empty
    queue = world.client.get(OBJECTIONS, headers=world.key("reviewer"), params={"queue": True})
    assert queue.json() == {"cases": []}


def test_a_reviewer_decides_appeals_not_first_decisions(world: World) -> None:
    record = world.records[1]
    subject = world.subject()
    case = world.object_to(record, subject)
    reviewer = world.key("reviewer")
    decision = f"{OBJECTIONS}/{case['case_id']}/decision"
    early = world.client.post(decision, json=_decision("revoked"), headers=reviewer)
    assert _error(early, 403)["code"] == "forbidden"
    # another authority's agency is not told the case exists; the subject may not decide
    other = world.client.post(decision, json=_decision("revoked"), headers=world.agency("另一机关"))
    assert other.status_code == 404
    assert world.client.post(decision, json=_decision("revoked"), headers=subject).status_code == (
        403
    )
    # a stale version is refused
    stale = world.client.post(decision, json=_decision("upheld", 7), headers=world.agency())
    assert _error(stale, 409)["code"] == "conflict"
    upheld = world.client.post(decision, json=_decision("upheld", 1), headers=world.agency())
    assert upheld.status_code == 200, upheld.text
    assert upheld.json()["outcome"] == "upheld"

    appealed = world.client.post(
        f"{OBJECTIONS}/{case['case_id']}/appeal",
        json={"grounds": "The receipt of 2026-05-20 was not considered."},
        headers=subject,
    )
    assert appealed.status_code == 201, appealed.text
    appeal = appealed.json()
    assert appeal["level"] == 2
    assert appeal["appeal_of"] == case["case_id"]
    assert appeal["status"] == "open"
    queue = world.client.get(OBJECTIONS, headers=reviewer, params={"queue": True}).json()
    assert [c["case_id"] for c in queue["cases"]] == [appeal["case_id"]]
    # one appeal only
    twice = world.client.post(
        f"{OBJECTIONS}/{case['case_id']}/appeal", json={"grounds": "Again."}, headers=subject
    )
    assert twice.status_code == 409
    # the appeal is the reviewer's, not the issuing authority's
    on_appeal = f"{OBJECTIONS}/{appeal['case_id']}/decision"
    agency = world.client.post(on_appeal, json=_decision("upheld"), headers=world.agency())
    assert agency.status_code == 403
    decided = world.client.post(on_appeal, json=_decision("revoked", 1), headers=reviewer)
    assert decided.status_code == 200, decided.text
    assert decided.json()["outcome"] == "revoked"


def test_a_correction_goes_with_a_corrected_decision_only(world: World) -> None:
    case = world.object_to(world.records[2], world.subject())
    decision = f"{OBJECTIONS}/{case['case_id']}/decision"
    agency = world.agency()
    mixed = _decision("upheld", correction={"occurred_on": "2026-05-01"})
    assert _error(world.client.post(decision, json=mixed, headers=agency), 422)["message"] == (
        "correction: given only with the outcome corrected"
    )
    unknown = _decision("corrected", correction={"subject_id": world.other})
    assert world.client.post(decision, json=unknown, headers=agency).status_code == 422
    corrected = world.client.post(
        decision, json=_decision("corrected", correction={"occurred_on": "2026-05-01"}),
        headers=agency,
    )  # fmt: skip
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["outcome"] == "corrected"
    assert len(corrected.json()["ledger_records"]) == 2  # the revocation and the replacement


def test_a_repair_before_the_minimum_period_says_when(world: World) -> None:
    subject = world.subject()
    body = {
        "record_id": world.records[0],
        "evidence_kind": "obligation_performed",
        "evidence": "Paid in full: the court's receipt.",
    }
    early = _error(world.client.post(REPAIRS, json=body, headers=subject), 422)
    assert early["code"] == "repair_too_early"
    # occurred 2026-06-01; a court record may be repaired after 12 months
    assert early["detail"] == {"possible_from": "2027-06-01"}
    # the refusal is audited by the service
    entries = AuditLog(world.services.database).for_subject(world.debtor)
    assert any(e["outcome"] == "refused: repair_too_early" for e in entries)
    wrong_kind = {**body, "evidence_kind": "apology"}
    assert world.client.post(REPAIRS, json=wrong_kind, headers=subject).status_code == 422
    stranger = world.client.post(REPAIRS, json=body, headers=world.subject(world.other))
    assert stranger.status_code == 404


def test_an_objection_is_no_repair_and_a_repair_decision_no_objection(world: World) -> None:
    case = world.object_to(world.records[0], world.subject())
    admin = world.key("admin")
    number = case["case_id"]
    assert world.client.get(f"{OBJECTIONS}/{number}", headers=admin).status_code == 200
    missing = _error(world.client.get(f"{REPAIRS}/{number}", headers=admin), 404)
    assert missing["message"] == f"case {number} is an objection"  # (the admin may know)
    stranger = world.client.get(f"{REPAIRS}/{number}", headers=world.subject(world.other))
    assert _error(stranger, 404)["message"] == f"no case {number}"  # (a stranger may not)
    granted = world.client.post(
        f"{REPAIRS}/{number}/decision", json=_decision("granted"), headers=admin
    )
    assert granted.status_code == 404
    listed = world.client.get(REPAIRS, headers=admin)
    assert listed.json() == {"cases": []}
    # the objection is still open, untouched
    assert world.client.get(f"{OBJECTIONS}/{number}", headers=admin).json()["status"] == "open"


def test_the_api_offers_what_the_service_takes() -> None:
    assert get_args(ObjectionOutcome) == OBJECTION_OUTCOMES
    assert get_args(RepairOutcome) == REPAIR_OUTCOMES
    assert get_args(EvidenceKind) == EVIDENCE_KINDS
    assert CASE_TEXT == MAX_TEXT
