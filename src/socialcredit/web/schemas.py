"""The API's request and answer shapes, with the examples the OpenAPI document shows."""

from __future__ import annotations

import builtins
from typing import Any

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
