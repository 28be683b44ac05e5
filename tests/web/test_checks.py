"""Relying parties' checks: answers, scope, limits and errors."""

from __future__ import annotations

import json

from socialcredit.scoring import answers
from tests.scored import Scored
from tests.web.conftest import Api

FLIGHT = "transport.flight"


def test_a_discredited_person_is_denied_a_flight_with_the_records_behind_it(
    api: Api, people: dict[str, str], scored: Scored
) -> None:
    party = api.key("relying_party", FLIGHT)
    got = api.client.get(f"/api/v1/checks/{FLIGHT}/{people['discredited']}", headers=party)
    assert got.status_code == 200
    body = got.json()
    assert body["allowed"] is False
    assert "listed:discredited" in body["reasons"]
    assert body["records"]
    assert body["snapshot"] == scored.snapshot.id
    assert "score" not in body
    assert "grade" not in body
    assert body == answers.check(scored.snapshot, people["discredited"], FLIGHT)
    ordinary = api.client.get(f"/api/v1/checks/{FLIGHT}/{people['ordinary']}", headers=party)
    assert ordinary.json()["allowed"] is True


def test_a_lower_case_id_is_the_same_subject(api: Api, people: dict[str, str]) -> None:
    org = people["organisation"]
    party = api.key("relying_party", FLIGHT)
    got = api.client.get(f"/api/v1/checks/{FLIGHT}/{org.lower()}", headers=party)
    assert got.status_code == 200
    assert got.json()["subject_id"] == org


def test_batch_answers_equal_single_answers(api: Api, people: dict[str, str]) -> None:
    party = api.key("relying_party", FLIGHT)
    ids = list(people.values())
    got = api.client.post(
        "/api/v1/checks", json={"measure": FLIGHT, "subject_ids": ids}, headers=party
    )
    assert got.status_code == 200
    batch = got.json()
    for item in batch["answers"]:
        single = api.client.get(f"/api/v1/checks/{FLIGHT}/{item['subject_id']}", headers=party)
        assert item["found"]
        assert item["allowed"] == single.json()["allowed"]
        assert item["reasons"] == single.json()["reasons"]
        assert "score" not in item


def test_an_unregistered_valid_id_is_not_found(api: Api) -> None:
    party = api.key("relying_party", FLIGHT)
    unknown = "11010519491231002X"
    got = api.client.get(f"/api/v1/checks/{FLIGHT}/{unknown}", headers=party)
    assert got.status_code == 404
    assert got.json()["error"]["code"] == "not_found"
    batch = api.client.post(
        "/api/v1/checks", json={"measure": FLIGHT, "subject_ids": [unknown]}, headers=party
    )
    assert batch.json()["answers"] == [{"subject_id": unknown, "found": False}]


