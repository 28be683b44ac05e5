"""The ``socialcredit`` command line. Commands are thin callers of the domain modules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from socialcredit.cli import (
    casework_cmd,
    demo_cmd,
    generate_cmd,
    identity_cmd,
    ledger_cmd,
    policy_cmd,
    report_cmd,
    scoring_cmd,
    web_cmd,
)
from socialcredit.cli.output import EXIT_UNUSABLE, CliState, fail, fail_settings
from socialcredit.settings import load_settings


def create_cli() -> typer.Typer:
    app = typer.Typer(
        name="socialcredit",
        help="A social-credit platform: derived scores, sourced points, due process.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def main_options(
        ctx: typer.Context,
        data: Annotated[
            Path | None,
            typer.Option(
                "--data",
                help="Data directory (env SOCIALCREDIT_DATA; default ./socialcredit-data).",
                show_default=False,
            ),
        ] = None,
        policy_dir: Annotated[
            Path | None,
            typer.Option(
                "--policy-dir",
                help="Policy directory (env SOCIALCREDIT_POLICY_DIR; default: shipped).",
                show_default=False,
            ),
        ] = None,
        environment: Annotated[
            str | None,
            typer.Option(
                "--environment",
                help="development or production (env SOCIALCREDIT_ENVIRONMENT).",
                show_default=False,
            ),
        ] = None,
        snapshot_retention: Annotated[
            int | None,
            typer.Option(
                "--snapshot-retention",
                help="Snapshots kept (env SOCIALCREDIT_SNAPSHOT_RETENTION; default 5).",
                show_default=False,
            ),
        ] = None,
    ) -> None:
        try:
            settings = load_settings(
                data=data,
                policy_dir=policy_dir,
                snapshot_retention=snapshot_retention,
                environment=environment,
            )
        except ValidationError as error:
            fail_settings(error)
        ctx.obj = CliState(settings)

    identity_cmd.register(app)
    policy_cmd.register(app)
    generate_cmd.register(app)
    ledger_cmd.register(app)
    ledger_cmd.register_ledger_app(app)
    scoring_cmd.register(app)
    web_cmd.register(app)
    report_cmd.register(app)
    casework_cmd.register(app)
    demo_cmd.register(app)
    return app


def main() -> None:
    """The console entry point. An unexpected error exits 2, never 1: to ``check``
    exit 1 means "denied", and a crash must not read as a decision."""
    try:
        create_cli()()
    except Exception as error:  # the last line of defence
        try:
            fail(f"internal error ({type(error).__name__}): {error}", EXIT_UNUSABLE)
        except typer.Exit as done:
            sys.exit(done.exit_code)
