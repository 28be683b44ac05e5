"""The compiled plan run by DuckDB against the embedded engine: every column of every
subject agrees, on the generator's population and on the hand-made ledger of every
rule (revocations, caps, clearings, lists, boundaries), with casework marks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from benchmarks.scoring_pandas import COLUMNS

from socialcredit.ledger import RECORDS, Ledger
from socialcredit.plan.duckdb_engine import run_duckdb
from socialcredit.plan.results import named
from socialcredit.policy import PolicyCatalog
from socialcredit.scoring.ledger_view import CaseworkInputs, ordered_files
from socialcredit.scoring.policy_tables import compile_policy
from socialcredit.scoring.snapshots import Snapshot
from tests.scored import AS_OF, Scored
from tests.scoring.factories import FakeCasework, LedgerBook
from tests.scoring.test_pandas_reference import differences, engine_rows, hand_made

Rows = dict[str, dict[str, Any]]


def plan_rows(
    data: Path, catalog: PolicyCatalog, snapshot: Snapshot, casework: CaseworkInputs | None = None
) -> Rows:
    tables = compile_policy(catalog)
    result = run_duckdb(
        Ledger.open(data),
        tables,
        dt.date.fromisoformat(snapshot.metadata["as_of"]),
        dt.datetime.fromisoformat(snapshot.metadata["ledger_as_of"]),
        casework,
    )
    rows = named(result.scores, tables).select(COLUMNS).to_pylist()
    return {row["subject_id"]: row for row in rows}


def test_the_generated_population_agrees(scored: Scored, shipped_catalog: PolicyCatalog) -> None:
    engine = engine_rows(scored.snapshot)
    plan = plan_rows(scored.data, shipped_catalog, scored.snapshot)
    assert len(plan) > 5000
    found = differences(engine, plan)
    assert found == [], f"{len(found)} differences, e.g.\n" + "\n".join(found[:20])


@pytest.mark.parametrize("as_of", [AS_OF, dt.date(2026, 2, 27), dt.date(2026, 2, 28)])
def test_a_hand_made_ledger_agrees(
    tmp_path: Path, shipped_catalog: PolicyCatalog, as_of: dt.date
) -> None:
    book = LedgerBook(tmp_path / "data", shipped_catalog)
    hand_made(book)
    book.commit()
    # casework: some records repaired, some frozen (the engine and the plan both told)
    files = ordered_files(book.ledger, RECORDS, book.ledger.version(RECORDS))
    rows = pa.concat_tables(pq.read_table(f, columns=["record_id", "record_type"]) for f in files)
    by_type: dict[str, list[str]] = {}
    for row in rows.to_pylist():
        by_type.setdefault(row["record_type"], []).append(row["record_id"])
    repaired = by_type["court.judgment_default"][:2] + by_type["traffic.violation"][:2]
    frozen = by_type["court.obligation_performed"][:1] + by_type["civic.volunteer_hour"][:2]
    casework = FakeCasework(repaired_ids=tuple(repaired), objected_ids=tuple(frozen))
    snapshot = book.score(as_of, casework=casework)
    plan = plan_rows(book.data, shipped_catalog, snapshot, casework)
    found = differences(engine_rows(snapshot), plan)
    assert found == [], "\n".join(found)
    # the marks changed something (the comparison is not of two unmarked runs)
    unmarked = plan_rows(book.data, shipped_catalog, snapshot)
    assert differences(plan, unmarked) != []


def test_a_snapshot_published_from_the_plan_is_the_engines(
    tmp_path: Path, shipped_catalog: PolicyCatalog, runner: Any
) -> None:
    """`score --engine duckdb` publishes the same snapshot as the embedded engine."""
    from tests.cli.test_web_cmd import _invoke
    from tests.plan.snapshots import snapshot_differences

    book = LedgerBook(tmp_path / "data", shipped_catalog)
    hand_made(book)
    book.commit()
    moment = dt.datetime.now(dt.UTC).isoformat()
    snapshots = []
    for engine in ("embedded", "duckdb"):
        code, document, error = _invoke(
            runner, book.data, "score", "--as-of", AS_OF.isoformat(), "--ledger-as-of", moment,
            "--engine", engine,
        )  # fmt: skip
        assert code == 0, error
        snapshots.append(Snapshot.open(book.data / "snapshots" / document["snapshot"]))
    embedded, plan = snapshots
    assert snapshot_differences(plan, embedded) == []
    assert plan.metadata["records"]["by_status"]["revocation"] > 0  # (counts, not zeros)
    assert (embedded.metadata["engine"], plan.metadata["engine"]) == ("embedded", "duckdb")
    code, _, error = _invoke(runner, book.data, "score", "--engine", "polars")
    assert code == 2
    assert "--engine" in error
    code, _, error = _invoke(runner, book.data, "score", "--conf", "spark.x=1")
    assert code == 2
    assert "go with --engine spark" in error
    code, _, error = _invoke(runner, book.data, "score", "--engine", "spark", "--conf", "x")
    assert code == 2
    assert "KEY=VALUE" in error
