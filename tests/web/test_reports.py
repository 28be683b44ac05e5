"""The credit report as a download: the subject's own, counted, audited."""

from __future__ import annotations

import io

from pypdf import PdfReader

from tests.web.conftest import Api


def test_a_subject_downloads_its_own_report_and_the_quota_counts(
    api: Api, people: dict[str, str]
) -> None:
    me = people["discredited"]
    mine = api.key("subject", me)
    first = api.client.get(f"/api/v1/subjects/{me}/report", headers=mine)
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/pdf"
    number = first.headers["x-report-number"]
    assert first.headers["x-report-paid"] == "false"
    assert first.headers["x-report-free-left"] == "1"
    assert f'filename="{number}.pdf"' in first.headers["content-disposition"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(first.content)).pages)
    assert number in text
    second = api.client.get(f"/api/v1/subjects/{me}/report?format=html", headers=mine)
    assert second.headers["content-type"].startswith("text/html")
    assert me in second.text
    shared = api.client.get(f"/api/v1/subjects/{me}/report?format=html&shared=true", headers=mine)
    assert shared.headers["x-report-paid"] == "true"  # the third this year
    assert me not in shared.text
    log = api.services.audit.for_subject(me)
    assert [e["outcome"] for e in log if e["action"].startswith("report:")] == [
        "paid",
        "free",
        "free",
    ]


def test_no_one_else_downloads_a_subjects_report(api: Api, people: dict[str, str]) -> None:
    me = people["discredited"]
    other = api.key("subject", people["ordinary"])
    refused = api.client.get(f"/api/v1/subjects/{me}/report", headers=other)
    assert refused.status_code == 403
    party = api.key("relying_party", "transport.flight")
    assert api.client.get(f"/api/v1/subjects/{me}/report", headers=party).status_code == 403
    assert api.client.get(f"/api/v1/subjects/{me}/report").status_code == 401
    log = api.services.audit.for_subject(me)
    assert [e["outcome"] for e in log if e["action"] == "report"] == ["forbidden", "forbidden"]
    bad = api.client.get(f"/api/v1/subjects/{me}/report?format=doc", headers=other)
    assert bad.status_code == 422
    assert "format" in bad.json()["error"]["message"]
