"""Objections: the record's effect frozen from the next scoring on and marked at once,
decided within the deadline by the issuing authority (upheld, corrected, revoked),
each decision a ledger row with its reference; escalation, one appeal, repeats
refused. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from socialcredit.audit import AuditLog
from socialcredit.casework import ObjectionRefusedError
from socialcredit.casework.deadlines import working_days_after
from socialcredit.errors import ConflictError, ForbiddenError, NotFoundError
from tests.casework.conftest import (
    AGENCY,
    NAMESAKE,
    OTHER_AGENCY,
    RELYING_PARTY,
    REVIEWER,
    World,
    subject,
)

COURT = "court.judgment_default"
GROUNDS = "The judgment was performed in full on 2026-05-20; receipt attached."


def _debtor(world: World) -> tuple[str, str]:
    person = world.book.person()
    record = world.book.record(person, COURT, "2026-06-01")
    world.book.commit()
    return person, record


def test_the_full_objection_flow_changes_the_next_snapshot(world: World) -> None:
    person, record = _debtor(world)
    before = world.score()
    assert world.explain(before, person)["score"] == 900
    assert "discredited" in world.explain(before, person)["lists"]

    case = world.casework.open_objection(record, GROUNDS, subject(person))
    assert case.deadline == world.clock.day + dt.timedelta(days=15)  # court list: 15 days
    # marked at once, still counting in the snapshot made before
    shown = world.explain(before, person)
    marked = next(r for r in shown["counted"] if r["record_id"] == record)
    assert marked["under_objection"]
    assert marked["case"]["case_id"] == case.case_id
    assert shown["cases"][0]["deadline"] == case.deadline.isoformat()

    frozen = world.score()  # the next scoring: frozen, off the list
    assert world.status(frozen, person, record) == "under_objection"
    assert world.explain(frozen, person)["score"] == 1000
    assert "discredited" not in world.explain(frozen, person)["lists"]

    decided = world.casework.decide(case.case_id, "revoked", "(2026)京0101执异7号", "paid", AGENCY)
    assert decided.outcome == "revoked"
    assert decided.ledger_written_at is not None
    after = world.score()
    assert world.status(after, person, record) == "revoked"
    rows = world.explain(after, person)["not_counted"]
    revocation = next(r for r in rows if r.get("revokes") == record)
    assert revocation["decision_ref"] == "(2026)京0101执异7号"
    assert world.explain(after, person)["score"] == 1000
    actions = [e["action"] for e in AuditLog(world.database).for_subject(person)]
    assert f"objection:{case.case_id}" in actions


def test_upheld_counts_again_and_its_row_carries_the_reference(world: World) -> None:
    person, record = _debtor(world)
    case = world.casework.open_objection(record, GROUNDS, subject(person))
    assert world.status(world.score(), person, record) == "under_objection"
    world.casework.decide(case.case_id, "upheld", "REF-UPHELD-1", "not performed", AGENCY)
    after = world.score()
    assert world.status(after, person, record) == "counted"
    assert world.explain(after, person)["score"] == 900
    note = next(r for r in world.explain(after, person)["not_counted"] if r.get("about") == record)
    assert note["status"] == "casework"
    assert note["decision_ref"] == "REF-UPHELD-1"
    assert after.metadata.get("skipped", {}).get("records_of_unknown_types", 0) == 0


def test_corrected_replaces_the_record(world: World) -> None:
    person = world.book.person()
    record = world.book.record(person, "finance.loan_default", "2026-03-01")
    world.book.commit()
    case = world.casework.open_objection(record, "wrong date", subject(person))
    assert case.deadline == working_days_after(world.clock.day, 10)
    decided = world.casework.decide(
        case.case_id, "corrected", "REF-C", "the default began later", AGENCY,
        correction={"occurred_on": "2026-04-15"},
    )  # fmt: skip
    after = world.score()
    assert world.status(after, person, record) == "revoked"
    replacement = f"casework-{decided.uid}-corrected"
    counted = {r["record_id"]: r for r in world.explain(after, person)["counted"]}
    assert counted[replacement]["occurred_on"] == "2026-04-15"
    assert counted[replacement]["decision_ref"] == "REF-C"


def test_ten_working_days_skip_weekends() -> None:
    friday = dt.date(2026, 11, 27)
    assert working_days_after(friday, 1) == dt.date(2026, 11, 30)
    assert working_days_after(friday, 10) == dt.date(2026, 12, 11)


def test_a_missed_deadline_escalates_to_the_reviewers_queue(world: World) -> None:
    person, record = _debtor(world)
    case = world.casework.open_objection(record, GROUNDS, subject(person))
    with pytest.raises(ForbiddenError, match="issuing authority"):
        world.casework.decide(case.case_id, "revoked", "R", "early", REVIEWER)
    assert world.casework.cases(REVIEWER, queue=True) == []
    world.clock.day = case.deadline  # the last day: still in time
    assert world.casework.escalate_overdue() == []
    world.clock.day = case.deadline + dt.timedelta(days=1)
    queue = world.casework.cases(REVIEWER, queue=True)
    assert [c.case_id for c in queue] == [case.case_id]
    assert queue[0].as_dict()["status"] == "escalated"
    assert world.casework.escalate_overdue() == []  # once
    decided = world.casework.decide(case.case_id, "revoked", "REV-1", "late", REVIEWER)
    assert decided.decided_by == REVIEWER.actor
    entries = AuditLog(world.database).for_subject(person)
    assert any(e["outcome"] == "escalated" for e in entries)


def test_one_appeal_to_the_next_level(world: World) -> None:
    person, record = _debtor(world)
    me = subject(person)
    first = world.casework.open_objection(record, GROUNDS, me)
    world.casework.decide(first.case_id, "upheld", "REF-1", "not performed", AGENCY)
    appeal = world.casework.appeal(first.case_id, "the court misread the receipt", me)
    assert appeal.level == 2
    assert appeal.appeal_of == first.case_id
    assert [c.case_id for c in world.casework.cases(REVIEWER, queue=True)] == [appeal.case_id]
    assert world.status(world.score(), person, record) == "under_objection"  # frozen again
    with pytest.raises(ConflictError, match="one appeal"):
        world.casework.appeal(first.case_id, "again", me)
    with pytest.raises(ConflictError, match="one appeal"):
        world.casework.appeal(appeal.case_id, "and again", me)
    with pytest.raises(ForbiddenError):  # the next level decides, not the authority
        world.casework.decide(appeal.case_id, "revoked", "R", "r", AGENCY)
    world.casework.decide(appeal.case_id, "revoked", "APPEAL-1", "receipt is genuine", REVIEWER)
    assert world.status(world.score(), person, record) == "revoked"


def test_repeated_objections_without_new_grounds_are_refused(world: World) -> None:
    person, record = _debtor(world)
    me = subject(person)
    world.casework.open_objection(record, GROUNDS, me)
    with pytest.raises(ConflictError, match="is open"):
        world.casework.open_objection(record, "other grounds", me)
    case = world.casework.cases(me)[0]
    world.casework.decide(case.case_id, "upheld", "REF-1", "not performed", AGENCY)
    with pytest.raises(ObjectionRefusedError, match="new grounds"):
        world.casework.open_objection(f" {record} ", "  " + GROUNDS.upper() + " ", me)
    with pytest.raises(ObjectionRefusedError):
        world.casework.open_objection(record, GROUNDS.replace("attached", "attachd"), me)
    fresh = world.casework.open_objection(record, "The debtor died on 2026-07-01.", me)
    assert fresh.is_open
    outcomes = [e["outcome"] for e in AuditLog(world.database).for_subject(person)]
    assert outcomes.count("refused: objection_refused") == 2


def test_who_may_object_and_decide(world: World) -> None:
    person, record = _debtor(world)
    stranger = world.book.person()
    world.book.commit()
    with pytest.raises(NotFoundError):  # someone else's record looks like none
        world.casework.open_objection(record, GROUNDS, subject(stranger))
    with pytest.raises(ForbiddenError):
        world.casework.open_objection(record, GROUNDS, RELYING_PARTY)
    case = world.casework.open_objection(record, GROUNDS, subject(person))
    with pytest.raises(NotFoundError):
        world.casework.decide(case.case_id, "revoked", "R", "r", OTHER_AGENCY)
    with pytest.raises(NotFoundError):  # the same name, another province's authority
        world.casework.decide(case.case_id, "revoked", "R", "r", NAMESAKE)
    assert world.casework.cases(NAMESAKE) == []
    with pytest.raises(NotFoundError):
        world.casework.get(case.case_id, subject(stranger))
    with pytest.raises(ForbiddenError, match="reviewer"):
        world.casework.decide(case.case_id, "hardship", "R", "r", AGENCY)
    assert world.casework.get(case.case_id, AGENCY).case_id == case.case_id


def test_an_organisations_representative_objects_for_it(world: World) -> None:
    company = world.book.organisation()
    record = world.book.record(company, "market.false_advertising", "2026-05-01")
    world.book.commit()
    case = world.casework.open_objection(record, "the advert was not ours", subject(company))
    published = world.score()
    row = int(published.locate([company])[0])
    assert published.published_records(row) == [(record, True)]  # published, marked
    world.casework.decide(case.case_id, "revoked", "REF-O", "another company's advert", AGENCY)
    after = world.score()
    assert after.published_records(int(after.locate([company])[0])) == []


def test_the_credit_report_marks_a_record_under_objection(world: World) -> None:
    from socialcredit.reports import issue_report
    from socialcredit.scoring.policy_tables import compile_policy

    person, record = _debtor(world)
    snapshot = world.score()
    case = world.casework.open_objection(record, GROUNDS, subject(person))
    _, html = issue_report(
        world.database, world.book.ledger, world.catalog, compile_policy(world.catalog),
        snapshot, person, actor="test", role="admin", purpose="test", format="html",
    )  # fmt: skip
    text = html.decode("utf-8")
    assert f"under objection (case {case.case_id}, decision due by {case.deadline})" in text
