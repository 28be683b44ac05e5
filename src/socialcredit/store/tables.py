"""The store's tables (SQLAlchemy Core)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

METADATA = MetaData()

#: API keys: only a keyed hash of the secret part is kept
API_KEYS = Table(
    "api_keys",
    METADATA,
    Column("key_id", String(32), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("subject_id", String(18)),
    Column("measures", Text, nullable=False, default="[]"),  # JSON list
    Column("authority", String(64)),
    Column("jurisdictions", Text, nullable=False, default="[]"),  # JSON list
    Column("label", String(200), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

#: the hash-chained audit log: each entry's hash covers its fields, its subjects and
#: the hash of the entry before it
AUDIT_LOG = Table(
    "audit_log",
    METADATA,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("at", String(40), nullable=False),  # ISO 8601, UTC, microseconds
    Column("actor", String(64), nullable=False),  # key id, or "cli:<user>"
    Column("role", String(32), nullable=False),
    Column("purpose", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("outcome", String(100), nullable=False),
    Column("subject_count", Integer, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

#: the subjects an entry is about (a batch check is one entry about many)
AUDIT_SUBJECTS = Table(
    "audit_subjects",
    METADATA,
    Column("seq", ForeignKey("audit_log.seq"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Index("audit_subjects_by_subject", "subject_id", "seq"),
)

#: the newest entry's number and hash, updated in the same transaction as each append:
#: removing entries from the end is then detected too
AUDIT_HEAD = Table(
    "audit_head",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)
