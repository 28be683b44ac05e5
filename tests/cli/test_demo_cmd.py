from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from socialcredit.cli import create_cli


def test_demo_validates_shows_audits_and_generates(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(create_cli(), ["--data", str(tmp_path), "demo"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
    assert "national@2026.1" in result.stdout
    assert "audit of national@2026.1" in result.stdout
    assert "20,000 people" in result.stdout
    assert (tmp_path / "demo" / "records.parquet").is_file()
    assert "subjects: 21,000 accepted, 0 rejected" in result.stdout
    assert "records: " in result.stdout
    assert ", 0 rejected, 0 duplicates (ledger version 1)" in result.stdout
    assert "snapshot 000001-" in result.stdout
    assert "transport.flight -> denied ['listed:discredited']" in result.stdout
    again = runner.invoke(create_cli(), ["--data", str(tmp_path), "demo"])
    assert again.exit_code == 0, again.output
    assert "subjects: 0 accepted, 0 rejected, 21,000 duplicates" in again.stdout
    assert "snapshot 000002-" in again.stdout
