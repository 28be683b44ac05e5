"""``socialcredit case list|show|open|decide|appeal`` and ``socialcredit repair
apply|decide``: thin callers of :mod:`socialcredit.casework`. The command line acts
as an administrator (``cli:<user>`` in the audit log), on behalf of whoever asked."""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable
from typing import Annotated, Any

import typer

from socialcredit.casework import (
    EVIDENCE_KINDS,
    OBJECTION_OUTCOMES,
    REPAIR_OUTCOMES,
    Actor,
    Case,
    Casework,
)
from socialcredit.cli.output import EXIT_FAILED, JsonOption, emit_json, fail, state
from socialcredit.cli.scoring_cmd import open_casework, open_catalog, open_ledger
from socialcredit.errors import PlatformError

CaseArgument = Annotated[int, typer.Argument(help="The case number.", min=1, max=2**63 - 1)]
RecordArgument = Annotated[str, typer.Argument(help="The record's record_id.")]
RefOption = Annotated[
    str, typer.Option("--ref", help="The decision's reference (written to the ledger).")
]
ReasonsOption = Annotated[str, typer.Option("--reasons", help="Why: given to the subject.")]
VersionOption = Annotated[
    int | None,
    typer.Option("--version", help="The case version read (refused if it changed since)."),
]


def _actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}", "admin")


def _run(ctx: typer.Context, step: Callable[[Casework], Any]) -> Any:
    """Run one casework step; a refusal exits 1 with its reason."""
    casework = open_casework(ctx, open_ledger(ctx), open_catalog(ctx))
    try:
        return step(casework)
    except PlatformError as error:
        detail = "".join(f"; {name}: {value}" for name, value in error.detail.items())
        fail(f"{error.message}{detail}", EXIT_FAILED)


def _emit(ctx: typer.Context, case: Case, as_json: bool, done: str) -> None:
    document = case.as_dict()
    if as_json:
        emit_json(document)
        return
    out = state(ctx).out
    out.print(f"{done}: {_line(document)}", markup=False, highlight=False)
    if document["outcome"] and document["ledger_records"] and not document["ledger_written"]:
        out.print(
            "the decision's ledger rows are not written yet: the next `socialcredit score` "
            "writes them",
            markup=False,
        )


def _line(case: dict[str, Any]) -> str:
    decided = f", {case['outcome']} ({case['decision_ref']})" if case["outcome"] else ""
    level = " (appeal)" if case["level"] > 1 else ""
    return (
        f"case {case['case_id']}{level}: {case['kind']} of record {case['record_id']} "
        f"({case['record_type']}, {case['subject_id']}), {case['status']}, decision due by "
        f"{case['deadline']}{decided}"
    )


