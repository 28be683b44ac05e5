from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialcredit.policy import PolicyCatalog, load_catalog, shipped_policy_dir
from socialcredit.simulate import GenerateOptions, generate
from tests.populations import population
from tests.scored import scored
from tests.stores import postgres_server, store_url

# session fixtures shared by several test packages
__all__ = ["population", "postgres_server", "scored", "store_url"]


@pytest.fixture(scope="session")
def shipped_catalog() -> PolicyCatalog:
    return load_catalog(shipped_policy_dir())


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory, shipped_catalog: PolicyCatalog) -> Path:
    """5,000 people, their organisations and records (read-only: copy before changing)."""
    out = tmp_path_factory.mktemp("generated")
    generate(
        GenerateOptions(people=5000, seed=8, out=out, as_of=dt.date(2026, 6, 30)), shipped_catalog
    )
    return out
