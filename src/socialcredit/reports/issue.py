"""Issuing a report, the one way the command line, the API and the portal do it: the
subject's explanation, the quota taken (with its audit entry), the report rendered; a
report that cannot be rendered is voided, its free one given back."""

from __future__ import annotations

from socialcredit.casework.case_store import CaseStore
from socialcredit.ledger import Ledger
from socialcredit.policy import PolicyCatalog
from socialcredit.reports.content import explanation_of, free_reports_per_year, report_content
from socialcredit.reports.quota import Issue, ReportQuota
from socialcredit.reports.render import render_html, render_pdf
from socialcredit.scoring.policy_tables import PolicyTables
from socialcredit.scoring.snapshots import Snapshot
from socialcredit.store import Database

FORMATS = ("pdf", "html")


class ReportFailedError(RuntimeError):
    """The report could not be rendered (its issue was voided)."""


def issue_report(
    database: Database,
    ledger: Ledger,
    catalog: PolicyCatalog,
    tables: PolicyTables,
    snapshot: Snapshot,
    subject_id: str,
    *,
    actor: str,
    role: str,
    purpose: str,
    format: str,
    shared: bool = False,
) -> tuple[Issue, bytes]:
    """The report of ``subject_id`` in ``format`` (pdf or html). UnknownSubjectError if
    the snapshot has no such subject (nothing taken); ReportFailedError if it could not
    be rendered. The caller checks who may have it."""
    if format not in FORMATS:
        raise ValueError(f"format: pdf or html, not {format!r}")
    explanation = explanation_of(ledger, tables, snapshot, subject_id, CaseStore(database))
    quota = ReportQuota(database)
    free = free_reports_per_year(catalog, explanation)
    issue = quota.take(subject_id, free, actor, snapshot.id, role=role, purpose=purpose)
    try:
        html = render_html(report_content(ledger, catalog, explanation, issue, shared))
        return issue, (render_pdf(html) if format == "pdf" else html.encode("utf-8"))
    except Exception as error:
        quota.void(issue, actor, role)
        raise ReportFailedError(f"the report could not be made: {error}") from error
