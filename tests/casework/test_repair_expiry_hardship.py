"""Credit repair (refused before the minimum publication period with the date it
becomes possible, granted after it: effect and publication end), expiry at the exact
boundary with no one acting, and the hardship conversion. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from socialcredit.casework import RepairTooEarlyError
from socialcredit.errors import ConflictError, UnprocessableError
from tests.casework.conftest import AGENCY, REVIEWER, World, subject


def test_repair_is_refused_before_the_minimum_period_then_granted(world: World) -> None:
    company = world.book.organisation()
    record = world.book.record(company, "court.judgment_default", "2026-01-10")
    world.book.commit()
    me = subject(company)
    with pytest.raises(RepairTooEarlyError, match="2027-01-10") as refused:
        world.casework.apply_repair(record, "obligation_performed", "paid in full", me)
    assert refused.value.detail["possible_from"] == "2027-01-10"
    assert refused.value.status == 422

    world.clock.day = dt.date(2027, 1, 10)  # the minimum period (12 months) has passed
    before = world.score()
    row = int(before.locate([company])[0])
    assert before.published_records(row) == [(record, False)]
    assert "discredited" in world.explain(before, company)["lists"]
    case = world.casework.apply_repair(record, "obligation_performed", "paid in full", me)
    with pytest.raises(ConflictError, match="open"):
        world.casework.apply_repair(record, "credit_pledge", "I pledge", me)
    granted = world.casework.decide(case.case_id, "granted", "修复〔2027〕1号", "performed", AGENCY)
    assert granted.outcome == "granted"
    assert granted.ledger_written_at is not None

    after = world.score()
    assert world.status(after, company, record) == "repaired"
    assert world.explain(after, company)["score"] == 1000
    assert "discredited" not in world.explain(after, company)["lists"]
    assert after.published_records(int(after.locate([company])[0])) == []  # publication ends
    with pytest.raises(ConflictError, match="repaired already"):
        world.casework.apply_repair(record, "credit_pledge", "again", me)


def test_a_refused_repair_changes_nothing_and_may_be_applied_for_again(world: World) -> None:
    person = world.book.person()
    record = world.book.record(person, "finance.loan_default", "2025-06-01")
    world.book.commit()
    me = subject(person)
    case = world.casework.apply_repair(record, "penalty_paid", "receipt", me)
    refused = world.casework.decide(case.case_id, "refused", "REF-R", "unpaid still", AGENCY)
    assert refused.ledger_rows is None
    assert world.status(world.score(), person, record) == "counted"
    again = world.casework.apply_repair(record, "penalty_paid", "the new receipt", me)
    assert again.is_open


def test_minor_records_are_never_published_and_need_no_repair(world: World) -> None:
    person = world.book.person()
    record = world.book.record(person, "traffic.violation", "2026-06-01")
    positive = world.book.record(person, "civic.blood_donation", "2026-06-01")
    world.book.commit()
    with pytest.raises(UnprocessableError, match="2027-06-01"):
        world.casework.apply_repair(record, "penalty_paid", "paid", subject(person))
    with pytest.raises(UnprocessableError, match="not against"):
        world.casework.apply_repair(positive, "credit_pledge", "?", subject(person))


def test_expiry_at_the_exact_boundary_date(world: World) -> None:
    company = world.book.organisation()
    # court list: 24 months in force; counts while occurred_on <= as_of < 2026-06-15
    record = world.book.record(company, "court.judgment_default", "2024-06-15")
    world.book.commit()
    last_day = world.score(dt.date(2026, 6, 14))
    assert world.status(last_day, company, record) == "counted"
    assert last_day.published_records(int(last_day.locate([company])[0])) == [(record, False)]
    assert "discredited" in world.explain(last_day, company)["lists"]
    boundary = world.score(dt.date(2026, 6, 15))
    assert world.status(boundary, company, record) == "expired"
    assert boundary.published_records(int(boundary.locate([company])[0])) == []
    assert "discredited" not in world.explain(boundary, company)["lists"]
    assert world.explain(boundary, company)["score"] == 1000
    world.clock.day = dt.date(2026, 6, 15)
    with pytest.raises(ConflictError, match="expired on 2026-06-15"):
        world.casework.apply_repair(record, "credit_pledge", "pledge", subject(company))


def test_hardship_makes_a_court_record_a_non_dishonesty_record(world: World) -> None:
    person = world.book.person()
    record = world.book.record(person, "court.judgment_default", "2026-06-01")
    world.book.commit()
    before = world.score()
    flight = next(
        m for m in world.explain(before, person)["measures"] if m["measure"] == "transport.flight"
    )
    assert not flight["allowed"]
    case = world.casework.open_objection(
        record, "I am unable to pay: unemployed since 2025, no assets", subject(person)
    )
    decided = world.casework.decide(
        case.case_id, "hardship", "(2026)京0101执异9号", "inability to pay shown", REVIEWER
    )
    after = world.score()
    assert world.status(after, person, record) == "revoked"
    document = world.explain(after, person)
    converted = next(
        r for r in document["counted"] if r["record_id"] == f"casework-{decided.uid}-hardship"
    )
    assert converted["record_type"] == "court.enforcement_inability"
    assert converted["points"] == 0
    assert converted["occurred_on"] == "2026-06-01"
    assert document["lists"] == []
    assert document["score"] == 1000
    assert all(m["allowed"] for m in document["measures"] if m["measure"].startswith("transport."))


def test_hardship_applies_only_to_types_the_policy_converts(world: World) -> None:
    person = world.book.person()
    record = world.book.record(person, "finance.loan_default", "2026-06-01")
    world.book.commit()
    case = world.casework.open_objection(record, "cannot pay", subject(person))
    with pytest.raises(UnprocessableError, match="hardship"):
        world.casework.decide(case.case_id, "hardship", "R", "r", REVIEWER)
    assert world.casework.get(case.case_id, REVIEWER).is_open  # nothing decided
