"""The generator's 200,000-person population, shared by the test packages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from socialcredit.policy import PolicyCatalog
from socialcredit.simulate import GenerateOptions, GenerateSummary, generate

AS_OF = dt.date(2026, 6, 30)


class Generated:
    def __init__(self, out: Path, summary: GenerateSummary) -> None:
        self.out = out
        self.summary = summary
        self.subjects: pa.Table = pq.read_table(out / "subjects.parquet")
        self.records: pa.Table = pq.read_table(out / "records.parquet")


@pytest.fixture(scope="session")
def population(
    tmp_path_factory: pytest.TempPathFactory, shipped_catalog: PolicyCatalog
) -> Generated:
    """200,000 people with their organisations and records, generated once per session
    (shared by the simulation and scoring tests; read-only)."""
    out = tmp_path_factory.mktemp("population")
    summary = generate(
        GenerateOptions(people=200_000, seed=2019, out=out, as_of=AS_OF), shipped_catalog
    )
    return Generated(out, summary)
