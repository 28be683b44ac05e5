"""Public disclosure of the public lists: masking, paging by cursor, what is shown."""

from __future__ import annotations

import numpy as np

from socialcredit.scoring.disclosure import Cursor, mask_id, mask_name
from tests.scored import Scored
from tests.web.conftest import Api


def test_masks() -> None:
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_name("张三丰") == "张**"
    assert mask_name("李") == "李*"
    assert mask_name(None) is None


def test_the_discredited_list_pages_through_every_listed_subject(api: Api, scored: Scored) -> None:
    snapshot = scored.snapshot
    bit = 1 << snapshot.metadata["list_names"].index("discredited")
    listed_rows = np.flatnonzero(snapshot.array("lists") & bit)
    ids = snapshot.subject_table(["subject_id"]).column(0).to_pylist()
    expected = [ids[row] for row in listed_rows]
    seen, cursor, pages = [], None, 0
    while True:
        url = "/api/v1/lists/discredited?limit=7" + (f"&cursor={cursor}" if cursor else "")
        page = api.client.get(url).json()  # no key: public
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
    # each read of the list is in the listed persons' access logs
    log = api.services.audit.for_subject(expected[0])
    assert any(e["action"] == "read:list:discredited" and e["role"] == "public" for e in log)


def test_bad_list_cursor_and_limit(api: Api, scored: Scored) -> None:
    assert api.client.get("/api/v1/lists/no-such-list").status_code == 404
    old = Cursor("000000-20200101T000000Z", 5).encode()
    stale = api.client.get(f"/api/v1/lists/discredited?cursor={old}")
    assert stale.status_code == 422
    assert "earlier snapshot" in stale.json()["error"]["message"]
    assert api.client.get("/api/v1/lists/discredited?cursor=%%%").status_code == 422
    assert api.client.get("/api/v1/lists/discredited?limit=1000").status_code == 422
