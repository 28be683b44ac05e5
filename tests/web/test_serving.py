"""Health, readiness, metrics, the OpenAPI document and live snapshot pick-up."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from fastapi.testclient import TestClient

from socialcredit.policy import PolicyCatalog
from socialcredit.scoring.run import ScoreRequest, run_scoring
from socialcredit.web import create_app
from socialcredit.web.app import build_services
from tests.scored import AS_OF, Scored
from tests.web.conftest import Api, api_settings

OPERATIONS = {
    "check_subject",
    "check_batch",
    "get_subject",
    "get_subject_records",
    "get_subject_access_log",
    "get_subject_report",
    "post_records",
    "post_objection",
    "list_objections",
    "get_objection",
    "decide_objection",
    "appeal_objection",
    "post_repair",
    "list_repairs",
    "get_repair",
    "decide_repair",
    "get_public_list",
    "get_national_picture",
    "healthz",
    "readyz",
    "metrics",
}


def test_health_ready_and_metrics(api: Api, scored: Scored, people: dict[str, str]) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/api/v1/readyz").json()
    assert ready == {"status": "ready", "snapshot": scored.snapshot.id}
    api.client.get(f"/api/v1/checks/transport.flight/{people['ordinary']}")  # 401
    text = api.client.get("/metrics").text
    assert (
        'socialcredit_requests_total{route="/api/v1/checks/{measure}/{subject_id}",'
        'method="GET",status="401"} 1'
    ) in text
    assert f'socialcredit_snapshot_loaded{{snapshot="{scored.snapshot.id}"}} 1' in text
    assert "socialcredit_request_seconds_bucket" in text


def test_not_ready_without_a_snapshot(tmp_path: Path) -> None:
    settings = api_settings(tmp_path / "empty", tmp_path / "store.db")
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 503
        key = {"Authorization": "Bearer sck_0000000000000000_x"}
        assert (
            client.get(
                "/api/v1/checks/transport.flight/11010519491231002X", headers=key
            ).status_code
            == 401
        )


def test_openapi_has_stable_ids_examples_and_error_answers(api: Api) -> None:
    document = api.client.get("/api/v1/openapi.json").json()
    operations = {
        op["operationId"]: op for path in document["paths"].values() for op in path.values()
    }
    assert set(operations) == OPERATIONS
    schemas = document["components"]["schemas"]
    for name, op in operations.items():
        answers = op["responses"]
        if name not in ("healthz", "metrics"):
            assert any(code.startswith("4") or code == "503" for code in answers), name
        for code, answer in answers.items():
            if (code.startswith(("4", "5")) and code != "422") or code == "422":
                content = answer.get("content", {}).get("application/json", {})
                ref = content.get("schema", {}).get("$ref", "")
                assert ref.endswith("/ErrorBody"), (name, code)
        ok = (answers.get("200") or answers["201"])["content"]
        media = next(iter(ok.values()))
        ref = media.get("schema", {}).get("$ref", "")
        has_example = "example" in media or (ref and "example" in schemas[ref.rsplit("/", 1)[1]])
        assert has_example, name


def test_a_new_snapshot_is_served_without_a_restart(
    scored: Scored, tmp_path: Path, shipped_catalog: PolicyCatalog, people: dict[str, str]
) -> None:
    data = scored.copy_to(tmp_path / "data")
    settings = api_settings(data, tmp_path / "store.db")
    services = build_services(settings)
    with TestClient(create_app(settings, services)) as client:
        first = client.get("/readyz").json()["snapshot"]
        old = services.snapshots.require()  # as a request in flight holds it
        request = ScoreRequest(AS_OF, dt.datetime.now(dt.UTC), retention=1)
        published = run_scoring(data, shipped_catalog, request).snapshot.id
        deadline = time.monotonic() + 10
        while client.get("/readyz").json()["snapshot"] != published:
            assert time.monotonic() < deadline, "the new snapshot was not picked up"
            time.sleep(0.05)
        assert published != first
        token = services.keys.create("relying_party", ["transport.flight"])[1]
        party = {"Authorization": f"Bearer {token}"}
        got = client.get(f"/api/v1/checks/transport.flight/{people['ordinary']}", headers=party)
        assert got.json()["snapshot"] == published
        # the retired snapshot (retention 1: removed) still answers what was in flight
        assert int(old.locate([people["ordinary"]])[0]) >= 0
        assert old.decision(int(old.array("combo")[0]), "transport.flight") is not None
