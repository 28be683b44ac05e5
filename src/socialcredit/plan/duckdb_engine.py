"""The scoring plan executed by DuckDB, in process, over the ledger's Parquet files."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa

from socialcredit.ledger import RECORDS, SUBJECTS, Ledger
from socialcredit.plan.inputs import (
    RECORD_COLUMNS,
    SUBJECT_COLUMNS,
    PlanInputs,
    empty,
    region_variants,
)
from socialcredit.plan.results import OUTPUTS, PlanOutput
from socialcredit.plan.sql import scoring_steps
from socialcredit.plan.tables import plan_tables
from socialcredit.scoring.ledger_view import CaseworkInputs
from socialcredit.scoring.policy_tables import PolicyTables


def run_duckdb(
    ledger: Ledger,
    tables: PolicyTables,
    as_of: dt.date,
    ledger_as_of: dt.datetime,
    casework: CaseworkInputs | None = None,
    threads: int | None = None,
) -> PlanOutput:
    """The plan's outputs (see :mod:`socialcredit.plan.sql`)."""
    inputs = PlanInputs.of(ledger, ledger_as_of, casework)
    connection = duckdb.connect()
    try:
        if threads is not None:
            connection.execute(f"SET threads = {int(threads)}")
        _view(connection, "records", inputs.record_files, RECORD_COLUMNS, RECORDS.table_schema)
        _view(connection, "subjects", inputs.subject_files, SUBJECT_COLUMNS, SUBJECTS.table_schema)
        regions = [
            str(row[0])
            for row in connection.execute("SELECT DISTINCT region FROM subjects").fetchall()
        ]
        connection.register("region_variants", region_variants(tables, regions))
        connection.register("marks", inputs.marks)
        for name, table in plan_tables(tables, as_of).as_dict().items():
            connection.register(name, table)
        for name, step in scoring_steps(tables, as_of, "duckdb"):
            connection.execute(f"CREATE TEMP TABLE {name} AS {step}")
        found = {name: connection.sql(f"SELECT * FROM {name}").to_arrow_table() for name in OUTPUTS}
        return PlanOutput(
            **found,
            records_version=inputs.records_version,
            subjects_version=inputs.subjects_version,
        )
    finally:
        connection.close()


def _view(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    files: list[str],
    columns: tuple[str, ...],
    schema: pa.Schema,
) -> None:
    if files:
        relation = connection.read_parquet(files).select(*columns)
        relation.create_view(name)
    else:
        connection.register(name, empty(columns, schema))
