"""The yearly quota of free personal credit reports.

Everyone gets ``FREE_PER_YEAR`` (2, as in the central bank's rule for its own credit
reports); a subject the policy grants ``report.free_credit_report`` gets its
``per_year`` instead. Reports past the quota are issued as paid. Each issue is taken
in one serial transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction lock
on the subject and year), so two downloads at once cannot both take the last free one.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update

from socialcredit.audit import AuditEntry, AuditLog
from socialcredit.ledger.ingest import CHINA_TIME
from socialcredit.store import Database
from socialcredit.store.tables import REPORT_ISSUES

FREE_PER_YEAR = 2
#: the measure whose grant raises the free quota to its ``per_year``
FREE_REPORTS_MEASURE = "report.free_credit_report"


@dataclass(frozen=True)
class Issue:
    """One report issued: its number, whether it is paid, and the quota it came from."""

    number: str
    subject_id: str
    issued_at: dt.datetime
    paid: bool
    free_per_year: int
    #: free reports taken this year, this one included if it is free
    free_used: int

    @property
    def free_left(self) -> int:
        return max(self.free_per_year - self.free_used, 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "subject_id": self.subject_id,
            "issued_at": self.issued_at.isoformat(),
            "paid": self.paid,
            "free_per_year": self.free_per_year,
            "free_used": self.free_used,
            "free_left": self.free_left,
        }


def report_number(year: int, serial: int) -> str:
    return f"SCR-{year}-{serial:08d}"


class ReportQuota:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.audit = AuditLog(database)

    def take(
        self,
        subject_id: str,
        free_per_year: int,
        actor: str,
        snapshot: str,
        now: dt.datetime | None = None,
        role: str = "admin",
        purpose: str = "credit report",
    ) -> Issue:
        """Issue a report to ``subject_id``: free while this year's free ones last (the
        year in China's time). The audit entry (a report reads the subject's data)
        commits with it."""
        moment = now or dt.datetime.now(dt.UTC)
        year = moment.astimezone(CHINA_TIME).year
        with self.database.serial(), self.database.transaction() as connection:
            if not self.database.is_sqlite:  # SQLite's write transactions are serial already
                lock = zlib.crc32(f"report:{subject_id}:{year}".encode())
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (lock,))
            used = int(
                connection.execute(
                    select(func.count()).where(
                        REPORT_ISSUES.c.subject_id == subject_id,
                        REPORT_ISSUES.c.year == year,
                        REPORT_ISSUES.c.paid.is_(False),
                        REPORT_ISSUES.c.voided.is_(False),
                    )
                ).scalar_one()
            )
            paid = used >= free_per_year
            made = connection.execute(
                insert(REPORT_ISSUES).values(
                    subject_id=subject_id,
                    year=year,
                    paid=paid,
                    issued_at=moment,
                    actor=actor,
                    snapshot=snapshot,
                    voided=False,
                )
            ).inserted_primary_key
            assert made is not None
            issue = Issue(
                report_number(year, int(made[0])),
                subject_id,
                moment,
                paid,
                free_per_year,
                used if paid else used + 1,
            )
            entry = AuditEntry(
                actor, role, purpose, f"report:{issue.number}", "paid" if paid else "free",
                (subject_id,),
            )  # fmt: skip
            self.audit.append([entry], connection)
        return issue

    def void(self, issue: Issue, actor: str, role: str = "admin") -> None:
        """An issue whose report could not be made: not counted (its free one counts
        again), its number never given again, and the void logged with it."""
        serial = int(issue.number.rsplit("-", 1)[1])
        with self.database.serial(), self.database.transaction() as connection:
            connection.execute(
                update(REPORT_ISSUES).where(REPORT_ISSUES.c.id == serial).values(voided=True)
            )
            entry = AuditEntry(
                actor, role, "credit report", f"report:{issue.number}", "voided",
                (issue.subject_id,),
            )  # fmt: skip
            self.audit.append([entry], connection)
