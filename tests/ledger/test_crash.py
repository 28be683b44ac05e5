"""SIGKILL at random moments of an ingest: the ledger is at its old or new version, and
the same ingest run again ends with exactly one copy of every row."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc
import pytest

from socialcredit.ledger import RECORDS, SUBJECTS, Ledger, open_input, run_batch
from socialcredit.policy import PolicyCatalog
from tests.ledger.conftest import ingest, records_table, stored

KILLS = 12


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, generated: Path) -> Path:
    data = tmp_path_factory.mktemp("template") / "data"
    ledger, _ = Ledger.init(data)
    run_batch(ledger, SUBJECTS, [open_input(generated / "subjects.parquet")], catalog=None)
    return data


def _command(data: Path, records: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "socialcredit",
        "--data",
        str(data),
        "ingest",
        str(records),
        "--json",
    ]


def test_killed_ingests_leave_the_old_or_new_version_and_rerun_converges(
    template: Path, generated: Path, tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    records = generated / "records.parquet"
    expected = records_table(generated).num_rows
    # how long a whole ingest takes, start-up included, to spread the kills over it
    timing = tmp_path / "timing"
    shutil.copytree(template, timing)
    started = time.monotonic()
    subprocess.run(_command(timing, records), check=True, capture_output=True)
    duration = time.monotonic() - started
    rng = random.Random(20261128)
    outcomes = {"old": 0, "new": 0}
    for attempt in range(KILLS):
        data = tmp_path / f"kill-{attempt}"
        shutil.copytree(template, data)
        process = subprocess.Popen(
            _command(data, records), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.2, duration * 1.1))
        process.kill()
        process.wait()
        ledger = Ledger.open(data)
        version = ledger.version(RECORDS)
        rows = stored(ledger).num_rows
        assert (version, rows) in {(0, 0), (1, expected)}, (attempt, version, rows)
        outcomes["old" if version == 0 else "new"] += 1
        summary = ingest(ledger, shipped_catalog, records)
        table = stored(ledger)
        assert table.num_rows == expected
        assert pc.count_distinct(table.column("record_id")).as_py() == expected
        assert summary.accepted + summary.duplicates == expected
        assert not list((data / "quarantine").glob("*.tmp")), "interrupted quarantine left"
    # the kills landed on both sides of the commit at least once
    assert outcomes["old"] > 0, outcomes
