"""What casework reads from the ledger (a record, and what already acts on it) and
writes to it (the rows of a decision, as one batch through the same ingest as every
other row: validated, deduplicated by record ID, landed whole or not at all)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from socialcredit.errors import UnprocessableError
from socialcredit.ledger import RECORDS, Ledger
from socialcredit.ledger.ingest import run_batch
from socialcredit.ledger.readers import open_input
from socialcredit.ledger.uploads import stored_upload, write_json_rows
from socialcredit.ledger.validate import TypeResolver, check_records
from socialcredit.policy import PolicyCatalog
from socialcredit.policy.models import CASEWORK_PREFIX
from socialcredit.scoring.ledger_view import ordered_files

#: the rows of casework decisions (see ``socialcredit.scoring.decode``)
UPHELD_TYPE = f"{CASEWORK_PREFIX}objection_upheld"
REPAIRED_TYPE = f"{CASEWORK_PREFIX}repair_granted"
COLUMNS = (
    "record_id", "subject_id", "record_type", "occurred_on", "authority", "jurisdiction",
    "decision_ref", "amount", "revokes",
)  # fmt: skip


@dataclass(frozen=True)
class LedgerRecord:
    """A record as the ledger holds it, and the rows that name it in ``revokes``."""

    record_id: str
    subject_id: str
    record_type: str
    occurred_on: dt.date
    authority: str
    jurisdiction: str
    decision_ref: str | None
    amount: float | None
    revokes: str | None
    #: rows that revoke it (a plain revocation: it no longer exists for scoring)
    revoked_by: tuple[str, ...] = ()

    @property
    def is_casework(self) -> bool:
        return self.record_type.startswith(CASEWORK_PREFIX)

    def row(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in COLUMNS}
        values["occurred_on"] = self.occurred_on.isoformat()
        return values


def find_record(ledger: Ledger, record_id: str) -> LedgerRecord | None:
    """The record ``record_id`` in the ledger's current version, or None. Scans the
    record files with the ID as a filter (a casework request, not a hot path)."""
    files = ordered_files(ledger, RECORDS, ledger.version(RECORDS))
    if not files:
        return None
    dataset = ds.dataset(files, format="parquet")
    found = dataset.to_table(
        columns=list(COLUMNS),
        filter=(ds.field("record_id") == record_id) | (ds.field("revokes") == record_id),
    ).to_pylist()
    own = [row for row in found if row["record_id"] == record_id]
    if not own:
        return None
    revoked_by = tuple(
        str(row["record_id"])
        for row in found
        if row["revokes"] == record_id and not str(row["record_type"]).startswith(CASEWORK_PREFIX)
    )
    return LedgerRecord(**{name: own[0][name] for name in COLUMNS}, revoked_by=revoked_by)


def check_rows(catalog: PolicyCatalog, rows: list[dict[str, Any]], today: dt.date) -> None:
    """Refuse, before anything is decided, rows the ledger would quarantine (a
    correction to a type the policy lacks, a wrong amount): the field and reason."""
    import pyarrow as pa

    table = pa.table(
        {
            name: pa.array(
                [row.get(name) for row in rows], pa.float64() if name == "amount" else pa.string()
            )
            for name in COLUMNS
        }
    )
    checked = check_records(table, TypeResolver(catalog, casework_rows=True), today)
    mask = checked.problems.failed
    failed = [row for row in range(len(rows)) if mask[row]]
    if failed:
        raise UnprocessableError(
            "the decision's ledger rows would be refused: "
            + "; ".join(
                f"{_role(rows[row])}.{reason}"
                for row in failed
                for reason in checked.problems.reasons(row)
            )
        )


def _role(row: dict[str, Any]) -> str:
    """What a decision's row is, as its problems are named (``correction.amount: ...``)."""
    if row.get("revokes") is None:
        return "correction"
    return "decision" if str(row["record_type"]).startswith(CASEWORK_PREFIX) else "revocation"


def write_rows(
    ledger: Ledger, catalog: PolicyCatalog, data: Path, rows: list[dict[str, Any]], today: dt.date
) -> int:
    """Append ``rows`` as one batch; rows already there (same ID and content) are
    skipped, so writing a decision again is harmless. The number newly accepted."""
    with stored_upload(data, ".jsonl") as path:
        write_json_rows(rows, path)
        summary = run_batch(
            ledger,
            RECORDS,
            [open_input(path)],
            catalog=catalog,
            source="casework",
            today=today,
            casework_rows=True,
        )
    return summary.accepted  # (a refused row refuses the batch: UnusableInputError)
