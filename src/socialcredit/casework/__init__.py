"""Due process (DESIGN.md, principle 3): objections that freeze a record's effect
until the issuing authority decides within its deadline, one appeal, credit repair
after the minimum publication period, and hardship: inability to pay is not
dishonesty. Cases live in the store (:mod:`socialcredit.store`); every decision
writes ledger rows carrying its decision reference, and the next scoring run follows.
Expiry needs no case: a record stops counting and being published when its period
ends (the scoring engine's rule)."""

from socialcredit.casework.case_store import CaseStore, china_today
from socialcredit.casework.cases import (
    EVIDENCE_KINDS,
    OBJECTION_OUTCOMES,
    REPAIR_OUTCOMES,
    Actor,
    Case,
    ObjectionRefusedError,
    RepairTooEarlyError,
)
from socialcredit.casework.service import Casework

__all__ = [
    "EVIDENCE_KINDS",
    "OBJECTION_OUTCOMES",
    "REPAIR_OUTCOMES",
    "Actor",
    "Case",
    "CaseStore",
    "Casework",
    "ObjectionRefusedError",
    "RepairTooEarlyError",
    "china_today",
]
