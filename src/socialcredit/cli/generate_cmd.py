"""``socialcredit generate``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from socialcredit.cli.output import JsonOption, emit_json, fail, state
from socialcredit.policy import PolicyError, load_catalog
from socialcredit.simulate import GenerateError, GenerateOptions, generate, plan_run


def _parse_date(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"--as-of {value!r}: expected a date as YYYY-MM-DD")


def register(app: typer.Typer) -> None:
    @app.command("generate")
    def generate_command(
        ctx: typer.Context,
        people: Annotated[int, typer.Option("--people", help="Number of people (N > 0).")],
        out: Annotated[Path, typer.Option("--out", help="Directory for the two Parquet files.")],
        seed: Annotated[
            int, typer.Option("--seed", help="Random seed: same arguments, same bytes.")
        ] = 0,
        organisations: Annotated[
            int | None,
            typer.Option("--organisations", help="Number of organisations (default N/20)."),
        ] = None,
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="Records fall in the 5 years before (default today)."),
        ] = None,
        force: Annotated[
            bool, typer.Option("--force", help="Replace existing output files.")
        ] = False,
        compression: Annotated[
            str, typer.Option("--compression", help="Parquet compression: snappy, zstd or none.")
        ] = "snappy",
        as_json: JsonOption = False,
    ) -> None:
        """Write synthetic subjects.parquet and records.parquet (deterministic per seed)."""
        options = GenerateOptions(
            people=people,
            seed=seed,
            out=out,
            as_of=_parse_date(as_of),
            organisations=organisations,
            force=force,
            compression=compression,
        )
        try:
            catalog = load_catalog(state(ctx).settings.effective_policy_dir())
        except PolicyError as error:
            fail(f"the policy cannot be used:\n{error}")
        try:
            plan_run(options, catalog)  # bad arguments fail before the progress bar shows
        except GenerateError as error:
            fail(str(error))
        columns = (
            TextColumn("generating"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("people"),
            TimeRemainingColumn(),
        )
        with Progress(
            *columns, console=state(ctx).err, transient=as_json, disable=people < 100_000
        ) as bar:
            task = bar.add_task("people", total=max(people, 0))
            try:
                summary = generate(options, catalog, lambda done: bar.advance(task, done))
            except GenerateError as error:
                fail(str(error))
        if as_json:
            emit_json(summary.as_dict())
            return
        out_console = state(ctx).out
        out_console.print(
            f"{summary.people:,} people, {summary.organisations:,} organisations, "
            f"{summary.records:,} records in {summary.seconds:.1f} s "
            f"({summary.people / max(summary.seconds, 1e-9):,.0f} people/s)"
        )
        table = Table("record type", "records")
        for key, count in sorted(summary.records_by_type.items()):
            table.add_row(key, f"{count:,}")
        out_console.print(table)
        out_console.print(f"wrote {summary.subjects_file} and {summary.records_file}")
