"""``socialcredit score``, ``show``, ``check``, ``export snapshot`` and ``snapshot list``:
thin callers of :mod:`socialcredit.scoring`."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.parquet as pq
import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from socialcredit.casework import Casework
from socialcredit.casework.explanation import explain_with_cases
from socialcredit.cli.output import EXIT_FAILED, JsonOption, emit_json, fail, state
from socialcredit.errors import PlatformError
from socialcredit.ledger import Ledger, LedgerError
from socialcredit.ledger.ingest import CHINA_TIME
from socialcredit.policy import PolicyCatalog, PolicyError, load_catalog
from socialcredit.scoring import answers
from socialcredit.scoring.explain import UnknownSubjectError
from socialcredit.scoring.policy_tables import compile_policy
from socialcredit.scoring.run import Scorer, ScoreRequest, run_scoring
from socialcredit.scoring.snapshot_files import CONTRACT_COLUMNS
from socialcredit.scoring.snapshots import Snapshot, SnapshotError, SnapshotStore

SubjectArgument = Annotated[str, typer.Argument(help="Resident ID or Unified Social Credit Code.")]
SnapshotOption = Annotated[
    str | None,
    typer.Option("--snapshot", help="Snapshot id (default: the current one; see snapshot list)."),
]


#: as-of dates a run accepts (month arithmetic needs room on both sides)
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


def _date(text: str | None, name: str) -> dt.date:
    """The date given, or today in China's time (records are dated in it, see ingest)."""
    if text is None:
        return dt.datetime.now(CHINA_TIME).date()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        fail(f"{name}: {text!r} is not a date (YYYY-MM-DD)")
    if not EARLIEST <= day <= LATEST:
        fail(f"{name}: {text} is outside {EARLIEST} to {LATEST}")
    return day


def _moment(text: str | None) -> dt.datetime:
    now = dt.datetime.now(dt.UTC)
    if text is None:
        return now
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        fail(f"--ledger-as-of: {text!r} is not a timestamp (e.g. 2026-11-28T12:00:00Z)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if moment > now:
        fail(f"--ledger-as-of: {text} is in the future; the ledger cannot be read as of then")
    return moment


def open_catalog(ctx: typer.Context) -> PolicyCatalog:
    try:
        return load_catalog(state(ctx).settings.effective_policy_dir())
    except PolicyError as error:
        fail(f"the policy cannot be used:\n{error}")


def open_ledger(ctx: typer.Context) -> Ledger:
    try:
        return Ledger.open(state(ctx).settings.data)
    except LedgerError as error:
        fail(str(error), error.exit_code)


def open_casework(ctx: typer.Context, ledger: Ledger, catalog: PolicyCatalog) -> Casework:
    from socialcredit.cli.web_cmd import open_store

    return Casework(open_store(state(ctx).settings), ledger, catalog)


def open_snapshot(ctx: typer.Context, snapshot_id: str | None) -> Snapshot:
    try:
        return SnapshotStore.of(state(ctx).settings.data).open(snapshot_id)
    except SnapshotError as error:
        fail(str(error))


@contextmanager
def progress_stages(
    ctx: typer.Context,
) -> Iterator[Callable[[str, int | None], Callable[[int], None]]]:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=state(ctx).err, transient=True) as bar:
        current: list[Any] = []

        def stage(description: str, total: int | None) -> Callable[[int], None]:
            for task in current:
                bar.update(task, completed=bar.tasks[task].total or 1, visible=False)
            task = bar.add_task(description, total=total)
            current[:] = [task]
            return lambda rows: bar.advance(task, rows)

        yield stage


