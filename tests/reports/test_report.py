"""The personal credit report: its content, HTML and PDF (Chinese must render), and
its yearly free quota, kept transactionally."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from socialcredit.ledger import Ledger
from socialcredit.policy import PolicyCatalog, load_catalog, shipped_policy_dir
from socialcredit.reports import Issue, ReportQuota, render_html, render_pdf, report_content
from socialcredit.reports.content import explanation_of, free_reports_per_year
from socialcredit.scoring.disclosure import mask_id
from socialcredit.scoring.policy_tables import compile_policy
from socialcredit.store import Database
from tests.scored import Scored

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def catalog() -> PolicyCatalog:
    return load_catalog(shipped_policy_dir())


def sample(scored: Scored, wanted: str) -> str:
    """A person on the list ``wanted``."""
    table = scored.snapshot.subject_table(["subject_id", "kind", "lists"])
    rows = zip(*(table.column(i).to_pylist() for i in range(3)), strict=True)
    return next(str(s) for s, k, ls in rows if k == "person" and wanted in (ls or []))


def explained(scored: Scored, catalog: PolicyCatalog, subject_id: str) -> dict[str, Any]:
    ledger = Ledger.open(scored.data)
    return explanation_of(ledger, compile_policy(catalog), scored.snapshot, subject_id)


def issue(subject_id: str, paid: bool = False) -> Issue:
    return Issue("SCR-2026-00000042", subject_id, NOW, paid, 2, 1)


def test_the_report_holds_every_record_ranks_lists_and_measures(
    scored: Scored, catalog: PolicyCatalog
) -> None:
    person = sample(scored, "discredited")
    explanation = explained(scored, catalog, person)
    content = report_content(Ledger.open(scored.data), catalog, explanation, issue(person))
    expected = {r["record_id"] for r in explanation["counted"] + explanation["not_counted"]}
    assert {r["record_id"] for r in content["records"]} == expected
    for record in content["records"]:
        assert record["authority"]
        assert record["counts_until"]
        assert (record["points"] is not None) == (record["status"] == "counted")
    assert [rank["level"] for rank in content["ranks"]] == ["national", "province", "city"]
    assert "discredited" in content["lists"]
    assert "transport.flight" in {m["measure"] for m in content["measures"]}
    assert content["snapshot"] == scored.snapshot.id
    assert content["policy"]["version"] == scored.snapshot.metadata["policy"]["version"]
    assert content["subject"]["id"] == person
    assert content["subject"]["name"]


def test_a_shared_report_masks_the_person(scored: Scored, catalog: PolicyCatalog) -> None:
    person = sample(scored, "discredited")
    explanation = explained(scored, catalog, person)
    own = report_content(Ledger.open(scored.data), catalog, explanation, issue(person))
    shared = report_content(
        Ledger.open(scored.data), catalog, explanation, issue(person), shared=True
    )
    assert shared["subject"]["id"] == mask_id(person)
    assert shared["subject"]["name"] == own["subject"]["name"][0] + "*" * max(
        len(own["subject"]["name"]) - 1, 1
    )
    html = render_html(shared)
    assert person not in html
    assert own["subject"]["name"] not in html


def test_a_shared_report_leaves_out_what_no_longer_counts(
    scored: Scored, catalog: PolicyCatalog
) -> None:
    explanation = next(
        e for e in (explained(scored, catalog, s) for s in _people(scored)) if e["not_counted"]
    )
    subject = explanation["subject_id"]
    ledger = Ledger.open(scored.data)
    own = report_content(ledger, catalog, explanation, issue(subject))
    shared = report_content(ledger, catalog, explanation, issue(subject), shared=True)
    assert {r["status"] for r in shared["records"]} <= {"counted"}
    assert len(own["records"]) > len(shared["records"])


def _people(scored: Scored) -> list[str]:
    table = scored.snapshot.subject_table(["subject_id", "kind"])
    ids, kinds = table.column(0).to_pylist(), table.column(1).to_pylist()
    return [str(s) for s, k in zip(ids, kinds, strict=True) if k == "person"][:200]


def test_html_escapes_what_it_shows(scored: Scored, catalog: PolicyCatalog) -> None:
    person = sample(scored, "discredited")
    content = report_content(
        Ledger.open(scored.data), catalog, explained(scored, catalog, person), issue(person)
    )
    content["subject"]["name"] = "<script>alert(1)</script>"
    html = render_html(content)
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert 'lang="zh-CN"' in html
    assert "http://" not in html
    assert "https://" not in html  # nothing fetched from the network


def cjk_font_installed() -> bool:
    if shutil.which("fc-list") is None:
        return False
    found = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


def test_the_pdf_renders_chinese_names(scored: Scored, catalog: PolicyCatalog) -> None:
    if not cjk_font_installed():
        if os.environ.get("CI") == "true":
            pytest.fail("no CJK font: .ci/run installs fonts-wqy-microhei")
        pytest.skip("install a CJK font (apt-get install fonts-wqy-microhei) for PDF reports")
    person = sample(scored, "discredited")
    content = report_content(
        Ledger.open(scored.data), catalog, explained(scored, catalog, person), issue(person)
    )
    pdf = render_pdf(render_html(content))
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    assert content["number"] in text
    assert content["subject"]["name"] in text
    assert "个人信用报告" in text
    fonts: set[str] = set()
    for page in reader.pages:
        resources: Any = page["/Resources"]
        for font in resources["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    # the Chinese text is set in a CJK font, not a fallback without its glyphs
    assert any(("WenQuanYi" in f or "CJK" in f or "Han" in f) for f in fonts), fonts


def test_two_free_reports_a_year_then_paid(store_url: str) -> None:
    quota = ReportQuota(Database(store_url))
    taken = [quota.take("P1", 2, "cli:test", "snap", NOW) for _ in range(3)]
    assert [t.paid for t in taken] == [False, False, True]
    assert [t.free_left for t in taken] == [1, 0, 0]
    assert len({t.number for t in taken}) == 3
    next_year = quota.take("P1", 2, "cli:test", "snap", NOW.replace(year=2027))
    assert not next_year.paid
    assert not quota.take("P2", 2, "cli:test", "snap", NOW).paid  # everyone their own
    assert next(e["action"] for e in quota.audit.for_subject("P1")).startswith("report:SCR-")
    quota.void(taken[1], "cli:test")  # a report that could not be made gives its free one back
    again = quota.take("P1", 2, "cli:test", "snap", NOW)
    assert not again.paid
    assert again.number not in {t.number for t in taken}  # a voided number is never reused
    assert next(e["outcome"] for e in quota.audit.for_subject("P1")) == "free"
    assert "voided" in [e["outcome"] for e in quota.audit.for_subject("P1")]


def test_the_quota_year_is_chinas(tmp_path: Path) -> None:
    quota = ReportQuota(Database(f"sqlite:///{tmp_path / 'store.db'}"))
    new_year = dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.UTC)  # 01:00 on 1 January there
    assert quota.take("P1", 2, "cli:test", "snap", new_year).number.startswith("SCR-2027-")


def test_role_models_get_the_policys_free_reports(
    tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    from tests.scoring.factories import LedgerBook

    book = LedgerBook(tmp_path / "data", shipped_catalog)
    model, ordinary = book.person(), book.person()
    for month in range(1, 6):
        book.record(model, "honours.commendation", f"2026-0{month}-01")
    snapshot = book.score(dt.date(2026, 6, 30))
    tables = compile_policy(shipped_catalog)
    ledger = Ledger.open(book.data)
    shown = {s: explanation_of(ledger, tables, snapshot, s) for s in (model, ordinary)}
    assert shown[model]["lists"] == ["red"]
    assert free_reports_per_year(shipped_catalog, shown[model]) == 6
    assert free_reports_per_year(shipped_catalog, shown[ordinary]) == 2


def test_two_downloads_at_once_cannot_both_take_the_last_free_one(store_url: str) -> None:
    url = store_url
    ReportQuota(Database(url)).take("P1", 2, "cli:test", "snap", NOW)  # one free left
    quotas = [ReportQuota(Database(url)) for _ in range(4)]  # as separate processes would
    start = threading.Barrier(len(quotas))
    got: list[Issue] = []

    def download(quota: ReportQuota) -> None:
        start.wait()
        got.append(quota.take("P1", 2, "web:test", "snap", NOW))

    threads = [threading.Thread(target=download, args=(q,)) for q in quotas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(issue.paid for issue in got) == [False, True, True, True]