def register(app: typer.Typer) -> None:
    case_app = typer.Typer(help="Objections to records (异议): open, decide, appeal.")
    repair_app = typer.Typer(help="Credit repair (信用修复): apply, decide.")
    app.add_typer(case_app, name="case", no_args_is_help=True)
    app.add_typer(repair_app, name="repair", no_args_is_help=True)

    @case_app.command("list")
    def list_command(
        ctx: typer.Context,
        status: Annotated[
            str | None, typer.Option("--status", help="open, escalated or decided.")
        ] = None,
        kind: Annotated[str | None, typer.Option("--kind", help="objection or repair.")] = None,
        subject: Annotated[str | None, typer.Option("--subject", help="One subject's.")] = None,
        queue: Annotated[
            bool, typer.Option("--queue", help="The reviewers' queue: escalated and appeals.")
        ] = False,
        limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 100,
        as_json: JsonOption = False,
    ) -> None:
        """Cases, newest first (cases past their deadline are escalated first)."""
        if status not in (None, "open", "escalated", "decided"):
            fail(f"--status: open, escalated or decided, not {status!r}")
        if kind not in (None, "objection", "repair"):
            fail(f"--kind: objection or repair, not {kind!r}")
        who = subject.strip().upper() if subject else None
        found: list[Case] = _run(
            ctx,
            lambda c: c.cases(
                _actor(), kind=kind, status=status, subject_id=who, queue=queue, limit=limit
            ),
        )
        if as_json:
            emit_json([case.as_dict() for case in found])
            return
        out = state(ctx).out
        if not found:
            out.print("no cases")
        for case in found:
            out.print(_line(case.as_dict()), markup=False, highlight=False)

    @case_app.command("show")
    def show_command(
        ctx: typer.Context, case_id: CaseArgument, as_json: JsonOption = False
    ) -> None:
        """One case: the record, grounds, deadline, decision and ledger rows."""
        case: Case = _run(ctx, lambda c: c.get(case_id, _actor()))
        if as_json:
            emit_json(case.as_dict())
            return
        document = case.as_dict()
        out = state(ctx).out
        out.print(_line(document), markup=False, highlight=False)
        label = "evidence" if case.kind == "repair" else "grounds"
        kind = f" ({case.evidence_kind})" if case.evidence_kind else ""
        out.print(f"  {label}{kind}: {case.grounds}", markup=False, highlight=False)
        out.print(f"  opened by {case.opened_by} at {document['opened_at']}", markup=False)
        if case.escalated_at:
            out.print(f"  escalated at {document['escalated_at']} (deadline missed)", markup=False)
        if case.outcome:
            out.print(
                f"  decided by {case.decided_by} at {document['decided_at']}: {case.reasons}",
                markup=False,
                highlight=False,
            )
        for record_id in document["ledger_records"]:
            written = "written" if case.ledger_written_at else "pending"
            out.print(f"  ledger row {record_id} ({written})", markup=False, highlight=False)

    @case_app.command("open")
    def open_command(
        ctx: typer.Context,
        record_id: RecordArgument,
        grounds: Annotated[str, typer.Option("--grounds", help="Why the record is wrong.")],
        as_json: JsonOption = False,
    ) -> None:
        """Object to a record: its effect is frozen from the next scoring on, until the
        issuing authority decides (15 days for court-list records, else 10 working days)."""
        case = _run(ctx, lambda c: c.open_objection(record_id, grounds, _actor()))
        _emit(ctx, case, as_json, "opened")

    @case_app.command("decide")
    def decide_command(
        ctx: typer.Context,
        case_id: CaseArgument,
        outcome: Annotated[str, typer.Argument(help=", ".join(OBJECTION_OUTCOMES) + ".")],
        ref: RefOption,
        reasons: ReasonsOption,
        version: VersionOption = None,
        record_type: Annotated[
            str | None, typer.Option("--record-type", help="corrected: the right record type.")
        ] = None,
        occurred_on: Annotated[
            str | None, typer.Option("--occurred-on", help="corrected: the right date.")
        ] = None,
        amount: Annotated[
            float | None, typer.Option("--amount", help="corrected: the right amount.")
        ] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Decide an objection: upheld (the record counts again), corrected (a new record
        replaces it), revoked, or hardship (it becomes a non-dishonesty record)."""
        correction: dict[str, Any] = {}
        if record_type is not None:
            correction["record_type"] = record_type
        if occurred_on is not None:
            try:
                correction["occurred_on"] = dt.date.fromisoformat(occurred_on).isoformat()
            except ValueError:
                fail(f"--occurred-on: {occurred_on!r} is not a date (YYYY-MM-DD)")
        if amount is not None:
            correction["amount"] = amount
        if correction and outcome != "corrected":
            fail("--record-type, --occurred-on and --amount go with the outcome corrected")
        case = _run(
            ctx,
            lambda c: c.decide(
                case_id, outcome, ref, reasons, _actor(), expected_version=version,
                correction=correction or None, kind="objection",
            ),
        )  # fmt: skip
        _emit(ctx, case, as_json, "decided")

    @case_app.command("appeal")
    def appeal_command(
        ctx: typer.Context,
        case_id: CaseArgument,
        grounds: Annotated[str, typer.Option("--grounds", help="Why the decision is wrong.")],
        as_json: JsonOption = False,
    ) -> None:
        """Appeal a decided objection to the next level (once)."""
        case = _run(ctx, lambda c: c.appeal(case_id, grounds, _actor()))
        _emit(ctx, case, as_json, "appealed")

    @repair_app.command("apply")
    def apply_command(
        ctx: typer.Context,
        record_id: RecordArgument,
        evidence_kind: Annotated[
            str, typer.Option("--evidence-kind", help=", ".join(EVIDENCE_KINDS) + ".")
        ],
        evidence: Annotated[str, typer.Option("--evidence", help="What shows it.")],
        as_json: JsonOption = False,
    ) -> None:
        """Apply for credit repair of a record once its minimum publication period has
        passed (refused before, with the date it becomes possible)."""
        case = _run(ctx, lambda c: c.apply_repair(record_id, evidence_kind, evidence, _actor()))
        _emit(ctx, case, as_json, "applied")

    @repair_app.command("decide")
    def repair_decide_command(
        ctx: typer.Context,
        case_id: CaseArgument,
        outcome: Annotated[str, typer.Argument(help=", ".join(REPAIR_OUTCOMES) + ".")],
        ref: RefOption,
        reasons: ReasonsOption,
        version: VersionOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Grant (the record's effect and publication end) or refuse a repair."""
        case = _run(
            ctx,
            lambda c: c.decide(
                case_id, outcome, ref, reasons, _actor(), expected_version=version, kind="repair"
            ),
        )
        _emit(ctx, case, as_json, "decided")
