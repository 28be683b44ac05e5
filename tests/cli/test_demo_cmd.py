from __future__ import annotations

from typer.testing import CliRunner

from socialcredit.cli import create_cli


def test_demo_validates_shows_and_audits(runner: CliRunner) -> None:
    result = runner.invoke(create_cli(), ["demo"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
    assert "national@2026.1" in result.stdout
    assert "audit of national@2026.1" in result.stdout
