"""The API's request and answer shapes, with the examples the OpenAPI document shows."""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from socialcredit.scoring.answers import BATCH_LIMIT

PERSON = "11010519491231002X"


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable error code, e.g. forbidden, invalid_request.")
    message: str = Field(description="What was wrong, naming the field.")
    detail: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "error": {
                    "code": "forbidden",
                    "message": "this key may read only its own subject's subject data",
                }
            }
        }
    )
    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI descriptions of the error answers an operation can give."""
    meaning = {
        400: "Bad request: malformed JSON or a malformed body.",
        401: "No valid API key (Authorization: Bearer <key>).",
        403: "The key's role or scope does not allow this.",
        404: "Not found (only said to callers who may know).",
        409: "Conflict: the case was decided or changed meanwhile, or the step repeats one "
        "already taken (detail.case_id names the case).",
        413: "The request body is over the size limit.",
        422: "A field is invalid: the message names it and says why.",
        429: "Over the key's rate limit; retry after detail.retry_after_seconds.",
        503: "Not ready: no snapshot loaded, or the audit log cannot be written.",
    }
    return {s: {"model": ErrorBody, "description": meaning[s]} for s in statuses}


class CheckAnswer(BaseModel):
    """A relying party's answer: never the score."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "subject_id": PERSON,
                "allowed": False,
                "measure": "transport.flight",
                "reasons": ["listed:discredited"],
                "snapshot": "000003-20261128T120000Z",
                "policy": "2026.1",
                "records": ["court-2026-000123"],
            }
        }
    )
    subject_id: str
    allowed: bool
    measure: str
    reasons: list[str]
    snapshot: str
    policy: str
    records: list[str] | None = Field(None, description="The records behind a denial by a list.")


class BatchRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"measure": "transport.flight", "subject_ids": [PERSON]}},
    )
    measure: str = Field(min_length=1, max_length=200)
    subject_ids: list[str] = Field(
        min_length=1,
        max_length=BATCH_LIMIT,
        description=f"At most {BATCH_LIMIT:,} resident IDs or Unified Social Credit Codes.",
    )


class BatchItem(BaseModel):
    subject_id: str
    found: bool
    allowed: bool | None = None
    reasons: list[str] | None = None


class BatchAnswer(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "measure": "transport.flight",
                "snapshot": "000003-20261128T120000Z",
                "policy": "2026.1",
                "answers": [
                    {
                        "subject_id": PERSON,
                        "found": True,
                        "allowed": True,
                        "reasons": ["not_restricted"],
                    }
                ],
            }
        }
    )
    measure: str
    snapshot: str
    policy: str
    answers: list[BatchItem]


class RankFigure(BaseModel):
    rank: int
    percentile: float


class SubjectFigures(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "subject_id": PERSON,
                "kind": "person",
                "region": "110105",
                "score": 1012,
                "grade": "A",
                "lists": [],
                "ranks": {
                    "national": {"rank": 401234, "percentile": 61.2},
                    "province": {"rank": 1234, "percentile": 60.1},
                    "city": {"rank": 1001, "percentile": 59.8},
                    "region": {"rank": 88, "percentile": 58.0},
                },
                "snapshot": "000003-20261128T120000Z",
                "as_of": "2026-11-28",
                "policy": "2026.1",
            }
        }
    )
    subject_id: str
    kind: str
    region: str
    score: int
    grade: str
    lists: list[str]
    ranks: dict[str, RankFigure]
    snapshot: str
    as_of: str
    policy: str


class Explanation(BaseModel):
    """``socialcredit show --json``: records with points and rules, the arithmetic,
    lists, ranks and measures."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "subject_id": PERSON,
                "score": 1012,
                "grade": "A",
                "lists": [],
                "counted": [],
                "not_counted": [],
                "measures": [],
                "snapshot": "000003-20261128T120000Z",
            }
        },
    )
    subject_id: str
    score: int
    grade: str
    lists: list[str]
    counted: list[dict[str, Any]]
    not_counted: list[dict[str, Any]]
    measures: list[dict[str, Any]]
    snapshot: str


class AccessEntry(BaseModel):
    seq: int
    at: str
    actor: str
    role: str
    purpose: str
    action: str
    outcome: str
    subjects_in_entry: int


class AccessLog(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "subject_id": PERSON,
                "entries": [
                    {
                        "seq": 42,
                        "at": "2026-11-28T12:00:00.000001+00:00",
                        "actor": "3f2a9c0d1e4b5a69",
                        "role": "relying_party",
                        "purpose": "check:transport.flight",
                        "action": "check:transport.flight",
                        "outcome": "denied",
                        "subjects_in_entry": 1,
                    }
                ],
            }
        }
    )
    subject_id: str
    entries: list[AccessEntry]


class Health(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"status": "ok", "snapshot": "000003-20261128T120000Z"}}
    )
    status: str
    snapshot: str | None = None


class Rejection(BaseModel):
    row: int | None
    reasons: list[str]


class IngestAnswer(BaseModel):
    """As ``socialcredit ingest --json`` prints it, with the first rejected rows."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "accepted": 1,
                "rejected": 0,
                "duplicates": 0,
                "quarantine": None,
                "batch_id": "20261128T120000Z-1a2b3c",
                "version": 7,
                "warnings": [],
                "registered": 0,
                "errors": [],
            }
        }
    )
    accepted: int
    rejected: int
    duplicates: int
    quarantine: str | None = Field(None, description="The batch whose rows were quarantined.")
    batch_id: str
    version: int | None
    warnings: list[str]
    registered: int
    errors: list[Rejection]


