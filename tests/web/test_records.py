"""Agency ingestion through the API: JSON arrays and uploaded files, the same
validation and quarantine as the CLI, and the key's scope."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from socialcredit.web import create_app
from socialcredit.web.app import build_services
from tests.scored import Scored
from tests.web.conftest import Api, api_settings

COURT = "东城区人民法院"


@pytest.fixture
def writable(scored: Scored, tmp_path: Path) -> Iterator[Api]:
    """An API over a copy of the scored ledger (ingestion changes it)."""
    data = scored.copy_to(tmp_path / "data")
    settings = api_settings(data, tmp_path / "store.db", rate_limit=1_000_000)
    services = build_services(settings)
    with TestClient(create_app(settings, services)) as client:
        yield Api(client, services, settings)


def record(n: int, subject: str, **changes: Any) -> dict[str, Any]:
    row = {
        "record_id": f"api-test-{n:06d}",
        "subject_id": subject,
        "record_type": "traffic.violation",
        "occurred_on": "2026-05-01",
        "authority": COURT,
        "jurisdiction": "110101",
        "decision_ref": f"(2026)京0101行{n:06d}号",
    }
    return {**row, **changes}


def court_key(api: Api) -> dict[str, str]:
    return api.key("agency", f"authority:{COURT}", "region:110100")


def test_a_json_array_is_ingested_with_bad_rows_quarantined(
    writable: Api, people: dict[str, str]
) -> None:
    rows = [record(1, people["ordinary"]), record(2, people["ordinary"], occurred_on="tomorrow")]
    got = writable.client.post("/api/v1/records", json=rows, headers=court_key(writable))
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert body["errors"][0]["row"] == 2
    assert any("occurred_on" in reason for reason in body["errors"][0]["reasons"])
    again = writable.client.post("/api/v1/records", json=rows[:1], headers=court_key(writable))
    assert again.json()["duplicates"] == 1  # the same record_id: idempotent
    log = writable.services.audit.for_subject(people["ordinary"])
    outcomes = [entry["outcome"] for entry in log if entry["action"] == "record"]
    assert "started" in outcomes
    assert any(o.startswith("accepted 1, rejected 1") for o in outcomes)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_uploaded_files_are_ingested(writable: Api, people: dict[str, str], fmt: str) -> None:
    rows = [record(10 + i, people["ordinary"]) for i in range(3)]
    table = pa.Table.from_pylist(rows)
    buffer = io.BytesIO()
    if fmt == "csv":
        pacsv.write_csv(table, buffer)
    elif fmt == "parquet":
        pq.write_table(table, buffer)
    else:
        buffer.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())
    got = writable.client.post(
        "/api/v1/records",
        files={"file": (f"records.{fmt}", buffer.getvalue())},
        headers=court_key(writable),
    )
    assert got.status_code == 200, got.text
    assert got.json()["accepted"] == 3
    assert not list((writable.settings.data / "uploads").iterdir())  # nothing left behind


def test_an_agency_cannot_record_outside_its_jurisdiction(
    writable: Api, people: dict[str, str]
) -> None:
    before = writable.client.post(
        "/api/v1/records", json=[record(20, people["ordinary"])], headers=court_key(writable)
    )
    assert before.status_code == 200
    rows = [
        record(21, people["ordinary"]),
        record(22, people["ordinary"], jurisdiction="370102"),
        record(23, people["ordinary"], authority="another court"),
    ]
    got = writable.client.post("/api/v1/records", json=rows, headers=court_key(writable))
    assert got.status_code == 403
    error = got.json()["error"]
    assert "nothing was recorded" in error["message"]
    assert [r["row"] for r in error["detail"]["rows"]] == [2, 3]
    assert "jurisdiction" in error["detail"]["rows"][0]["reason"]
    # nothing of the refused request reached the ledger
    retry = writable.client.post("/api/v1/records", json=rows[:1], headers=court_key(writable))
    assert retry.json()["accepted"] == 1


def test_a_blank_or_padded_authority_is_outside_the_scope(
    writable: Api, people: dict[str, str]
) -> None:
    for authority in (" ", "\u3000", f" {COURT}"):
        rows = [record(40, people["ordinary"], authority=authority, jurisdiction="370102")]
        got = writable.client.post("/api/v1/records", json=rows, headers=court_key(writable))
        assert got.status_code == 403, authority


def test_odd_bodies_get_a_4xx_and_no_server_path(writable: Api, people: dict[str, str]) -> None:
    key = {**court_key(writable), "Content-Type": "application/json"}
    deep = writable.client.post("/api/v1/records", content=b"[" * 100_000, headers=key)
    assert deep.status_code == 400
    lone = writable.client.post(
        "/api/v1/records", content=b'[{"subject_id": "\\ud800"}]', headers=key
    )
    assert lone.status_code in (200, 403, 422)
    broken = writable.client.post(
        "/api/v1/records",
        files={"file": ("r.parquet", b"not parquet")},
        headers=court_key(writable),
    )
    assert broken.status_code == 422
    assert "uploads" not in broken.text
    assert str(writable.settings.data) not in broken.text


def test_only_agencies_record_and_bad_bodies_are_refused(
    writable: Api, people: dict[str, str]
) -> None:
    rows = [record(30, people["ordinary"])]
    admin = writable.client.post("/api/v1/records", json=rows, headers=writable.key("admin"))
    assert admin.status_code == 403
    key = court_key(writable)
    not_array = writable.client.post("/api/v1/records", json={"a": 1}, headers=key)
    assert not_array.status_code == 422
    bad = writable.client.post(
        "/api/v1/records", content=b"[{", headers={**key, "Content-Type": "application/json"}
    )
    assert bad.status_code == 400
    odd = writable.client.post(
        "/api/v1/records", files={"file": ("records.xlsx", b"x")}, headers=key
    )
    assert odd.status_code == 422
    assert "format" in odd.json()["error"]["message"]
