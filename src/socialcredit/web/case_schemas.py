"""The API's casework bodies and answers: objections, appeals, credit repair and the
decisions on them (``socialcredit.web.routes.casework``)."""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from socialcredit.casework.cases import MAX_REF, MAX_TEXT
from socialcredit.ledger.columns import MAX_TEXT_CHARS
from socialcredit.web.schemas import PERSON

#: the longest grounds, evidence or reasons, and decision reference (the service's)
CASE_TEXT: Final = MAX_TEXT
DECISION_REF: Final = MAX_REF
ObjectionOutcome = Literal["upheld", "corrected", "revoked", "hardship"]
RepairOutcome = Literal["granted", "refused"]
EvidenceKind = Literal["obligation_performed", "penalty_paid", "credit_pledge"]
CaseStatus = Literal["open", "escalated", "decided"]
RECORD = "court-1101-2026-000123"
CASE_EXAMPLE: dict[str, Any] = {
    "case_id": 7,
    "kind": "objection",
    "level": 1,
    "appeal_of": None,
    "record_id": RECORD,
    "subject_id": PERSON,
    "record_type": "court.judgment_default",
    "authority": "东城区人民法院",
    "jurisdiction": "110101",
    "grounds": "The judgment was performed in full on 2026-05-20; receipt attached.",
    "evidence_kind": None,
    "opened_by": "3f2a9c0d1e4b5a69",
    "opened_at": "2026-11-28T04:00:00.000001+00:00",
    "deadline": "2026-12-13",
    "status": "open",
    "escalated_at": None,
    "outcome": None,
    "decision_ref": None,
    "reasons": None,
    "decided_by": None,
    "decided_at": None,
    "ledger_records": [],
    "ledger_written": False,
    "ledger_error": None,
    "version": 1,
}


class CaseAnswer(BaseModel):
    """An objection or a credit repair application, as the casework service keeps it."""

    model_config = ConfigDict(json_schema_extra={"example": CASE_EXAMPLE})
    case_id: int
    kind: str = Field(description="objection or repair.")
    level: int = Field(description="1: the issuing authority decides; 2: an appeal.")
    appeal_of: int | None = Field(description="The case an appeal appeals.")
    record_id: str
    subject_id: str
    record_type: str
    authority: str = Field(description="The record's issuing authority.")
    jurisdiction: str
    grounds: str = Field(description="An objection's grounds, a repair's evidence.")
    evidence_kind: str | None
    opened_by: str
    opened_at: str
    deadline: str = Field(description="The last day of the decision's deadline (China time).")
    status: str = Field(description="open, escalated (to a reviewer: overdue) or decided.")
    escalated_at: str | None
    outcome: str | None
    decision_ref: str | None
    reasons: str | None
    decided_by: str | None
    decided_at: str | None
    ledger_records: builtins.list[str] = Field(description="The decision's ledger rows.")
    ledger_written: bool = Field(description="Those rows are in the ledger.")
    ledger_error: str | None = Field(
        None, description="Why the rows could not be written yet (tried again by each run)."
    )
    version: int = Field(description="Give it back with a decision: refused if it changed.")


class CaseList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"cases": [CASE_EXAMPLE]}})
    cases: builtins.list[CaseAnswer] = Field(description="Newest first.")


class ObjectionRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"record_id": RECORD, "grounds": CASE_EXAMPLE["grounds"]}},
    )
    record_id: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    grounds: str = Field(min_length=1, max_length=CASE_TEXT, description="Why it is wrong.")


class AppealRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"grounds": "The court's receipt was not considered."}},
    )
    grounds: str = Field(min_length=1, max_length=CASE_TEXT)


class RepairRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "record_id": RECORD,
                "evidence_kind": "obligation_performed",
                "evidence": "Paid in full on 2027-05-02: the court's receipt (2027)京0101执123号.",
            }
        },
    )
    record_id: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    evidence_kind: EvidenceKind
    evidence: str = Field(min_length=1, max_length=CASE_TEXT)


class Correction(BaseModel):
    """What a ``corrected`` decision changes in the record (the rest is kept)."""

    model_config = ConfigDict(extra="forbid")
    record_type: str | None = Field(None, min_length=1, max_length=200)
    occurred_on: dt.date | None = None
    amount: float | None = Field(None, allow_inf_nan=False)


class ObjectionDecision(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "outcome": "corrected",
                "decision_ref": "(2026)京0101执异7号",
                "reasons": "The judgment was performed on 2026-05-20, not refused.",
                "version": 1,
                "correction": {"occurred_on": "2026-03-02"},
            }
        },
    )
    outcome: ObjectionOutcome = Field(
        description="upheld, corrected (give the correction), revoked; hardship (reviewers)."
    )
    decision_ref: str = Field(min_length=1, max_length=DECISION_REF)
    reasons: str = Field(min_length=1, max_length=CASE_TEXT, description="Given to the subject.")
    version: int | None = Field(
        None, ge=1, le=2**31 - 1, description="The version read (refused if it changed)."
    )
    correction: Correction | None = Field(None, description="Only with outcome corrected.")


class RepairDecision(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "outcome": "granted",
                "decision_ref": "(2027)京0101执复3号",
                "reasons": "The judgment has been performed in full.",
                "version": 1,
            }
        },
    )
    outcome: RepairOutcome
    decision_ref: str = Field(min_length=1, max_length=DECISION_REF)
    reasons: str = Field(min_length=1, max_length=CASE_TEXT, description="Given to the subject.")
    version: int | None = Field(
        None, ge=1, le=2**31 - 1, description="The version read (refused if it changed)."
    )
