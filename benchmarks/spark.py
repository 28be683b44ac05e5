"""The compiled plan on Spark (local mode) against the same plan on DuckDB, on the same
ledger, interleaved in one process (issue 9): the ratio, and the records and subjects
each scores per second and per core, from which docs/national-run.md sizes a cluster.

Sizes: ``SOCIALCREDIT_BENCH_SPARK_PEOPLE`` and ``..._RECORDS`` (default 750,000 people
and 1,000,000 records, the ledger `benchmarks/scoring.py` builds for its pandas run);
``..._ROUNDS`` (default 3; 1 skips the warm-up run); ``..._MEMORY`` (the local JVM's,
default 6g).
No target: the figures are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time

from benchmarks.scoring import _best
from benchmarks.scoring_data import AS_OF, ledger
from socialcredit.ledger import Ledger
from socialcredit.plan.duckdb_engine import run_duckdb
from socialcredit.plan.spark_engine import SparkUnavailableError, run_spark, spark_session
from socialcredit.policy import load_catalog, shipped_policy_dir
from socialcredit.scoring.policy_tables import compile_policy


def main() -> bool:
    people = int(os.environ.get("SOCIALCREDIT_BENCH_SPARK_PEOPLE", 750_000))
    records = int(os.environ.get("SOCIALCREDIT_BENCH_SPARK_RECORDS", 1_000_000))
    rounds = int(os.environ.get("SOCIALCREDIT_BENCH_SPARK_ROUNDS", 3))
    cores = os.cpu_count() or 1
    data = ledger(people, records)
    tables = compile_policy(load_catalog(shipped_policy_dir()))
    moment = dt.datetime.now(dt.UTC)
    source = Ledger.open(data)
    try:
        started = time.perf_counter()
        memory = os.environ.get("SOCIALCREDIT_BENCH_SPARK_MEMORY", "6g")
        session = spark_session(f"local[{cores}]", driver_memory=memory)
        startup = time.perf_counter() - started
    except SparkUnavailableError as error:
        print(f"Spark against DuckDB: not run ({error})")
        return True
    try:
        if rounds > 1:
            run_spark(session, source, tables, AS_OF, moment)  # warm: JIT, file listing
        on_duckdb, on_spark = [], []
        for _ in range(rounds):  # interleaved: the machine is shared and noisy
            on_duckdb.append(_best(1, lambda: run_duckdb(source, tables, AS_OF, moment)))
            on_spark.append(_best(1, lambda: run_spark(session, source, tables, AS_OF, moment)))
    finally:
        session.stop()
    spark_s, duckdb_s = min(on_spark), min(on_duckdb)
    print(
        f"the compiled plan, {people:,} people and {records:,} records, {cores} cores: "
        f"Spark local mode {spark_s:.2f} s (session start {startup:.1f} s, not counted), "
        f"DuckDB {duckdb_s:.2f} s: Spark takes {spark_s / duckdb_s:.1f}x DuckDB's time; "
        f"Spark {records / spark_s / cores:,.0f} records and {people / spark_s / cores:,.0f} "
        f"subjects a second per core"
    )
    return True


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
