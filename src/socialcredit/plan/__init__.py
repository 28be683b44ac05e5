"""The compiled scoring plan (issue 9): the effective policies as small relational
tables (:mod:`~socialcredit.plan.tables`) and one query over them and the ledger
(:mod:`~socialcredit.plan.sql`), transpiled by SQLGlot for DuckDB
(:mod:`~socialcredit.plan.duckdb_engine`) and Apache Spark
(:mod:`~socialcredit.plan.spark_engine`). Differential tests hold both to the embedded
engine, row for row."""
