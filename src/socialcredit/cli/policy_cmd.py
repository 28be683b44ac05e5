"""``socialcredit policy validate | show | audit``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from socialcredit.cli.output import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNUSABLE,
    JsonOption,
    emit_json,
    fail,
    state,
)
from socialcredit.policy import (
    EffectivePolicy,
    PolicyAudit,
    PolicyCatalog,
    PolicyError,
    audit,
    check_files,
    load_catalog,
)
from socialcredit.regions import region_table

RegionOption = Annotated[
    str | None,
    typer.Option("--region", help="A 2-, 4- or 6-digit division code, e.g. 371082 (Rongcheng)."),
]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The published policy: validate, show, audit.", no_args_is_help=True)
    group.command("validate")(validate_command)
    group.command("show")(show_command)
    group.command("audit")(audit_command)
    app.add_typer(group, name="policy")


def validate_command(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Policy TOML files (national and overlays).")],
    as_json: JsonOption = False,
) -> None:
    """Validate policy files; overlays are checked against the national policy (exit 1 if not)."""
    fallback = state(ctx).settings.effective_policy_dir() / "national.toml"
    catalog, problems = check_files(files, national_fallback=fallback)
    errors = [p for p in problems if p.level == "error"]
    if as_json:
        emit_json(
            {
                "valid": not errors,
                "files": [str(f) for f in files],
                "errors": len(errors),
                "warnings": len(problems) - len(errors),
                "problems": [p.as_dict() for p in problems],
            }
        )
    else:
        err = state(ctx).err
        for problem in problems:
            colour = "red" if problem.level == "error" else "yellow"
            err.print(f"[{colour}]{problem}[/]", highlight=False, soft_wrap=True)
        if catalog is not None:
            state(ctx).out.print(f"[green]valid[/]: {', '.join(str(f) for f in files)}")
    raise typer.Exit(EXIT_FAILED if errors else EXIT_OK)


def _catalog(ctx: typer.Context) -> PolicyCatalog:
    try:
        return load_catalog(state(ctx).settings.effective_policy_dir())
    except PolicyError as error:
        fail(f"the policy cannot be used:\n{error}")


def _check_region(region: str | None) -> None:
    if region is None:
        return
    if not (region.isdigit() and len(region) in (2, 4, 6)):
        fail(f"--region {region!r}: expected a 2-, 4- or 6-digit division code")
    if not region_table().is_province_known(region):
        fail(f"--region {region!r}: no province has code {region[:2]}")


def show_command(
    ctx: typer.Context, region: RegionOption = None, as_json: JsonOption = False
) -> None:
    """Print the effective policy for a region (default: national)."""
    _check_region(region)
    policy = _catalog(ctx).effective(region)
    if as_json:
        document = policy.model_dump(mode="json")
        document["content_hash"] = policy.content_hash()
        emit_json(document)
        return
    print_policy(state(ctx).out, policy)


def audit_command(
    ctx: typer.Context,
    region: RegionOption = None,
    strict: Annotated[bool, typer.Option(help="Exit 1 if any measure is flagged.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Proportionality and context audit: national, and every region with an overlay."""
    _check_region(region)
    catalog = _catalog(ctx)
    regions: list[str | None] = [region] if region else [None, *catalog.overlay_regions]
    audits = [audit(catalog.effective(code)) for code in regions]
    if as_json:
        emit_json({"policies": [a.as_dict() for a in audits]})
    else:
        for result in audits:
            print_audit(state(ctx).out, result)
    flagged = any(result.summary["measures_flagged"] for result in audits)
    raise typer.Exit(EXIT_FAILED if strict and flagged else EXIT_OK)


def print_policy(out: Console, policy: EffectivePolicy) -> None:
    where = region_table().describe(policy.region) if policy.region else "national"
    out.print(f"[bold]{policy.version}[/]  ({where})  {policy.content_hash()}", highlight=False)
    scale = policy.scale
    out.print(f"scale: base {scale.base}, floor {scale.floor}, ceiling {scale.ceiling}")
    out.print("grades: " + ", ".join(f"{g.name} {g.min}-{g.max}" for g in policy.grades))
    for name, rule in policy.lists.items():
        out.print(f"list [bold]{name}[/]: {rule.title}. {rule.description}", highlight=False)
    types = Table(
        "record type",
        "category",
        "severity",
        "points",
        "in force",
        "public",
        "lists",
        "from",
        title="Record types",
    )
    types.columns[0].no_wrap = True
    for key, rt in policy.record_types.items():
        points = (
            str(rt.points)
            if rt.points is not None
            else f"{rt.points_per_unit}/{rt.unit}, cap {rt.yearly_cap}/yr"
        )
        types.add_row(
            key,
            rt.category,
            rt.severity,
            points,
            f"{rt.in_force_months} mo",
            "yes" if rt.public else "no",
            ", ".join(rt.lists),
            policy.sources.get(f"record_types.{key}", ""),
        )
    out.print(types)
    measures = Table(
        "measure",
        "kind",
        "impact",
        "granted to / denied to",
        "related categories",
        title="Measures",
    )
    measures.columns[0].no_wrap = True
    for key, m in policy.measures.items():
        who = ", ".join(
            (*m.granted_to_lists, *m.granted_to_grades, *m.denied_to_lists, *m.denied_to_grades)
        )
        measures.add_row(key, m.kind, m.impact, who, ", ".join(m.trigger_categories))
    out.print(measures)


def print_audit(out: Console, result: PolicyAudit) -> None:
    where = region_table().describe(result.region) if result.region else "national"
    s = result.summary
    out.rule(f"audit of {result.version} ({where})")
    out.print(
        f"{s['measures']} measures, {s['measures_flagged']} flagged: "
        f"{s['unrelated_context']} unrelated-context and {s['disproportionate']} "
        "disproportionate findings",
        highlight=False,
    )
    table = Table(
        "measure", "kind", "impact", "reached from", "unrelated contexts", "out of proportion"
    )
    table.columns[0].no_wrap = True
    for m in result.measures:
        contexts = [f.category for f in m.flags if f.kind == "unrelated_context"]
        heavy = [f.record_types[0] for f in m.flags if f.kind == "disproportionate"]
        table.add_row(
            m.measure,
            m.kind,
            m.impact,
            f"{len(m.reachable_categories)} categories",
            "[red]" + ", ".join(contexts) + "[/]" if contexts else "[green]none[/]",
            f"[red]{len(heavy)} record types[/]" if heavy else "[green]none[/]",
        )
    out.print(table)
    for m in result.measures:
        for flag in m.flags:
            label = "context" if flag.kind == "unrelated_context" else "proportion"
            out.print(f"  [yellow]{label}[/] {m.measure}: {flag.message}", highlight=False)


__all__ = ["EXIT_UNUSABLE", "register"]
