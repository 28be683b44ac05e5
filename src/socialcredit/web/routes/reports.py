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
    try:
        issue, data = await run_in_threadpool(
            make_report, services, key, subject_id, snapshot, format, shared
        )
    except PlatformError as error:  # refused: logged too (a taken one is logged with it)
        why = purpose or ("self-access" if key.role == "subject" else key.role)
        await services.record_async(key, why, "report", error.code, [subject_id])
        raise
    return report_response(issue, data, format)


def report_response(issue: Issue, data: bytes, format: str) -> Response:
    return Response(
        data,
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="{issue.number}.{format}"',
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
) -> tuple[Issue, bytes]:
    """The report, taken from the quota with its audit entry (the API and the portal
    alike); PlatformError when refused or impossible."""
    from socialcredit.ledger import Ledger, LedgerError
    from socialcredit.reports import ReportQuota, render_html, render_pdf, report_content
    from socialcredit.reports.content import explanation_of, free_reports_per_year
    from socialcredit.scoring.explain import UnknownSubjectError

    key.require_subject(subject_id, "credit report")
    try:
        ledger = Ledger.open(services.settings.data)
        explanation = explanation_of(ledger, services.policy_tables, snapshot, subject_id)
    except UnknownSubjectError as error:
        raise NotFoundError(str(error)) from error
    except LedgerError as error:
        raise UnavailableError(f"the ledger cannot be read: {error}") from error
    quota = ReportQuota(services.database)
    free = free_reports_per_year(services.catalog, explanation)
    issue = quota.take(subject_id, free, key.key_id, snapshot.id, role=key.role)
    try:
        html = render_html(report_content(ledger, services.catalog, explanation, issue, shared))
        return issue, (render_pdf(html) if format == "pdf" else html.encode("utf-8"))
    except Exception as error:  # no report made: its free one counts again
        quota.void(issue)
        raise UnavailableError("the report could not be made; try again") from error
