"""The cases as the store keeps them: reading them (audited), the deadline's
escalation, and what a scoring run is told (:class:`CaseStore` is the scoring engine's
``CaseworkInputs``: records under objection and records repaired, as of a moment).
Needs no ledger; :class:`~socialcredit.casework.service.Casework` adds what does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import ColumnElement, Connection, and_, false, or_, select, update

from socialcredit.audit import AuditEntry, AuditLog
from socialcredit.casework.cases import Actor, Case, may_read
from socialcredit.errors import ForbiddenError, NotFoundError, PlatformError
from socialcredit.ledger.ingest import CHINA_TIME
from socialcredit.store import Database
from socialcredit.store.tables import CASES

#: the most cases one listing returns
MAX_LISTED = 1000


def china_today() -> dt.date:
    return dt.datetime.now(CHINA_TIME).date()


#: the subject a casework step turned out to concern (for the audit of a refusal)
_CONCERNS: ContextVar[tuple[str, ...]] = ContextVar("casework_concerns", default=())


def concerns(subject_id: str) -> None:
    """Note that the step in progress concerns ``subject_id``'s data."""
    _CONCERNS.set((subject_id,))


def _within(jurisdiction: str) -> ColumnElement[bool]:
    """SQL for "the case's region is within ``jurisdiction``" (keys.region_within)."""
    column = CASES.c.jurisdiction
    if jurisdiction.endswith("0000"):
        return column.like(f"{jurisdiction[:2]}%")
    if jurisdiction.endswith("00"):
        return column.like(f"{jurisdiction[:4]}%")
    return column == jurisdiction


