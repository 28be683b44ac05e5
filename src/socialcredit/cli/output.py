"""How commands print: one JSON document on stdout with ``--json``, Rich text otherwise.

Diagnostics always go to stderr, so stdout stays parseable.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from socialcredit.settings import Settings

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]

#: exit codes shared by the commands (DESIGN.md contract)
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNUSABLE = 2


@dataclass(frozen=True)
class CliState:
    settings: Settings

    @property
    def out(self) -> Console:
        # piped output gets a wide page rather than Rich's 80-column default
        return Console(width=None if sys.stdout.isatty() else 140)

    @property
    def err(self) -> Console:
        return Console(stderr=True, width=None if sys.stderr.isatty() else 140)


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        raise RuntimeError("the CLI was started without its settings")
    return obj


def emit_json(document: Any) -> None:
    text = json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n"
    # a stray surrogate must not crash the output: write it escaped, still valid JSON
    sys.stdout.write(text.encode("utf-8", "backslashreplace").decode("utf-8"))


def fail(message: str, code: int = EXIT_UNUSABLE) -> NoReturn:
    width = None if sys.stderr.isatty() else 140
    console = Console(stderr=True, width=width)
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def fail_settings(error: ValidationError) -> NoReturn:
    """Exit 2 naming each unusable setting and why."""
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in error.errors()
    )
    fail(f"invalid settings: {problems}")
