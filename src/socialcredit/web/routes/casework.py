"""Due process over the API: objections (opened by the subject, decided by the issuing
authority or, once escalated or appealed, by a reviewer; appealed once) and credit
repair (applied for after the minimum publication period, decided likewise).

The casework service checks every key's role and scope and audits every step itself:
a route turns the key into an :class:`~socialcredit.casework.Actor`, runs the step in
a worker thread (the store and the ledger block) and answers with the case."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from socialcredit.casework import Actor, Case, Casework
from socialcredit.errors import UnavailableError
from socialcredit.keys import ApiKey
from socialcredit.ledger import LedgerError
from socialcredit.web.case_schemas import (
    AppealRequest,
    CaseAnswer,
    CaseList,
    CaseStatus,
    ObjectionDecision,
    ObjectionRequest,
    RepairDecision,
    RepairRequest,
)
from socialcredit.web.deps import KeyDep, Purpose, Services, ServicesDep, normalised_subject_id
from socialcredit.web.schemas import error_responses

objections_router = APIRouter(prefix="/api/v1/objections", tags=["casework"])
repairs_router = APIRouter(prefix="/api/v1/repairs", tags=["casework"])

CaseId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The case number.")]
StatusQuery = Annotated[
    CaseStatus | None,
    Query(description="open (within the deadline), escalated (past it) or decided."),
]
SubjectQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=64, description="Only this subject's cases."),
]
QueueQuery = Annotated[
    bool, Query(description="A reviewer's queue: open cases escalated or appealed.")
]
LimitQuery = Annotated[int, Query(ge=1, le=1000, description="At most this many, newest first.")]


def actor(key: ApiKey) -> Actor:
    """Who acts, as the casework service knows them."""
    return Actor(
        key.key_id,
        key.role,
        subject_id=key.subject_id,
        authority=key.authority,
        jurisdictions=key.jurisdictions,
    )


# ------------------------------------------------------------------ objections


@objections_router.post(
    "",
    operation_id="post_objection",
    summary="Object to one of your records: its effect is frozen until decided",
    status_code=201,
    response_model=CaseAnswer,
    responses=error_responses(401, 403, 404, 409, 422, 429, 503),
)
async def post_objection(
    body: ObjectionRequest, key: KeyDep, services: ServicesDep, purpose: Purpose
) -> dict[str, Any]:
    by = actor(key)
    why = purpose or "objection"
    return await _step(
        services, lambda work: work.open_objection(body.record_id, body.grounds, by, why)
    )


@objections_router.get(
    "",
    operation_id="list_objections",
    summary="The objections this key may see, with their status and deadlines",
    response_model=CaseList,
    responses=error_responses(401, 403, 422, 429, 503),
)
async def list_objections(
    key: KeyDep,
    services: ServicesDep,
    purpose: Purpose,
    status: StatusQuery = None,
    subject_id: SubjectQuery = None,
    queue: QueueQuery = False,
    limit: LimitQuery = 100,
) -> dict[str, Any]:
    return await _listing(services, key, purpose, "objection", status, subject_id, queue, limit)


@objections_router.get(
    "/{case_id}",
    operation_id="get_objection",
    summary="One objection: its status, deadline and decision",
    response_model=CaseAnswer,
    responses=error_responses(401, 404, 422, 429, 503),
)
async def get_objection(
    case_id: CaseId, key: KeyDep, services: ServicesDep, purpose: Purpose
) -> dict[str, Any]:
    return await _read(services, key, purpose, "objection", case_id)


@objections_router.post(
    "/{case_id}/decision",
    operation_id="decide_objection",
    summary="Decide an objection (the issuing authority; a reviewer once escalated, on "
    "appeal, or for hardship)",
    response_model=CaseAnswer,
    responses=error_responses(401, 403, 404, 409, 422, 429, 503),
)
async def decide_objection(
    case_id: CaseId,
    body: ObjectionDecision,
    key: KeyDep,
    services: ServicesDep,
    purpose: Purpose,
) -> dict[str, Any]:
    correction = None
    if body.correction is not None:
        correction = body.correction.model_dump(mode="json", exclude_none=True)
    by = actor(key)
    why = purpose or "casework decision"

    def decide(work: Casework) -> Case:
        return work.decide(
            case_id, body.outcome, body.decision_ref, body.reasons, by,
            expected_version=body.version, correction=correction, purpose=why,
            kind="objection",
        )  # fmt: skip

    return await _step(services, decide)


@objections_router.post(
    "/{case_id}/appeal",
    operation_id="appeal_objection",
    summary="Appeal a decided objection, once, to a reviewer",
    status_code=201,
    response_model=CaseAnswer,
    responses=error_responses(401, 403, 404, 409, 422, 429, 503),
)
async def appeal_objection(
    case_id: CaseId, body: AppealRequest, key: KeyDep, services: ServicesDep, purpose: Purpose
) -> dict[str, Any]:
    by = actor(key)
    why = purpose or "appeal"

    return await _step(services, lambda work: work.appeal(case_id, body.grounds, by, why))


# --------------------------------------------------------------------- repairs


@repairs_router.post(
    "",
    operation_id="post_repair",
    summary="Apply for credit repair of a record, with evidence (after its minimum "
    "publication period: detail.possible_from says when)",
    status_code=201,
    response_model=CaseAnswer,
    responses=error_responses(401, 403, 404, 409, 422, 429, 503),
)
async def post_repair(
    body: RepairRequest, key: KeyDep, services: ServicesDep, purpose: Purpose
) -> dict[str, Any]:
    by = actor(key)
    why = purpose or "credit repair"
    return await _step(
        services,
        lambda work: work.apply_repair(body.record_id, body.evidence_kind, body.evidence, by, why),
    )


@repairs_router.get(
    "",
    operation_id="list_repairs",
    summary="The credit repair applications this key may see",
    response_model=CaseList,
    responses=error_responses(401, 403, 422, 429, 503),
)
async def list_repairs(
    key: KeyDep,
    services: ServicesDep,
    purpose: Purpose,
    status: StatusQuery = None,
    subject_id: SubjectQuery = None,
    queue: QueueQuery = False,
    limit: LimitQuery = 100,
) -> dict[str, Any]:
    return await _listing(services, key, purpose, "repair", status, subject_id, queue, limit)


@repairs_router.get(
    "/{case_id}",
    operation_id="get_repair",
    summary="One credit repair application: its status, deadline and decision",
    response_model=CaseAnswer,
    responses=error_responses(401, 404, 422, 429, 503),
)
async def get_repair(
    case_id: CaseId, key: KeyDep, services: ServicesDep, purpose: Purpose
) -> dict[str, Any]:
    return await _read(services, key, purpose, "repair", case_id)


@repairs_router.post(
    "/{case_id}/decision",
    operation_id="decide_repair",
    summary="Decide a credit repair application (the issuing authority; a reviewer once escalated)",
    response_model=CaseAnswer,
    responses=error_responses(401, 403, 404, 409, 422, 429, 503),
)
async def decide_repair(
    case_id: CaseId,
    body: RepairDecision,
    key: KeyDep,
    services: ServicesDep,
    purpose: Purpose,
) -> dict[str, Any]:
    by = actor(key)
    why = purpose or "casework decision"

    def decide(work: Casework) -> Case:
        return work.decide(
            case_id, body.outcome, body.decision_ref, body.reasons, by,
            expected_version=body.version, purpose=why, kind="repair",
        )  # fmt: skip

    return await _step(services, decide)


# --------------------------------------------------------------------- helpers


async def _step(services: Services, step: Callable[[Casework], Case]) -> dict[str, Any]:
    """``step`` on a casework service opened for this request, in a worker thread."""

    def run() -> dict[str, Any]:
        try:
            return step(services.casework()).as_dict()
        except LedgerError as error:
            raise UnavailableError("the ledger cannot be read or written; try again") from error

    return await run_in_threadpool(run)


async def _read(
    services: Services, key: ApiKey, purpose: str | None, kind: str, case_id: int
) -> dict[str, Any]:
    """One case of ``kind`` (the store alone: reading needs no ledger)."""
    store = services.cases
    why = purpose or "casework"

    def run() -> dict[str, Any]:
        return store.get(case_id, actor(key), why, kind=kind).as_dict()

    return await run_in_threadpool(run)


async def _listing(
    services: Services,
    key: ApiKey,
    purpose: str | None,
    kind: str,
    status: str | None,
    subject_id: str | None,
    queue: bool,
    limit: int,
) -> dict[str, Any]:
    subject = None if subject_id is None else normalised_subject_id(subject_id, "subject_id")
    store = services.cases
    why = purpose or "casework"

    def run() -> dict[str, Any]:
        found = store.cases(
            actor(key), kind=kind, status=status, subject_id=subject, queue=queue,
            limit=limit, purpose=why,
        )  # fmt: skip
        return {"cases": [case.as_dict() for case in found]}

    return await run_in_threadpool(run)
