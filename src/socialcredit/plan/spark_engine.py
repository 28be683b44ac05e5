"""The scoring plan executed by Apache Spark (PySpark 4, the optional ``spark`` extra):
local mode by default, a cluster with ``master``. Spark reads the Parquet files the
Delta table's version lists (no Delta jars: nothing is fetched at run time) and runs
the same steps as DuckDB, transpiled to Spark SQL."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class SparkUnavailableError(RuntimeError):
    """PySpark or Java is not installed."""


#: what the plan needs of every session (UTC dates, Arrow transfers, a quiet console:
#: stdout is the CLI's JSON)
REQUIRED = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
}
#: defaults for one machine, used only where nothing else (spark-defaults.conf, the
#: environment, ``--conf``) sets them: a cluster sizes its own (docs/national-run.md)
DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "4g",
    # the results come back to the driver, which writes the snapshot: its memory is the
    # limit, not a cap on the results' size
    "spark.driver.maxResultSize": "0",
}


def spark_session(
    master: str = "local[*]", driver_memory: str | None = None, conf: dict[str, str] | None = None
) -> SparkSession:
    """A session for the plan. ``conf`` (``score --conf``) wins over the environment's
    configuration, which wins over :data:`DEFAULTS`; ``driver_memory`` counts only where
    this call starts the JVM (local mode)."""
    try:
        from pyspark import SparkConf
        from pyspark.sql import SparkSession
    except ImportError as error:  # the optional extra
        raise SparkUnavailableError(
            "PySpark is not installed: pip install 'socialcredit[spark]' (and Java 17)"
        ) from error
    given = SparkConf()  # (spark-defaults.conf and the environment, as spark-submit sees them)
    settings = {key: value for key, value in DEFAULTS.items() if not given.contains(key)}
    if driver_memory is not None:
        settings["spark.driver.memory"] = driver_memory
    settings |= (conf or {}) | REQUIRED
    builder: Any = SparkSession.builder.master(master).appName("socialcredit-score")
    for key, value in settings.items():
        builder = builder.config(key, value)
    session: SparkSession = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def run_spark(
    session: SparkSession,
    ledger: Ledger,
    tables: PolicyTables,
    as_of: dt.date,
    ledger_as_of: dt.datetime,
    casework: CaseworkInputs | None = None,
) -> PlanOutput:
    """One row per registered subject, as :func:`~socialcredit.plan.duckdb_engine.run_duckdb`."""
    inputs = PlanInputs.of(ledger, ledger_as_of, casework)
    _view(session, "records", inputs.record_files, RECORD_COLUMNS, RECORDS.table_schema)
    _view(session, "subjects", inputs.subject_files, SUBJECT_COLUMNS, SUBJECTS.table_schema)
    regions = [str(row[0]) for row in session.sql("SELECT DISTINCT region FROM subjects").collect()]
    _small(session, "region_variants", region_variants(tables, regions))
    _small(session, "marks", inputs.marks)
    for name, table in plan_tables(tables, as_of).as_dict().items():
        _small(session, name, table)
    steps = scoring_steps(tables, as_of, "spark")
    cached: list[DataFrame] = []
    try:
        for n, (name, step) in enumerate(steps):
            frame: DataFrame = session.sql(step)
            named = re.compile(rf"\b{re.escape(name)}\b")
            if sum(bool(named.search(later)) for _, later in steps[n + 1 :]) > 1:  # kept
                frame = frame.cache()
                cached.append(frame)
            frame.createOrReplaceTempView(name)
        found = {name: session.sql(f"SELECT * FROM {name}").toArrow() for name in OUTPUTS}
    finally:
        for frame in cached:
            frame.unpersist()
    return PlanOutput(
        **found, records_version=inputs.records_version, subjects_version=inputs.subjects_version
    )


def _view(
    session: SparkSession, name: str, files: list[str], columns: tuple[str, ...], schema: pa.Schema
) -> None:
    if files:
        session.read.parquet(*files).select(*columns).createOrReplaceTempView(name)
    else:
        _small(session, name, empty(columns, schema))


def _small(session: SparkSession, name: str, table: pa.Table) -> None:
    session.createDataFrame(table).createOrReplaceTempView(name)
