"""Casework, the one way the command line, the API and the portal do it: objections
(opened, decided, appealed once), credit repair (applied for, decided), deadlines that
escalate to a reviewer, and the ledger rows every decision writes. Every step, and
every read of a case, goes into the audit log in the same transaction.

A decision is optimistic: the case is read, the decision's rows are made and checked,
then one conditional update (``version`` unchanged, still open) takes it; of two
deciders at once exactly one wins, the other gets a ConflictError. The rows are then
written to the ledger; rows not yet written (a crash between) are written by
:meth:`Casework.write_pending`, which ``score`` calls first.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import zlib
from collections.abc import Callable
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from socialcredit.audit import AuditLog
from socialcredit.casework.case_store import CaseStore, china_today, concerns
from socialcredit.casework.cases import (
    EVIDENCE_KINDS,
    MAX_REF,
    OBJECTION_OUTCOMES,
    REPAIR_OUTCOMES,
    Actor,
    Case,
    ObjectionRefusedError,
    RepairTooEarlyError,
    may_act_for,
    require_decider,
    required_text,
)
from socialcredit.casework.deadlines import (
    DEFAULT_WORKING_DAYS,
    counts_until,
    decision_deadline,
    repair_possible_from,
    working_days_after,
)
from socialcredit.casework.decisions import decision_rows
from socialcredit.casework.ledger_rows import LedgerRecord, check_rows, find_record, write_rows
from socialcredit.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PlatformError,
    UnprocessableError,
)
from socialcredit.ledger import Ledger, LedgerError
from socialcredit.policy import PolicyCatalog
from socialcredit.policy.models import RecordType
from socialcredit.store import Database
from socialcredit.store.tables import CASES

#: grounds this similar to an earlier objection's (difflib's ratio, on normalised
#: text) are not new grounds
SAME_GROUNDS = 0.9


def _normalised(text: str) -> str:
    return " ".join(text.casefold().split())


def same_grounds(earlier: str, new: str) -> bool:
    a, b = _normalised(earlier), _normalised(new)
    return a == b or SequenceMatcher(None, a, b).ratio() >= SAME_GROUNDS


#: who writes decisions' rows to the ledger, in the audit log
LEDGER_WRITER = Actor("casework:ledger", "system")


class Casework(CaseStore):
    def __init__(
        self,
        database: Database,
        ledger: Ledger,
        catalog: PolicyCatalog,
        today: Callable[[], dt.date] = china_today,
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__(database, today, audit)
        self.ledger = ledger
        self.catalog = catalog

    # --------------------------------------------------------------- objections

    def open_objection(
        self, record_id: str, grounds: str, by: Actor, purpose: str = "objection"
    ) -> Case:
        """Object to a record. Refused: someone else's record, a record revoked or not
        objectable, an objection already open on it, or grounds already decided."""
        with self._refusals(by, purpose, "objection:new"):
            text = required_text(grounds, "grounds")
            record = self._record_for(record_id, by)
            for case in self._cases_on(record.record_id, "objection"):
                if not case.is_open and same_grounds(case.grounds, text):
                    raise ObjectionRefusedError(
                        f"refused: the same grounds were decided in case {case.case_id} "
                        f"({case.outcome}); a new objection to this record needs new grounds",
                        case_id=case.case_id,
                    )
            return self._open(record, "objection", text, None, by, purpose)

    def appeal(self, case_id: int, grounds: str, by: Actor, purpose: str = "appeal") -> Case:
        """Appeal a decided objection once, to the next level (a reviewer)."""
        with self._refusals(by, purpose, f"objection:{case_id}"):
            text = required_text(grounds, "grounds")
            case = self._load(case_id)
            if case is not None:
                concerns(case.subject_id)
            if case is None or not may_act_for(by, case.subject_id) or case.kind != "objection":
                raise NotFoundError(f"no case {case_id} (an objection) of yours")
            if case.level > 1:
                raise ConflictError(f"case {case_id} is the appeal already: one appeal is allowed")
            if case.is_open:
                raise ConflictError(f"case {case_id} is not decided yet (due by {case.deadline})")
            if case.outcome == "revoked":
                raise ConflictError(
                    f"case {case_id} revoked the record: there is nothing to appeal"
                )
            # the appeal is about the record as the decision left it
            if case.ledger_written_at is None:
                raise ConflictError(
                    f"case {case_id}'s decision is not in the ledger yet"
                    + (f" ({case.ledger_error})" if case.ledger_error else "")
                )
            rows = case.ledger_rows or []
            standing = next((r["record_id"] for r in rows if r.get("revokes") is None), None)
            record = self._record_for(standing or case.record_id, by)
            return self._open(record, "objection", text, None, by, purpose, appeal_of=case)

    # ------------------------------------------------------------------ repairs

    def apply_repair(
        self,
        record_id: str,
        evidence_kind: str,
        evidence: str,
        by: Actor,
        purpose: str = "credit repair",
    ) -> Case:
        """Apply for credit repair of a record, with evidence. RepairTooEarlyError,
        with the date it becomes possible, before the minimum publication period."""
        with self._refusals(by, purpose, "repair:new"):
            if evidence_kind not in EVIDENCE_KINDS:
                raise UnprocessableError(f"evidence_kind: one of {', '.join(EVIDENCE_KINDS)}")
            text = required_text(evidence, "evidence")
            record = self._record_for(record_id, by)
            definition = self._definition(record)
            if definition is None:
                raise UnprocessableError(f"record_id: {record.record_type} is not in the policy")
            if not definition.counts_against:
                raise UnprocessableError(
                    f"record_id: a {record.record_type} record counts for its subject, "
                    "not against: there is nothing to repair"
                )
            today = self.today()
            possible = repair_possible_from(definition, record.occurred_on)
            until = counts_until(definition, record.occurred_on)
            if possible is None:
                raise UnprocessableError(
                    f"record_id: {record.record_type} records are never published and need no "
                    f"repair; this one stops counting on {until}",
                    counts_until=until.isoformat(),
                )
            if today >= until:
                raise ConflictError(f"record {record_id} expired on {until}: nothing to repair")
            if today < possible:
                raise RepairTooEarlyError(
                    f"too early: repair of this {record.record_type} record is possible from "
                    f"{possible} (a minimum publication of {definition.repair_after_months} "
                    "months)",
                    possible_from=possible.isoformat(),
                )
            for case in self._cases_on(record.record_id, "repair"):
                if case.outcome == "granted":
                    raise ConflictError(
                        f"record {record_id} was repaired already (case {case.case_id})",
                        case_id=case.case_id,
                    )
            return self._open(record, "repair", text, evidence_kind, by, purpose)

    # ---------------------------------------------------------------- decisions

    def decide(
        self,
        case_id: int,
        outcome: str,
        decision_ref: str,
        reasons: str,
        by: Actor,
        *,
        expected_version: int | None = None,
        correction: dict[str, Any] | None = None,
        purpose: str = "casework decision",
        kind: str | None = None,
    ) -> Case:
        """Decide an open case (of ``kind``, if given). ``expected_version``: the
        version the decider read (ConflictError if the case changed since); the rows
        are then written."""
        with self._refusals(by, purpose, f"{kind or 'case'}:{case_id}"):
            ref = required_text(decision_ref, "decision_ref", MAX_REF)
            why = required_text(reasons, "reasons")
            self.escalate_overdue()
            case = self._readable(case_id, by, kind)
            allowed = OBJECTION_OUTCOMES if case.kind == "objection" else REPAIR_OUTCOMES
            if outcome not in allowed:
                raise UnprocessableError(f"outcome: one of {', '.join(allowed)} for a {case.kind}")
            if correction and outcome != "corrected":
                raise UnprocessableError("correction: given only with the outcome corrected")
            require_decider(by, case, outcome)
            if not case.is_open:
                raise ConflictError(f"case {case_id} was decided already ({case.outcome})")
            version = case.version if expected_version is None else expected_version
            if version != case.version:
                raise ConflictError(
                    f"case {case_id} changed since version {version}; read it again"
                )
            record = find_record(self.ledger, case.record_id)
            if record is None:
                raise ConflictError(f"record {case.record_id} is no longer in the ledger")
            closing = "revoked" if case.kind == "objection" else "refused"
            if record.revoked_by and outcome != closing:  # (a replacement, a grant: revived)
                raise ConflictError(
                    f"record {case.record_id} was revoked by {record.revoked_by[0]} meanwhile: "
                    f"only the outcome {closing} closes this case"
                )
            today = self.today()
            authority = by.authority if by.role == "agency" and by.authority else _reviewing(case)
            rows = decision_rows(
                case, record, outcome, ref, day=today, authority=authority,
                definition=self._definition(record), correction=correction,
            )  # fmt: skip
            if rows:
                check_rows(self.catalog, rows, today)
            now = dt.datetime.now(dt.UTC)
            with self._writing() as connection:
                taken = connection.execute(
                    update(CASES)
                    .where(
                        CASES.c.case_id == case_id,
                        CASES.c.version == version,
                        CASES.c.status == "open",
                    )
                    .values(
                        status="decided",
                        outcome=outcome,
                        decision_ref=ref,
                        reasons=why,
                        decided_by=by.actor,
                        decided_at=now,
                        ledger_rows=json.dumps(rows, ensure_ascii=False) if rows else None,
                        version=version + 1,
                    )
                ).rowcount
                if taken != 1:
                    raise ConflictError(f"case {case_id} was decided or changed by someone else")
                self._log(
                    by, purpose, f"{case.kind}:{case_id}", f"decided: {outcome}", case.subject_id,
                    connection=connection,
                )  # fmt: skip
            self.write_pending()
            decided = self._load(case_id)
            assert decided is not None
            return decided

    # ------------------------------------------------------------------- upkeep

    def write_pending(self) -> int:
        """Write the rows of decisions not yet in the ledger, each decision's rows
        whole or not at all; the rows newly written. Rows that cannot be written stay
        pending, with the reason kept on the case (shown, audited once per reason) and
        tried again by the next call (``score`` makes one)."""
        query = select(CASES).where(
            CASES.c.ledger_rows.is_not(None), CASES.c.ledger_written_at.is_(None)
        )
        with self.database.reading() as connection:
            pending = [Case.of(row) for row in connection.execute(query.order_by(CASES.c.case_id))]
        written = 0
        for case in pending:
            rows = case.ledger_rows or []
            day = dt.date.fromisoformat(str(rows[0]["occurred_on"])) if rows else self.today()
            try:
                landed = write_rows(self.ledger, self.catalog, self.ledger.data, rows, day)
            except Exception as error:  # kept on the case, tried again by the next call
                ours = isinstance(error, LedgerError | PlatformError)
                self._pending(case, str(error) if ours else f"{type(error).__name__}: {error}")
                continue
            written += landed
            with self._writing() as connection:
                stamped = connection.execute(
                    update(CASES)  # once: of two writers at once, the first stamps it
                    .where(CASES.c.case_id == case.case_id, CASES.c.ledger_written_at.is_(None))
                    .values(ledger_written_at=dt.datetime.now(dt.UTC), ledger_error=None)
                ).rowcount
                if stamped:
                    self._log(
                        LEDGER_WRITER, "casework decision", f"{case.kind}:{case.case_id}",
                        f"{len(rows)} ledger rows", case.subject_id, connection=connection,
                    )  # fmt: skip
        return written

    def _pending(self, case: Case, reason: str) -> None:
        """Keep why a decision's rows could not be written (audited when it changes)."""
        with self._writing() as connection:
            changed = connection.execute(
                update(CASES)
                .where(
                    CASES.c.case_id == case.case_id,
                    CASES.c.ledger_written_at.is_(None),  # (another writer may have landed them)
                    or_(CASES.c.ledger_error.is_(None), CASES.c.ledger_error != reason),
                )
                .values(ledger_error=reason)
            ).rowcount
            if changed:
                self._log(
                    LEDGER_WRITER, "casework decision", f"{case.kind}:{case.case_id}",
                    "ledger rows not written", case.subject_id, connection=connection,
                )  # fmt: skip

    # ------------------------------------------------------------------ helpers

    def _open(
        self,
        record: LedgerRecord,
        kind: str,
        text: str,
        evidence_kind: str | None,
        by: Actor,
        purpose: str,
        appeal_of: Case | None = None,
    ) -> Case:
        definition = self._definition(record)
        today = self.today()
        deadline = (
            decision_deadline(definition, today)
            if definition is not None
            else working_days_after(today, DEFAULT_WORKING_DAYS)
        )
        with self._writing() as connection:
            self._refuse_duplicate(connection, record.record_id, kind, appeal_of)
            made = connection.execute(
                insert(CASES).values(
                    uid=secrets.token_hex(6),
                    kind=kind,
                    level=appeal_of.level + 1 if appeal_of else 1,
                    appeal_of=appeal_of.case_id if appeal_of else None,
                    record_id=record.record_id,
                    subject_id=record.subject_id,
                    record_type=record.record_type,
                    authority=record.authority,
                    jurisdiction=record.jurisdiction,
                    grounds=text,
                    evidence_kind=evidence_kind,
                    opened_by=by.actor,
                    opened_at=dt.datetime.now(dt.UTC),
                    deadline=deadline,
                    status="open",
                    version=1,
                )
            ).inserted_primary_key
            assert made is not None
            case_id = int(made[0])
            action = f"{kind}:{case_id}"
            outcome = f"appealed case {appeal_of.case_id}" if appeal_of else "opened"
            self._log(by, purpose, action, outcome, record.subject_id, connection=connection)
        opened = self._load(case_id)
        assert opened is not None
        return opened

    def _refuse_duplicate(
        self, connection: Connection, record_id: str, kind: str, appeal_of: Case | None
    ) -> None:
        """In the opening transaction, under a lock on the record (SQLite's write
        transactions are serial already): no second open case of a kind on a record,
        no second appeal of a case, however many ask at once."""
        if not self.database.is_sqlite:
            lock = zlib.crc32(f"casework:{record_id}".encode())
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (lock,))
        if appeal_of is not None:
            earlier = select(CASES.c.case_id).where(
                or_(
                    CASES.c.appeal_of == appeal_of.case_id,
                    and_(CASES.c.record_id == record_id, CASES.c.level > 1),
                )
            )
            if connection.execute(earlier).first() is not None:
                raise ConflictError(
                    f"case {appeal_of.case_id} or record {record_id} was appealed already: "
                    "one appeal is allowed"
                )
        same = select(CASES.c.case_id, CASES.c.deadline).where(
            CASES.c.record_id == record_id, CASES.c.kind == kind, CASES.c.status == "open"
        )
        found = connection.execute(same).first()
        if found is not None:
            raise ConflictError(
                f"case {found[0]} on record {record_id} is open (decision due by {found[1]})",
                case_id=int(found[0]),
            )

    def _record_for(self, record_id: str, by: Actor) -> LedgerRecord:
        """The record, if ``by`` may act on it (else NotFoundError, whether or not it
        exists), if it is a record (not a revocation, nor a casework row) and still in
        effect."""
        if by.role not in ("subject", "admin"):
            raise ForbiddenError(f"a {by.role} key cannot object or apply for repair")
        record = find_record(self.ledger, record_id.strip())
        if record is not None:
            concerns(record.subject_id)
        if record is None or not may_act_for(by, record.subject_id):
            raise NotFoundError(f"record_id: no record {record_id} of yours")
        if record.is_casework:
            raise UnprocessableError(f"record_id: {record_id} is a casework decision's row")
        if record.revoked_by:
            raise ConflictError(
                f"record {record_id} was revoked by {record.revoked_by[0]}: it no longer counts"
            )
        if record.revokes is not None:
            raise UnprocessableError(f"record_id: {record_id} is a revocation, not a record")
        return record

    def _definition(self, record: LedgerRecord) -> RecordType | None:
        policy = self.catalog.effective(record.jurisdiction)
        return policy.record_types.get(record.record_type)


def _reviewing(case: Case) -> str:
    """The authority a review decision is written under: the province's review body."""
    return f"review-{case.jurisdiction[:2]}0000"
