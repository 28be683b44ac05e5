"""The ledger rows a decision writes, each carrying the decision reference. Their IDs
are made from the case (``casework-<uid>-<outcome>``), so writing them again is a
duplicate, never a second decision.

* upheld: a casework row about the record (it counts again once the objection closes);
* revoked: a revocation row;
* corrected: a revocation row and the replacement record;
* hardship: a revocation row and the record as the policy's non-dishonesty type;
* repair granted: a casework row about the record (its effect and publication end);
* repair refused: no row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.casework.cases import Case
from socialcredit.casework.ledger_rows import REPAIRED_TYPE, UPHELD_TYPE, LedgerRecord
from socialcredit.errors import UnprocessableError
from socialcredit.ledger.schema import CASEWORK_IDS
from socialcredit.policy.models import CASEWORK_PREFIX, RecordType

#: what a correction may change
CORRECTABLE = ("record_type", "occurred_on", "amount")


def decision_rows(
    case: Case,
    record: LedgerRecord,
    outcome: str,
    decision_ref: str,
    *,
    day: dt.date,
    authority: str,
    definition: RecordType | None,
    correction: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The rows for ``outcome`` of ``case`` about ``record``, decided on ``day`` by
    ``authority``; ``definition``: the record's type in the policy in force there."""
    own = f"{CASEWORK_IDS}{case.uid}-{outcome}"
    note = {
        "record_id": own,
        "subject_id": record.subject_id,
        "occurred_on": day.isoformat(),
        "authority": authority,
        "jurisdiction": record.jurisdiction,
        "decision_ref": decision_ref,
        "amount": None,
        "revokes": record.record_id,
    }
    # a revocation row keeps the record's type and amount (the type's checks apply)
    revocation = note | {
        "record_id": f"{own}-revocation",
        "record_type": record.record_type,
        "amount": record.amount,
    }
    if outcome == "upheld":
        return [note | {"record_type": UPHELD_TYPE}]
    if outcome == "granted":
        return [note | {"record_type": REPAIRED_TYPE}]
    if outcome == "refused":
        return []
    if outcome == "revoked":
        return [revocation | {"record_id": own}]
    replacement = record.row() | {
        "record_id": own,
        "decision_ref": decision_ref,
        "revokes": None,
    }
    if outcome == "hardship":
        if definition is None or definition.hardship_becomes is None:
            raise UnprocessableError(
                f"outcome: hardship applies to record types the policy converts on hardship; "
                f"{record.record_type} is not one"
            )
        return [revocation, replacement | {"record_type": definition.hardship_becomes}]
    if outcome == "corrected":
        changes = correction or {}
        unknown = sorted(set(changes) - set(CORRECTABLE))
        if unknown:
            raise UnprocessableError(
                f"correction: {', '.join(unknown)} cannot be corrected "
                f"(only {', '.join(CORRECTABLE)})"
            )
        if not changes:
            raise UnprocessableError(
                f"correction: give what is corrected ({', '.join(CORRECTABLE)})"
            )
        if str(changes.get("record_type", "")).startswith(CASEWORK_PREFIX):
            raise UnprocessableError(
                f"correction.record_type: {changes['record_type']!r} is not a record type "
                "of the policy"
            )
        return [revocation, replacement | changes]
    raise UnprocessableError(f"outcome: {outcome!r} is not a decision")
