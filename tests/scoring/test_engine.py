"""Hand-made ledgers through the real ingest and scoring: periods in force, revocations
and ledger-as-of, points per unit and yearly caps, lists, overlays, clamping, ranks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from socialcredit.ledger import Ledger
from socialcredit.policy import PolicyCatalog
from socialcredit.scoring.explain import explain
from socialcredit.scoring.policy_tables import add_months, compile_policy, in_force_from
from socialcredit.scoring.snapshots import Snapshot
from tests.scoring.factories import FakeCasework, LedgerBook

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def book(tmp_path: Path, shipped_catalog: PolicyCatalog) -> LedgerBook:
    return LedgerBook(tmp_path / "data", shipped_catalog)


def shown(book: LedgerBook, snapshot: Snapshot, subject_id: str) -> dict[str, Any]:
    return explain(Ledger.open(book.data), compile_policy(book.catalog), snapshot, subject_id)


def score_of(snapshot: Snapshot, subject_id: str) -> int:
    return int(snapshot.array("score")[snapshot.locate([subject_id])[0]])


@pytest.mark.parametrize(
    ("day", "months", "first"),
    [
        (dt.date(2026, 6, 30), 12, dt.date(2025, 7, 1)),
        (dt.date(2026, 3, 31), 1, dt.date(2026, 3, 1)),  # Feb 28 + 1 month is Mar 28
        (dt.date(2026, 2, 28), 24, dt.date(2024, 3, 1)),  # 2024-02-29 + 24 months: Feb 28
        (dt.date(2024, 2, 29), 12, dt.date(2023, 3, 1)),
    ],
)
def test_first_day_in_force(day: dt.date, months: int, first: dt.date) -> None:
    assert in_force_from(day, months) == first
    assert add_months(first, months) > day
    assert add_months(first - dt.timedelta(days=1), months) <= day


def test_records_exactly_at_the_boundaries_of_their_period(book: LedgerBook) -> None:
    ended = book.person()  # 2025-06-30 + 12 months = as-of: no longer in force
    book.record(ended, "traffic.violation", "2025-06-30")
    first_day = book.person()
    book.record(first_day, "traffic.violation", "2025-07-01")
    same_day = book.person()
    book.record(same_day, "traffic.violation", AS_OF)
    later = book.person()
    book.record(later, "traffic.violation", AS_OF + dt.timedelta(days=1))
    snapshot = book.score(AS_OF)
    assert score_of(snapshot, ended) == 1000
    assert score_of(snapshot, first_day) == 995
    assert score_of(snapshot, same_day) == 995
    assert score_of(snapshot, later) == 1000
    assert [r["status"] for r in shown(book, snapshot, ended)["not_counted"]] == ["expired"]
    assert [r["status"] for r in shown(book, snapshot, later)["not_counted"]] == ["not_yet"]


def test_leap_day_record_expires_on_the_clipped_anniversary(book: LedgerBook) -> None:
    debtor = book.person()
    book.record(debtor, "court.judgment_default", "2024-02-29")
    assert score_of(book.score(dt.date(2026, 2, 27)), debtor) == 900
    assert score_of(book.score(dt.date(2026, 2, 28)), debtor) == 1000


def test_revocation_recorded_after_ledger_as_of_has_no_effect(book: LedgerBook) -> None:
    borrower = book.person()
    loan = book.record(borrower, "finance.loan_default", "2026-01-15", amount=5000)
    book.commit()
    before = dt.datetime.now(dt.UTC)
    book.record(borrower, "finance.loan_default", "2026-02-01", revokes=loan)
    book.commit()
    past = book.score(AS_OF, ledger_as_of=before)
    assert score_of(past, borrower) == 970
    now = book.score(AS_OF)
    assert score_of(now, borrower) == 1000
    statuses = {r["record_id"]: r["status"] for r in shown(book, now, borrower)["not_counted"]}
    assert statuses[loan] == "revoked"
    assert set(statuses.values()) == {"revoked", "revocation"}
    # re-examining the past snapshot explains it as it was
    assert shown(book, past, borrower)["arithmetic"]["score"] == 970


def test_points_per_unit_summed_per_year_rounded_and_capped(book: LedgerBook) -> None:
    few = book.person()
    for _ in range(3):
        book.record(few, "civic.volunteer_hour", "2026-03-01", amount=1)  # 3 x 0.5 = 1.5 -> 1
    many = book.person()
    for month in range(1, 6):
        book.record(many, "civic.volunteer_hour", f"2026-0{month}-01", amount=20)  # 50 -> cap 30
    split = book.person()  # two calendar years, each under its own cap
    book.record(split, "civic.volunteer_hour", "2025-12-01", amount=80)
    book.record(split, "civic.volunteer_hour", "2026-01-01", amount=80)
    snapshot = book.score(AS_OF)
    assert score_of(snapshot, few) == 1001
    assert score_of(snapshot, many) == 1030
    assert score_of(snapshot, split) == 1060
    explained = shown(book, snapshot, many)
    assert [a["adjustment"] for a in explained["adjustments"]] == [-20.0]


def test_discredited_until_an_obligation_performed_clears_it(book: LedgerBook) -> None:
    cleared = book.person()
    book.record(cleared, "court.judgment_default", "2026-01-10")
    book.record(cleared, "court.obligation_performed", "2026-03-01")
    relisted = book.person()
    book.record(relisted, "court.obligation_performed", "2026-02-01")
    default = book.record(relisted, "court.judgment_default", "2026-04-01")
    snapshot = book.score(AS_OF)
    for subject, listed in ((cleared, False), (relisted, True)):
        explained = shown(book, snapshot, subject)
        assert ("discredited" in explained["lists"]) is listed
        flight = next(m for m in explained["measures"] if m["measure"] == "transport.flight")
        assert flight["allowed"] is not listed
    assert shown(book, snapshot, relisted)["listed_by"] == [
        {"list": "discredited", "record_id": default}
    ]
    # the points of the default still count while it is in force, cleared or not
    assert score_of(snapshot, cleared) == 900


def test_a_revoked_clearing_does_not_clear(book: LedgerBook) -> None:
    debtor = book.person()
    book.record(debtor, "court.judgment_default", "2026-01-10")
    performed = book.record(debtor, "court.obligation_performed", "2026-03-01")
    book.record(debtor, "court.obligation_performed", "2026-03-02", revokes=performed)
    explained = shown(book, book.score(AS_OF), debtor)
    assert explained["lists"] == ["discredited"]


def test_the_subjects_region_overlay_applies(book: LedgerBook) -> None:
    beijing = book.person("110101")
    hangzhou = book.person("330102")
    for subject in (beijing, hangzhou):
        book.record(subject, "civic.blood_donation", "2026-05-01", jurisdiction="330102")
    snapshot = book.score(AS_OF)
    assert score_of(snapshot, beijing) == 1005
    assert score_of(snapshot, hangzhou) == 1010
    assert "hangzhou" in shown(book, snapshot, hangzhou)["counted"][0]["policy_file"]


def test_score_is_clamped_and_the_arithmetic_says_so(book: LedgerBook) -> None:
    debtor = book.person()
    for day in range(1, 12):
        book.record(debtor, "court.judgment_default", f"2026-05-{day:02d}")
    snapshot = book.score(AS_OF)
    arithmetic = shown(book, snapshot, debtor)["arithmetic"]
    assert arithmetic == {
        "base": 1000,
        "records": -1100.0,
        "adjustments": 0.0,
        "total": -100,
        "floor": 0,
        "ceiling": 1500,
        "score": 0,
    }
    assert score_of(snapshot, debtor) == 0


def test_persons_and_organisations_are_ranked_apart(book: LedgerBook) -> None:
    people = [book.person("330102") for _ in range(3)]
    firms = [book.organisation("330102") for _ in range(2)]
    book.record(people[0], "traffic.violation", "2026-05-01")
    book.record(firms[0], "market.false_advertising", "2026-05-01")
    snapshot = book.score(AS_OF)
    ranks = {s: shown(book, snapshot, s)["ranks"] for s in (*people, *firms)}
    assert ranks[people[1]]["national"] == {"rank": 1, "percentile": 100 / 3}
    assert ranks[people[0]]["national"] == {"rank": 3, "percentile": 0.0}
    assert ranks[firms[1]]["city"] == {"rank": 1, "percentile": 50.0}
    assert ranks[firms[0]]["region"] == {"rank": 2, "percentile": 0.0}


def test_red_list_needs_the_grade_and_a_clean_history(book: LedgerBook) -> None:
    clean, blemished = book.person(), book.person()
    for subject in (clean, blemished):
        for month in range(1, 6):
            book.record(subject, "honours.commendation", f"2026-0{month}-01")
    # expired for two years, but in force during the last three years
    book.record(blemished, "traffic.violation", "2024-01-05")
    snapshot = book.score(AS_OF)
    assert shown(book, snapshot, clean)["lists"] == ["red"]
    assert shown(book, snapshot, blemished)["lists"] == []
    assert shown(book, snapshot, clean)["grade"] == "AAA"


def test_casework_repairs_and_objections_end_or_freeze_a_records_effect(
    book: LedgerBook,
) -> None:
    debtor, borrower = book.person(), book.person()
    default = book.record(debtor, "court.judgment_default", "2026-03-01")
    loan = book.record(borrower, "finance.loan_default", "2026-03-01", amount=1000)
    assert score_of(book.score(AS_OF), debtor) == 900
    casework = FakeCasework(repaired_ids=(default,), objected_ids=(loan,))
    snapshot = book.score(AS_OF, casework=casework)
    assert (score_of(snapshot, debtor), score_of(snapshot, borrower)) == (1000, 1000)
    assert snapshot.metadata["lists"]["person"]["discredited"] == 0
    ledger, tables = Ledger.open(book.data), compile_policy(book.catalog)
    shown_debtor = explain(ledger, tables, snapshot, debtor, casework)
    shown_borrower = explain(ledger, tables, snapshot, borrower, casework)
    assert [r["status"] for r in shown_debtor["not_counted"]] == ["repaired"]
    assert [r["reason"] for r in shown_borrower["not_counted"]] == ["under objection"]


def test_organisations_published_records_are_those_in_force_of_public_types(
    book: LedgerBook,
) -> None:
    """In force and of a public type, for organisations only; one under objection is
    published (marked) only within its dates, like any other."""
    firm, other, person = book.organisation(), book.organisation(), book.person()
    shown_ = book.record(firm, "environment.illegal_discharge", "2026-03-01")
    objected = book.record(firm, "market.false_advertising", "2026-04-01")
    stale_objected = book.record(firm, "tax.evasion", "2022-01-01")  # 36 months: expired
    future = book.record(other, "market.false_advertising", "2026-08-01")  # after as-of
    book.record(other, "utilities.arrears", "2026-05-01", amount=100)  # not public
    book.record(person, "court.judgment_default", "2026-03-01")  # public, but a person
    casework = FakeCasework(objected_ids=(objected, stale_objected, future))
    snapshot = book.score(AS_OF, casework=casework)
    rows = snapshot.published_rows()
    published = {
        record: objection for row in rows.tolist() for record, objection in
        snapshot.published_records(int(row))
    }  # fmt: skip
    assert published == {shown_: False, objected: True}
    assert len(rows) == 1
