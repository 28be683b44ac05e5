"""``socialcredit keys``, ``audit`` and ``serve`` through the CLI, the server for real."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, update
from typer.testing import CliRunner

from socialcredit.cli import create_cli
from socialcredit.store import Database
from socialcredit.store.tables import AUDIT_LOG
from socialcredit.web.server import free_port, serve_command, wait_until_ready
from tests.scored import Scored


def _invoke(runner: CliRunner, data: Path, *args: str) -> tuple[int, Any, str]:
    result = runner.invoke(create_cli(), ["--data", str(data), *args, "--json"])
    document = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, document, result.stderr


def test_keys_create_list_revoke(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, made, _ = _invoke(
        runner, data, "keys", "create", "--role", "relying_party", "--scope", "transport.flight",
        "--expires", "30d", "--label", "airline",
    )  # fmt: skip
    assert code == 0
    assert made["key"].startswith("sck_")
    assert made["measures"] == ["transport.flight"]
    code, listed, _ = _invoke(runner, data, "keys", "list")
    assert code == 0
    assert [k["key_id"] for k in listed] == [made["key_id"]]
    assert "key" not in listed[0]
    assert made["key"] not in json.dumps(listed)
    code, revoked, _ = _invoke(runner, data, "keys", "revoke", made["key_id"])
    assert code == 0
    assert revoked["revoked_at"]
    code, _, error = _invoke(runner, data, "keys", "revoke", made["key_id"])
    assert code == 1
    assert "already revoked" in error
    code, _, error = _invoke(runner, data, "keys", "create", "--role", "subject")
    assert code == 2
    assert "subject id" in error
    code, _, error = _invoke(runner, data, "keys", "create", "--role", "admin", "--expires", "soon")
    assert code == 2
    assert "--expires" in error


def test_audit_verify_and_show(runner: CliRunner, tmp_path: Path) -> None:
    from socialcredit.audit import AuditEntry, AuditLog

    data = tmp_path / "data"
    database = Database(f"sqlite:///{(data / 'socialcredit.db').resolve()}")
    person = "11010519491231002X"
    AuditLog(database).append(
        [AuditEntry("k1", "relying_party", "ticket", "check:transport.flight", "denied", (person,))]
    )
    code, shown, _ = _invoke(runner, data, "audit", "show", "--subject", person.lower())
    assert code == 0
    assert shown["entries"][0]["purpose"] == "ticket"
    code, verified, _ = _invoke(runner, data, "audit", "verify")
    assert code == 0
    assert verified["ok"]
    assert verified["entries"] == 2
    assert verified["index_problem"] is None
    code, head, _ = _invoke(runner, data, "audit", "head")
    assert code == 0
    assert head["seq"] == 2
    code, verified, _ = _invoke(runner, data, "audit", "verify", "--anchor", head["anchor"])
    assert (code, verified["ok"]) == (0, True)
    wrong = f"2:{'0' * 64}"
    code, verified, _ = _invoke(runner, data, "audit", "verify", "--anchor", wrong)
    assert code == 1
    assert "anchored" in verified["problem"]
    code, _, error = _invoke(runner, data, "audit", "verify", "--anchor", "two:abc")
    assert code == 2
    assert "SEQ:HASH" in error
    with database.transaction() as connection:
        connection.execute(update(AUDIT_LOG).where(AUDIT_LOG.c.seq == 1).values(outcome="allowed"))
    code, verified, _ = _invoke(runner, data, "audit", "verify")
    assert code == 1
    assert verified["position"] == 1
    assert "edited" in verified["problem"]


def test_audit_reindex_mends_a_damaged_index(runner: CliRunner, tmp_path: Path) -> None:
    from socialcredit.audit import AuditEntry, AuditLog
    from socialcredit.store.tables import AUDIT_INDEX_PAGES

    data = tmp_path / "data"
    log = AuditLog(Database(f"sqlite:///{(data / 'socialcredit.db').resolve()}"))
    log.append([AuditEntry("k1", "auditor", "t", "read:x", "answered", ("A", "B"))])
    log.index.maintain()
    with log.index.store.transaction() as connection:
        connection.execute(delete(AUDIT_INDEX_PAGES))
    code, verified, _ = _invoke(runner, data, "audit", "verify")
    assert code == 1
    assert verified["position"] is None
    assert "2 pairs" in verified["index_problem"] or "holds 0 pairs" in verified["index_problem"]
    code, rebuilt, _ = _invoke(runner, data, "audit", "reindex")
    assert (code, rebuilt) == (0, {"pairs": 2})
    code, verified, _ = _invoke(runner, data, "audit", "verify")
    assert code == 0
    assert verified["ok"]


def test_serve_starts_a_real_server(scored: Scored, tmp_path: Path, runner: CliRunner) -> None:
    data = scored.copy_to(tmp_path / "data")
    port = free_port()
    code, made, _ = _invoke(
        runner, data, "keys", "create", "--role", "relying_party", "--scope", "transport.flight"
    )
    assert code == 0
    env = {**os.environ, "SOCIALCREDIT_DATA": str(data)}
    server = subprocess.Popen(serve_command(port, 2), env=env, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        ready = wait_until_ready(base, server, 60)
        assert ready, server.stderr.read() if server.stderr else "the server did not start"
        person = scored.snapshot.subject_table(["subject_id"]).column(0)[0].as_py()
        headers = {"Authorization": f"Bearer {made['key']}"}
        got = httpx.get(f"{base}/api/v1/checks/transport.flight/{person}", headers=headers)
        assert got.status_code == 200
        assert got.json()["snapshot"] == scored.snapshot.id
        assert httpx.get(f"{base}/api/v1/subjects/{person}", headers=headers).status_code == 403
    finally:
        server.terminate()
        server.wait(timeout=30)
