from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from socialcredit.cli import create_cli
from socialcredit.policy import shipped_policy_dir
from tests.factories import national_policy, overlay_policy, record_type, write_policy


def test_validate_shipped_files(runner: CliRunner) -> None:
    directory = shipped_policy_dir()
    files = [str(directory / "national.toml"), *map(str, sorted(directory.glob("cities/*.toml")))]
    result = runner.invoke(create_cli(), ["policy", "validate", "--json", *files])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["valid"] is True
    assert document["errors"] == 0


def test_validate_an_overlay_alone_uses_the_shipped_national(
    runner: CliRunner, tmp_path: Path
) -> None:
    overlay = write_policy(tmp_path / "city.toml", overlay_policy("3301"))
    result = runner.invoke(create_cli(), ["policy", "validate", "--json", str(overlay)])
    assert result.exit_code == 0, result.output


def test_validate_reports_file_key_and_message(runner: CliRunner, tmp_path: Path) -> None:
    policy = national_policy()
    policy["record_types"]["conduct.online_rumours"] = record_type(category="public_order")
    path = write_policy(tmp_path / "national.toml", policy)
    result = runner.invoke(create_cli(), ["policy", "validate", "--json", str(path)])
    assert result.exit_code == 1
    problem = json.loads(result.stdout)["problems"][0]
    assert problem["file"] == str(path)
    assert problem["key"] == "record_types.conduct.online_rumours"
    assert "lawful speech" in problem["message"]
    human = runner.invoke(create_cli(), ["policy", "validate", str(path)])
    assert human.exit_code == 1
    assert "record_types.conduct.online_rumours" in human.stderr


def test_show_effective_policy_for_a_region(runner: CliRunner) -> None:
    result = runner.invoke(create_cli(), ["policy", "show", "--region", "371082", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["version"] == "national@2026.1+rongcheng@2026.1"
    assert document["content_hash"].startswith("sha256:")
    assert "rongcheng.utility_theft" in document["record_types"]
    assert document["sources"]["record_types.rongcheng.utility_theft"] == "cities/rongcheng.toml"


def test_show_rejects_a_bad_region(runner: CliRunner) -> None:
    result = runner.invoke(create_cli(), ["policy", "show", "--region", "99", "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "no province" in result.stderr


def test_show_with_an_unusable_policy_dir(runner: CliRunner, tmp_path: Path) -> None:
    write_policy(tmp_path / "national.toml", national_policy(grades=[]))
    result = runner.invoke(create_cli(), ["--policy-dir", str(tmp_path), "policy", "show"])
    assert result.exit_code == 2
    assert "cannot be used" in result.stderr


def test_audit_json_covers_national_and_every_overlay(runner: CliRunner) -> None:
    result = runner.invoke(create_cli(), ["policy", "audit", "--json"])
    assert result.exit_code == 0, result.output
    policies = json.loads(result.stdout)["policies"]
    assert [p["region"] for p in policies] == [None, "3301", "3309", "371082"]
    for policy in policies:
        for measure in policy["measures"]:
            assert {"measure", "reachable_categories", "flags"} <= set(measure)
    strict = runner.invoke(create_cli(), ["policy", "audit", "--strict", "--json"])
    assert strict.exit_code == 1


def test_audit_human_output_reads_clearly(runner: CliRunner) -> None:
    result = runner.invoke(create_cli(), ["policy", "audit", "--region", "3301"])
    assert result.exit_code == 0
    assert "unrelated contexts" in result.stdout
    assert "city.education" in result.stdout
