"""One settings registry feeds the environment, the CLI and the docs; they must agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from socialcredit.settings import Settings, cli_settings, load_settings, settings_table

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
    for name in cli_settings():
        assert f"--{name.replace('_', '-')}" in options
    serve = command.commands["serve"]  # type: ignore[attr-defined]
    serve_options = {opt for param in serve.params for opt in getattr(param, "opts", [])}
    for name in cli_settings("serve"):
        assert f"--{name.replace('_', '-')}" in serve_options
    # secrets never on a command line
    assert "secret_key" not in cli_settings() + cli_settings("serve")
    assert "database_url" not in cli_settings() + cli_settings("serve")


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="secret_key"):
        load_settings(environment="production")
    monkeypatch.setenv("SOCIALCREDIT_SECRET_KEY", "short")
    with pytest.raises(ValidationError, match="32 or more"):
        load_settings(environment="production")
    monkeypatch.setenv("SOCIALCREDIT_SECRET_KEY", "x" * 40)
    assert load_settings(environment="production").secret_key.get_secret_value() == "x" * 40
    monkeypatch.delenv("SOCIALCREDIT_SECRET_KEY")
    assert load_settings().environment == "development"  # the built-in secret is allowed


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7", "::", "api.example.org"])
def test_development_serves_the_built_in_secret_on_loopback_only(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOCIALCREDIT_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match=r"host: .* reachable from other machines"):
        load_settings(host=host)
    for loopback in ("127.0.0.1", "::1", "localhost"):
        assert load_settings(host=loopback).host == loopback
    monkeypatch.setenv("SOCIALCREDIT_SECRET_KEY", "y" * 40)
    assert load_settings(host=host).host == host  # a secret of one's own: allowed


def test_database_defaults_to_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    url = load_settings(data=tmp_path).effective_database_url()
    assert url == f"sqlite:///{tmp_path.resolve() / 'socialcredit.db'}"
