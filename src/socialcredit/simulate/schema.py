"""The generator's options, errors and output schemas (the DESIGN.md contract)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from socialcredit.simulate.calibration import calibration

SUBJECTS_FILE = "subjects.parquet"
RECORDS_FILE = "records.parquet"
CHUNK_PEOPLE = 250_000
COMPRESSIONS = ("snappy", "zstd", "none")

SUBJECT_SCHEMA = pa.schema(
    [
        ("subject_id", pa.string()),
        ("kind", pa.string()),
        ("name", pa.string()),
        ("region", pa.string()),
        ("birth_date", pa.date32()),
        ("registered_on", pa.date32()),
    ]
)
RECORD_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("subject_id", pa.string()),
        ("record_type", pa.string()),
        ("occurred_on", pa.date32()),
        ("authority", pa.string()),
        ("jurisdiction", pa.string()),
        ("decision_ref", pa.string()),
        ("amount", pa.float64()),
    ]
)


class GenerateError(Exception):
    """The arguments cannot be used (the command exits 2)."""


@dataclass(frozen=True)
class GenerateOptions:
    people: int
    seed: int
    out: Path
    as_of: dt.date
    organisations: int | None = None
    force: bool = False
    chunk_people: int = CHUNK_PEOPLE
    #: Parquet compression: snappy (default, fastest), zstd (about half the size), none
    compression: str = "snappy"
    #: worker processes generating chunks; None: decided by the machine (0 on 2 cores)
    workers: int | None = None

    @property
    def run_tag(self) -> str:
        """``S<seed>-<hash of every argument that shapes the records>``.

        Record IDs start with it, so two runs that differ in anything but the output
        directory never reuse a record ID for a different record (ingest would skip it).
        """
        shape = f"{self.people}|{self.organisation_count}|{self.as_of}|{self.chunk_people}"
        return f"S{self.seed}-{hashlib.sha256(shape.encode()).hexdigest()[:6].upper()}"

    @property
    def organisation_count(self) -> int:
        if self.organisations is not None:
            return self.organisations
        return round(self.people * calibration().organisations_per_person)


_DICTIONARY = pa.dictionary(pa.int32(), pa.string())
#: chunks as generated: low-cardinality columns dictionary-encoded in memory (the
#: files hold plain strings)
SUBJECT_WRITE_SCHEMA = pa.schema(
    [
        pa.field(f.name, _DICTIONARY if f.name in ("kind", "region") else f.type)
        for f in SUBJECT_SCHEMA
    ]
)
RECORD_WRITE_SCHEMA = pa.schema(
    [
        pa.field(
            f.name,
            _DICTIONARY if f.name in ("record_type", "authority", "jurisdiction") else f.type,
        )
        for f in RECORD_SCHEMA
    ]
)
