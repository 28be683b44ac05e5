"""The personal credit report: what it says (:mod:`.content`), its yearly free quota
(:mod:`.quota`) and its HTML and PDF forms (:mod:`.render`)."""

from socialcredit.reports.content import report_content
from socialcredit.reports.issue import ReportFailedError, issue_report
from socialcredit.reports.quota import FREE_PER_YEAR, Issue, ReportQuota
from socialcredit.reports.render import render_html, render_pdf

__all__ = [
    "FREE_PER_YEAR",
    "Issue",
    "ReportFailedError",
    "ReportQuota",
    "issue_report",
    "render_html",
    "render_pdf",
    "report_content",
]
