"""SIGKILL at random moments of an ingest: the ledger is at its old or new version, and
the same ingest run again ends with exactly one copy of every row (and, with
``--register-unknown``, one registry row per subject of the records)."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc
import pytest

from socialcredit.ledger import RECORDS, SUBJECTS, Layout, Ledger, open_input, run_batch
from socialcredit.policy import PolicyCatalog
from tests.ledger.conftest import ingest, records_table, stored

KILLS = 12
#: --register-unknown: kills at any moment of the run, then after the records commit
KILLS_ANYWHERE = 4
KILLS_AFTER_RECORDS = 3
#: what a --register-unknown kill waits for in the killed run itself before its delay
ANYWHERE, RECORDS_COMMITTED, SUBJECTS_WRITTEN = "anywhere", "records committed", "subjects written"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, generated: Path) -> Path:
    data = tmp_path_factory.mktemp("template") / "data"
    ledger, _ = Ledger.init(data)
    run_batch(ledger, SUBJECTS, [open_input(generated / "subjects.parquet")], catalog=None)
    return data


@pytest.fixture(scope="module")
def empty_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger whose subject registry is empty: every record's subject is unknown."""
    data = tmp_path_factory.mktemp("empty-template") / "data"
    Ledger.init(data)
    return data


def _command(data: Path, records: Path, *options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "socialcredit",
        "--data",
        str(data),
        "ingest",
        str(records),
        *options,
        "--json",
    ]


def _first_commit(data: Path, layout: Layout) -> Path:
    """The log entry of the table's version 1 (it exists once that commit is done)."""
    return Ledger(data).table_path(layout) / "_delta_log" / f"{1:020d}.json"


def _reached(data: Path, trigger: str) -> bool:
    if trigger == RECORDS_COMMITTED:
        return _first_commit(data, RECORDS).exists()
    if trigger == SUBJECTS_WRITTEN:  # the subjects' data file, its commit under way
        return any(Ledger(data).table_path(SUBJECTS).glob("*.parquet"))
    return True


def _wait_for(process: subprocess.Popen[bytes], data: Path, trigger: str, timeout: float) -> None:
    """Poll every half millisecond until the run reaches ``trigger`` (or ends)."""
    deadline = time.monotonic() + timeout
    while not _reached(data, trigger) and process.poll() is None:
        if time.monotonic() > deadline:
            break
        time.sleep(0.0005)


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


def test_killed_register_unknown_ingests_converge_to_one_registry_row_per_subject(
    empty_template: Path, generated: Path, tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    """--register-unknown commits the records, then the subjects derived from their
    IDs: a kill at any moment, between the two commits included, leaves each table at
    its old or new version, and the same ingest run again registers every subject once."""
    records = generated / "records.parquet"
    source = records_table(generated)
    expected = source.num_rows
    subject_ids = set(source.column("subject_id").to_pylist())
    options = ("--register-unknown",)
    # a whole run, start-up included, and when its two commits land
    timing = tmp_path / "timing"
    shutil.copytree(empty_template, timing)
    records_log, subjects_log = _first_commit(timing, RECORDS), _first_commit(timing, SUBJECTS)
    started = time.monotonic()
    process = subprocess.Popen(
        _command(timing, records, *options), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    records_done = subjects_done = None
    while process.poll() is None:
        now = time.monotonic() - started
        if records_done is None and records_log.exists():
            records_done = now
        if subjects_done is None and subjects_log.exists():
            subjects_done = now
        time.sleep(0.0005)
    duration = time.monotonic() - started
    assert process.returncode == 0
    assert records_done is not None, "records commit not seen"
    assert subjects_done is not None, "subjects commit not seen"
    # from the records commit to the subjects commit (records key index, then subjects)
    gap = max(subjects_done - records_done, 0.005)
    rng = random.Random(20261129)
    kills = [(ANYWHERE, rng.uniform(0.2, duration * 1.1)) for _ in range(KILLS_ANYWHERE)]
    # timed from the records commit of the killed run itself: once at that very moment
    # (between the two commits, surely), then spread over the subjects' commit
    kills += [(RECORDS_COMMITTED, 0.0)]
    kills += [(RECORDS_COMMITTED, rng.uniform(0.0, gap)) for _ in range(KILLS_AFTER_RECORDS - 1)]
    kills += [(SUBJECTS_WRITTEN, 0.0)]  # its data file is there; its log entry maybe not
    outcomes = {"old": 0, "records only": 0, "both": 0}
    for attempt, (trigger, delay) in enumerate(kills):
        data = tmp_path / f"kill-{attempt}"
        shutil.copytree(empty_template, data)
        process = subprocess.Popen(
            _command(data, records, *options), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_for(process, data, trigger, timeout=duration * 3)
        time.sleep(delay)
        process.kill()
        process.wait()
        # (a) each table at its old or its new version; the subjects never before the records
        ledger = Ledger.open(data)
        state = (
            (ledger.version(RECORDS), stored(ledger).num_rows),
            (ledger.version(SUBJECTS), stored(ledger, "subjects").num_rows),
        )
        old, new = ((0, 0), (0, 0)), ((1, expected), (1, len(subject_ids)))
        between = (new[0], old[1])
        assert state in {old, between, new}, (attempt, trigger, delay, state)
        outcome = "old" if state == old else "records only" if state == between else "both"
        outcomes[outcome] += 1
        # (c) the ledger still opens, as `ledger stats` opens it
        stats = {layout.name: ledger.stats(layout) for layout in (RECORDS, SUBJECTS)}
        assert (stats["records"]["rows"], stats["subjects"]["rows"]) == (state[0][1], state[1][1])
        # (b) the same ingest again: one copy of every record, one registry row per subject
        summary = ingest(ledger, shipped_catalog, records, register_unknown=True)
        context = (attempt, trigger, delay, outcome)
        assert (summary.rejected, summary.quarantine) == (0, None), context
        assert summary.accepted + summary.duplicates == expected, context
        assert summary.accepted == (expected if outcome == "old" else 0), context
        table = stored(ledger)
        assert table.num_rows == expected, context
        assert pc.count_distinct(table.column("record_id")).as_py() == expected, context
        registry = stored(ledger, "subjects")
        assert registry.num_rows == len(subject_ids), context
        assert set(registry.column("subject_id").to_pylist()) == subject_ids, context
        assert summary.registered == len(subject_ids) - state[1][1], context
        assert not list((data / "quarantine").iterdir()), "quarantine left or rejected rows"
        pending = ledger.root / "pending"
        assert not pending.exists() or not any(pending.iterdir()), "spilled keys left"
    # the kills landed before the records commit and between the two commits (the one
    # at the moment of the records commit)
    assert outcomes["old"] > 0, outcomes
    assert outcomes["records only"] > 0, outcomes