class PublicRecord(BaseModel):
    record_id: str
    record_type: str
    title: str
    occurred_on: str
    authority: str | None
    decision_ref: str | None
    published_until: str
    under_objection: bool = Field(
        description="An objection to it is open: its effect is frozen until decided."
    )


class ListEntry(BaseModel):
    subject_id: str = Field(description="Persons: masked (first 6 and last 4 characters).")
    kind: str
    name: str | None = Field(description="Persons: masked (the first character).")
    region: str
    records: list[PublicRecord]


class ListPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "list": "discredited",
                "snapshot": "000003-20261128T120000Z",
                "as_of": "2026-11-28",
                "total": 1,
                "entries": [
                    {
                        "subject_id": "110105********002X",
                        "kind": "person",
                        "name": "张**",
                        "region": "110105",
                        "records": [
                            {
                                "record_id": "court-1101-2026-000123",
                                "record_type": "court.judgment_default",
                                "title": "Refused to perform an effective court judgment",
                                "occurred_on": "2026-03-01",
                                "authority": "东城区人民法院",
                                "decision_ref": "(2026)京0101执123号",
                                "published_until": "2028-02-29",
                                "under_objection": False,
                            }
                        ],
                    }
                ],
                "next_cursor": None,
            }
        }
    )
    list: str
    snapshot: str
    as_of: str
    total: int
    entries: builtins.list[ListEntry]
    next_cursor: str | None


class Histogram(BaseModel):
    floor: int
    ceiling: int
    width: int = Field(description="Points per bar.")
    starts: builtins.list[int] = Field(description="Each bar's lowest score.")
    counts: dict[str, builtins.list[int]] = Field(description="Subjects per bar, by kind.")


class Grades(BaseModel):
    names: builtins.list[str] = Field(description="Best grade first.")
    counts: dict[str, dict[str, int]] = Field(description="Subjects per grade, by kind.")


class Province(BaseModel):
    code: str
    name: str
    subjects: int
    persons: int
    mean_score: float
    discredited: int


class NationalPicture(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "snapshot": "000003-20261128T120000Z",
                "as_of": "2026-11-28",
                "policy": "national@2026.1",
                "subjects": 210000,
                "histogram": {
                    "floor": 0,
                    "ceiling": 1500,
                    "width": 10,
                    "starts": [0, 10],
                    "counts": {"person": [3, 5], "organisation": [0, 1]},
                },
                "grades": {
                    "names": ["AAA", "AA", "A", "B", "C", "D"],
                    "counts": {"person": {"A": 196000}, "organisation": {"A": 9700}},
                },
                "lists": {"person": {"discredited": 1968, "red": 0}},
                "provinces": [
                    {
                        "code": "110000",
                        "name": "北京市",
                        "subjects": 3100,
                        "persons": 2950,
                        "mean_score": 998.7,
                        "discredited": 28,
                    }
                ],
            }
        }
    )
    snapshot: str
    as_of: str
    policy: str
    subjects: int
    histogram: Histogram
    grades: Grades
    lists: dict[str, dict[str, int]]
    provinces: builtins.list[Province]


# ---------------------------------------------------------------------- casework

#: the longest grounds, evidence or reasons (the casework service's limit)
CASE_TEXT: Final = 4000
#: the longest decision reference (the case store's column)
DECISION_REF: Final = 200
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
    version: int = Field(description="Give it back with a decision: refused if it changed.")


class CaseList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"cases": [CASE_EXAMPLE]}})
    cases: builtins.list[CaseAnswer] = Field(description="Newest first.")


class ObjectionRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"record_id": RECORD, "grounds": CASE_EXAMPLE["grounds"]}},
    )
    record_id: str = Field(min_length=1, max_length=200)
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
    record_id: str = Field(min_length=1, max_length=200)
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
