"""``socialcredit report``: the file, its quota, its audit entry and its errors."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader
from typer.testing import CliRunner

from socialcredit.audit import AuditLog
from socialcredit.store import Database
from tests.cli.test_web_cmd import _invoke
from tests.scored import Scored


def _person(scored: Scored) -> str:
    table = scored.snapshot.subject_table(["subject_id", "kind", "lists"])
    rows = zip(*(table.column(i).to_pylist() for i in range(3)), strict=True)
    return next(str(s) for s, k, ls in rows if k == "person" and "discredited" in (ls or []))


def test_report_writes_html_and_pdf_and_counts_the_free_ones(
    runner: CliRunner, scored: Scored, tmp_path: Path
) -> None:
    data = scored.copy_to(tmp_path / "data")
    person = _person(scored)
    page = tmp_path / "r1.html"
    code, first, error = _invoke(runner, data, "report", person.lower(), "--out", str(page))
    assert code == 0, error
    assert (first["paid"], first["free_left"]) == (False, 1)
    html = page.read_text("utf-8")
    assert first["number"] in html
    assert person in html
    pdf_path = tmp_path / "out" / "report.pdf"
    code, second, _ = _invoke(runner, data, "report", person, "--out", str(pdf_path))
    assert code == 0
    reader = PdfReader(io.BytesIO(pdf_path.read_bytes()))
    assert second["number"] in "".join(page.extract_text() for page in reader.pages)
    shared = tmp_path / "shared.html"
    code, third, _ = _invoke(runner, data, "report", person, "--out", str(shared), "--shared")
    assert (code, third["paid"]) == (0, True)  # the third this year
    assert person not in shared.read_text("utf-8")
    log = AuditLog(Database(f"sqlite:///{(data / 'socialcredit.db').resolve()}"))
    actions = [e["action"] for e in log.for_subject(person)]
    assert actions == [f"report:{n['number']}" for n in (third, second, first)]
    assert not list(tmp_path.glob("out/.report.pdf.*"))  # no temporary file left


def test_report_refuses_bad_requests_with_reasons(
    runner: CliRunner, scored: Scored, tmp_path: Path
) -> None:
    data = scored.copy_to(tmp_path / "data")
    code, _, error = _invoke(runner, data, "report", _person(scored), "--out", "r.txt")
    assert code == 2
    assert "--out" in error
    code, _, error = _invoke(
        runner, data, "report", "11010519491231002X", "--out", str(tmp_path / "r.pdf")
    )
    assert code == 1
    assert "no subject 11010519491231002X" in error
    assert not (tmp_path / "r.pdf").exists()
