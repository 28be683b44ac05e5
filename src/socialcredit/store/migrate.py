"""The store's schema, kept by Alembic migrations (``store/migrations``): a new store
is brought to the head revision when first opened; a store made before migrations
existed (by ``create_all``) is stamped at the revision it matches."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect

from socialcredit.store.tables import METADATA

#: the newest revision (a store already there is not touched)
HEAD = "0002"
#: the tables of revision 0001: what a store made before migrations may hold
FIRST_TABLES = (
    "api_keys",
    "audit_log",
    "audit_head",
    "report_issues",
    "search_counts",
    "portal_signouts",
)


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("socialcredit.store") / "migrations")
    )
    config.attributes["connection"] = connection
    return config


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the store to ``revision``; a store of tables without a revision (made
    before migrations) is stamped at 0001, whose tables it has."""
    if revision == "head" and current(engine) == HEAD:
        return
    with engine.begin() as connection:
        config = _config(connection)
        found = inspect(connection)
        unversioned = current_of(connection) is None and any(
            found.has_table(name) for name in METADATA.tables
        )
        if unversioned:  # made by create_all: its missing tables as 0001 has them
            METADATA.create_all(connection, tables=[METADATA.tables[n] for n in FIRST_TABLES])
            command.stamp(config, "0001")
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(_config(connection), revision)


def current_of(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
