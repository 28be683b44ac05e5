"""A case as the services and callers see it, and what may be done with one."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Final, Literal

from socialcredit.errors import ConflictError, ForbiddenError, UnprocessableError
from socialcredit.keys import region_within

CaseKind = Literal["objection", "repair"]
#: what an objection's decision may be: the record counts again; a new record replaces
#: it; it is revoked; or (reviewers) it becomes a non-dishonesty record for hardship
OBJECTION_OUTCOMES: Final = ("upheld", "corrected", "revoked", "hardship")
REPAIR_OUTCOMES: Final = ("granted", "refused")
EVIDENCE_KINDS: Final = ("obligation_performed", "penalty_paid", "credit_pledge")
#: the longest grounds, evidence or reasons kept
MAX_TEXT: Final = 4000
#: the longest decision reference (its column, and the ledger's decision_ref)
MAX_REF: Final = 200


class RepairTooEarlyError(UnprocessableError):
    """A repair applied for before the minimum publication period has passed."""

    code = "repair_too_early"


class ObjectionRefusedError(ConflictError):
    """An objection that repeats an earlier one without new grounds."""

    code = "objection_refused"


@dataclass(frozen=True)
class Actor:
    """Who acts: ``actor`` (a key id or ``cli:<user>``), the role, and the scope that
    matters here (a subject key's subject, an agency key's authority and jurisdictions:
    authority names repeat across provinces, 鼓楼区人民法院 in Nanjing and in Fuzhou)."""

    actor: str
    role: str
    subject_id: str | None = None
    authority: str | None = None
    jurisdictions: tuple[str, ...] = ()

    def issued(self, authority: str, jurisdiction: str) -> bool:
        """Is this an agency key of the authority that issued a record made in
        ``jurisdiction``?"""
        return (
            self.role == "agency"
            and self.authority == authority
            and any(region_within(jurisdiction, mine) for mine in self.jurisdictions)
        )


@dataclass(frozen=True)
class Case:
    case_id: int
    uid: str
    kind: str
    level: int
    appeal_of: int | None
    record_id: str
    subject_id: str
    record_type: str
    authority: str
    jurisdiction: str
    grounds: str
    evidence_kind: str | None
    opened_by: str
    opened_at: dt.datetime
    deadline: dt.date
    status: str
    escalated_at: dt.datetime | None
    outcome: str | None
    decision_ref: str | None
    reasons: str | None
    decided_by: str | None
    decided_at: dt.datetime | None
    ledger_rows: list[dict[str, Any]] | None
    ledger_written_at: dt.datetime | None
    ledger_error: str | None
    version: int

    @classmethod
    def of(cls, row: Any) -> Case:
        values = dict(row._mapping)
        rows = values.pop("ledger_rows")
        for name in ("opened_at", "escalated_at", "decided_at", "ledger_written_at"):
            moment = values[name]
            if moment is not None and moment.tzinfo is None:  # SQLite keeps no zone
                values[name] = moment.replace(tzinfo=dt.UTC)
        return cls(**values, ledger_rows=json.loads(rows) if rows else None)

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def overdue(self, today: dt.date) -> bool:
        return self.is_open and today > self.deadline

    def as_dict(self) -> dict[str, Any]:
        """The case as answers show it (the ledger rows by their IDs only)."""
        return {
            "case_id": self.case_id,
            "kind": self.kind,
            "level": self.level,
            "appeal_of": self.appeal_of,
            "record_id": self.record_id,
            "subject_id": self.subject_id,
            "record_type": self.record_type,
            "authority": self.authority,
            "jurisdiction": self.jurisdiction,
            "grounds": self.grounds,
            "evidence_kind": self.evidence_kind,
            "opened_by": self.opened_by,
            "opened_at": self.opened_at.isoformat(),
            "deadline": self.deadline.isoformat(),
            "status": "escalated" if self.is_open and self.escalated_at else self.status,
            "escalated_at": self.escalated_at.isoformat() if self.escalated_at else None,
            "outcome": self.outcome,
            "decision_ref": self.decision_ref,
            "reasons": self.reasons,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "ledger_records": [row["record_id"] for row in self.ledger_rows or []],
            "ledger_written": self.ledger_written_at is not None,
            "ledger_error": self.ledger_error,
            "version": self.version,
        }


def required_text(value: str | None, name: str, limit: int = MAX_TEXT) -> str:
    """``value`` stripped, refused when empty or longer than ``limit``."""
    text = (value or "").strip()
    if not text:
        raise UnprocessableError(f"{name}: required")
    if any((ord(c) < 32 and c not in "\n\t\r") or ord(c) == 127 for c in text):
        raise UnprocessableError(f"{name}: control characters are not allowed")
    if len(text) > limit:
        raise UnprocessableError(f"{name}: at most {limit} characters, got {len(text):,}")
    return text


def may_act_for(by: Actor, subject_id: str) -> bool:
    """A subject (or an organisation's representative, signed in with its key) for
    itself; an administrator for anyone."""
    return by.role == "admin" or (by.role == "subject" and by.subject_id == subject_id)


def may_read(by: Actor, case: Case) -> bool:
    if by.role in ("reviewer", "auditor", "admin"):
        return True
    if by.role == "agency":
        return by.issued(case.authority, case.jurisdiction)
    return by.role == "subject" and by.subject_id == case.subject_id


def require_decider(by: Actor, case: Case, outcome: str) -> None:
    """The issuing authority decides first; a reviewer decides escalated cases,
    appeals and hardship; an administrator anything."""
    if by.role == "admin":
        return
    if by.role == "reviewer":
        if case.level > 1 or case.escalated_at is not None or outcome == "hardship":
            return
        raise ForbiddenError(
            f"case {case.case_id} is the issuing authority's to decide until {case.deadline}; "
            "a reviewer decides escalated cases, appeals and hardship"
        )
    if by.issued(case.authority, case.jurisdiction) and case.level == 1:
        if outcome == "hardship":
            raise ForbiddenError("hardship evidence is accepted by a reviewer")
        return
    raise ForbiddenError(f"a {by.role} key cannot decide case {case.case_id}")
