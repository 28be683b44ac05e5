"""One scoring run, start to publication: read the ledger view, score, rank, write the
snapshot's files, publish them atomically, apply retention."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from socialcredit.ledger import Ledger
from socialcredit.policy import PolicyCatalog
from socialcredit.scoring.engine import STATUS_CODES, ScoreResult, score_view
from socialcredit.scoring.ledger_view import CaseworkInputs, LedgerView, Stages, load_view, quiet
from socialcredit.scoring.policy_tables import KINDS, PolicyTables, compile_policy
from socialcredit.scoring.ranking import RankTables
from socialcredit.scoring.snapshot_files import (
    write_arrays,
    write_decisions,
    write_listed,
    write_published,
    write_subject_table,
)
from socialcredit.scoring.snapshots import Snapshot, SnapshotStore, write_metadata


@dataclass(frozen=True)
class ScoreRequest:
    as_of: dt.date
    ledger_as_of: dt.datetime  # aware
    retention: int = 5


@dataclass(frozen=True)
class Scored:
    """What a scorer gives the publication: the view (its subjects in the registry's
    dense rows; its records those the snapshot names, or all) and the result over it;
    ``records``: the metadata's record counts when the view holds only some records."""

    view: LedgerView
    result: ScoreResult
    records: dict[str, Any] | None = None
    #: which engine scored (the snapshot's metadata says)
    engine: str = "embedded"


#: ``scorer(ledger, tables, request, casework, stage)``: the embedded engine by default;
#: the compiled plan on DuckDB or Spark (socialcredit.plan.snapshot_input)
Scorer = Callable[[Ledger, PolicyTables, "ScoreRequest", CaseworkInputs | None, Stages], Scored]


def embedded_scorer(
    ledger: Ledger,
    tables: PolicyTables,
    request: ScoreRequest,
    casework: CaseworkInputs | None,
    stage: Stages,
) -> Scored:
    view = load_view(ledger, tables, request.ledger_as_of, casework, stage)
    stage("scoring", None)(0)
    return Scored(view, score_view(view, tables, request.as_of))


@dataclass(frozen=True)
class RunSummary:
    snapshot: Snapshot
    seconds: float
    removed: list[str]

    def as_dict(self) -> dict[str, Any]:
        meta = self.snapshot.metadata
        return {
            "snapshot": self.snapshot.id,
            "subjects": meta["subjects"],
            "as_of": meta["as_of"],
            "seconds": round(self.seconds, 3),
            "ledger_as_of": meta["ledger_as_of"],
            "policy": meta["policy"]["version"],
            "records_counted": meta["records"]["counted"],
            "lists": meta["lists"],
            "removed": self.removed,
        }


class _Stopwatch:
    """Seconds per stage of a run (kept in the snapshot's metadata)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now


def policy_identity(tables: PolicyTables) -> dict[str, Any]:
    variants = [
        {"region": region, "version": v.version, "hash": v.content_hash()}
        for region, v in zip(tables.variant_regions, tables.variants, strict=True)
    ]
    combined = hashlib.sha256("\n".join(str(v["hash"]) for v in variants).encode()).hexdigest()
    return {"version": tables.national.version, "hash": f"sha256:{combined}", "variants": variants}


def run_scoring(
    data: Path,
    catalog: PolicyCatalog,
    request: ScoreRequest,
    casework: CaseworkInputs | None = None,
    stage: Stages = quiet,
    scorer: Scorer | None = None,
) -> RunSummary:
    started = time.perf_counter()
    ledger = Ledger.open(data)
    tables = compile_policy(catalog)
    store = SnapshotStore.of(data)
    with store.publishing():
        timer = _Stopwatch()
        now = dt.datetime.now(dt.UTC)
        snapshot_id = store.next_id(now)
        building = store.building(snapshot_id)
        scored = (scorer or embedded_scorer)(ledger, tables, request, casework, stage)
        view, result = scored.view, scored.result
        timer.lap("score")
        stage("ranking", None)(0)
        ranks = RankTables.count(
            result.score,
            view.subjects.region,
            view.subjects.kind,
            tables.national.scale.floor,
            tables.national.scale.ceiling,
        )
        ranks.save(building / "ranks")
        timer.lap("rank")
        write_subject_table(
            building / "subjects",
            view,
            result,
            ranks,
            stage("writing the snapshot", len(view.subjects)),
        )
        timer.lap("table")
        with ThreadPoolExecutor(max_workers=1) as background:  # arrays: mostly disk time
            arrays = background.submit(write_arrays, building / "arrays", view, result)
            write_listed(building / "listed.parquet", view, result)
            write_published(building / "published.parquet", view, result)
            write_decisions(building / "decisions.json", result)
            arrays.result()
        timer.lap("arrays")
        metadata = _metadata(snapshot_id, now, request, view, result, ranks, tables)
        if scored.records is not None:
            metadata["records"] = scored.records
        metadata["engine"] = scored.engine
        metadata["seconds"] = round(time.perf_counter() - started, 3)
        metadata["stage_seconds"] = timer.laps
        write_metadata(building, metadata)
        snapshot = store.publish(building, snapshot_id)
        timer.lap("publish")
        removed = store.retain(request.retention)
        timer.lap("retain")
    return RunSummary(snapshot, time.perf_counter() - started, removed)


def _metadata(
    snapshot_id: str,
    now: dt.datetime,
    request: ScoreRequest,
    view: LedgerView,
    result: ScoreResult,
    ranks: RankTables,
    tables: PolicyTables,
) -> dict[str, Any]:
    subjects = view.subjects
    scale = tables.national.scale
    by_status = np.bincount(result.status, minlength=len(STATUS_CODES))
    grades: dict[str, dict[str, int]] = {}
    lists: dict[str, dict[str, int]] = {}
    histograms: dict[str, list[int]] = {}
    for k, kind in enumerate(KINDS):
        mine = subjects.kind == k
        counts = np.bincount(result.grade[mine], minlength=len(tables.grade_names))
        grades[kind] = {g: int(c) for g, c in zip(tables.grade_names, counts, strict=True)}
        lists[kind] = {
            name: int(((result.lists[mine] & tables.list_bit(name)) != 0).sum())
            for name in tables.list_names
        }
        histograms[kind] = [int(c) for c in ranks.histogram("national", k)]
    return {
        "snapshot": snapshot_id,
        "created_at": now.isoformat(),
        "as_of": request.as_of.isoformat(),
        "ledger_as_of": request.ledger_as_of.astimezone(dt.UTC).isoformat(),
        "ledger": {
            "records_version": view.records_version,
            "subjects_version": view.subjects_version,
        },
        "policy": policy_identity(tables),
        "scale": {"base": scale.base, "floor": scale.floor, "ceiling": scale.ceiling},
        "kinds": list(KINDS),
        "grade_names": list(tables.grade_names),
        "list_names": list(tables.list_names),
        "measure_names": list(tables.measure_names),
        "variant_regions": list(tables.variant_regions),
        "subjects": len(subjects),
        "records": {
            "seen": len(view.records),
            "counted": int(by_status[0]),
            "by_status": {name: int(c) for name, c in zip(STATUS_CODES, by_status, strict=True)},
            "skipped": view.skipped,
        },
        "grades": grades,
        "lists": lists,
        "histograms": {"floor": scale.floor, "national": histograms},
    }
