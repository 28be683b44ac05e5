"""Public disclosure of the public lists: masking, paging by cursor, what is shown."""

from __future__ import annotations

import datetime as dt

import numpy as np

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
