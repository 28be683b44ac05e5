"""All settings in one registry: environment (prefix ``SOCIALCREDIT_``), CLI and docs.

Settings are built by :func:`load_settings` when a command or app starts, never at
import time, and refuse unsafe or unusable values up front.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: settings that are options of ``serve`` rather than global options
SERVE: dict[str, Any] = {"cli": "serve"}
#: the secret used when none is set: accepted in development only
DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"


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

    environment: Literal["development", "production"] = Field(
        "development",
        description="development allows the built-in secret; production refuses it.",
    )
    secret_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_SECRET),
        description="Server secret for API key hashes (env only; 32+ characters in production).",
        json_schema_extra={"cli": False},
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the keys, audit and casework store (env only); "
        "default: SQLite in the data directory.",
        json_schema_extra={"cli": False},
    )
    host: str = Field(
        "127.0.0.1", description="Address `serve` listens on.", json_schema_extra=SERVE
    )
    port: int = Field(
        8000, ge=1, le=65535, description="Port `serve` listens on.", json_schema_extra=SERVE
    )
    workers: int = Field(
        1, ge=1, le=64, description="Server processes `serve` starts.", json_schema_extra=SERVE
    )
    rate_limit: int = Field(
        1000,
        ge=1,
        le=10_000_000,
        description="Requests per second allowed to one API key.",
        json_schema_extra=SERVE,
    )
    max_body_bytes: int = Field(
        32 * 1024 * 1024,
        ge=1024,
        le=4 * 1024**3,
        description="Largest request body accepted (bytes).",
        json_schema_extra=SERVE,
    )
    snapshot_poll_seconds: float = Field(
        1.0,
        gt=0,
        le=3600,
        description="How often the server looks for a newly published snapshot.",
        json_schema_extra=SERVE,
    )

    oidc_issuer: str | None = Field(
        None,
        description="OpenID Connect issuer URL for portal sign-in (env only); unset: keys only.",
        json_schema_extra={"cli": False},
    )
    oidc_client_id: str | None = Field(
        None,
        description="The portal's client id at the issuer (env only).",
        json_schema_extra={"cli": False},
    )
    oidc_client_secret: SecretStr | None = Field(
        None,
        description="The portal's client secret at the issuer (env only).",
        json_schema_extra={"cli": False},
    )
    oidc_subject_claim: str = Field(
        "socialcredit_subject_id",
        description="ID token claim holding the resident ID or credit code (env only).",
        json_schema_extra={"cli": False},
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

    @model_validator(mode="after")
    def _safe_outside_development(self) -> Settings:
        if self.oidc_issuer is not None:
            if not (self.oidc_client_id and self.oidc_client_secret):
                raise ValueError(
                    "oidc_issuer: set SOCIALCREDIT_OIDC_CLIENT_ID and "
                    "SOCIALCREDIT_OIDC_CLIENT_SECRET too"
                )
            if not self.oidc_issuer.startswith("https://") and (self.environment != "development"):
                raise ValueError("oidc_issuer: an https:// issuer outside development")
        secret = self.secret_key.get_secret_value()
        if self.environment != "development":
            if secret == DEVELOPMENT_SECRET or len(secret) < 32:
                raise ValueError(
                    "secret_key: set SOCIALCREDIT_SECRET_KEY to a random value of 32 or more "
                    "characters; the built-in development secret is refused in production"
                )
        elif secret == DEVELOPMENT_SECRET and not _is_loopback(self.host):
            # the default environment must not expose a server whose secret is public
            raise ValueError(
                f"host: {self.host} is reachable from other machines, and the built-in "
                "development secret is in use; set SOCIALCREDIT_SECRET_KEY (and "
                "SOCIALCREDIT_ENVIRONMENT=production), or serve on 127.0.0.1"
            )
        return self

    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data / 'socialcredit.db').resolve()}"

    def effective_policy_dir(self) -> Path:
        from socialcredit.policy.loader import shipped_policy_dir

        return self.policy_dir or shipped_policy_dir()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it may resolve anywhere
        return False


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with explicit (e.g. command-line) overrides on top."""
    given = {name: value for name, value in overrides.items() if value is not None}
    return Settings(**given)


def cli_settings(where: str = "global") -> list[str]:
    """The settings that are command-line options: ``global`` ones (before the
    command) or those of one command (``serve``). Secrets and URLs with passwords are
    not: a command line is visible to every user of the machine."""
    found = []
    for name, info in Settings.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("cli", "global") == where:
            found.append(name)
    return found


def settings_table() -> list[tuple[str, str, str]]:
    """(environment variable, default, help) for every setting, as documented."""
    rows = []
    for name, info in Settings.model_fields.items():
        default = "" if info.default is None else str(info.default)
        if isinstance(info.default, SecretStr):
            default = "(development secret)"
        rows.append((f"SOCIALCREDIT_{name.upper()}", default, info.description or ""))
    return rows
