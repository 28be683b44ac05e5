"""Snapshots: reproducible tables, ledger-as-of, atomic publication under kill,
retention, and explanations that add up."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from socialcredit.ledger import RECORDS, Ledger, open_input, run_batch
from socialcredit.policy import PolicyCatalog
from socialcredit.scoring.explain import explain
from socialcredit.scoring.policy_tables import compile_policy
from socialcredit.scoring.run import ScoreRequest, run_scoring
from socialcredit.scoring.snapshots import Snapshot, SnapshotStore
from tests.scored import AS_OF, Scored


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _table_digest(snapshot: Snapshot) -> list[tuple[str, str]]:
    return [(path.name, _digest(path)) for path in snapshot.table_files()]


def test_scoring_the_same_ledger_twice_gives_byte_identical_tables(
    scored: Scored, tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    data = scored.copy_to(tmp_path / "data")
    moment = dt.datetime.fromisoformat(scored.snapshot.metadata["ledger_as_of"])
    again = run_scoring(data, shipped_catalog, ScoreRequest(AS_OF, moment)).snapshot
    assert again.id != scored.snapshot.id
    assert _table_digest(again) == _table_digest(scored.snapshot)
    for name in ("listed.parquet", "decisions.json"):
        assert _digest(again.path / name) == _digest(scored.snapshot.path / name), name


def test_ledger_as_of_reproduces_a_past_snapshot_after_new_records(
    scored: Scored, tmp_path: Path, shipped_catalog: PolicyCatalog, generated: Path
) -> None:
    data = scored.copy_to(tmp_path / "data")
    past = scored.snapshot
    # later: every record of the first 200 rows revoked, through a real batch
    rows = pq.read_table(generated / "records.parquet").slice(0, 200).to_pylist()
    later = tmp_path / "revocations.jsonl"
    import json

    with later.open("w") as handle:
        for row in rows:
            row |= {"record_id": "REV-" + row["record_id"], "revokes": row["record_id"]}
            row["occurred_on"] = str(row["occurred_on"])
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    summary = run_batch(Ledger.open(data), RECORDS, [open_input(later)], catalog=shipped_catalog)
    assert summary.accepted == 200
    now = run_scoring(data, shipped_catalog, ScoreRequest(AS_OF, dt.datetime.now(dt.UTC)))
    assert _table_digest(now.snapshot) != _table_digest(past)
    moment = dt.datetime.fromisoformat(past.metadata["ledger_as_of"])
    replay = run_scoring(data, shipped_catalog, ScoreRequest(AS_OF, moment)).snapshot
    assert _table_digest(replay) == _table_digest(past)
    assert replay.metadata["ledger"] == past.metadata["ledger"]


def test_on_random_subjects_score_is_base_plus_the_points_show_lists(
    scored: Scored, shipped_catalog: PolicyCatalog
) -> None:
    snapshot = scored.snapshot
    table = snapshot.subject_table(["subject_id", "points"])
    with_points = np.flatnonzero(table.column("points").to_numpy() != 0)
    rng = random.Random(5)
    rows = rng.sample(list(with_points), 25) + rng.sample(range(table.num_rows), 5)
    tables = compile_policy(shipped_catalog)
    ledger = Ledger.open(scored.data)
    for row in rows:
        subject = table.column("subject_id")[row].as_py()
        shown = explain(ledger, tables, snapshot, subject)
        points = sum(r["points"] for r in shown["counted"])
        points += sum(a["adjustment"] for a in shown["adjustments"])
        scale = shown["arithmetic"]
        expected = min(max(round(1000 + points), scale["floor"]), scale["ceiling"])
        assert shown["score"] == expected == scale["score"], subject
        assert all(r["authority"] and r["legal_basis"] for r in shown["counted"])


def test_retention_keeps_the_newest_and_the_current(
    scored: Scored, tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    data = scored.copy_to(tmp_path / "data")
    store = SnapshotStore.of(data)
    for _ in range(3):
        run_scoring(data, shipped_catalog, ScoreRequest(AS_OF, dt.datetime.now(dt.UTC), 2))
    assert len(store.ids()) == 2
    assert store.current_id() == store.ids()[-1]
    listed = store.describe()
    assert [item["current"] for item in listed] == [True, False]
    assert listed[0]["subjects"] == len(scored.snapshot)


def test_snapshot_lookups_by_id(scored: Scored) -> None:
    snapshot = scored.snapshot
    table = snapshot.subject_table(["subject_id", "score"])
    ids = table.column("subject_id").to_pylist()
    rows = snapshot.locate([*ids[::7], "110101198001010000", "not an id"])
    assert list(rows[:-2]) == list(range(0, len(ids), 7))
    assert list(rows[-2:]) == [-1, -1]
    assert list(snapshot.array("score")[rows[:-2]]) == table.column("score").to_pylist()[::7]


def _score_process(data: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "socialcredit", "--data", str(data), "score"]
    return subprocess.Popen(
        [*command, "--as-of", AS_OF.isoformat(), "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ | {"PYTHONHASHSEED": "0"},
    )


def test_killing_a_scoring_run_leaves_the_previous_snapshot_current(
    scored: Scored, tmp_path: Path
) -> None:
    data = scored.copy_to(tmp_path / "data")
    store = SnapshotStore.of(data)
    previous = store.current_id()
    started = time.perf_counter()
    assert _score_process(data).wait(timeout=300) == 0  # a whole run, to spread the kills
    duration = time.perf_counter() - started
    published = store.current_id()
    assert published != previous
    # killed while writing its files: nothing of it is in service
    process = _score_process(data)
    deadline = time.perf_counter() + 120
    while not list(store.root.glob(".building-*/ranks")) and time.perf_counter() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert list(store.root.glob(".building-*")), "the kill came too late to test anything"
    assert store.current_id() == published
    store.open().check()
    rng = random.Random(11)
    for delay in sorted(rng.uniform(0.1, duration) for _ in range(2)):
        process = _score_process(data)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        current = store.current_id()
        assert current is not None
        snapshot = store.open(current)
        snapshot.check()  # the snapshot in service is complete, whichever it is
        assert current >= (published or "")
        published = current
    # the next run removes what killed runs left behind, and publishes
    assert _score_process(data).wait(timeout=300) == 0
    assert not list(store.root.glob(".building-*"))
    store.open().check()
