from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from socialcredit.cli import create_cli


def test_generate_json_summary(runner: CliRunner, tmp_path: Path) -> None:
    args = [
        "generate",
        "--people",
        "2000",
        "--seed",
        "5",
        "--out",
        str(tmp_path),
        "--as-of",
        "2026-06-30",
        "--json",
    ]
    result = runner.invoke(create_cli(), args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["people"] == 2000
    assert summary["organisations"] == 100
    assert summary["records"] == sum(summary["records_by_type"].values())
    assert summary["records_by_kind"]["person"] > 0
    assert (tmp_path / "subjects.parquet").is_file()


def test_generate_bad_arguments_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    app = create_cli()
    assert runner.invoke(app, ["generate", "--people", "0", "--out", str(tmp_path)]).exit_code == 2
    bad_date = runner.invoke(
        app, ["generate", "--people", "5", "--out", str(tmp_path), "--as-of", "yesterday"]
    )
    assert bad_date.exit_code == 2
    assert "YYYY-MM-DD" in bad_date.stderr
    ok = ["generate", "--people", "5", "--out", str(tmp_path), "--as-of", "2026-01-01"]
    assert runner.invoke(app, ok).exit_code == 0
    again = runner.invoke(app, ok)
    assert again.exit_code == 2
    assert "--force" in again.stderr
    assert runner.invoke(app, [*ok, "--force"]).exit_code == 0
