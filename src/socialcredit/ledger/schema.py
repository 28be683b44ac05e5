"""The ledger's columns: what an input file must have, and what the tables store.

Inputs follow the contract in DESIGN.md. The tables keep every input column and add
the bitemporal and provenance columns: ``recorded_at`` (ingestion time, UTC),
``source`` and ``batch_id``. A correction or revocation is a new row whose
``revokes`` names the record it cancels; rows are never updated.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

RECORDED_AT = pa.timestamp("us", tz="UTC")
#: record IDs casework decisions give their rows; no one else's ingest may use them
CASEWORK_IDS = "casework-"
_PROVENANCE = [
    pa.field("recorded_at", RECORDED_AT, nullable=False),
    pa.field("source", pa.string()),
    pa.field("batch_id", pa.string(), nullable=False),
]

RECORD_TABLE_SCHEMA = pa.schema(
    [
        pa.field("record_id", pa.string(), nullable=False),
        pa.field("subject_id", pa.string(), nullable=False),
        pa.field("record_type", pa.string(), nullable=False),
        pa.field("occurred_on", pa.date32(), nullable=False),
        pa.field("authority", pa.string()),
        pa.field("jurisdiction", pa.string(), nullable=False),
        pa.field("decision_ref", pa.string()),
        pa.field("amount", pa.float64()),
        pa.field("revokes", pa.string()),
        *_PROVENANCE,
    ]
)

SUBJECT_TABLE_SCHEMA = pa.schema(
    [
        pa.field("subject_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("region", pa.string(), nullable=False),
        pa.field("birth_date", pa.date32()),
        pa.field("registered_on", pa.date32()),
        *_PROVENANCE,
    ]
)


@dataclass(frozen=True)
class Layout:
    """What one kind of input holds: its columns and its key."""

    name: str  # "records" or "subjects"
    table_schema: pa.Schema
    required: tuple[str, ...]
    optional: tuple[str, ...]
    key: str
    #: the columns a row's content fingerprint covers (the input columns)
    content: tuple[str, ...]
    #: stored columns with few distinct values: dictionary-encoded in the data files
    #: (trying a dictionary on unique IDs costs more than the whole rest of the write)
    dictionary: tuple[str, ...]
    #: stored columns whose data files keep min/max statistics (readers prune on them;
    #: on hash-like IDs they would cost time and prune nothing)
    statistics: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


RECORDS = Layout(
    name="records",
    table_schema=RECORD_TABLE_SCHEMA,
    required=(
        "record_id",
        "subject_id",
        "record_type",
        "occurred_on",
        "authority",
        "jurisdiction",
    ),
    optional=("decision_ref", "amount", "revokes"),
    key="record_id",
    content=(
        "record_id",
        "subject_id",
        "record_type",
        "occurred_on",
        "authority",
        "jurisdiction",
        "decision_ref",
        "amount",
        "revokes",
    ),
    dictionary=("record_type", "authority", "jurisdiction", "source", "batch_id"),
    statistics=("record_type", "occurred_on", "jurisdiction", "amount", "recorded_at"),
)

SUBJECTS = Layout(
    name="subjects",
    table_schema=SUBJECT_TABLE_SCHEMA,
    required=("subject_id", "kind", "region"),
    optional=("name", "birth_date", "registered_on"),
    key="subject_id",
    content=("subject_id", "kind", "name", "region", "birth_date", "registered_on"),
    dictionary=("kind", "region", "source", "batch_id"),
    statistics=("kind", "region", "birth_date", "registered_on", "recorded_at"),
)
