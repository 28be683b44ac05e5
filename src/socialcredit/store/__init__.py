"""The platform's relational store (SQLAlchemy 2): API keys and the audit log, and the
casework to come. SQLite in the data directory by default, PostgreSQL when
``SOCIALCREDIT_DATABASE_URL`` says so."""

from socialcredit.store.database import Database
from socialcredit.store.tables import METADATA

__all__ = ["METADATA", "Database"]
