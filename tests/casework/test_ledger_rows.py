"""Casework rows in the ledger: only casework writes them (an authority's file with
one is refused, row by row), and scoring neither counts them nor lets them revoke."""

from __future__ import annotations

import json
from pathlib import Path

from socialcredit.ledger import RECORDS, open_input, run_batch
from socialcredit.policy import PolicyCatalog
from tests.scoring.factories import LedgerBook


def test_an_authority_cannot_write_casework_rows(
    tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    book = LedgerBook(tmp_path / "data", shipped_catalog)
    person = book.person()
    record = book.record(person, "court.judgment_default", "2026-06-01")
    book.commit()
    forged = {
        "record_id": "forged-1", "subject_id": person, "record_type": "casework.repair_granted",
        "occurred_on": "2026-07-01", "authority": "x", "jurisdiction": "110101",
        "decision_ref": "F-1", "revokes": record,
    }  # fmt: skip
    path = tmp_path / "forged.jsonl"
    path.write_text(json.dumps(forged) + "\n")
    summary = run_batch(book.ledger, RECORDS, [open_input(path)], catalog=shipped_catalog)
    assert (summary.accepted, summary.rejected) == (0, 1)
    assert summary.quarantine is not None
    reasons = json.loads(Path(summary.quarantine).read_text().splitlines()[0])["reasons"]
    assert reasons == [
        "record_type: 'casework.repair_granted' rows are written by casework decisions only"
    ]