def register(app: typer.Typer) -> None:
    @app.command("score")
    def score_command(
        ctx: typer.Context,
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Score as of this date (default today).")
        ] = None,
        ledger_as_of: Annotated[
            str | None,
            typer.Option(
                "--ledger-as-of",
                help="Read the ledger as recorded at this moment (default now): "
                "reproduces a past snapshot.",
            ),
        ] = None,
        engine: Annotated[
            str,
            typer.Option(
                "--engine",
                help="embedded (default), duckdb or spark: the last two run the compiled "
                "plan; all publish the same snapshot.",
            ),
        ] = "embedded",
        master: Annotated[
            str | None,
            typer.Option("--master", help="Spark: a cluster's master URL (default local[*])."),
        ] = None,
        conf: Annotated[
            list[str] | None,
            typer.Option(
                "--conf",
                help="Spark: KEY=VALUE, repeatable (e.g. spark.sql.shuffle.partitions=4000); "
                "wins over spark-defaults.conf and the one-machine defaults.",
            ),
        ] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Score every registered subject and publish a snapshot atomically."""
        if engine not in ENGINES:
            fail(f"--engine: one of {', '.join(ENGINES)}, not {engine!r}")
        if (master is not None or conf) and engine != "spark":
            fail("--master and --conf go with --engine spark")
        spark_conf = _spark_conf(conf or [])
        settings = state(ctx).settings
        ledger = open_ledger(ctx)
        catalog = open_catalog(ctx)
        casework = open_casework(ctx, ledger, catalog)
        day = _date(as_of, "--as-of")
        with _scorer(engine, master, spark_conf) as scorer:  # (started before any write)
            # decisions not yet in the ledger land first (before the ledger-as-of moment
            # is taken, so that this run sees them); missed deadlines escalate
            casework.write_pending()
            casework.escalate_overdue()
            request = ScoreRequest(day, _moment(ledger_as_of), settings.snapshot_retention)
            with progress_stages(ctx) as stage:
                summary = run_scoring(
                    settings.data, catalog, request, casework, stage=stage, scorer=scorer
                )
        document = summary.as_dict()
        if as_json:
            emit_json(document)
            return
        out = state(ctx).out
        out.print(
            f"snapshot {document['snapshot']}: {document['subjects']:,} subjects scored as of "
            f"{document['as_of']} in {document['seconds']:.1f} s (policy {document['policy']})"
        )
        for kind, counts in document["lists"].items():
            out.print(f"  {kind}: " + ", ".join(f"{n} list {c:,}" for n, c in counts.items()))

    @app.command("show")
    def show_command(
        ctx: typer.Context,
        subject_id: SubjectArgument,
        snapshot_id: SnapshotOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Why a subject has its score: records, points, rules, ranks and measures."""
        snapshot = open_snapshot(ctx, snapshot_id)
        ledger, catalog = open_ledger(ctx), open_catalog(ctx)
        try:
            document = explain_with_cases(
                ledger,
                compile_policy(catalog),
                snapshot,
                subject_id.strip().upper(),
                open_casework(ctx, ledger, catalog),
            )
        except UnknownSubjectError as error:
            fail(str(error), EXIT_FAILED)
        if as_json:
            emit_json(document)
        else:
            _print_explanation(ctx, document)

    @app.command("check")
    def check_command(
        ctx: typer.Context,
        subject_id: SubjectArgument,
        measure: Annotated[
            str, typer.Argument(help="A measure of the policy, e.g. transport.flight.")
        ],
        snapshot_id: SnapshotOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """May the subject have this measure? Exit 0 if allowed, 1 if denied."""
        snapshot = open_snapshot(ctx, snapshot_id)
        try:
            document = answers.check(snapshot, subject_id.strip().upper(), measure)
        except PlatformError as error:
            fail(_cli_message(error))
        if as_json:
            emit_json(document)
        else:
            word = "allowed" if document["allowed"] else "denied"
            out = state(ctx).out
            out.print(f"{measure}: {word} ({', '.join(document['reasons'])})", markup=False)
            for record in document.get("records", []):
                out.print(f"  record {record}", markup=False, highlight=False)
        raise typer.Exit(0 if document["allowed"] else EXIT_FAILED)

    export_app = typer.Typer(help="Export published data.", no_args_is_help=True)
    app.add_typer(export_app, name="export")

    @export_app.command("snapshot")
    def export_command(
        ctx: typer.Context,
        out: Annotated[Path, typer.Option("--out", help="The Parquet file to write.")],
        snapshot_id: SnapshotOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """One row per subject: the contract's columns first, then the rest."""
        snapshot = open_snapshot(ctx, snapshot_id)
        try:
            rows = export_snapshot(snapshot, out)
        except OSError as error:
            fail(f"cannot write {out}: {error.strerror or error}")
        document = {"snapshot": snapshot.id, "out": str(out), "rows": rows}
        if as_json:
            emit_json(document)
        else:
            state(ctx).out.print(f"{rows:,} subjects of snapshot {snapshot.id} written to {out}")

    snapshot_app = typer.Typer(help="Published snapshots.", no_args_is_help=True)
    app.add_typer(snapshot_app, name="snapshot")

    @snapshot_app.command("list")
    def list_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
        """The kept snapshots, newest first; the current one marked."""
        listed = SnapshotStore.of(state(ctx).settings.data).describe()
        if as_json:
            emit_json(listed)
            return
        out = state(ctx).out
        if not listed:
            out.print("no snapshot yet: run `socialcredit score`")
        for item in listed:
            mark = "*" if item.get("current") else " "
            if "error" in item:
                out.print(f"{mark} {item['snapshot']}  unusable: {item['error']}")
                continue
            out.print(
                f"{mark} {item['snapshot']}  as of {item['as_of']}, ledger as of "
                f"{item['ledger_as_of']}, {item['subjects']:,} subjects, "
                f"policy {item['policy']['version']}"
            )


ENGINES = ("embedded", "duckdb", "spark")


def _spark_conf(pairs: list[str]) -> dict[str, str]:
    conf = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().startswith("spark."):
            fail(f"--conf: {pair!r} is not KEY=VALUE with a spark.* key")
        conf[key.strip()] = value.strip()
    return conf


@contextmanager
def _scorer(engine: str, master: str | None, conf: dict[str, str]) -> Iterator[Scorer | None]:
    """The scorer of ``--engine`` (None: the embedded engine), Spark's session stopped
    after the run."""
    if engine == "embedded":
        yield None
        return
    from socialcredit.plan.snapshot_input import plan_scorer

    if engine == "duckdb":
        from socialcredit.plan.duckdb_engine import run_duckdb

        yield plan_scorer(run_duckdb, "DuckDB")
        return
    from socialcredit.plan.spark_engine import SparkUnavailableError, run_spark, spark_session

    try:
        session = spark_session(master or "local[*]", conf=conf)
    except SparkUnavailableError as error:
        fail(str(error))
    except Exception as error:  # no Java, an unreachable master
        fail(f"Spark could not start: {error}")
    try:
        yield plan_scorer(partial(run_spark, session), "Spark")
    finally:
        session.stop()


def _cli_message(error: PlatformError) -> str:
    known = error.detail.get("known")
    return f"{error.message}; the policy's measures: {', '.join(known)}" if known else error.message


def export_snapshot(snapshot: Snapshot, out: Path) -> int:
    """The per-subject table as one file, contract columns first, through a temporary
    file (a failed export leaves no partial file under the name asked for)."""
    files = snapshot.table_files()
    names = pq.read_schema(files[0]).names
    columns = [*CONTRACT_COLUMNS, *(n for n in names if n not in CONTRACT_COLUMNS)]
    schema = pa.schema([pq.read_schema(files[0]).field(name) for name in columns])
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    rows = 0
    try:
        with pq.ParquetWriter(temporary, schema, compression="zstd") as writer:
            for path in files:
                source = pq.ParquetFile(path)
                for group in range(source.num_row_groups):
                    table = source.read_row_group(group, columns=columns).select(columns)
                    writer.write_table(table)
                    rows += table.num_rows
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)
    return rows


def _objection(record: dict[str, Any]) -> str:
    case = record.get("case")
    if case is not None:
        return f" UNDER OBJECTION (case {case['case_id']}, decision due by {case['deadline']})"
    return " UNDER OBJECTION" if record.get("under_objection") else ""


def _print_explanation(ctx: typer.Context, doc: dict[str, Any]) -> None:
    out = state(ctx).out
    out.print(
        f"{doc['subject_id']} ({doc['kind']}, region {doc['region']}): "
        f"score {doc['score']}, grade {doc['grade']}, "
        f"lists: {', '.join(doc['lists']) or 'none'}",
        markup=False,
        highlight=False,
    )
    out.print(
        f"snapshot {doc['snapshot']}, as of {doc['as_of']}, ledger as of {doc['ledger_as_of']}, "
        f"policy {doc['policy']}",
        markup=False,
        highlight=False,
    )
    if not doc["policy_unchanged"]:
        out.print("[yellow]the policy changed since this snapshot: rules shown are today's[/]")
    ranks = doc["ranks"]
    out.print(
        "ranks (region: the 6-digit code): "
        + "; ".join(
            f"{level} {r['rank']:,} ({r['percentile']:.2f} percentile)"
            for level, r in ranks.items()
        ),
        markup=False,
        highlight=False,
    )
    a = doc["arithmetic"]
    out.print(
        f"arithmetic: base {a['base']} {a['records']:+g} (records) {a['adjustments']:+g} "
        f"(yearly sums and caps) = {a['total']}, within [{a['floor']}, {a['ceiling']}] "
        f"-> {a['score']}",
        markup=False,
        highlight=False,
    )
    out.print("[bold]records that count[/]")
    for r in doc["counted"]:
        out.print(
            f"  {r['occurred_on']} {r['record_type']} {r['points']:+g} ({r['rule']}; "
            f"{r['legal_basis']}) by {r['authority']} {r['decision_ref'] or ''} "
            f"[{r['record_id']}], counts until {r['counts_until']}{_objection(r)}",
            markup=False,
            highlight=False,
        )
    for g in doc["adjustments"]:
        out.print(
            f"  {g['year']} {g['record_type']}: {g['adjustment']:+g} ({g['rule']})",
            markup=False,
            highlight=False,
        )
    if doc["not_counted"]:
        out.print("[bold]records that no longer count[/]")
    for r in doc["not_counted"]:
        out.print(
            f"  {r['occurred_on']} {r['record_type']} [{r['record_id']}]: {r['reason']}"
            f"{_objection(r)}",
            markup=False,
            highlight=False,
        )
    out.print("[bold]measures[/]")
    for m in doc["measures"]:
        word = "yes" if m["allowed"] else "no"
        out.print(
            f"  {m['measure']}: {word} ({', '.join(m['reasons'])})", markup=False, highlight=False
        )
    if doc.get("cases"):
        out.print("[bold]open cases[/]")
    for case in doc.get("cases", []):
        out.print(
            f"  case {case['case_id']}: {case['kind']} of {case['record_id']}, {case['status']}, "
            f"decision due by {case['deadline']}",
            markup=False,
            highlight=False,
        )
