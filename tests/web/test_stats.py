"""The national picture over the API: public, the snapshot in service."""

from __future__ import annotations

from tests.scored import Scored
from tests.web.conftest import Api


def test_the_api_serves_the_picture_to_anyone(api: Api, scored: Scored) -> None:
    answer = api.client.get("/api/v1/stats")  # no key
    assert answer.status_code == 200
    assert answer.json()["snapshot"] == scored.snapshot.id
    assert answer.json() == api.client.get("/api/v1/stats").json()
