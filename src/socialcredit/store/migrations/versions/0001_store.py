"""The store as of issues 6 and 7: API keys, the hash-chained audit log and its head,
report issues, platform search counts and portal sign-outs.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SERIAL = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(18)),
        sa.Column("measures", sa.Text, nullable=False),
        sa.Column("authority", sa.String(64)),
        sa.Column("jurisdictions", sa.Text, nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", SERIAL, primary_key=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(100), nullable=False),
        sa.Column("subject_count", sa.Integer, nullable=False),
        sa.Column("subjects", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "report_issues",
        sa.Column("id", SERIAL, primary_key=True),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("paid", sa.Boolean, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("snapshot", sa.String(64), nullable=False),
        sa.Column("voided", sa.Boolean, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("report_issues_by_subject", "report_issues", ["subject_id", "year"])
    op.create_table(
        "search_counts",
        sa.Column("searcher", sa.String(80), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("searches", sa.Integer, nullable=False),
    )
    op.create_table(
        "portal_signouts",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("signed_out_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "portal_signouts",
        "search_counts",
        "report_issues",
        "audit_head",
        "audit_log",
        "api_keys",
    ):
        op.drop_table(table)
