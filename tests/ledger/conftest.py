from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from socialcredit.ledger import RECORDS, SUBJECTS, IngestSummary, Ledger, open_input, run_batch
from socialcredit.policy import PolicyCatalog


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.init(tmp_path / "data")[0]


@pytest.fixture
def registered(ledger: Ledger, generated: Path) -> Ledger:
    """A ledger whose registry holds the generated subjects."""
    summary = run_batch(
        ledger, SUBJECTS, [open_input(generated / "subjects.parquet")], catalog=None
    )
    assert summary.rejected == 0
    return ledger


def ingest(
    ledger: Ledger, catalog: PolicyCatalog, *paths: Path, **options: object
) -> IngestSummary:
    return run_batch(
        ledger,
        RECORDS,
        [open_input(p) for p in paths],
        catalog=catalog,
        **options,  # type: ignore[arg-type]
    )


def stored(ledger: Ledger, layout_name: str = "records") -> pa.Table:
    layout = RECORDS if layout_name == "records" else SUBJECTS
    return ledger.table(layout).to_pyarrow_table()


def records_table(generated: Path) -> pa.Table:
    return pq.read_table(generated / "records.parquet")


def copy(generated: Path, tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copy(generated / name, target)
    return target
