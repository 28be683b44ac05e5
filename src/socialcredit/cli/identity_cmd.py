"""``socialcredit id validate``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from socialcredit.cli.output import EXIT_FAILED, EXIT_OK, JsonOption, emit_json, state
from socialcredit.identity import IdentityResult, validate


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Resident IDs and Unified Social Credit Codes.", no_args_is_help=True)

    @group.command("validate")
    def validate_command(
        ctx: typer.Context,
        ids: Annotated[
            list[str],
            typer.Argument(help="Codes to check; '-' reads one code per line from stdin."),
        ],
        as_json: JsonOption = False,
    ) -> None:
        """Check each code: kind, validity and the exact reason when invalid (exit 1 if any)."""
        results = _results(ids)
        if as_json:
            emit_json([result.as_dict() for result in results])
        else:
            _print_table(ctx, results)
        raise typer.Exit(EXIT_OK if all(r.valid for r in results) else EXIT_FAILED)

    app.add_typer(group, name="id")


def _results(ids: list[str]) -> list[IdentityResult]:
    codes: list[str] = []
    for item in ids:
        if item == "-":
            # bytes, decoded leniently: undecodable bytes become U+FFFD, a bad character
            text = sys.stdin.buffer.read().decode("utf-8-sig", errors="replace")
            lines = (line.strip().strip("\ufeff") for line in text.splitlines())
            codes.extend(line for line in lines if line)
        else:
            # arguments that were not UTF-8 arrive with surrogate escapes
            codes.append(item.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    return [validate(code) for code in codes]


def _print_table(ctx: typer.Context, results: list[IdentityResult]) -> None:
    table = Table("id", "valid", "kind", "reason / warnings")
    for result in results:
        note = result.message or "; ".join(result.warnings)
        mark = "[green]yes[/]" if result.valid else "[red]no[/]"
        table.add_row(result.input or "", mark, result.kind or "-", note)
    state(ctx).out.print(table)
