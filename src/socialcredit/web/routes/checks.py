"""Relying parties' checks: allowed or not, with reasons; never the score."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from socialcredit.errors import UnprocessableError
from socialcredit.identity import validate_array
from socialcredit.scoring import answers
from socialcredit.scoring.snapshots import Snapshot
from socialcredit.web.deps import KeyDep, Purpose, ServicesDep, SnapshotDep, SubjectId
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
async def check_subject(
    key: KeyDep,
    measure: MeasurePath,
    subject_id: SubjectId,
    snapshot: SnapshotDep,
    services: ServicesDep,
    purpose: Purpose,
) -> Response:
    answers.require_measure(snapshot, measure)
    action = f"check:{measure}"

    def answer() -> dict[str, Any]:
        key.require_check(measure)
        return answers.check(snapshot, subject_id, measure)

    document = await services.audited(
        key,
        purpose or action,
        action,
        [subject_id],
        answer,
        lambda document: "allowed" if document["allowed"] else "denied",
    )
    # already the answer's shape: returned as it is, without a second validation
    return JSONResponse(document)


@router.post(
    "",
    operation_id="check_batch",
    summary=f"Check up to {answers.BATCH_LIMIT:,} subjects for one measure",
    response_model=BatchAnswer,
    response_model_exclude_none=True,
    responses=error_responses(400, 401, 403, 413, 422, 429, 503),
)
async def check_batch(
    key: KeyDep,
    body: BatchRequest,
    snapshot: SnapshotDep,
    services: ServicesDep,
    purpose: Purpose,
) -> Response:
    answers.require_measure(snapshot, body.measure)
    action = f"check:{body.measure}"
    # a refusal is logged too (about no one yet: the ids are not checked before it)
    await services.audited(
        key, purpose or action, action, [], lambda: key.require_check(body.measure)
    )
    # up to 10,000 ids: validated and looked up off the event loop
    ids, found = await run_in_threadpool(_check_all, snapshot, body.subject_ids, body.measure)
    await services.audited(key, purpose or action, action, ids, lambda: None)
    head = json.dumps(
        {
            "measure": body.measure,
            "snapshot": snapshot.id,
            "policy": snapshot.metadata["policy"]["version"],
        }
    )
    # 10,000 answers: each combination's part encoded once, not each answer
    content = f'{head[:-1]}, "answers": {found.items_json()}}}'
    return Response(content, media_type="application/json")


def _check_all(
    snapshot: Snapshot, given: list[str], measure: str
) -> tuple[list[str], answers.BatchAnswers]:
    """The ids validated at once (the first bad one named), then every answer."""
    verdicts = validate_array([text.strip() for text in given])
    bad = verdicts.invalid_indices()
    if len(bad):
        first = int(bad[0])
        raise UnprocessableError(
            f"subject_ids[{first}]: {given[first]!r} is not a valid id "
            f"({verdicts.messages()[first].as_py()})",
            invalid=len(bad),
        )
    ids = [str(v) for v in verdicts.normalised.to_pylist()]
    return ids, answers.check_many(snapshot, ids, measure)
