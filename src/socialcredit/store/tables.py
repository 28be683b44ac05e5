"""The store's tables (SQLAlchemy Core)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
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
    # the subjects in order, a JSON array (compact, not ASCII-escaped): one value for a
    # batch check of 10,000, found by subject through the index below
    Column("subjects", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

#: the audit log's index by subject (socialcredit.audit.subject_index), kept apart
#: (``Database.audit_index``): runs of (subject key, entry number) pairs sorted, each
#: stored in pages; a run is searched only once ``live``
INDEX_METADATA = MetaData()

AUDIT_INDEX_RUNS = Table(
    "audit_index_runs",
    INDEX_METADATA,
    Column("run", Integer, primary_key=True, autoincrement=True),
    Column("first_seq", BigInteger, nullable=False),  # the entries it indexes
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),  # the log's entry last_seq
    Column("pairs", BigInteger, nullable=False),
    Column("live", Boolean, nullable=False),
)

AUDIT_INDEX_PAGES = Table(
    "audit_index_pages",
    INDEX_METADATA,
    Column("run", ForeignKey("audit_index_runs.run"), primary_key=True),
    Column("page", Integer, primary_key=True),
    Column("first_key", BigInteger, nullable=False),
    Column("last_key", BigInteger, nullable=False),
    Column("key_data", LargeBinary, nullable=False),  # int64, little-endian, ascending
    Column("seq_data", LargeBinary, nullable=False),  # int64, little-endian, the keys' entries
    Index("audit_index_pages_by_key", "run", "last_key", "page"),
)

#: personal credit reports issued: the yearly free quota is counted from these, each
#: taken in one serial transaction (two downloads at once cannot both take the last)
REPORT_ISSUES = Table(
    "report_issues",
    METADATA,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("year", Integer, nullable=False),
    Column("paid", Boolean, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("snapshot", String(64), nullable=False),
    # a report that could not be made: kept (its number is never given again), not counted
    Column("voided", Boolean, nullable=False, default=False),
    Index("report_issues_by_subject", "subject_id", "year"),
    sqlite_autoincrement=True,
)

#: searches on the national credit information platform, per searcher and day (China's):
#: the daily quota of those the policy does not grant free searches
SEARCH_COUNTS = Table(
    "search_counts",
    METADATA,
    Column("searcher", String(80), primary_key=True),  # "subject:<id>" or "ip:<address>"
    Column("day", String(10), primary_key=True),
    Column("searches", Integer, nullable=False),
)

#: portal sign-outs: a session made with this key before ``signed_out_at`` (seconds since
#: the epoch) has ended, whatever copy of its cookie is shown
PORTAL_SIGNOUTS = Table(
    "portal_signouts",
    METADATA,
    Column("key_id", String(32), primary_key=True),
    Column("signed_out_at", Float, nullable=False),
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

#: casework (socialcredit.casework): objections and credit-repair applications. A
#: decision is taken by one conditional update on ``version`` (optimistic locking: of
#: two deciders at once exactly one wins); the ledger rows it writes are kept here
#: until they have landed (``ledger_written_at``)
CASES = Table(
    "casework_cases",
    METADATA,
    Column("case_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("uid", String(16), nullable=False, unique=True),  # names its ledger rows
    Column("kind", String(16), nullable=False),  # objection | repair
    Column("level", Integer, nullable=False),  # 1: the issuing authority; 2: the next
    Column("appeal_of", BigInteger),  # the case this one appeals
    # (the ledger's text fields hold up to 1,000 characters)
    Column("record_id", String(1000), nullable=False),
    Column("subject_id", String(18), nullable=False),
    Column("record_type", String(1000), nullable=False),
    Column("authority", String(1000), nullable=False),  # the record's issuing authority
    Column("jurisdiction", String(6), nullable=False),
    Column("grounds", Text, nullable=False),  # an objection's grounds, a repair's evidence
    Column("evidence_kind", String(32)),  # repairs: obligation_performed, ...
    Column("opened_by", String(80), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("deadline", Date, nullable=False),
    Column("status", String(16), nullable=False),  # open | decided
    Column("escalated_at", DateTime(timezone=True)),
    Column("outcome", String(16)),
    Column("decision_ref", String(200)),
    Column("reasons", Text),
    Column("decided_by", String(80)),
    Column("decided_at", DateTime(timezone=True)),
    Column("ledger_rows", Text),  # JSON: the rows the decision writes
    Column("ledger_written_at", DateTime(timezone=True)),
    Column("ledger_error", Text),  # why the rows could not be written (retried)
    Column("version", Integer, nullable=False),
    Index("casework_cases_by_record", "record_id"),
    Index("casework_cases_by_subject", "subject_id"),
    Index("casework_cases_by_status", "status", "deadline"),
    sqlite_autoincrement=True,
)
