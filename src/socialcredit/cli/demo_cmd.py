"""``socialcredit demo``: the furthest end-to-end path that exists, on embedded defaults.

Today: validate the shipped policies, print the effective national policy and its
proportionality and context audit, generate a synthetic population with its records,
register and ingest it into the ledger of the data dir, score everyone and publish a
snapshot, and check a discredited person. Later steps add the web platform.
"""

from __future__ import annotations

import datetime as dt

import typer

from socialcredit.cli.output import EXIT_FAILED, state
from socialcredit.cli.policy_cmd import print_audit, print_policy
from socialcredit.ledger import RECORDS, SUBJECTS, Ledger, open_input, run_batch
from socialcredit.policy import audit, check_files
from socialcredit.policy.loader import policy_files_in
from socialcredit.scoring.answers import check
from socialcredit.scoring.run import ScoreRequest, run_scoring
from socialcredit.simulate import GenerateOptions, generate


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_command(ctx: typer.Context) -> None:
        """Run everything that exists end to end on the shipped defaults."""
        settings = state(ctx).settings
        out = state(ctx).out
        directory = settings.effective_policy_dir()
        files = policy_files_in(directory)
        out.rule("1. validate the shipped policies")
        catalog, problems = check_files(files, relative_to=directory)
        for problem in problems:
            out.print(str(problem), highlight=False)
        if catalog is None:
            raise typer.Exit(EXIT_FAILED)
        out.print(f"[green]valid[/]: {len(files)} files in {directory}", highlight=False)
        out.rule("2. the effective national policy")
        national = catalog.effective(None)
        print_policy(out, national)
        out.rule("3. the proportionality and context audit")
        print_audit(out, audit(national))
        out.rule("4. a synthetic population with its records")
        target = settings.data / "demo"
        summary = generate(
            GenerateOptions(
                people=20_000, seed=2019, out=target, as_of=dt.date.today(), force=True
            ),
            catalog,
        )
        out.print(
            f"{summary.people:,} people, {summary.organisations:,} organisations and "
            f"{summary.records:,} records in {target} ({summary.seconds:.1f} s)",
            highlight=False,
        )
        out.rule("5. the registry and the ledger")
        ledger, _ = Ledger.init(settings.data)
        for layout, name in ((SUBJECTS, "subjects"), (RECORDS, "records")):
            result = run_batch(
                ledger,
                layout,
                [open_input(target / f"{name}.parquet")],
                catalog=catalog,
                source="demo",
            )
            out.print(
                f"{name}: {result.accepted:,} accepted, {result.rejected:,} rejected, "
                f"{result.duplicates:,} duplicates (ledger version {ledger.version(layout)})",
                highlight=False,
            )
        out.rule("6. score everyone and publish a snapshot")
        request = ScoreRequest(
            dt.date.today(), dt.datetime.now(dt.UTC), settings.snapshot_retention
        )
        snapshot = run_scoring(settings.data, catalog, request).snapshot
        meta = snapshot.metadata
        out.print(
            f"snapshot {snapshot.id}: {meta['subjects']:,} subjects; persons on the "
            f"discredited list {meta['lists']['person']['discredited']:,}, on the red list "
            f"{meta['lists']['person']['red']:,}; grades {meta['grades']['person']}",
            highlight=False,
        )
        sample = snapshot.subject_table(["subject_id", "lists"]).to_pylist()
        debtor = next((r["subject_id"] for r in sample if "discredited" in r["lists"]), None)
        if debtor is not None:
            decision = check(snapshot, debtor, "transport.flight")
            out.print(
                f"a relying party's check: {debtor} transport.flight -> "
                f"{'allowed' if decision['allowed'] else 'denied'} {decision['reasons']} "
                f"(records {decision.get('records', [])})",
                highlight=False,
            )
            out.print(f"why: `socialcredit --data {settings.data} show {debtor}`")
        out.print(
            "\nNext: `socialcredit policy show --region 371082` for Rongcheng, "
            "`socialcredit policy audit` for every overlay, `socialcredit snapshot list`. "
            "The web platform is not built yet."
        )