def test_bad_requests_get_a_4xx_naming_the_problem(api: Api, people: dict[str, str]) -> None:
    party = api.key("relying_party", FLIGHT)
    malformed = api.client.get(f"/api/v1/checks/{FLIGHT}/12345", headers=party)
    assert malformed.status_code == 422
    assert "subject_id" in malformed.json()["error"]["message"]
    unknown = api.client.get(f"/api/v1/checks/no.such/{people['ordinary']}", headers=party)
    assert unknown.status_code == 422
    assert "unknown measure" in unknown.json()["error"]["message"]
    bad_json = api.client.post(
        "/api/v1/checks",
        content=b'{"measure": ',
        headers={**party, "Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400
    assert "JSON" in bad_json.json()["error"]["message"]
    many = {"measure": FLIGHT, "subject_ids": [people["ordinary"]] * 10_001}
    over = api.client.post("/api/v1/checks", json=many, headers=party)
    assert over.status_code == 422
    assert "10000" in over.json()["error"]["message"].replace(",", "")
    bad_item = {"measure": FLIGHT, "subject_ids": [people["ordinary"], "nope"]}
    item = api.client.post("/api/v1/checks", json=bad_item, headers=party)
    assert item.status_code == 422
    assert "subject_ids[1]" in item.json()["error"]["message"]


def test_bodies_over_the_limit_are_refused(api: Api, people: dict[str, str]) -> None:
    party = api.key("relying_party", FLIGHT)
    limit = api.settings.max_body_bytes
    padded = json.dumps({"measure": FLIGHT, "subject_ids": [people["ordinary"]], "x": "a" * limit})
    got = api.client.post(
        "/api/v1/checks", content=padded, headers={**party, "Content-Type": "application/json"}
    )
    assert got.status_code == 413
    assert "limit" in got.json()["error"]["message"]

    def chunks() -> object:  # no Content-Length: counted while read
        yield b'{"measure": "transport.flight", "subject_ids": ["'
        for _ in range(limit // 65536 + 2):
            yield b"a" * 65536
        yield b'"]}'

    streamed = api.client.post(
        "/api/v1/checks", content=chunks(), headers={**party, "Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


def test_scope_and_roles(api: Api, people: dict[str, str]) -> None:
    url = f"/api/v1/checks/{FLIGHT}/{people['ordinary']}"
    assert api.client.get(url).status_code == 401
    rail_only = api.key("relying_party", "transport.high_speed_rail")
    refused = api.client.get(url, headers=rail_only)
    assert refused.status_code == 403
    assert "transport.high_speed_rail" in refused.json()["error"]["message"]
    subject = api.key("subject", people["ordinary"])
    assert api.client.get(url, headers=subject).status_code == 403
    assert api.client.get(url, headers=api.key("admin")).status_code == 200


def test_rate_limit_answers_429_with_retry_after(
    scored: Scored, tmp_path: object, people: dict[str, str]
) -> None:
    from pathlib import Path

    from fastapi.testclient import TestClient

    from socialcredit.web import create_app
    from socialcredit.web.app import build_services
    from tests.web.conftest import api_settings

    assert isinstance(tmp_path, Path)
    settings = api_settings(scored.data, tmp_path / "store.db", rate_limit=3)
    services = build_services(settings)
    with TestClient(create_app(settings, services)) as client:
        party = {"Authorization": f"Bearer {services.keys.create('relying_party', [FLIGHT])[1]}"}
        codes = [
            client.get(f"/api/v1/checks/{FLIGHT}/{people['ordinary']}", headers=party).status_code
            for _ in range(6)
        ]
        assert codes[:3] == [200, 200, 200]
        assert 429 in codes[3:]
        limited = client.get(f"/api/v1/checks/{FLIGHT}/{people['ordinary']}", headers=party)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1


def test_batch_answers_encode_as_their_items(scored: Scored, people: dict[str, str]) -> None:
    ids = [*people.values(), "11010519491231002X", people["ordinary"]]
    found = answers.check_many(scored.snapshot, ids, FLIGHT)
    assert json.loads(found.items_json()) == found.items()
    assert [item["found"] for item in found.items()] == [True, True, True, False, True]
    empty = answers.check_many(scored.snapshot, [], FLIGHT)
    assert json.loads(empty.items_json()) == empty.items() == []


def test_guessing_keys_is_slowed_down(api: Api, people: dict[str, str]) -> None:
    url = f"/api/v1/checks/{FLIGHT}/{people['ordinary']}"
    guesses = [
        api.client.get(url, headers={"Authorization": f"Bearer sck_{n:016x}_guess"}).status_code
        for n in range(40)
    ]
    assert guesses[0] == 401
    assert 429 in guesses


def test_a_refused_batch_is_in_the_audit_log(api: Api, people: dict[str, str]) -> None:
    rail_only = api.key("relying_party", "transport.high_speed_rail")
    body = {"measure": FLIGHT, "subject_ids": [people["ordinary"]]}
    assert api.client.post("/api/v1/checks", json=body, headers=rail_only).status_code == 403
    with api.services.database.reading() as connection:
        outcomes = connection.exec_driver_sql(
            "SELECT role, action, outcome FROM audit_log"
        ).fetchall()
    assert ("relying_party", f"check:{FLIGHT}", "forbidden") in [tuple(o) for o in outcomes]
