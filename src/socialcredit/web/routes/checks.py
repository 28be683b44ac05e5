"""Relying parties' checks: allowed or not, with reasons; never the score."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from socialcredit.scoring import answers
from socialcredit.web.deps import (
    KeyDep,
    Purpose,
    ServicesDep,
    SnapshotDep,
    SubjectId,
    normalised_subject_id,
)
from socialcredit.web.schemas import BatchAnswer, BatchRequest, CheckAnswer, error_responses

router = APIRouter(prefix="/api/v1/checks", tags=["checks"])

MeasurePath = Annotated[
    str,
    Path(min_length=1, max_length=200, description="A measure of the policy.",
         examples=["transport.flight"]),
]  # fmt: skip


@router.get(
    "/{measure}/{subject_id}",
    operation_id="check_subject",
    summary="May this subject have this measure?",
    response_model=CheckAnswer,
    response_model_exclude_none=True,
    responses=error_responses(401, 403, 404, 422, 429, 503),
)
def check_subject(
    key: KeyDep,
    measure: MeasurePath,
    subject_id: SubjectId,
    snapshot: SnapshotDep,
    services: ServicesDep,
    purpose: Purpose,
) -> dict[str, Any]:
    answers.require_measure(snapshot, measure)
    action = f"check:{measure}"

    def answer() -> dict[str, Any]:
        key.require_check(measure)
        return answers.check(snapshot, subject_id, measure)

    return services.audited(
        key,
        purpose or action,
        action,
        [subject_id],
        answer,
        lambda document: "allowed" if document["allowed"] else "denied",
    )


@router.post(
    "",
    operation_id="check_batch",
    summary=f"Check up to {answers.BATCH_LIMIT:,} subjects for one measure",
    response_model=BatchAnswer,
    response_model_exclude_none=True,
    responses=error_responses(400, 401, 403, 413, 422, 429, 503),
)
def check_batch(
    key: KeyDep,
    body: BatchRequest,
    snapshot: SnapshotDep,
    services: ServicesDep,
    purpose: Purpose,
) -> dict[str, Any]:
    answers.require_measure(snapshot, body.measure)
    key.require_check(body.measure)
    ids = [
        normalised_subject_id(text, f"subject_ids[{i}]") for i, text in enumerate(body.subject_ids)
    ]
    found = answers.check_many(snapshot, ids, body.measure)
    action = f"check:{body.measure}"
    services.record(key, purpose or action, action, "answered", *ids)
    return {
        "measure": body.measure,
        "snapshot": snapshot.id,
        "policy": snapshot.metadata["policy"]["version"],
        "answers": found,
    }
