"""A subject's own figures, explanation and access log (the subject, reviewers and
admins; auditors for the access log). Never for relying parties."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from socialcredit.keys import ApiKey
from socialcredit.scoring import answers
from socialcredit.web.deps import KeyDep, Purpose, ServicesDep, SnapshotDep, SubjectId
from socialcredit.web.schemas import AccessLog, Explanation, SubjectFigures, error_responses

router = APIRouter(prefix="/api/v1/subjects", tags=["subjects"])


def _why(key: ApiKey, purpose: str | None) -> str:
    """The purpose recorded: the caller's, or what the role implies."""
    return purpose or ("self-access" if key.role == "subject" else key.role)


@router.get(
    "/{subject_id}",
    operation_id="get_subject",
    summary="Score, grade, lists and ranks of a subject",
    response_model=SubjectFigures,
    responses=error_responses(401, 403, 404, 422, 429, 503),
)
async def get_subject(
    key: KeyDep,
    subject_id: SubjectId,
    snapshot: SnapshotDep,
    services: ServicesDep,
    purpose: Purpose,
) -> dict[str, Any]:
    def answer() -> dict[str, Any]:
        key.require_subject(subject_id)
        return answers.figures(snapshot, subject_id)

    return await services.audited(key, _why(key, purpose), "read:figures", [subject_id], answer)


@router.get(
    "/{subject_id}/records",
    operation_id="get_subject_records",
    summary="Why a subject has its score: records, points, rules, ranks and measures",
    response_model=None,
    responses={
        200: {"model": Explanation, "description": "As `socialcredit show --json` gives it."},
        **error_responses(401, 403, 404, 422, 429, 503),
    },
)
async def get_subject_records(
    key: KeyDep,
    subject_id: SubjectId,
    snapshot: SnapshotDep,
    services: ServicesDep,
    purpose: Purpose,
) -> dict[str, Any]:
    def answer() -> dict[str, Any]:
        key.require_subject(subject_id)
        return services.explanation(snapshot, subject_id)

    return await services.audited(
        key, _why(key, purpose), "read:records", [subject_id], answer, in_thread=True
    )


@router.get(
    "/{subject_id}/access-log",
    operation_id="get_subject_access_log",
    summary="Who looked at this subject's data",
    response_model=AccessLog,
    responses=error_responses(401, 403, 422, 429, 503),
)
async def get_subject_access_log(
    key: KeyDep, subject_id: SubjectId, services: ServicesDep, purpose: Purpose
) -> dict[str, Any]:
    def answer() -> dict[str, Any]:
        key.require_access_log(subject_id)
        entries = services.audit.for_subject(subject_id)
        if key.role == "subject":  # members of the public are logged by address: not theirs
            entries = [{**e, "actor": "public"} if e["role"] == "public" else e for e in entries]
        return {"subject_id": subject_id, "entries": entries}

    return await services.audited(
        key, _why(key, purpose), "read:access-log", [subject_id], answer, in_thread=True
    )
