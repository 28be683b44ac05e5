"""The generator's 5,000 people in a scored ledger, shared by the scoring and CLI tests."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from socialcredit.ledger import RECORDS, SUBJECTS, Ledger, open_input, run_batch
from socialcredit.policy import PolicyCatalog
from socialcredit.scoring.run import ScoreRequest, run_scoring
from socialcredit.scoring.snapshots import Snapshot

AS_OF = dt.date(2026, 6, 30)


@dataclass(frozen=True)
class Scored:
    """A ledger of the generator's 5,000 people, scored once (read-only: copy the data
    dir with ``copy_to`` before changing it)."""

    data: Path
    snapshot: Snapshot

    def copy_to(self, target: Path) -> Path:
        shutil.copytree(self.data, target)
        return target


@pytest.fixture(scope="session")
def scored(
    tmp_path_factory: pytest.TempPathFactory, generated: Path, shipped_catalog: PolicyCatalog
) -> Scored:
    data = tmp_path_factory.mktemp("scored") / "data"
    ledger = Ledger.init(data)[0]
    run_batch(ledger, SUBJECTS, [open_input(generated / "subjects.parquet")], catalog=None)
    run_batch(ledger, RECORDS, [open_input(generated / "records.parquet")], catalog=shipped_catalog)
    request = ScoreRequest(AS_OF, dt.datetime.now(dt.UTC))
    return Scored(data, run_scoring(data, shipped_catalog, request).snapshot)
