"""Public disclosure of the public lists: masking, paging by cursor, what is shown."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from socialcredit.ledger import Ledger
from socialcredit.ledger.ingest import CHINA_TIME
from socialcredit.policy import load_catalog, shipped_policy_dir
from socialcredit.scoring import disclosure
from socialcredit.scoring.disclosure import Cursor, mask_id, mask_name
from tests.scored import Scored
from tests.web.conftest import Api


def test_masks() -> None:
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_name("张三丰") == "张**"
    assert mask_name("李") == "李*"
    assert mask_name(None) is None


def test_the_discredited_list_pages_through_every_listed_subject(scored: Scored) -> None:
    """On the snapshot's own date every listed subject is on some page, once."""
    snapshot = scored.snapshot
    bit = 1 << snapshot.metadata["list_names"].index("discredited")
    listed_rows = np.flatnonzero(snapshot.array("lists") & bit)
    ids = snapshot.subject_table(["subject_id"]).column(0).to_pylist()
    expected = [ids[row] for row in listed_rows]
    ledger, catalog = Ledger.open(scored.data), load_catalog(shipped_policy_dir())
    as_of = dt.date.fromisoformat(snapshot.metadata["as_of"])
    seen, cursor, pages = [], None, 0
    while True:
        page = disclosure.page(ledger, catalog, snapshot, "discredited", cursor, 7, as_of)
        pages += 1
        assert page["total"] == len(expected)
        seen += page["entries"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == -(-len(expected) // 7)
    assert len(seen) == len(expected)
    for entry, full in zip(seen, expected, strict=True):
        if entry["kind"] == "person":
            assert entry["subject_id"] == mask_id(full)
            assert entry["name"] is None or entry["name"].endswith("*")
        else:
            assert entry["subject_id"] == full
        assert entry["records"], "a listed subject shows the records behind the listing"
        for record in entry["records"]:
            assert record["decision_ref"]
            assert record["authority"]
            assert record["published_until"] >= snapshot.metadata["as_of"]


def test_the_api_shows_only_what_is_still_published_today(api: Api, scored: Scored) -> None:
    today = dt.datetime.now(CHINA_TIME).date().isoformat()
    seen, cursor = [], None
    while True:
        url = "/api/v1/lists/discredited?limit=50" + (f"&cursor={cursor}" if cursor else "")
        page = api.client.get(url).json()  # no key: public
        seen += page["entries"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen, "the generator's population has debtors still published"
    for entry in seen:
        assert entry["records"]
        assert all(record["published_until"] >= today for record in entry["records"])
    # each read of the list is in the listed persons' access logs
    first = scored.snapshot.subject_table(["subject_id", "lists"])
    listed = [
        i
        for i, ls in zip(first.column(0).to_pylist(), first.column(1).to_pylist(), strict=True)
        if "discredited" in ls
    ]
    log = api.services.audit.for_subject(listed[0])
    assert any(e["action"] == "read:list:discredited" and e["role"] == "public" for e in log)


def test_bad_list_cursor_and_limit(api: Api, scored: Scored) -> None:
    assert api.client.get("/api/v1/lists/no-such-list").status_code == 404
    old = Cursor("000000-20200101T000000Z", 5).encode()
    stale = api.client.get(f"/api/v1/lists/discredited?cursor={old}")
    assert stale.status_code == 422
    assert "earlier snapshot" in stale.json()["error"]["message"]
    assert api.client.get("/api/v1/lists/discredited?cursor=%%%").status_code == 422
    assert api.client.get("/api/v1/lists/discredited?limit=1000").status_code == 422


def test_organisation_records_are_the_public_records_an_explanation_counts(
    scored: Scored,
) -> None:
    """Every organisation with a published record, once, with exactly the records of a
    public type that its explanation (read straight from the ledger) counts; persons
    never appear."""
    from socialcredit.scoring.explain import explain
    from socialcredit.scoring.policy_tables import compile_policy

    snapshot = scored.snapshot
    ledger, catalog = Ledger.open(scored.data), load_catalog(shipped_policy_dir())
    tables = compile_policy(catalog)
    as_of = dt.date.fromisoformat(snapshot.metadata["as_of"])
    assert disclosure.ORGANISATION_RECORDS in disclosure.public_lists(snapshot, catalog)
    seen, cursor = [], None
    while True:
        page = disclosure.page(
            ledger, catalog, snapshot, disclosure.ORGANISATION_RECORDS, cursor, 40, as_of
        )
        seen += page["entries"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) >= 10, "the generator's organisations have public records in force"
    assert {entry["kind"] for entry in seen} == {"organisation"}
    shown = {entry["subject_id"]: entry for entry in seen}
    assert len(shown) == len(seen)
    table = snapshot.subject_table(["subject_id", "kind", "region"])
    organisations = [
        (s, r)
        for s, k, r in zip(*(table.column(i).to_pylist() for i in range(3)), strict=True)
        if k == "organisation"
    ]
    unpublished = [(s, r) for s, r in organisations if s not in shown][:25]
    for subject_id, region in [(s, shown[s]["region"]) for s in list(shown)[:25]] + unpublished:
        rules = catalog.effective(region).record_types
        explained = explain(ledger, tables, snapshot, subject_id)
        expected = {
            r["record_id"]
            for r in explained["counted"]
            + [r for r in explained["not_counted"] if r["status"] == "under_objection"]
            if rules[r["record_type"]].public
        }
        got = {r["record_id"] for r in shown.get(subject_id, {"records": []})["records"]}
        assert got == expected, subject_id
        for record in shown.get(subject_id, {"records": []})["records"]:
            assert record["published_until"] >= as_of.isoformat()
            assert record["under_objection"] is False  # no casework yet


def test_organisation_records_leave_out_what_stopped_being_published(scored: Scored) -> None:
    snapshot = scored.snapshot
    ledger, catalog = Ledger.open(scored.data), load_catalog(shipped_policy_dir())
    as_of = dt.date.fromisoformat(snapshot.metadata["as_of"])
    name = disclosure.ORGANISATION_RECORDS
    first = disclosure.page(ledger, catalog, snapshot, name, None, 100, as_of)
    ends = sorted(r["published_until"] for e in first["entries"] for r in e["records"])
    later = dt.date.fromisoformat(ends[0]) + dt.timedelta(days=1)
    again = disclosure.page(ledger, catalog, snapshot, name, None, 100, later)
    remaining = [r for e in again["entries"] for r in e["records"]]
    assert len(remaining) < len(ends)
    assert all(r["published_until"] >= later.isoformat() for r in remaining)


def test_the_api_serves_organisation_records_unmasked(api: Api) -> None:
    page = api.client.get("/api/v1/lists/organisation_records?limit=5").json()
    assert page["list"] == "organisation_records"
    assert 0 < len(page["entries"]) <= 5
    for entry in page["entries"]:
        assert entry["kind"] == "organisation"
        assert "*" not in entry["subject_id"]
        assert entry["records"]
    missing = api.client.get("/api/v1/lists/nonsense")
    assert missing.status_code == 404
    assert "organisation_records" in missing.json()["error"]["message"]


def test_a_snapshot_made_before_published_records_has_no_such_list(
    scored: Scored, tmp_path: Path
) -> None:
    from socialcredit.errors import NotFoundError
    from socialcredit.scoring.snapshots import SnapshotStore

    data = scored.copy_to(tmp_path / "data")
    store = SnapshotStore.of(data)
    snapshot_id = store.current_id()
    assert snapshot_id is not None
    (store.open(snapshot_id).path / "published.parquet").unlink()
    older = store.open(snapshot_id)
    older.check()  # still a sound snapshot
    catalog = load_catalog(shipped_policy_dir())
    assert disclosure.ORGANISATION_RECORDS not in disclosure.public_lists(older, catalog)
    with pytest.raises(NotFoundError, match="organisation_records"):
        disclosure.page(
            Ledger.open(data), catalog, older, disclosure.ORGANISATION_RECORDS, None, 10
        )
