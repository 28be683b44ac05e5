"""All settings in one registry: environment (prefix ``SOCIALCREDIT_``), CLI and docs.

Settings are built by :func:`load_settings` when a command or app starts, never at
import time, and refuse unsafe or unusable values up front.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The platform's settings; ``load_settings`` builds them."""

    model_config = SettingsConfigDict(env_prefix="SOCIALCREDIT_", extra="ignore", frozen=True)

    data: Path = Field(
        Path("socialcredit-data"),
        description="Data directory: ledger, registry, snapshots and casework store.",
    )
    policy_dir: Path | None = Field(
        None,
        description="Directory with national.toml and overlays; default: the shipped policies.",
    )

    snapshot_retention: int = Field(
        5,
        ge=1,
        le=10_000,
        description="Published snapshots kept (the newest; the current one is never removed).",
    )

    @field_validator("policy_dir", mode="before")
    @classmethod
    def _empty_means_default(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("policy_dir")
    @classmethod
    def _policy_dir_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not (value / "national.toml").is_file():
            raise ValueError(f"{value} has no national.toml")
        return value

    def effective_policy_dir(self) -> Path:
        from socialcredit.policy.loader import shipped_policy_dir

        return self.policy_dir or shipped_policy_dir()


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with explicit (e.g. command-line) overrides on top."""
    given = {name: value for name, value in overrides.items() if value is not None}
    return Settings(**given)


def settings_table() -> list[tuple[str, str, str]]:
    """(environment variable, default, help) for every setting, as documented."""
    rows = []
    for name, info in Settings.model_fields.items():
        default = "" if info.default is None else str(info.default)
        rows.append((f"SOCIALCREDIT_{name.upper()}", default, info.description or ""))
    return rows
