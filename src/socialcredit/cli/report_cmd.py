"""``socialcredit report SUBJECT_ID --out FILE.pdf|FILE.html``: the personal credit
report, counted against the subject's yearly free quota."""

from __future__ import annotations

import getpass
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from socialcredit.cli.output import EXIT_FAILED, EXIT_UNUSABLE, JsonOption, emit_json, fail, state
from socialcredit.cli.scoring_cmd import (
    SnapshotOption,
    SubjectArgument,
    open_catalog,
    open_ledger,
    open_snapshot,
)
from socialcredit.cli.web_cmd import open_store

FORMATS = (".pdf", ".html")


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_command(
        ctx: typer.Context,
        subject_id: SubjectArgument,
        out: Annotated[Path, typer.Option("--out", help="FILE.pdf or FILE.html to write.")],
        shared: Annotated[
            bool,
            typer.Option("--shared", help="For someone else: the ID and name masked."),
        ] = False,
        snapshot_id: SnapshotOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """The personal credit report: records, ranks, lists, measures and rights. Two
        free a year (more where the policy grants it); those past the quota are paid."""
        from socialcredit.reports import ReportFailedError, issue_report
        from socialcredit.scoring.explain import UnknownSubjectError
        from socialcredit.scoring.policy_tables import compile_policy

        if out.suffix.lower() not in FORMATS:
            fail(f"--out: {out.name} is neither a .pdf nor an .html file", EXIT_UNUSABLE)
        subject = subject_id.strip().upper()
        snapshot = open_snapshot(ctx, snapshot_id)
        ledger, catalog = open_ledger(ctx), open_catalog(ctx)
        try:
            issue, data = issue_report(
                open_store(state(ctx).settings),
                ledger,
                catalog,
                compile_policy(catalog),
                snapshot,
                subject,
                actor=f"cli:{getpass.getuser()}",
                role="admin",
                purpose="credit report",
                format=out.suffix.lower()[1:],
                shared=shared,
            )
            _write_atomically(out, data)
        except UnknownSubjectError as error:
            fail(str(error), EXIT_FAILED)
        except (ReportFailedError, OSError) as error:
            fail(f"the report could not be made: {error}", EXIT_FAILED)
        if as_json:
            emit_json({**issue.as_dict(), "out": str(out), "bytes": len(data)})
            return
        cost = "paid" if issue.paid else f"free, {issue.free_left} of {issue.free_per_year} left"
        state(ctx).out.print(
            f"report {issue.number} ({cost} this year) written to {out}", markup=False
        )


def _write_atomically(out: Path, data: bytes) -> None:
    """Through a temporary file beside ``out``: never a half-written report."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
