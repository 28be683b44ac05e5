"""Record files handed in by an agency through the API: stored under the data dir's
``uploads/`` for the length of one ingest, checked against the agency's scope, then
ingested as the CLI would (same validation, quarantine and summary)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from socialcredit.ledger.errors import UnusableInputError
from socialcredit.ledger.readers import FORMATS, InputFile, batches

#: at most this many out-of-scope rows are named in a refusal
NAMED_ROWS = 20


@dataclass
class ScopeReport:
    """The rows outside the agency's scope (row number, reason) and every subject
    the file is about (for the audit log)."""

    outside: list[tuple[int, str]] = field(default_factory=list)
    outside_count: int = 0
    subjects: set[str] = field(default_factory=set)


@contextmanager
def stored_upload(data: Path, suffix: str) -> Iterator[Path]:
    """A fresh file under ``DATA/uploads`` to write an upload into; removed after."""
    folder = data / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def write_json_rows(rows: list[Any], path: Path) -> None:
    """A JSON array of record objects as JSON Lines (what the readers take); anything
    but an object is written as it is and rejected there, row by row."""
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")  # ASCII: a lone surrogate stays text
        out.flush()
        os.fsync(out.fileno())


def suffix_for(filename: str | None, declared: str | None) -> str:
    """The upload's format as a file suffix: ``declared`` (csv, parquet, jsonl) or the
    file name's. UnusableInputError if neither says."""
    fmt = (declared or "").lower().lstrip(".")
    if not fmt and filename and "." in filename:
        fmt = filename.rsplit(".", 1)[1].lower()
    fmt = {"json": "jsonl", "ndjson": "jsonl", "pq": "parquet"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise UnusableInputError(
            f"format: say csv, parquet or jsonl (as the file name's extension or the "
            f"format field); got {fmt or 'nothing'!r}"
        )
    return f".{fmt}"


def scope_report(source: InputFile, allowed: Callable[[str, str], str | None]) -> ScopeReport:
    """Every row's ``(authority, jurisdiction)`` through ``allowed`` (None, or why the
    row is outside the scope). Rows the readers cannot parse are left to ingestion,
    which rejects them."""
    report = ScopeReport()
    for batch in batches(source):
        table = batch.table
        names = set(table.column_names)
        count = table.num_rows
        authorities = _strings(table, "authority", names, count, strip=False)
        jurisdictions = _strings(table, "jurisdiction", names, count, strip=False)
        subjects = _strings(table, "subject_id", names, count)
        # what could be a code (18 letters or digits): anything else is rejected
        report.subjects.update(s.upper() for s in subjects if len(s) == 18 and s.isalnum())
        verdicts: dict[tuple[str, str], str | None] = {}
        # every row, its values as given: a blank or padded authority is not this
        # agency's authority (validation alone would let " " through)
        for index, pair in enumerate(zip(authorities, jurisdictions, strict=True)):
            if pair not in verdicts:
                verdicts[pair] = allowed(*pair)
            reason = verdicts[pair]
            if reason is not None:
                report.outside_count += 1
                if len(report.outside) < NAMED_ROWS:
                    report.outside.append((batch.row_number(index), reason))
    return report


def _strings(table: Any, name: str, names: set[str], count: int, strip: bool = True) -> list[str]:
    """The column as text (CSV columns come raw, as bytes: bad UTF-8 is left for
    validation to reject)."""
    if name not in names:
        return [""] * count
    return [_text(value, strip) for value in table.column(name).to_pylist()]


def _text(value: object, strip: bool) -> str:
    if value is None:
        return ""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text.strip() if strip else text
