"""``socialcredit demo``: set-up, samples with working keys, reuse, and a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from socialcredit.cli import create_cli
from socialcredit.web.server import free_port, wait_until_ready

PEOPLE = "3000"


def _demo(runner: CliRunner, data: Path, *args: str) -> dict[str, object]:
    result = runner.invoke(
        create_cli(), ["demo", "--data", str(data), "--people", PEOPLE, "--no-serve", *args]
    )
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_demo_sets_up_samples_with_keys_and_reuses_its_data(
    runner: CliRunner, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = _demo(runner, data, "--json")
    assert first["reused"] is False
    samples = {s["role"]: s for s in first["samples"]}  # type: ignore[attr-defined]
    assert set(samples) == {"role_model", "discredited", "ordinary"}
    check = first["sample_check"]
    assert check["answer"]["allowed"] is False  # type: ignore[index]
    assert "listed:discredited" in check["answer"]["reasons"]  # type: ignore[index]
    assert samples["discredited"]["subject_id"] in check["request"]  # type: ignore[index]
    again = _demo(runner, data, "--json")
    assert again["reused"] is True
    assert again["snapshot"] == first["snapshot"]
    assert again["relying_party_key"] != first["relying_party_key"]  # new keys each run
    text = runner.invoke(
        create_cli(), ["demo", "--data", str(data), "--people", PEOPLE, "--no-serve"]
    )
    assert text.exit_code == 0
    assert "http://127.0.0.1:8000/" in text.stdout
    assert "discredited" in text.stdout
    assert "-> denied: listed:discredited" in text.stdout


def test_demo_serves_what_it_set_up(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = _demo(runner, data, "--json")
    samples = {s["role"]: s for s in made["samples"]}  # type: ignore[attr-defined]
    port = free_port()
    command = [sys.executable, "-m", "socialcredit.cli", "demo", "--data", str(data)]
    command += ["--people", PEOPLE, "--port", str(port)]
    server = subprocess.Popen(
        command, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_until_ready(base, server, 120), server.stderr.read() if server.stderr else ""
        mine = samples["discredited"]
        answer = httpx.get(
            f"{base}/api/v1/subjects/{mine['subject_id']}",
            headers={"Authorization": f"Bearer {mine['key']}"},
        )
        assert answer.status_code == 200
        assert "discredited" in answer.json()["lists"]
        check = httpx.get(
            f"{base}/api/v1/checks/transport.flight/{mine['subject_id']}",
            headers={"Authorization": f"Bearer {made['relying_party_key']}"},
        )
        assert check.json()["allowed"] is False
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.stdout is not None
    assert "reused from an earlier run" in server.stdout.read()


def test_demo_refuses_another_size_and_mends_a_damaged_marker(
    runner: CliRunner, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    _demo(runner, data, "--json")
    other = runner.invoke(
        create_cli(), ["demo", "--data", str(data), "--people", "500", "--no-serve"]
    )
    assert other.exit_code == 2
    assert f"holds a demo of {int(PEOPLE)} people" in other.stderr
    (data / "demo" / "READY.json").write_text("{not json", "utf-8")
    again = _demo(runner, data, "--json")
    assert again["reused"] is False  # made again, not a crash
