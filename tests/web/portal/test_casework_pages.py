"""The portal's casework forms through the in-process client, on a small ledger of
their own (casework writes to the store and, when decided, to the ledger): an objection
and a repair opened from my credit, /me then listing the case with its deadline and
marking the record; refusals shown on the form in their status; forged tokens and
missing sessions refused."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from socialcredit.casework import china_today
from socialcredit.policy import PolicyCatalog
from socialcredit.scoring.policy_tables import add_months
from socialcredit.web import create_app
from socialcredit.web.app import build_services
from tests.scoring.factories import LedgerBook
from tests.web.conftest import Api, api_settings
from tests.web.portal.test_pages import sign_in

COURT = "court.judgment_default"  # 15 days to decide; repair after 12 months
GROUNDS = "The judgment was performed in full on 2026-05-20; the court's receipt is attached."


@dataclass
class Small:
    api: Api
    person: str
    other: str
    recent: str  # a month old: too early for repair
    recent_on: dt.date
    old: str  # over a year old: repair possible

    def sign_in(self, subject_id: str) -> None:
        token = self.api.services.keys.create("subject", [subject_id])[1]
        assert sign_in(self.api, token) == 303

    def open_cases(self, subject_id: str | None = None) -> list[dict[str, object]]:
        found = self.api.services.cases.open_cases_of(subject_id or self.person)
        return [case.as_dict() for case in found]


@pytest.fixture
def small(tmp_path: Path, shipped_catalog: PolicyCatalog) -> Iterator[Small]:
    today = dt.date.today()
    book = LedgerBook(tmp_path / "data", shipped_catalog)
    person, other = book.person(), book.person()
    recent_on = today - dt.timedelta(days=30)
    recent = book.record(person, COURT, recent_on)
    old = book.record(person, COURT, today - dt.timedelta(days=400))
    book.record(other, "honours.commendation", recent_on)
    book.score(today)
    settings = api_settings(book.data, tmp_path / "store.db", rate_limit=1_000_000)
    services = build_services(settings)
    with TestClient(create_app(settings, services)) as client:
        yield Small(Api(client, services, settings), person, other, recent, recent_on, old)
    services.database.dispose()


def _csrf(text: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', text)
    assert found is not None
    return found.group(1)


def _row(text: str, record_id: str) -> str:
    found = re.search(rf'<tr data-record="{record_id}">(.*?)</tr>', text, re.S)
    assert found is not None, record_id
    return found.group(1)


def test_an_objection_from_my_credit_is_listed_with_its_deadline(small: Small) -> None:
    client = small.api.client
    small.sign_in(small.person)
    me = client.get("/me")
    assert 'id="no-cases"' in me.text
    row = _row(me.text, small.recent)
    assert f'href="/me/objection?record_id={small.recent}"' in row
    assert f'href="/me/repair?record_id={small.recent}"' in row

    form = client.get(f"/me/objection?record_id={small.recent}")
    assert form.status_code == 200
    assert form.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in form.headers["content-security-policy"]
    assert f'<option value="{small.recent}" selected>' in form.text
    for field in ("record_id", "grounds"):
        assert f'<label for="{field}">' in form.text
        assert f'id="{field}"' in form.text
    answer = client.post(
        "/me/objection",
        data={"csrf": _csrf(form.text), "record_id": small.recent, "grounds": GROUNDS},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    [case] = small.open_cases()
    assert answer.headers["location"] == f"/me?case={case['case_id']}"
    assert case["kind"] == "objection"
    assert case["record_id"] == small.recent
    deadline = (china_today() + dt.timedelta(days=15)).isoformat()  # court list: 15 days
    assert case["deadline"] == deadline
    assert case["opened_by"] != f"portal:{small.person}"  # the session's key

    me = client.get(answer.headers["location"])
    assert me.status_code == 200
    assert me.headers["cache-control"] == "no-store"
    notice = re.search(r'<p id="opened"[^>]*>(.*?)</p>', me.text, re.S)
    assert notice is not None
    assert str(case["case_id"]) in notice.group(1)
    assert deadline in notice.group(1)
    listed = re.search(rf'<tr data-case="{case["case_id"]}"[^>]*>(.*?)</tr>', me.text, re.S)
    assert listed is not None
    assert small.recent in listed.group(1)
    assert deadline in listed.group(1)
    assert "异议" in listed.group(1)
    assert "办理中" in listed.group(1)
    row = _row(me.text, small.recent)
    assert "异议中" in row
    assert f'data-case="{case["case_id"]}"' in row
    assert deadline in row
    assert "/me/objection?" not in row  # objected already
    assert "/me/objection?" in _row(me.text, small.old)
    log = small.api.services.audit.for_subject(small.person)
    assert f"objection:{case['case_id']}" in {e["action"] for e in log}

    english = client.get("/me?lang=en")
    assert "My open cases" in english.text
    assert "under objection" in english.text
    again = client.post(
        "/me/objection",
        data={"csrf": _csrf(me.text), "record_id": small.recent, "grounds": "Other grounds."},
    )
    assert again.status_code == 409  # one open objection a record
    assert 'role="alert"' in again.text
    assert f"case {case['case_id']}" in again.text
    assert "Other grounds." in again.text  # the form keeps what was written
    assert len(small.open_cases()) == 1


def test_a_repair_too_early_shows_when_it_becomes_possible(small: Small) -> None:
    client = small.api.client
    small.sign_in(small.person)
    form = client.get(f"/me/repair?record_id={small.recent}")
    assert form.status_code == 200
    assert form.headers["cache-control"] == "no-store"
    for field in ("record_id", "evidence_kind", "evidence"):
        assert f'<label for="{field}">' in form.text
        assert f'id="{field}"' in form.text
    evidence = "Fine paid on 2026-07-01, receipt 0042."
    data = {"csrf": _csrf(form.text), "evidence_kind": "penalty_paid", "evidence": evidence}
    early = client.post("/me/repair", data={**data, "record_id": small.recent})
    assert early.status_code == 422
    assert early.headers["cache-control"] == "no-store"
    possible = add_months(small.recent_on, 12).isoformat()
    assert f'<time id="possible-from" datetime="{possible}">{possible}</time>' in early.text
    assert html.escape(evidence) in early.text
    assert small.open_cases() == []

    wrong = client.post("/me/repair", data={**data, "record_id": small.old, "evidence_kind": "x"})
    assert wrong.status_code == 422
    assert "evidence_kind" in wrong.text

    granted = client.post(
        "/me/repair", data={**data, "record_id": small.old}, follow_redirects=False
    )
    assert granted.status_code == 303, granted.text
    [case] = small.open_cases()
    assert case["kind"] == "repair"
    assert case["evidence_kind"] == "penalty_paid"
    me = client.get(granted.headers["location"] + "&lang=en")
    listed = re.search(rf'<tr data-case="{case["case_id"]}"[^>]*>(.*?)</tr>', me.text, re.S)
    assert listed is not None
    assert "Credit repair" in listed.group(1)
    assert str(case["deadline"]) in listed.group(1)
    assert "under objection" not in _row(me.text, small.old)  # a repair freezes nothing


def test_forged_tokens_are_refused(small: Small) -> None:
    client = small.api.client
    small.sign_in(small.person)
    objection = {"csrf": "forged", "record_id": small.recent, "grounds": GROUNDS}
    assert client.post("/me/objection", data=objection).status_code == 403
    assert client.post("/me/objection", data={**objection, "csrf": ""}).status_code == 403
    repair = {"csrf": "forged", "record_id": small.old, "evidence_kind": "penalty_paid"}
    assert client.post("/me/repair", data={**repair, "evidence": "paid"}).status_code == 403
    assert client.post("/me/objection", data={**objection, "csrf": "é"}).status_code == 403
    assert small.open_cases() == []


def test_the_forms_need_a_session_and_ones_own_record(small: Small) -> None:
    client = small.api.client
    for path in ("/me/objection", "/me/repair"):
        answer = client.get(f"{path}?record_id={small.recent}", follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/signin")
        posted = client.post(
            path,
            data={"csrf": "x", "record_id": small.recent, "grounds": GROUNDS},
            follow_redirects=False,
        )
        assert (posted.status_code, posted.headers["location"]) == (303, "/signin")
    small.sign_in(small.other)  # someone else's record: as if there were none
    form = client.get(f"/me/objection?record_id={small.recent}")
    assert small.recent not in form.text
    answer = client.post(
        "/me/objection",
        data={"csrf": _csrf(form.text), "record_id": small.recent, "grounds": GROUNDS},
    )
    assert answer.status_code == 404
    assert f"no record {small.recent} of yours" in answer.text
    assert small.open_cases() == []
    assert small.open_cases(small.other) == []
