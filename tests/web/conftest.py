"""An API over the scored 5,000-person ledger, with its own store per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from socialcredit.settings import Settings, load_settings
from socialcredit.web import create_app
from socialcredit.web.app import build_services
from socialcredit.web.deps import Services
from tests.scored import Scored


@dataclass
class Api:
    """A running app (lifespan started) and ways to make keys for it."""

    client: TestClient
    services: Services
    settings: Settings

    def key(self, role: str, *scope: str) -> dict[str, str]:
        """The Authorization header of a new key."""
        return {"Authorization": f"Bearer {self.services.keys.create(role, scope)[1]}"}


def api_settings(data: Path, store: Path, **overrides: object) -> Settings:
    return load_settings(
        data=data, database_url=f"sqlite:///{store}", snapshot_poll_seconds=0.05, **overrides
    )


@pytest.fixture
def api(scored: Scored, tmp_path: Path) -> Iterator[Api]:
    settings = api_settings(scored.data, tmp_path / "store.db", rate_limit=1_000_000)
    services = build_services(settings)
    with TestClient(create_app(settings, services)) as client:
        yield Api(client, services, settings)
    services.database.dispose()


@pytest.fixture(scope="session")
def people(scored: Scored) -> dict[str, str]:
    """Sample subject ids: a discredited person, an ordinary one, an organisation."""
    snapshot = scored.snapshot
    table = snapshot.subject_table(["subject_id", "kind", "lists"])
    ids = table.column("subject_id").to_pylist()
    kinds = table.column("kind").to_pylist()
    lists = table.column("lists").to_pylist()
    discredited = next(i for i, ls in zip(ids, lists, strict=True) if "discredited" in (ls or []))
    ordinary = next(
        i for i, k, ls in zip(ids, kinds, lists, strict=True) if k == "person" and not ls
    )
    organisation = next(i for i, k in zip(ids, kinds, strict=True) if k == "organisation")
    assert isinstance(table, pa.Table)
    return {"discredited": discredited, "ordinary": ordinary, "organisation": organisation}
