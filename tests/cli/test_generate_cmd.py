from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from socialcredit.cli import create_cli
from socialcredit.policy import load_catalog, shipped_policy_dir
from socialcredit.simulate.generate import MAX_ORGANISATIONS, MAX_PEOPLE


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


def _generate(runner: CliRunner, out: Path, *extra: str, policy_dir: Path | None = None) -> Result:
    options = ["--policy-dir", str(policy_dir)] if policy_dir else []
    args = [*options, "generate", "--people", "50", "--out", str(out), "--as-of", "2026-06-30"]
    return runner.invoke(create_cli(), [*args, *extra, "--json"])


def _message(result: Result) -> str:
    return " ".join(result.stderr.split())  # Rich wraps long lines


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--seed", "-1"], "--seed must be 0 or more, got -1"),
        (
            ["--organisations", f"{MAX_ORGANISATIONS + 1}"],
            f"--organisations must be 0 or more, up to {MAX_ORGANISATIONS:,}",
        ),
        (
            ["--people", f"{MAX_PEOPLE + 1}"],
            f"--people must be a positive number up to {MAX_PEOPLE:,}, got {MAX_PEOPLE + 1}",
        ),
    ],
)
def test_arguments_out_of_range_exit_2_naming_the_option(
    runner: CliRunner, tmp_path: Path, extra: list[str], message: str
) -> None:
    out = tmp_path / "out"
    result = _generate(runner, out, *extra)
    assert result.exit_code == 2, result.output
    assert message in _message(result)
    assert result.stdout == ""  # --json: nothing on stdout when nothing was done
    assert not (out / "subjects.parquet").exists()
    assert not (out / "records.parquet").exists()


def _policies_without(tmp_path: Path, remove: str) -> Path:
    """A copy of the shipped policies with one record type (or one overlay file) removed."""
    directory = tmp_path / "policies"
    shutil.copytree(shipped_policy_dir(), directory)
    if remove.endswith(".toml"):
        (directory / remove).unlink()
        return directory
    national = directory / "national.toml"
    text = national.read_text(encoding="utf-8")
    start = text.index(f'[record_types."{remove}"]')
    end = text.index("[record_types.", start + 1)
    national.write_text(text[:start] + text[end:], encoding="utf-8")
    assert load_catalog(directory)  # still a valid policy, just not the calibration's
    return directory


@pytest.mark.parametrize(
    ("remove", "missing"),
    [
        ("environment.illegal_discharge", "environment.illegal_discharge"),
        ("cities/zhoushan.toml", "zhoushan."),
    ],
)
def test_policy_without_a_calibrated_record_type_exits_2(
    runner: CliRunner, tmp_path: Path, remove: str, missing: str
) -> None:
    policies = _policies_without(tmp_path, remove)
    out = tmp_path / "out"
    result = _generate(runner, out, policy_dir=policies)
    assert result.exit_code == 2, result.output
    message = _message(result)
    assert "the policy does not fit the calibration" in message
    assert f"calibration names '{missing}" in message
    assert "not in any policy" in message
    assert result.stdout == ""
    assert not (out / "subjects.parquet").exists()
    assert not (out / "records.parquet").exists()
    # the same arguments with the shipped policies work
    assert _generate(runner, out).exit_code == 0


def test_the_limits_themselves_pass_the_argument_checks(runner: CliRunner, tmp_path: Path) -> None:
    # a policy that does not fit is found after the arguments are checked: the run stops
    # there, before generating anything
    policies = _policies_without(tmp_path, "environment.illegal_discharge")
    at_limits = ["--people", str(MAX_PEOPLE), "--organisations", str(MAX_ORGANISATIONS)]
    result = _generate(
        runner, tmp_path / "out", *at_limits, "--seed", str(2**64), policy_dir=policies
    )
    assert result.exit_code == 2, result.output
    assert "the policy does not fit the calibration" in _message(result)


def test_policy_without_the_clearing_type_exits_2_before_any_output(
    runner: CliRunner, tmp_path: Path
) -> None:
    policies = _policies_without(tmp_path, "court.obligation_performed")
    out = tmp_path / "out"
    result = _generate(runner, out, policy_dir=policies)
    assert result.exit_code == 2, result.output
    assert "'court.obligation_performed' (which clears" in _message(result)
    assert "generating" not in result.output  # no progress bar for a run that cannot start
    assert not out.exists()  # nothing created when a check fails


def test_clearing_type_that_excludes_organisations_exits_2(
    runner: CliRunner, tmp_path: Path
) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(shipped_policy_dir(), policies)
    national = policies / "national.toml"
    text = national.read_text(encoding="utf-8")
    start = text.index('[record_types."court.obligation_performed"]')
    end = text.index("[record_types.", start + 1)
    block = text[start:end]
    assert 'subject_kinds = ["person", "organisation"]' in block
    fixed = block.replace(
        'subject_kinds = ["person", "organisation"]', 'subject_kinds = ["person"]'
    )
    national.write_text(text[:start] + fixed + text[end:], encoding="utf-8")
    assert load_catalog(policies)
    result = _generate(runner, tmp_path / "out", policy_dir=policies)
    assert result.exit_code == 2, result.output
    assert "court.obligation_performed does not apply to organisation" in _message(result)
