"""``socialcredit demo``: the furthest end-to-end path that exists, on embedded defaults.

Today: validate the shipped policies, print the effective national policy and its
proportionality and context audit. Later steps extend this to generated data,
scoring and the web platform.
"""

from __future__ import annotations

import typer

from socialcredit.cli.output import EXIT_FAILED, state
from socialcredit.cli.policy_cmd import print_audit, print_policy
from socialcredit.policy import audit, check_files
from socialcredit.policy.loader import policy_files_in


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
        out.print(
            "\nNext: `socialcredit policy show --region 371082` for Rongcheng, "
            "`socialcredit policy audit` for every overlay. The web platform is not built yet."
        )
