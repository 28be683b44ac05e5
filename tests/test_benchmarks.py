"""The benchmarks' own helpers: codes the validator accepts, the DuckDB baseline, record copies."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from benchmarks.identity import make_codes

from socialcredit.identity import validate_array
from socialcredit.ledger import RECORDS, Ledger
from socialcredit.policy import PolicyCatalog
from tests.scored import Scored


def test_generated_benchmark_codes_are_valid_except_the_broken_few() -> None:
    codes = make_codes(20_000)
    batch = validate_array(codes)
    assert batch.invalid_count <= 20_000 // 1000
    kinds = batch.kind.to_pylist()
    assert kinds.count("organisation") >= 20_000 // 20 - 20


def test_the_duckdb_baseline_sums_the_points_of_each_subjects_records(
    scored: Scored, shipped_catalog: PolicyCatalog
) -> None:
    from benchmarks.scoring import duckdb_query

    result: Any = duckdb_query(scored.data, shipped_catalog)()
    records = Ledger.open(scored.data).table(RECORDS).to_pyarrow_table()
    policy = shipped_catalog.effective(None)
    expected: dict[str, float] = {}
    for subject, record_type in zip(
        records["subject_id"].to_pylist(), records["record_type"].to_pylist(), strict=True
    ):
        rule = policy.record_types.get(record_type)
        if rule is not None:
            points = rule.points if rule.points is not None else rule.points_per_unit or 0
            expected[subject] = expected.get(subject, 0.0) + points
    got = dict(zip(result["subject_id"].to_pylist(), result["points"].to_pylist(), strict=True))
    assert got == pytest.approx(expected)


def test_benchmark_record_copies_get_new_ids_and_earlier_dates() -> None:
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq
    from benchmarks.scoring_data import _copy_of

    part = pa.table(
        {
            "record_id": ["a", "b"],
            "occurred_on": pa.array([dt.date(2026, 3, 1), dt.date(2026, 4, 1)], pa.date32()),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        copied = pq.read_table(_copy_of(part, 2, Path(tmp) / "c.parquet"))
    assert copied["record_id"].to_pylist() == ["a-C2", "b-C2"]
    assert copied["occurred_on"].to_pylist() == [dt.date(2025, 12, 31), dt.date(2026, 1, 31)]


def test_the_api_benchmark_reads_wrk_latencies_in_any_unit() -> None:
    from benchmarks.api import _ms

    assert _ms("812.00us") == pytest.approx(0.812)
    assert _ms("4.22ms") == pytest.approx(4.22)
    assert _ms("1.20s") == pytest.approx(1200.0)
