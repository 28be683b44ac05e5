"""What a careful reader found: refusals audited with whose data they touched; a
record revoked meanwhile is not brought back; a correction cannot forge a casework
row; a decision's rows land whole or stay pending with the reason kept; one appeal
per record. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from socialcredit.audit import AuditLog
from socialcredit.casework import service
from socialcredit.errors import ConflictError, ForbiddenError, NotFoundError, UnprocessableError
from socialcredit.ledger import LedgerError
from tests.casework.conftest import AGENCY, REVIEWER, World, subject

COURT = "court.judgment_default"


def _case(world: World) -> tuple[str, str, int]:
    person = world.book.person()
    record = world.book.record(person, COURT, "2026-06-01")
    world.book.commit()
    case = world.casework.open_objection(record, "performed in full", subject(person))
    return person, record, case.case_id


def test_a_refused_step_is_audited_with_the_subject_it_touched(world: World) -> None:
    person, _, case_id = _case(world)
    with pytest.raises(ForbiddenError):
        world.casework.decide(case_id, "revoked", "R", "early", REVIEWER)
    entries = AuditLog(world.database).for_subject(person)
    refused = [e for e in entries if e["outcome"] == "refused: forbidden"]
    assert [(e["actor"], e["action"]) for e in refused] == [(REVIEWER.actor, f"case:{case_id}")]


def test_a_record_revoked_meanwhile_is_not_brought_back(world: World) -> None:
    person, record, case_id = _case(world)
    world.book.record(person, COURT, "2026-07-01", revokes=record)  # the authority's own
    world.book.commit()
    with pytest.raises(ConflictError, match="revoked by"):
        world.casework.decide(
            case_id, "corrected", "R", "date", AGENCY, correction={"occurred_on": "2026-05-01"}
        )
    with pytest.raises(ConflictError, match="only the outcome revoked"):
        world.casework.decide(case_id, "upheld", "R", "stands", AGENCY)
    decided = world.casework.decide(case_id, "revoked", "R", "revoked already", AGENCY)
    assert decided.outcome == "revoked"
    assert world.status(world.score(), person, record) == "revoked"


def test_a_correction_cannot_forge_a_casework_row(world: World) -> None:
    _, _, case_id = _case(world)
    with pytest.raises(UnprocessableError, match=r"correction\.record_type"):
        world.casework.decide(
            case_id, "corrected", "R", "r", AGENCY, correction={"record_type": "casework.x"}
        )
    with pytest.raises(UnprocessableError, match=r"correction\.amount"):
        world.casework.decide(
            case_id, "corrected", "R", "r", AGENCY,
            correction={"record_type": "civic.volunteer_hour", "amount": -5.0},
        )  # fmt: skip


def test_rows_that_cannot_land_stay_pending_with_the_reason(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    person, record, case_id = _case(world)

    def failing(*args: object, **kwargs: object) -> int:
        raise LedgerError("the ledger is being moved")

    monkeypatch.setattr(service, "write_rows", failing)  # (an undone patch restores it)
    decided = world.casework.decide(case_id, "revoked", "REF-P", "paid", AGENCY)
    assert decided.ledger_written_at is None
    pending = world.casework.get(case_id, REVIEWER)
    assert pending.ledger_error == "the ledger is being moved"
    assert pending.as_dict()["ledger_error"] == "the ledger is being moved"
    world.casework.write_pending()  # the same reason: audited once
    outcomes = [e["outcome"] for e in AuditLog(world.database).for_subject(person)]
    assert outcomes.count("ledger rows not written") == 1
    assert world.status(world.score(), person, record) == "under_objection"  # still frozen
    monkeypatch.undo()
    assert world.casework.write_pending() == 1
    written = world.casework.get(case_id, REVIEWER)
    assert written.ledger_written_at is not None
    assert written.ledger_error is None
    assert world.status(world.score(), person, record) == "revoked"


def test_a_casework_batch_lands_whole_or_not_at_all(world: World, tmp_path: Path) -> None:
    from socialcredit.casework.ledger_rows import write_rows

    person = world.book.person()
    record = world.book.record(person, COURT, "2026-06-01")
    world.book.commit()
    good = {
        "record_id": "casework-test-upheld", "subject_id": person,
        "record_type": "casework.objection_upheld", "occurred_on": "2026-07-01",
        "authority": "a", "jurisdiction": "110101", "decision_ref": "R", "amount": None,
        "revokes": record,
    }  # fmt: skip
    bad = good | {"record_id": "casework-test-bad", "jurisdiction": "999999"}
    with pytest.raises(LedgerError, match="jurisdiction"):
        write_rows(world.book.ledger, world.catalog, world.book.data, [good, bad], world.clock.day)
    explained = world.explain(world.score(), person)
    assert all(r["record_id"] != "casework-test-upheld" for r in explained["not_counted"])
    assert json.dumps(explained)  # (the ledger still reads)


def test_one_appeal_per_record(world: World) -> None:
    person, record, case_id = _case(world)
    me = subject(person)
    world.casework.decide(case_id, "upheld", "R1", "unpaid", AGENCY)
    appeal = world.casework.appeal(case_id, "the receipt", me)
    world.casework.decide(appeal.case_id, "upheld", "R2", "forged receipt", REVIEWER)
    second = world.casework.open_objection(record, "The debtor died on 2026-07-01.", me)
    world.casework.decide(second.case_id, "upheld", "R3", "alive", AGENCY)
    with pytest.raises(ConflictError, match="one appeal"):
        world.casework.appeal(second.case_id, "again", me)


def test_a_repair_of_a_record_revoked_meanwhile_can_be_refused(world: World) -> None:
    person = world.book.person()
    record = world.book.record(person, COURT, "2025-06-01")
    world.book.commit()
    repair = world.casework.apply_repair(record, "penalty_paid", "receipt", subject(person))
    world.book.record(person, COURT, "2026-07-01", revokes=record)
    world.book.commit()
    with pytest.raises(ConflictError, match="only the outcome refused"):
        world.casework.decide(repair.case_id, "granted", "R", "paid", AGENCY)
    assert world.casework.decide(repair.case_id, "refused", "R", "revoked", AGENCY).outcome == (
        "refused"
    )


def test_control_characters_are_refused(world: World) -> None:
    person = world.book.person()
    record = world.book.record(person, COURT, "2026-06-01")
    world.book.commit()
    with pytest.raises(UnprocessableError, match="grounds: control characters"):
        world.casework.open_objection(record, "a\x00b", subject(person))
    case = world.casework.open_objection(record, "line one\nline two", subject(person))
    with pytest.raises(UnprocessableError, match="decision_ref"):
        world.casework.decide(case.case_id, "upheld", "REF\x00", "r", AGENCY)


def test_an_agency_lists_its_own_cases_past_a_namesakes_newer_ones(world: World) -> None:
    from tests.casework.conftest import NAMESAKE

    person = world.book.person()
    mine = world.book.record(person, COURT, "2026-06-01")
    theirs = [
        world.book.record(person, COURT, "2026-06-01", jurisdiction="350102") for _ in range(3)
    ]
    world.book.commit()
    me = subject(person)
    own = world.casework.open_objection(mine, "grounds", me)
    for record in theirs:
        world.casework.open_objection(record, f"grounds {record}", me)
    assert [c.case_id for c in world.casework.cases(AGENCY, limit=1)] == [own.case_id]
    assert len(world.casework.cases(NAMESAKE, limit=10)) == 3


def test_the_wrong_kind_is_named_to_those_who_may_read_it(world: World) -> None:
    _, _, case_id = _case(world)
    with pytest.raises(NotFoundError, match="is an objection"):
        world.casework.decide(case_id, "granted", "R", "r", AGENCY, kind="repair")


def test_a_refused_listing_is_audited(world: World) -> None:
    from tests.casework.conftest import RELYING_PARTY

    with pytest.raises(ForbiddenError):
        world.casework.cases(RELYING_PARTY)
    with world.database.reading() as connection:
        outcomes = connection.exec_driver_sql(
            "SELECT action, outcome FROM audit_log WHERE actor = 'key-airline'"
        ).all()
    assert [tuple(row) for row in outcomes] == [("cases:list", "refused: forbidden")]
