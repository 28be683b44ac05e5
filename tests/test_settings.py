"""One settings registry feeds the environment, the CLI and the docs; they must agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from socialcredit.settings import Settings, load_settings, settings_table

DOCS = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_docs_list_every_setting_with_its_default() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for variable, default, help_text in settings_table():
        row = (
            f"| `{variable}` | `{default}` | {help_text} |"
            if default
            else (f"| `{variable}` | | {help_text} |")
        )
        assert row in text, f"docs/settings.md lacks or misstates {variable}"


def test_environment_and_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOCIALCREDIT_DATA", str(tmp_path / "env"))
    assert load_settings().data == tmp_path / "env"
    assert load_settings(data=tmp_path / "cli").data == tmp_path / "cli"
    assert Settings().data == tmp_path / "env"


def test_policy_dir_without_national_policy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"national\.toml"):
        load_settings(policy_dir=tmp_path)


def test_every_setting_is_a_global_cli_option() -> None:
    import typer

    from socialcredit.cli import create_cli

    command = typer.main.get_command(create_cli())
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for name in Settings.model_fields:
        assert f"--{name.replace('_', '-')}" in options
