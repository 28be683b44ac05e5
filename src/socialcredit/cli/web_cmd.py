"""``socialcredit keys``, ``socialcredit audit`` and ``socialcredit serve``."""

from __future__ import annotations

import datetime as dt
import getpass
import os
from typing import Annotated

import typer

from socialcredit.audit import AuditEntry, AuditLog
from socialcredit.cli.output import (
    EXIT_FAILED,
    JsonOption,
    emit_json,
    fail,
    fail_settings,
    state,
)
from socialcredit.errors import PlatformError
from socialcredit.keys import ROLES, KeyRing
from socialcredit.settings import Settings
from socialcredit.store import Database


def open_store(settings: Settings) -> Database:
    try:
        return Database(settings.effective_database_url())
    except Exception as error:  # a bad URL, an unreachable server
        fail(f"the store at SOCIALCREDIT_DATABASE_URL cannot be used: {error}")


HEX = frozenset("0123456789abcdef")


def _anchor(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` as `audit head` prints it."""
    seq, _, digest = text.strip().partition(":")
    if not seq.isdigit() or int(seq) < 1 or len(digest) != 64 or not set(digest) <= HEX:
        raise typer.BadParameter(
            f"{text!r}: give SEQ:HASH as `socialcredit audit head` prints it", param_hint="--anchor"
        )
    return int(seq), digest


def _expiry(text: str | None) -> dt.datetime | None:
    """``30d``, ``12h`` or an ISO date or timestamp (UTC if no zone)."""
    if text is None:
        return None
    now = dt.datetime.now(dt.UTC)
    if text[:-1].isdigit() and text[-1:] in ("d", "h"):
        amount = int(text[:-1])
        return now + (dt.timedelta(days=amount) if text[-1] == "d" else dt.timedelta(hours=amount))
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        fail(f"--expires: {text!r} is neither a duration (30d, 12h) nor a date or timestamp")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _ring(ctx: typer.Context) -> KeyRing:
    settings = state(ctx).settings
    return KeyRing(open_store(settings), settings.secret_key.get_secret_value().encode())


def register(app: typer.Typer) -> None:
    keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
    app.add_typer(keys_app, name="keys")

    @keys_app.command("create")
    def create_command(
        ctx: typer.Context,
        role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
        scope: Annotated[
            list[str] | None,
            typer.Option(
                "--scope",
                help="subject: the subject id; relying_party: a measure (repeat); "
                "agency: authority:CODE and region:CODE (repeat).",
            ),
        ] = None,
        expires: Annotated[
            str | None, typer.Option("--expires", help="30d, 12h, or a date (default: never).")
        ] = None,
        label: Annotated[str, typer.Option("--label", help="A note: whose key.")] = "",
        as_json: JsonOption = False,
    ) -> None:
        """Print a new API key. It is shown once: only its hash is stored."""
        ring = _ring(ctx)
        try:
            key, token = ring.create(role, scope or [], _expiry(expires), label)
        except PlatformError as error:
            fail(error.message)
        document = {**key.as_dict(), "key": token}
        if as_json:
            emit_json(document)
            return
        out = state(ctx).out
        out.print(token, markup=False, highlight=False)
        state(ctx).err.print(
            f"key {key.key_id} ({role}) created; it is shown once: keep it safe", markup=False
        )

    @keys_app.command("list")
    def list_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
        """Every key (never a secret), oldest first."""
        ring = _ring(ctx)
        keys = [key.as_dict() for key in ring.list()]
        if as_json:
            emit_json(keys)
            return
        for key in keys:
            status = "revoked" if key["revoked_at"] else "active"
            scope = key["subject_id"] or ",".join(key["measures"]) or key["authority"] or ""
            state(ctx).out.print(
                f"{key['key_id']}  {key['role']:<13} {status:<8} {scope} {key['label']}",
                markup=False,
                highlight=False,
            )

    @keys_app.command("revoke")
    def revoke_command(
        ctx: typer.Context,
        key_id: Annotated[str, typer.Argument(help="The key id (see keys list).")],
        as_json: JsonOption = False,
    ) -> None:
        """Revoke a key: every server refuses it within seconds."""
        ring = _ring(ctx)
        try:
            key = ring.revoke(key_id)
        except PlatformError as error:
            fail(error.message, EXIT_FAILED)
        if as_json:
            emit_json(key.as_dict())
        else:
            state(ctx).out.print(f"key {key.key_id} revoked at {key.revoked_at}", markup=False)

    audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
    app.add_typer(audit_app, name="audit")

    @audit_app.command("verify")
    def verify_command(
        ctx: typer.Context,
        anchor: Annotated[
            list[str] | None,
            typer.Option(
                "--anchor",
                help="SEQ:HASH from `audit head`, kept outside the store (repeatable).",
            ),
        ] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Check the hash chain (and its anchors), exit 1 naming the first entry that
        breaks it; then the index by subject against the log."""
        anchors = [_anchor(text) for text in anchor or []]
        result = AuditLog(open_store(state(ctx).settings)).verify(anchors)
        if as_json:
            emit_json(result.as_dict())
        elif result.ok:
            state(ctx).out.print(f"audit log intact: {result.entries:,} entries")
        elif result.index_problem:
            state(ctx).out.print(
                f"audit log intact ({result.entries:,} entries), but its index by subject is "
                f"not: {result.index_problem}; `socialcredit audit reindex` remakes it",
                markup=False,
            )
        else:
            state(ctx).out.print(
                f"audit log BROKEN at position {result.position} (entry {result.seq}): "
                f"{result.problem}; {result.entries:,} entries before it are intact",
                markup=False,
            )
        raise typer.Exit(0 if result.ok else EXIT_FAILED)

    @audit_app.command("head")
    def head_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
        """The newest entry's number and hash (SEQ:HASH): keep it outside the store, and
        give it to `audit verify --anchor` later to find a rewritten log."""
        head = AuditLog(open_store(state(ctx).settings)).head()
        if head is None:
            fail("the audit log is empty", EXIT_FAILED)
        if as_json:
            emit_json({"seq": head[0], "hash": head[1], "anchor": f"{head[0]}:{head[1]}"})
        else:
            state(ctx).out.print(f"{head[0]}:{head[1]}", markup=False, highlight=False)

    @audit_app.command("reindex")
    def reindex_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
        """Remake the index by subject from the log (when `audit verify` finds it wrong)."""
        try:
            pairs = AuditLog(open_store(state(ctx).settings)).index.rebuild()
        except RuntimeError as error:
            fail(str(error), EXIT_FAILED)
        if as_json:
            emit_json({"pairs": pairs})
        else:
            state(ctx).out.print(f"audit index rebuilt: {pairs:,} (subject, entry) pairs")

    @audit_app.command("show")
    def show_command(
        ctx: typer.Context,
        subject: Annotated[str, typer.Option("--subject", help="Whose data: the subject id.")],
        limit: Annotated[int, typer.Option("--limit", min=1, help="Newest entries.")] = 1000,
        as_json: JsonOption = False,
    ) -> None:
        """Who looked at this subject's data, newest first (this look is logged too)."""
        subject_id = subject.strip().upper()
        log = AuditLog(open_store(state(ctx).settings))
        entries = log.for_subject(subject_id, limit)
        user = f"cli:{getpass.getuser()}"
        log.append(
            [AuditEntry(user, "admin", "audit show", "read:access-log", "answered", (subject_id,))]
        )
        if as_json:
            emit_json({"subject_id": subject_id, "entries": entries})
            return
        out = state(ctx).out
        if not entries:
            out.print(f"no one has read or changed {subject_id}'s data", markup=False)
        for e in entries:
            out.print(
                f"{e['at']}  {e['actor']} ({e['role']}) {e['action']} -> {e['outcome']}; "
                f"purpose: {e['purpose']}",
                markup=False,
                highlight=False,
            )

    @app.command("serve")
    def serve_command(
        ctx: typer.Context,
        host: Annotated[
            str | None, typer.Option("--host", help="Address (default 127.0.0.1).")
        ] = None,
        port: Annotated[int | None, typer.Option("--port", help="Port (default 8000).")] = None,
        workers: Annotated[
            int | None, typer.Option("--workers", help="Processes (default 1).")
        ] = None,
        rate_limit: Annotated[
            int | None, typer.Option("--rate-limit", help="Requests a second per key.")
        ] = None,
        max_body_bytes: Annotated[
            int | None, typer.Option("--max-body-bytes", help="Largest request body.")
        ] = None,
        snapshot_poll_seconds: Annotated[
            float | None,
            typer.Option("--snapshot-poll-seconds", help="How often to look for a new snapshot."),
        ] = None,
    ) -> None:
        """Serve the API (Uvicorn); a newly published snapshot is picked up live."""
        import uvicorn
        from pydantic import ValidationError

        base = state(ctx).settings
        given = {
            "host": host,
            "port": port,
            "workers": workers,
            "rate_limit": rate_limit,
            "max_body_bytes": max_body_bytes,
            "snapshot_poll_seconds": snapshot_poll_seconds,
        }
        try:
            settings = base.model_copy(update={k: v for k, v in given.items() if v is not None})
            Settings.model_validate(settings.model_dump())
        except ValidationError as error:
            fail_settings(error)
        # the worker processes read their settings from the environment
        for name, value in settings.model_dump().items():
            if value is not None and name != "secret_key":
                os.environ[f"SOCIALCREDIT_{name.upper()}"] = str(value)
        open_store(settings)  # fail here, not in every worker
        state(ctx).err.print(
            f"serving http://{settings.host}:{settings.port}/api/v1/docs "
            f"({settings.workers} worker(s), data {settings.data})",
            markup=False,
        )
        uvicorn.run(
            "socialcredit.web.server:app_from_environment",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level="warning",
        )
