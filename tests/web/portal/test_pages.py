"""The portal's pages through the in-process client: sign-in with CSRF and secure
cookies, my credit, the report, the language switch, nothing from the network."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from socialcredit.policy import PolicyCatalog
from socialcredit.web.portal.session import COOKIE
from tests.web.conftest import Api


def sign_in(api: Api, token: str) -> int:
    form = api.client.get("/signin")
    found = re.search(
        r'action="/signin">\s*<input type="hidden" name="csrf" value="([^"]+)"', form.text
    )
    assert found is not None
    answer = api.client.post(
        "/signin", data={"key": token, "csrf": found.group(1)}, follow_redirects=False
    )
    status: int = answer.status_code
    return status


def test_the_home_page_needs_nothing_from_the_network(api: Api) -> None:
    home = api.client.get("/")
    assert home.status_code == 200
    assert '<html lang="zh-CN">' in home.text
    assert "script-src 'self'" in home.headers["content-security-policy"]
    for asset in re.findall(r'(?:src|href)="([^"]+)"', home.text):
        assert asset.startswith(("/", "?", "#")), asset  # no CDN
        if asset.startswith("/static/"):
            assert api.client.get(asset).status_code == 200, asset
    english = api.client.get("/?lang=en")
    assert '<html lang="en">' in english.text
    assert "National picture" in english.text
    assert "National picture" in api.client.get("/").text  # the choice is kept


def test_sign_in_my_credit_and_the_report(api: Api, people: dict[str, str]) -> None:
    me = people["discredited"]
    assert api.client.get("/me", follow_redirects=False).headers["location"] == "/signin"
    assert sign_in(api, "sck_0000000000000000_wrong") == 401
    token = api.services.keys.create("subject", [me])[1]
    assert sign_in(api, token) == 303
    cookie = next(c for c in api.client.cookies.jar if c.name == COOKIE)
    assert cookie.has_nonstandard_attr("HttpOnly")
    page = api.client.get("/me")
    assert page.status_code == 200
    assert 'data-measure="transport.flight"' in page.text
    records = re.findall(r'data-record="([^"]+)"', page.text)
    listed = [record for name, record in _listed(api, me) if name == "discredited"]
    assert listed
    assert set(listed) <= set(records)
    assert page.headers["cache-control"] == "no-store"
    assert api.client.get("/me/report").status_code == 405  # a GET takes no report
    assert api.client.post("/me/report", data={"csrf": "forged"}).status_code == 403
    csrf = re.search(
        r'action="/me/report">\s*<input type="hidden" name="csrf" value="([^"]+)"', page.text
    )
    assert csrf is not None
    report = api.client.post("/me/report", data={"csrf": csrf.group(1)})
    assert report.status_code == 200
    assert report.content.startswith(b"%PDF-")
    assert report.headers["cache-control"] == "no-store"
    log = api.services.audit.for_subject(me)
    assert {"read:records"} <= {e["action"] for e in log}
    assert any(e["action"].startswith("report:") for e in log)


def test_forms_without_their_token_are_refused(api: Api, people: dict[str, str]) -> None:
    token = api.services.keys.create("subject", [people["ordinary"]])[1]
    api.client.get("/signin")
    assert api.client.post("/signin", data={"key": token, "csrf": "forged"}).status_code == 403
    assert sign_in(api, token) == 303
    assert api.client.post("/signout", data={"csrf": "forged"}).status_code == 403
    page = api.client.get("/me")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    copy = api.client.cookies.get(COOKIE)
    out = api.client.post("/signout", data={"csrf": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303
    assert api.client.get("/me", follow_redirects=False).status_code == 303
    assert copy
    api.client.cookies.set(COOKIE, copy)  # a copy of the cookie taken before signing out
    assert api.client.get("/me", follow_redirects=False).status_code == 303


def test_a_revoked_key_ends_its_session_and_other_roles_cannot_sign_in(
    api: Api, people: dict[str, str]
) -> None:
    key, token = api.services.keys.create("subject", [people["ordinary"]])
    assert sign_in(api, token) == 303
    api.services.keys.revoke(key.key_id)
    api.services.keys._cache.clear()  # the 2 s key cache, not waited for here
    assert api.client.get("/me", follow_redirects=False).status_code == 303
    party = api.services.keys.create("relying_party", ["transport.flight"])[1]
    assert sign_in(api, party) == 401


def test_a_tampered_session_is_no_session(api: Api, people: dict[str, str]) -> None:
    token = api.services.keys.create("subject", [people["ordinary"]])[1]
    assert sign_in(api, token) == 303
    value = api.client.cookies.get(COOKIE)
    assert value
    api.client.cookies.set(COOKIE, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert api.client.get("/me", follow_redirects=False).status_code == 303


def _listed(api: Api, subject_id: str) -> list[tuple[str, str]]:
    snapshot = api.services.snapshots.require()
    row = int(snapshot.locate([subject_id])[0])
    return snapshot.listed_records(row)


def test_odd_tokens_and_cookies_are_refused_not_crashed_on(
    api: Api, people: dict[str, str]
) -> None:
    api.client.get("/signin")
    assert api.client.post("/signin", data={"key": "x", "csrf": "é"}).status_code == 403
    api.client.cookies.clear()
    odd = {"cookie": f"{COOKIE}=abc.é".encode()}  # as a browser may send it: raw UTF-8
    assert api.client.get("/", headers=odd).status_code == 200
    assert api.client.get("/me", headers=odd, follow_redirects=False).status_code == 303


def test_a_subject_missing_from_the_snapshot_gets_a_page_saying_so(api: Api) -> None:
    token = api.services.keys.create("subject", ["11010519491231002X"])[1]
    assert sign_in(api, token) == 303
    page = api.client.get("/me")
    assert page.status_code == 404
    assert "no subject 11010519491231002X" in page.text
    assert page.headers["content-type"].startswith("text/html")


def _organisation(api: Api) -> tuple[str, str]:
    from socialcredit.ledger import Ledger
    from socialcredit.scoring.directory import Directory

    snapshot = api.services.snapshots.require()
    directory = Directory.of(Ledger.open(api.settings.data), snapshot)
    return str(directory.codes[3]), str(directory.names[3])


def test_the_platform_finds_organisations_by_code_and_by_name(api: Api) -> None:
    code, name = _organisation(api)
    by_code = api.client.get("/platform", params={"q": code.lower()})
    assert by_code.status_code == 200
    assert re.findall(r'data-code="([^"]+)"', by_code.text) == [code]
    assert name in by_code.text
    part = name[2:5]
    by_name = api.client.get("/platform", params={"q": part})
    codes = re.findall(r'data-code="([^"]+)"', by_name.text)
    assert code in codes
    assert all(c.startswith(("9", "1", "5", "Y")) or len(c) == 18 for c in codes)
    nobody = api.client.get("/platform", params={"q": "11010519491231002X"})  # a person's
    assert 'id="no-results"' in nobody.text
    log = api.services.audit.for_subject(code)
    assert any(e["action"] == "read:platform" for e in log)


def test_others_get_a_daily_quota_of_searches(api: Api) -> None:
    code, _ = _organisation(api)
    lefts = []
    for _ in range(10):
        answer = api.client.get("/platform", params={"q": code})
        assert answer.status_code == 200
        found = re.search(r'id="left">(\d+)<', answer.text)
        assert found is not None
        lefts.append(int(found.group(1)))
    assert lefts == list(range(9, -1, -1))
    refused = api.client.get("/platform", params={"q": code})
    assert refused.status_code == 429
    assert "used up" in refused.text or "用完" in refused.text
    assert api.client.get("/platform").status_code == 200  # the form alone costs nothing


def test_role_models_search_without_limit(tmp_path: Path, shipped_catalog: PolicyCatalog) -> None:
    from fastapi.testclient import TestClient

    from socialcredit.web import create_app
    from socialcredit.web.app import build_services
    from tests.scoring.factories import LedgerBook
    from tests.web.conftest import api_settings

    book = LedgerBook(tmp_path / "data", shipped_catalog)
    model = book.person()
    firm = book.organisation()
    for month in range(1, 6):
        book.record(model, "honours.commendation", f"2026-0{month}-01")
    book.record(firm, "environment.illegal_discharge", "2026-03-01")
    book.score(dt.date(2026, 6, 30))
    settings = api_settings(book.data, tmp_path / "store.db", rate_limit=1_000_000)
    services = build_services(settings)
    with TestClient(create_app(settings, services)) as client:
        api = Api(client, services, settings)
        assert sign_in(api, services.keys.create("subject", [model])[1]) == 303
        for _ in range(12):  # past the others' 10
            answer = client.get("/platform", params={"q": firm})
            assert answer.status_code == 200
            assert 'id="left"' not in answer.text
            assert re.findall(r'data-code="([^"]+)"', answer.text) == [firm]
    services.database.dispose()


def test_the_discredited_list_pages_with_persons_masked(api: Api) -> None:
    first = api.client.get("/platform/list")
    assert first.status_code == 200
    kinds = re.findall(r'data-kind="([^"]+)"', first.text)
    assert 0 < len(kinds) <= 25  # those listed only by records no longer published are left out
    codes = re.findall(r'<tr data-kind="person"><td>[^<]*</td><td>([^<]+)</td>', first.text)
    assert codes
    assert all("*" in code for code in codes)
    following = re.search(r'id="next" href="([^"]+)"', first.text)
    assert following is not None
    second = api.client.get(following.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    assert re.findall(r'data-kind="([^"]+)"', second.text)
