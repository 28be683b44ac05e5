"""A subject's personal credit report, as a download (PDF or HTML): the subject's own
key, reviewers and admins. Each is counted against the yearly free quota, with its
audit entry in the same transaction."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from socialcredit.errors import NotFoundError, PlatformError, UnavailableError
from socialcredit.keys import ApiKey
from socialcredit.reports import Issue
from socialcredit.scoring.snapshots import Snapshot
from socialcredit.web.deps import KeyDep, Purpose, Services, ServicesDep, SnapshotDep, SubjectId
from socialcredit.web.schemas import error_responses

router = APIRouter(prefix="/api/v1/subjects", tags=["subjects"])

MEDIA_TYPES = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}


@router.get(
    "/{subject_id}/report",
    operation_id="get_subject_report",
    summary="The personal credit report (PDF or HTML), counted against the free quota",
    response_class=Response,
    responses={
        200: {
            "description": "The report. `X-Report-Number`, `X-Report-Paid` and "
            "`X-Report-Free-Left` say which it is and what is left free this year.",
            "content": {
                "application/pdf": {
                    "schema": {"type": "string", "format": "binary"},
                    "example": "%PDF-1.7 (the report, A4, Chinese and English)",
                },
                "text/html": {
                    "schema": {"type": "string"},
                    "example": '<!DOCTYPE html><html lang="zh-CN">...</html>',
                },
            },
        },
        **error_responses(401, 403, 404, 422, 429, 503),
    },
)
async def get_subject_report(
    key: KeyDep,
    subject_id: SubjectId,
    snapshot: SnapshotDep,
    services: ServicesDep,
    purpose: Purpose,
    format: Annotated[Literal["pdf", "html"], Query(description="pdf (default) or html.")] = "pdf",
    shared: Annotated[bool, Query(description="For someone else: the ID and name masked.")] = False,
) -> Response:
    why = purpose or ("self-access" if key.role == "subject" else key.role)
    try:
        issue, data = await run_in_threadpool(
            make_report, services, key, subject_id, snapshot, format, shared, why
        )
    except PlatformError as error:  # refused: logged too (a taken one is logged with it)
        await services.record_async(key, why, "report", error.code, [subject_id])
        raise
    return report_response(issue, data, format)


def report_response(issue: Issue, data: bytes, format: str) -> Response:
    return Response(
        data,
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="{issue.number}.{format}"',
            "Cache-Control": "no-store",  # a person's data: kept by no cache
            "X-Report-Number": issue.number,
            "X-Report-Paid": "true" if issue.paid else "false",
            "X-Report-Free-Left": str(issue.free_left),
        },
    )


def make_report(
    services: Services,
    key: ApiKey,
    subject_id: str,
    snapshot: Snapshot,
    format: str,
    shared: bool,
    purpose: str,
) -> tuple[Issue, bytes]:
    """The report for a key (the API and the portal alike): PlatformError when refused
    or impossible."""
    from socialcredit.ledger import Ledger, LedgerError
    from socialcredit.reports import ReportFailedError, issue_report
    from socialcredit.scoring.explain import UnknownSubjectError

    key.require_subject(subject_id, "credit report")
    try:
        return issue_report(
            services.database,
            Ledger.open(services.settings.data),
            services.catalog,
            services.policy_tables,
            snapshot,
            subject_id,
            actor=key.key_id,
            role=key.role,
            purpose=purpose,
            format=format,
            shared=shared,
        )
    except UnknownSubjectError as error:
        raise NotFoundError(str(error)) from error
    except LedgerError as error:
        raise UnavailableError(f"the ledger cannot be read: {error}") from error
    except ReportFailedError as error:
        raise UnavailableError("the report could not be made; try again") from error
