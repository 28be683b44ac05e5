"""Casework (issue 8): objections and credit-repair applications.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SERIAL = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "casework_cases",
        sa.Column("case_id", SERIAL, primary_key=True),
        sa.Column("uid", sa.String(16), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("appeal_of", sa.BigInteger),
        sa.Column("record_id", sa.String(1000), nullable=False),
        sa.Column("subject_id", sa.String(18), nullable=False),
        sa.Column("record_type", sa.String(1000), nullable=False),
        sa.Column("authority", sa.String(1000), nullable=False),
        sa.Column("jurisdiction", sa.String(6), nullable=False),
        sa.Column("grounds", sa.Text, nullable=False),
        sa.Column("evidence_kind", sa.String(32)),
        sa.Column("opened_by", sa.String(80), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.String(16)),
        sa.Column("decision_ref", sa.String(200)),
        sa.Column("reasons", sa.Text),
        sa.Column("decided_by", sa.String(80)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("ledger_rows", sa.Text),
        sa.Column("ledger_written_at", sa.DateTime(timezone=True)),
        sa.Column("ledger_error", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("casework_cases_by_record", "casework_cases", ["record_id"])
    op.create_index("casework_cases_by_subject", "casework_cases", ["subject_id"])
    op.create_index("casework_cases_by_status", "casework_cases", ["status", "deadline"])


def downgrade() -> None:
    op.drop_table("casework_cases")  # (its indexes with it)
