"""The engine against an independent pandas implementation of docs/scoring.md
(``benchmarks.scoring_pandas``): every column of every subject must agree, on the
generator's 5,000 people and on a hand-made ledger of revocations, caps and clearings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from benchmarks.scoring_pandas import COLUMNS, pandas_scores

from socialcredit.policy import PolicyCatalog
from socialcredit.scoring.snapshots import Snapshot
from tests.scored import AS_OF, Scored
from tests.scoring.factories import LedgerBook

Rows = dict[str, dict[str, Any]]


def engine_rows(snapshot: Snapshot) -> Rows:
    table = snapshot.subject_table(COLUMNS)
    return {row["subject_id"]: row for row in table.to_pylist()}


def reference_rows(data: Path, catalog: PolicyCatalog, snapshot: Snapshot) -> Rows:
    ledger_as_of = dt.datetime.fromisoformat(snapshot.metadata["ledger_as_of"])
    as_of = dt.date.fromisoformat(snapshot.metadata["as_of"])
    frame = pandas_scores(data, catalog, as_of, ledger_as_of)
    rows: list[dict[str, Any]] = frame.to_dict("records")
    return {row["subject_id"]: row for row in rows}


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return list(value) if isinstance(value, tuple) else value


def differences(engine: Rows, reference: Rows) -> list[str]:
    found = []
    if set(engine) != set(reference):
        found.append(f"subjects: engine only {sorted(set(engine) - set(reference))[:5]}")
        found.append(f"subjects: pandas only {sorted(set(reference) - set(engine))[:5]}")
    for subject_id in sorted(set(engine) & set(reference)):
        for column in COLUMNS:
            theirs, ours = _plain(engine[subject_id][column]), _plain(reference[subject_id][column])
            if column.endswith("percentile"):
                same = abs(float(theirs) - float(ours)) <= 1e-9
            else:
                same = theirs == ours and type(theirs) is type(ours)
            if not same:
                found.append(f"{subject_id} {column}: engine {theirs!r}, pandas {ours!r}")
    return found


def test_the_generated_population_agrees(scored: Scored, shipped_catalog: PolicyCatalog) -> None:
    engine = engine_rows(scored.snapshot)
    reference = reference_rows(scored.data, shipped_catalog, scored.snapshot)
    assert len(engine) > 5000
    found = differences(engine, reference)
    assert found == [], f"{len(found)} differences, e.g.\n" + "\n".join(found[:20])


def hand_made(book: LedgerBook) -> None:
    """Subjects and records for every rule of docs/scoring.md, around 2026-06-30."""
    p = book.person
    book.person()  # no record at all
    # revocations: a revoked default, a correction, a revocation of another's record
    borrower = p()
    loan = book.record(borrower, "finance.loan_default", "2026-01-15", amount=5000)
    book.record(borrower, "finance.loan_default", "2026-02-01", revokes=loan)
    corrected = p("330102")
    wrong = book.record(corrected, "traffic.violation", "2026-03-01")
    book.record(corrected, "traffic.violation", "2026-03-02", revokes=wrong)
    book.record(corrected, "traffic.violation", "2026-03-02")
    # periods: the end of a period, the first day in force, not yet, the leap day
    for day in ("2025-06-30", "2025-07-01", "2026-06-30", "2026-07-01", "2024-02-29"):
        book.record(
            p(), "traffic.violation" if day != "2024-02-29" else "court.judgment_default", day
        )
    # points per unit and yearly caps, national, Hangzhou and Rongcheng
    few, many, split, sums, zhoushan = p(), p(), p(), p("330106"), p("330902")
    for _ in range(3):
        book.record(few, "civic.volunteer_hour", "2026-03-01", amount=1)  # 1.5 -> 1
    for month in range(1, 6):
        book.record(many, "civic.volunteer_hour", f"2026-0{month}-01", amount=20)  # 50 -> 30
    book.record(split, "civic.volunteer_hour", "2025-12-01", amount=80)
    book.record(split, "civic.volunteer_hour", "2026-01-01", amount=80)
    for amount in (0.1, 0.7, 0.2):  # 1 hour: 1 point in Hangzhou
        book.record(
            sums, "civic.volunteer_hour", "2026-02-01", amount=amount, jurisdiction="330106"
        )
    book.record(sums, "civic.blood_donation", "2026-02-01", jurisdiction="330106")
    book.record(sums, "traffic.violation", "2026-02-01", jurisdiction="330106")
    book.record(zhoushan, "civic.volunteer_hour", "2026-02-01", amount=70, jurisdiction="330106")
    book.record(zhoushan, "zhoushan.vandalism", "2025-02-01", jurisdiction="330902")
    arrears, elsewhere = p("371082"), p("110105")
    for amount, day in ((5, "2025-03-01"), (4, "2025-09-01"), (6, "2025-11-01"), (2, "2026-01-01")):
        book.record(arrears, "rongcheng.bank_arrears", day, amount=amount, jurisdiction="371082")
    cycles = p("371082")
    for amount in (1.02, 1.88):  # -10.2 - 18.8 is -28.999999999999996 in floats: -29
        book.record(
            cycles, "rongcheng.bank_arrears", "2026-01-01", amount=amount, jurisdiction="371082"
        )
    book.record(elsewhere, "rongcheng.bank_arrears", "2026-01-01", amount=3, jurisdiction="371082")
    book.record(elsewhere, "civic.volunteer_hour", "2026-01-01", amount=7, jurisdiction="330106")
    # lists: cleared, relisted, cleared the same day, cleared later, a revoked clearing
    cleared, relisted, same_day, later, undone = p(), p(), p(), p("371082"), p()
    firm = book.organisation("330102")
    for debtor in (cleared, relisted, same_day, later, undone, firm):
        book.record(debtor, "court.judgment_default", "2026-01-10")
    book.record(cleared, "court.obligation_performed", "2026-03-01")
    book.record(relisted, "court.obligation_performed", "2025-12-01")
    book.record(same_day, "court.obligation_performed", "2026-01-10")
    book.record(later, "court.obligation_performed", "2026-08-01")  # after as-of
    performed = book.record(undone, "court.obligation_performed", "2026-03-01")
    book.record(undone, "court.obligation_performed", "2026-03-02", revokes=performed)
    book.record(firm, "market.false_advertising", "2026-02-01")
    # red list: the grade, and the last 36 months clean (2023-06-30 is the window's start)
    blemishes = [
        ("", ""),
        ("finance.loan_default", "2018-06-30"),  # ended on the window's first day
        ("finance.loan_default", "2018-07-01"),  # in force on the window's first day
        ("traffic.violation", "2024-01-05"),
        ("court.obligation_performed", "2026-01-01"),  # not against anyone
        ("revoked", "2026-01-01"),
    ]
    for blemish, when in blemishes:
        model = p()
        for month in range(1, 4):
            book.record(model, "honours.commendation", f"2026-0{month}-01")
        if blemish == "revoked":
            bad = book.record(model, "traffic.violation", when)
            book.record(model, "traffic.violation", when, revokes=bad)
        elif blemish:
            book.record(model, blemish, when, amount=1.0 if "loan" in blemish else None)
    excellent, exemplary_firm = p(), book.organisation("110101")
    for month in range(1, 3):
        book.record(excellent, "honours.commendation", f"2026-0{month}-01")
    for month in range(1, 5):
        book.record(exemplary_firm, "honours.commendation", f"2026-0{month}-01")
    # clamping at both ends
    ruined, famous = p(), p()
    for n in range(1, 12):
        book.record(ruined, "court.judgment_default", f"2026-05-{n:02d}")
    for n in range(1, 28):
        book.record(famous, "honours.commendation", f"2026-05-{n:02d}")
    # more of the same scores in several regions, for ties in the ranks
    for region in ("110101", "110105", "330102", "330106", "371082", "371002"):
        book.record(p(region), "traffic.violation", "2026-05-01")
        book.organisation(region)


@pytest.mark.parametrize("as_of", [AS_OF, dt.date(2026, 2, 27), dt.date(2026, 2, 28)])
def test_a_hand_made_ledger_agrees(
    tmp_path: Path, shipped_catalog: PolicyCatalog, as_of: dt.date
) -> None:
    book = LedgerBook(tmp_path / "data", shipped_catalog)
    hand_made(book)
    snapshot = book.score(as_of)
    engine = engine_rows(snapshot)
    found = differences(engine, reference_rows(book.data, shipped_catalog, snapshot))
    assert found == [], "\n".join(found)
    # the ledger exercises what it is meant to
    assert {"discredited", "red"} <= {name for row in engine.values() for name in row["lists"]}
