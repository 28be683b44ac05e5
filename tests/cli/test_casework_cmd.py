"""``socialcredit case`` and ``socialcredit repair``: every step with ``--json``, the
refusals with their reasons, and ``score``/``show`` following the decisions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialcredit.policy import PolicyCatalog
from tests.cli.test_web_cmd import _invoke
from tests.scoring.factories import LedgerBook


@pytest.fixture
def debtor(tmp_path: Path, shipped_catalog: PolicyCatalog) -> tuple[Path, str, str]:
    book = LedgerBook(tmp_path / "data", shipped_catalog)
    person = book.person()
    record = book.record(person, "court.judgment_default", "2026-06-01")
    book.commit()
    return book.data, person, record


def test_an_objection_from_opening_to_appeal(
    runner: CliRunner, debtor: tuple[Path, str, str]
) -> None:
    data, person, record = debtor
    code, opened, error = _invoke(runner, data, "case", "open", record, "--grounds", "paid")
    assert code == 0, error
    assert opened["status"] == "open"
    assert opened["record_id"] == record
    today = dt.date.fromisoformat(opened["opened_at"][:10])
    assert abs((dt.date.fromisoformat(opened["deadline"]) - today).days - 15) <= 1
    code, _, error = _invoke(runner, data, "score")
    assert code == 0, error
    code, shown, _ = _invoke(runner, data, "show", person)
    frozen = next(r for r in shown["not_counted"] if r["record_id"] == record)
    assert frozen["status"] == "under_objection"
    assert frozen["case"]["case_id"] == opened["case_id"]
    assert shown["cases"][0]["case_id"] == opened["case_id"]
    case = str(opened["case_id"])
    code, listed, _ = _invoke(runner, data, "case", "list", "--status", "open")
    assert [c["case_id"] for c in listed] == [opened["case_id"]]
    code, decided, error = _invoke(
        runner, data, "case", "decide", case, "upheld", "--ref", "REF-1", "--reasons", "unpaid",
        "--version", str(opened["version"]),
    )  # fmt: skip
    assert code == 0, error
    assert decided["outcome"] == "upheld"
    assert decided["ledger_written"]
    code, _, error = _invoke(
        runner, data, "case", "decide", case, "revoked", "--ref", "R", "--reasons", "again"
    )
    assert code == 1
    assert "decided already" in error
    code, appeal, error = _invoke(runner, data, "case", "appeal", case, "--grounds", "receipt")
    assert code == 0, error
    assert appeal["level"] == 2
    code, shown_case, _ = _invoke(runner, data, "case", "show", str(appeal["case_id"]))
    assert shown_case["appeal_of"] == opened["case_id"]
    code, queue, _ = _invoke(runner, data, "case", "list", "--queue")
    assert [c["case_id"] for c in queue] == [appeal["case_id"]]
    _invoke(runner, data, "score")
    code, shown, _ = _invoke(runner, data, "show", person)
    assert any(r["record_id"] == record for r in shown["not_counted"])  # frozen by the appeal
    code, _, error = _invoke(
        runner, data, "case", "decide", str(appeal["case_id"]), "upheld", "--ref", "A-1",
        "--reasons", "the receipt is forged",
    )  # fmt: skip
    assert code == 0, error
    _invoke(runner, data, "score")
    code, shown, _ = _invoke(runner, data, "show", person)
    assert any(r["record_id"] == record for r in shown["counted"])  # upheld: counts again


def test_a_repair_too_early_names_the_date(
    runner: CliRunner, debtor: tuple[Path, str, str]
) -> None:
    data, _, record = debtor
    code, document, error = _invoke(
        runner, data, "repair", "apply", record, "--evidence-kind", "obligation_performed",
        "--evidence", "paid",
    )  # fmt: skip
    assert code == 1
    assert document == {}
    assert "2027-06-01" in error
    code, _, error = _invoke(
        runner, data, "repair", "apply", record, "--evidence-kind", "bribe", "--evidence", "x"
    )
    assert code == 1
    assert "evidence_kind" in error


def test_a_correction_needs_the_corrected_outcome(
    runner: CliRunner, debtor: tuple[Path, str, str]
) -> None:
    data, person, record = debtor
    _, opened, _ = _invoke(runner, data, "case", "open", record, "--grounds", "wrong date")
    case = str(opened["case_id"])
    code, _, error = _invoke(
        runner, data, "case", "decide", case, "upheld", "--ref", "R", "--reasons", "r",
        "--occurred-on", "2026-06-02",
    )  # fmt: skip
    assert code == 2
    assert "corrected" in error
    code, decided, error = _invoke(
        runner, data, "case", "decide", case, "corrected", "--ref", "R-C", "--reasons", "date",
        "--occurred-on", "2026-06-02",
    )  # fmt: skip
    assert code == 0, error
    _invoke(runner, data, "score")
    _, shown, _ = _invoke(runner, data, "show", person)
    replacement = next(r for r in shown["counted"] if r["record_id"] in decided["ledger_records"])
    assert replacement["occurred_on"] == "2026-06-02"
