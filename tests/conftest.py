from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialcredit.policy import PolicyCatalog, load_catalog, shipped_policy_dir


@pytest.fixture(scope="session")
def shipped_catalog() -> PolicyCatalog:
    return load_catalog(shipped_policy_dir())


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
