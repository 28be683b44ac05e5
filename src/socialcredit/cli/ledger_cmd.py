"""``socialcredit init``, ``register`` and ``ingest``: thin callers of the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from socialcredit.cli.output import JsonOption, emit_json, fail, state
from socialcredit.ledger import (
    RECORDS,
    SUBJECTS,
    IngestSummary,
    Layout,
    Ledger,
    LedgerError,
    open_input,
    run_batch,
)
from socialcredit.policy import PolicyError, load_catalog

#: exit codes of register and ingest (DESIGN.md): 3 when rows were quarantined
EXIT_QUARANTINED = 3

FilesArgument = Annotated[list[Path], typer.Argument(help="CSV, Parquet or JSON Lines files.")]
FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format", help="Read every file as csv, parquet or jsonl (default: by extension)."
    ),
]
SourceOption = Annotated[
    str | None, typer.Option("--source", help="Name of the sending authority or system.")
]


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
        """Create the empty ledger and registry in the data dir (idempotent)."""
        data = state(ctx).settings.data
        try:
            ledger, created = Ledger.init(data)
        except (OSError, LedgerError) as error:
            fail(f"cannot initialise {data}: {error}")
        document = {"data": str(data), "created": created, "ledger": str(ledger.root)}
        if as_json:
            emit_json(document)
        else:
            word = "created" if created else "already there"
            state(ctx).out.print(f"ledger in {ledger.root}: {word}")

    @app.command("register")
    def register_command(
        ctx: typer.Context,
        files: FilesArgument,
        file_format: FormatOption = None,
        source: SourceOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Import subjects into the population registry (one batch, all or nothing)."""
        _run(ctx, SUBJECTS, files, file_format, source, False, as_json)

    @app.command("ingest")
    def ingest_command(
        ctx: typer.Context,
        files: FilesArgument,
        file_format: FormatOption = None,
        source: SourceOption = None,
        register_unknown: Annotated[
            bool,
            typer.Option(
                "--register-unknown",
                help="Register subjects not yet in the registry (from their IDs) "
                "instead of rejecting their records.",
            ),
        ] = False,
        as_json: JsonOption = False,
    ) -> None:
        """Validate and append records to the ledger (one batch, all or nothing)."""
        _run(ctx, RECORDS, files, file_format, source, register_unknown, as_json)


def register_ledger_app(app: typer.Typer) -> None:
    ledger_app = typer.Typer(help="Inspect and maintain the ledger.", no_args_is_help=True)
    app.add_typer(ledger_app, name="ledger")

    @ledger_app.command("stats")
    def stats_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
        """Rows, versions, files and bytes of the records and subjects tables."""
        ledger = _open(ctx)
        document = {layout.name: ledger.stats(layout) for layout in (RECORDS, SUBJECTS)}
        _print_per_table(
            ctx,
            document,
            as_json,
            "{rows:,} rows, {versions:,} versions, {files:,} files, {bytes:,} bytes "
            "(key index {key_index_bytes:,} bytes)",
        )

    @ledger_app.command("compact")
    def compact_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
        """Merge small files into larger ones; the content does not change."""
        ledger = _open(ctx)
        with ledger.writing():
            document = {layout.name: ledger.compact(layout) for layout in (RECORDS, SUBJECTS)}
        _print_per_table(
            ctx,
            document,
            as_json,
            "{files_removed} files merged into {files_added} (version {version})",
        )


def _print_per_table(
    ctx: typer.Context, document: dict[str, dict[str, object]], as_json: bool, line: str
) -> None:
    if as_json:
        emit_json(document)
        return
    for name, figures in document.items():
        state(ctx).out.print(f"{name}: " + line.format(**figures))


def _open(ctx: typer.Context) -> Ledger:
    try:
        return Ledger.open(state(ctx).settings.data)
    except LedgerError as error:
        fail(str(error), error.exit_code)


def _run(
    ctx: typer.Context,
    layout: Layout,
    files: list[Path],
    file_format: str | None,
    source: str | None,
    register_unknown: bool,
    as_json: bool,
) -> None:
    settings = state(ctx).settings
    catalog = None
    try:
        ledger = Ledger.open(settings.data)
        sources = [open_input(path, file_format) for path in files]
        if layout is RECORDS:
            catalog = load_catalog(settings.effective_policy_dir())
    except PolicyError as error:
        fail(f"the policy cannot be used:\n{error}")
    except LedgerError as error:
        fail(str(error), error.exit_code)
    counts = [source.rows for source in sources]
    total = None if None in counts else sum(c or 0 for c in counts)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=state(ctx).err, transient=True) as bar:
        task = bar.add_task(f"{layout.name}: 0 rows", total=total)
        done = 0

        def advance(rows: int) -> None:
            nonlocal done
            done += rows
            bar.update(task, completed=done, description=f"{layout.name}: {done:,} rows")

        try:
            summary = run_batch(
                ledger,
                layout,
                sources,
                catalog=catalog,
                source=source,
                register_unknown=register_unknown,
                progress=advance,
            )
        except LedgerError as error:
            fail(f"{error} (nothing was ingested)", error.exit_code)
    for warning in summary.warnings:
        state(ctx).err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    _report(ctx, layout, summary, as_json)
    if summary.rejected:
        raise typer.Exit(EXIT_QUARANTINED)


def _report(ctx: typer.Context, layout: Layout, summary: IngestSummary, as_json: bool) -> None:
    accepted_name = "registered" if layout is SUBJECTS else "accepted"
    if as_json:
        emit_json(summary.as_dict(accepted_name))
        return
    out = state(ctx).out
    out.print(
        f"{summary.accepted:,} {accepted_name}, {summary.rejected:,} rejected, "
        f"{summary.duplicates:,} duplicates (batch {summary.batch_id})"
    )
    if summary.registered:
        out.print(f"{summary.registered:,} subjects registered from their IDs")
    if summary.quarantine:
        out.print(f"rejected rows and their reasons: {summary.quarantine}")
