"""Alembic's environment for the store: run on the connection the caller gives
(``socialcredit.store.migrate``), never from an ini file or a URL of its own."""

from alembic import context

from socialcredit.store.tables import METADATA

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=METADATA, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
