"""The store's Alembic migrations, on SQLite and PostgreSQL: from an empty database to
the head, down to nothing and up again; a store made before migrations is stamped; and
the migrated schema is the models' own."""

from __future__ import annotations

from sqlalchemy import create_engine, insert, inspect, select

from socialcredit.store import Database, migrate
from socialcredit.store.tables import API_KEYS, METADATA


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_an_empty_store_is_migrated_to_the_head_and_back(store_url: str) -> None:
    database = Database(store_url)
    assert migrate.current(database.engine) == migrate.HEAD
    made = _tables(store_url)
    assert set(METADATA.tables) <= made
    found = inspect(database.engine)
    for name, table in METADATA.tables.items():  # the migration builds the models' schema
        columns = {column["name"] for column in found.get_columns(name)}
        assert columns == set(table.columns.keys()), name
    migrate.downgrade(database.engine, "base")
    assert migrate.current(database.engine) is None
    assert not set(METADATA.tables) & _tables(store_url)
    migrate.upgrade(database.engine)
    assert set(METADATA.tables) <= _tables(store_url)
    database.dispose()


def test_a_store_made_before_migrations_is_stamped_and_kept(store_url: str) -> None:
    import datetime as dt

    engine = create_engine(store_url)
    first = [METADATA.tables[name] for name in migrate.FIRST_TABLES]
    METADATA.create_all(engine, tables=first)  # as stores were made before migrations
    with engine.begin() as connection:
        connection.execute(
            insert(API_KEYS).values(
                key_id="0" * 16, digest="d", role="admin", measures="[]", jurisdictions="[]",
                label="", created_at=dt.datetime.now(dt.UTC),
            )
        )  # fmt: skip
    engine.dispose()
    database = Database(store_url)
    assert migrate.current(database.engine) == migrate.HEAD
    with database.reading() as connection:
        assert connection.execute(select(API_KEYS.c.key_id)).scalars().all() == ["0" * 16]
    database.dispose()


def test_casework_is_added_to_a_store_at_0001_and_removed_by_its_downgrade(
    store_url: str,
) -> None:
    database = Database(store_url)
    migrate.downgrade(database.engine, "0001")
    assert migrate.current(database.engine) == "0001"
    assert "casework_cases" not in _tables(store_url)
    assert "api_keys" in _tables(store_url)  # the rest is kept
    migrate.upgrade(database.engine)
    assert migrate.current(database.engine) == "0002"
    assert "casework_cases" in _tables(store_url)
    database.dispose()