class CaseStore:
    def __init__(
        self,
        database: Database,
        today: Callable[[], dt.date] = china_today,
        audit: AuditLog | None = None,
    ) -> None:
        """``today``: the business date in China's time (deadlines, minimum periods,
        the date of decision rows); the moments kept are always the real time.
        ``audit``: a server's log (its index kept by the server, not by requests)."""
        self.database = database
        self.today = today
        self.audit = audit or AuditLog(database)

    # ------------------------------------------------------------------ reading

    def get(
        self, case_id: int, reader: Actor, purpose: str = "casework", kind: str | None = None
    ) -> Case:
        """One case (of ``kind``, if given), for whoever may read it (NotFoundError for
        the others: a case's existence is personal data too). The read is audited."""
        with self._refusals(reader, purpose, f"{kind or 'case'}:{case_id}"):
            self.escalate_overdue()
            case = self._readable(case_id, reader, kind)
            self._log(reader, purpose, f"{case.kind}:{case_id}", "read", case.subject_id)
            return case

    def _readable(self, case_id: int, reader: Actor, kind: str | None) -> Case:
        case = self._load(case_id)
        if case is not None:
            concerns(case.subject_id)
        if case is None or not may_read(reader, case):
            raise NotFoundError(f"no case {case_id}")
        if kind not in (None, case.kind):  # (the reader may know what it is)
            raise NotFoundError(f"case {case_id} is a{'n' * (case.kind[0] == 'o')} {case.kind}")
        return case

    def cases(
        self,
        reader: Actor,
        *,
        kind: str | None = None,
        status: str | None = None,
        subject_id: str | None = None,
        queue: bool = False,
        limit: int = 100,
        purpose: str = "casework",
    ) -> list[Case]:
        """The cases ``reader`` may see, newest first. ``status``: open, escalated or
        decided; ``queue``: a reviewer's queue (escalated cases and appeals, open)."""
        with self._refusals(reader, purpose, "cases:list"):
            if reader.role not in ("subject", "agency", "reviewer", "auditor", "admin"):
                raise ForbiddenError(f"a {reader.role} key cannot read casework")
            self.escalate_overdue()
            query = select(CASES).order_by(CASES.c.case_id.desc()).limit(min(limit, MAX_LISTED))
            if kind is not None:
                query = query.where(CASES.c.kind == kind)
            if status == "escalated":
                query = query.where(CASES.c.status == "open", CASES.c.escalated_at.is_not(None))
            elif status == "open":  # (escalated ones are asked for by name, or by ``queue``)
                query = query.where(CASES.c.status == "open", CASES.c.escalated_at.is_(None))
            elif status is not None:
                query = query.where(CASES.c.status == status)
            if subject_id is not None:
                query = query.where(CASES.c.subject_id == subject_id)
            if queue:
                query = query.where(
                    CASES.c.status == "open",
                    or_(CASES.c.escalated_at.is_not(None), CASES.c.level > 1),
                )
            if reader.role == "subject":
                query = query.where(CASES.c.subject_id == (reader.subject_id or ""))
            elif reader.role == "agency":  # its authority's, within its jurisdictions
                query = query.where(
                    CASES.c.authority == (reader.authority or ""),
                    or_(false(), *(_within(j) for j in reader.jurisdictions)),
                )
            with self.database.reading() as connection:
                found = [Case.of(row) for row in connection.execute(query)]
            subjects = sorted({case.subject_id for case in found})
            self._log(reader, purpose, "cases:list", f"{len(found)} cases", *subjects)
            return found

    def open_cases_of(self, subject_id: str) -> list[Case]:
        """The open cases of a subject (for explanations, which audit their own read),
        missed deadlines escalated first."""
        self.escalate_overdue()
        query = select(CASES).where(CASES.c.subject_id == subject_id, CASES.c.status == "open")
        with self.database.reading() as connection:
            return [Case.of(row) for row in connection.execute(query.order_by(CASES.c.case_id))]

    def escalate_overdue(self) -> list[int]:
        """Open cases past their deadline go to the reviewers' queue (audited, once)."""
        today = self.today()
        query = select(CASES.c.case_id, CASES.c.subject_id).where(
            CASES.c.status == "open", CASES.c.deadline < today, CASES.c.escalated_at.is_(None)
        )
        with self.database.reading() as connection:
            overdue = [(int(row[0]), str(row[1])) for row in connection.execute(query)]
        if not overdue:
            return []
        system = Actor("casework:deadline", "system")
        escalated = []
        with self._writing() as connection:
            for case_id, subject_id in overdue:
                moved = connection.execute(
                    update(CASES)
                    .where(CASES.c.case_id == case_id, CASES.c.escalated_at.is_(None))
                    .values(escalated_at=dt.datetime.now(dt.UTC))
                ).rowcount
                if moved:
                    escalated.append(case_id)
                    self._log(
                        system, "deadline missed", f"case:{case_id}", "escalated", subject_id,
                        connection=connection,
                    )  # fmt: skip
        return escalated

    # ------------------------------------------------- what a scoring run is told

    def under_objection(self, ledger_as_of: dt.datetime) -> list[str]:
        """Records frozen at ``ledger_as_of``: objected to (or appealed) and the
        decision not yet in the ledger."""
        moment = ledger_as_of.astimezone(dt.UTC)
        query = select(CASES.c.record_id).where(
            CASES.c.kind == "objection",
            CASES.c.opened_at <= moment,
            or_(CASES.c.ledger_written_at.is_(None), CASES.c.ledger_written_at > moment),
            # a decision that writes nothing (none does today) would close at its time
            or_(CASES.c.ledger_rows.is_not(None), CASES.c.status == "open"),
        )
        with self.database.reading() as connection:
            return [str(r) for r in connection.execute(query).scalars()]

    def repaired(self, ledger_as_of: dt.datetime) -> list[str]:
        moment = ledger_as_of.astimezone(dt.UTC)
        query = select(CASES.c.record_id).where(
            and_(
                CASES.c.kind == "repair",
                CASES.c.outcome == "granted",
                CASES.c.decided_at <= moment,
            )
        )
        with self.database.reading() as connection:
            return [str(r) for r in connection.execute(query).scalars()]

    def _cases_on(self, record_id: str, kind: str) -> list[Case]:
        query = select(CASES).where(CASES.c.kind == kind, CASES.c.record_id == record_id)
        with self.database.reading() as connection:
            return [Case.of(row) for row in connection.execute(query.order_by(CASES.c.case_id))]

    def _load(self, case_id: int) -> Case | None:
        with self.database.reading() as connection:
            row = connection.execute(select(CASES).where(CASES.c.case_id == case_id)).first()
        return Case.of(row) if row is not None else None

    @contextmanager
    def _refusals(self, by: Actor, purpose: str, action: str) -> Iterator[None]:
        """A step refused is audited too (who tried what, and whose data it touched:
        a refusal may already have read a record or a case)."""
        token = _CONCERNS.set(())
        try:
            yield
        except PlatformError as error:
            self._log(by, purpose, action, f"refused: {error.code}", *_CONCERNS.get())
            raise
        finally:
            _CONCERNS.reset(token)

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction taken in turn (SQLite: the store's serial lock too)."""
        with self.database.serial(), self.database.transaction() as connection:
            yield connection

    def _log(
        self,
        by: Actor,
        purpose: str,
        action: str,
        outcome: str,
        *subjects: str,
        connection: Connection | None = None,
    ) -> None:
        entry = AuditEntry(by.actor, by.role, purpose, action, outcome, tuple(subjects))
        self.audit.append([entry], connection)
