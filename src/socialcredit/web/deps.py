"""What the routes are given: the app's services, the caller's key (authenticated and
rate-limited), the snapshot in service, a checked subject id and the caller's purpose.
Each is an ``Annotated`` alias, so a route says what it needs in its signature."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, Header, Path, Request
from starlette.concurrency import run_in_threadpool

from socialcredit.audit import MANY_SUBJECTS, AuditEntry, AuditLog, AuditWriter
from socialcredit.errors import (
    NotFoundError,
    PlatformError,
    UnauthorizedError,
    UnavailableError,
    UnprocessableError,
)
from socialcredit.identity import validate
from socialcredit.keys import ApiKey, KeyRing
from socialcredit.policy import PolicyCatalog
from socialcredit.scoring.policy_tables import PolicyTables
from socialcredit.scoring.snapshots import Snapshot
from socialcredit.settings import Settings
from socialcredit.store import Database
from socialcredit.web.metrics import Metrics
from socialcredit.web.ratelimit import RateLimiter
from socialcredit.web.serving import SnapshotHolder

if TYPE_CHECKING:
    from socialcredit.casework import CaseStore, Casework

T = TypeVar("T")
#: refused authentications allowed a second to one client address
AUTH_FAILURES_PER_SECOND = 20
#: how soon the event loop tries again to append when another process is appending
RETRY_SECONDS = 0.0002
#: how long a request waits for its audit entry before it gives up (503)
AUDIT_WAIT_SECONDS = 10.0


@dataclass
class Services:
    """Everything one app instance serves with (built by ``create_app``)."""

    settings: Settings
    database: Database
    keys: KeyRing
    audit: AuditLog
    snapshots: SnapshotHolder
    limiter: RateLimiter
    metrics: Metrics
    #: refused authentications per client address (guessing keys)
    failures: RateLimiter = field(default_factory=lambda: RateLimiter(AUTH_FAILURES_PER_SECOND))

    def picture(self, snapshot: Snapshot) -> dict[str, Any]:
        """The national picture of ``snapshot``, made once per snapshot."""
        from socialcredit.scoring.picture import national_picture

        return snapshot.derived("national picture", lambda: national_picture(snapshot))

    @cached_property
    def cases(self) -> CaseStore:
        """The casework store (objections and repairs the explanations show)."""
        from socialcredit.casework import CaseStore

        return CaseStore(self.database, audit=self.audit)

    def explanation(self, snapshot: Snapshot, subject_id: str) -> dict[str, Any]:
        """The subject's explanation with its open cases, for the API and the portal
        (blocking: run it in a thread). NotFoundError: not in the snapshot;
        UnavailableError: the ledger cannot be read."""
        from socialcredit.casework.explanation import explain_with_cases
        from socialcredit.ledger import Ledger, LedgerError
        from socialcredit.scoring.explain import UnknownSubjectError

        try:
            ledger = Ledger.open(self.settings.data)
            return explain_with_cases(ledger, self.policy_tables, snapshot, subject_id, self.cases)
        except UnknownSubjectError as error:
            raise NotFoundError(str(error)) from error
        except LedgerError as error:
            raise UnavailableError(f"the ledger cannot be read: {error}") from error

    def casework(self) -> Casework:
        """Casework on this server's store, ledger and policy (opened per request:
        the ledger may have moved on since the last one)."""
        from socialcredit.casework import Casework
        from socialcredit.ledger import Ledger

        ledger = Ledger.open(self.settings.data)
        return Casework(self.database, ledger, self.catalog, audit=self.audit)

    @cached_property
    def audit_writer(self) -> AuditWriter:
        return AuditWriter(self.audit)

    @cached_property
    def catalog(self) -> PolicyCatalog:
        from socialcredit.policy import load_catalog

        return load_catalog(self.settings.effective_policy_dir())

    @cached_property
    def policy_tables(self) -> PolicyTables:
        from socialcredit.scoring.policy_tables import compile_policy

        return compile_policy(self.catalog)

    def record(self, key: ApiKey, purpose: str, action: str, outcome: str, *subjects: str) -> None:
        """Append an audit entry before the answer goes out; no entry, no answer."""
        self.record_as(key.key_id, key.role, purpose, action, outcome, *subjects)

    def record_as(
        self, actor: str, role: str, purpose: str, action: str, outcome: str, *subjects: str
    ) -> None:
        entry = AuditEntry(actor, role, purpose, action, outcome, tuple(subjects))
        try:
            self.audit_writer.submit(entry).result(timeout=AUDIT_WAIT_SECONDS)
        except Exception as error:  # the store is down: refuse rather than answer unlogged
            raise UnavailableError("the audit log cannot be written; try again") from error

    async def audited(
        self,
        key: ApiKey,
        purpose: str,
        action: str,
        subjects: Sequence[str],
        answer: Callable[[], T],
        outcome: Callable[[T], str] = lambda _: "answered",
        *,
        in_thread: bool = False,
    ) -> T:
        """``answer()`` (in a worker thread if ``in_thread``: slow answers), with an
        audit entry of its outcome, or of the error's code, committed before the answer
        goes out. The wait for the commit holds no thread."""
        try:
            result = await run_in_threadpool(answer) if in_thread else answer()
        except PlatformError as error:
            await self.record_async(key, purpose, action, error.code, subjects)
            raise
        await self.record_async(key, purpose, action, outcome(result), subjects)
        return result

    async def record_async(
        self, key: ApiKey, purpose: str, action: str, outcome: str, subjects: Sequence[str]
    ) -> None:
        entry = AuditEntry(key.key_id, key.role, purpose, action, outcome, tuple(subjects))
        try:
            # a long commit (many subjects), or a store whose locks would block the event
            # loop (PostgreSQL's row lock): the writer thread
            if len(subjects) >= MANY_SUBJECTS or not self.database.is_sqlite:
                committed = self.audit_writer.submit(entry)
                await asyncio.wait_for(asyncio.wrap_future(committed), AUDIT_WAIT_SECONDS)
            else:
                await asyncio.wait_for(self.loop_audit.append(entry), AUDIT_WAIT_SECONDS)
        except Exception as error:  # the store is down: refuse rather than answer unlogged
            raise UnavailableError("the audit log cannot be written; try again") from error

    @cached_property
    def loop_audit(self) -> LoopAuditWriter:
        return LoopAuditWriter(self.audit)


class LoopAuditWriter:
    """Group commit in the event loop's own thread: the entries of the requests handled
    in one turn of the loop are committed together, right after it. Handing entries to
    a writer thread and back cost two thread wake-ups a request, which on this kind of
    machine took longer than the commit itself (p50 4 ms against 0.6 ms unaudited)."""

    def __init__(self, log: AuditLog) -> None:
        self.log = log
        self._pending: list[tuple[AuditEntry, asyncio.Future[int]]] = []

    async def append(self, entry: AuditEntry) -> int:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((entry, done))
        return await done

    def _flush(self) -> None:
        try:
            numbers = self.log.try_append([entry for entry, _ in self._pending])
        except Exception as error:  # every waiter learns it
            batch, self._pending = self._pending, []
            for _, done in batch:
                if not done.done():
                    done.set_exception(error)
            return
        if numbers is None:  # another process is writing: serve others, try again soon
            asyncio.get_running_loop().call_later(RETRY_SECONDS, self._flush)
            return
        batch, self._pending = self._pending, []
        for (_, done), number in zip(batch, numbers, strict=True):
            if not done.done():  # a request cancelled meanwhile
                done.set_result(number)


async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


async def current_key(request: Request, found: ServicesDep) -> ApiKey:
    try:
        key = found.keys.authenticate(request.headers.get("authorization"))
    except UnauthorizedError:
        # guessing keys: at most AUTH_FAILURES_PER_SECOND refusals per client, then 429
        client = request.client.host if request.client else "unknown"
        found.failures.take(f"auth:{client}")
        raise
    found.limiter.take(key.key_id)
    return key


KeyDep = Annotated[ApiKey, Depends(current_key)]


async def current_snapshot(found: ServicesDep) -> Snapshot:
    return found.snapshots.require()


SnapshotDep = Annotated[Snapshot, Depends(current_snapshot)]


async def checked_subject_id(
    subject_id: Annotated[
        str,
        Path(
            min_length=1,
            max_length=64,
            description="An 18-character resident ID or Unified Social Credit Code.",
            examples=["11010519491231002X"],
        ),
    ],
) -> str:
    return normalised_subject_id(subject_id, "subject_id")


def normalised_subject_id(text: str, field: str) -> str:
    """The id upper-cased, or UnprocessableError naming the field and the reason."""
    result = validate(text.strip())
    if not result.valid or result.code is None:
        raise UnprocessableError(f"{field}: {text!r} is not a valid id ({result.message})")
    return result.code


SubjectId = Annotated[str, Depends(checked_subject_id)]


async def caller_purpose(
    x_purpose: Annotated[
        str | None,
        Header(
            max_length=200,
            description="Why the caller asks (recorded in the audit log).",
        ),
    ] = None,
) -> str | None:
    return x_purpose.strip() if x_purpose and x_purpose.strip() else None


Purpose = Annotated[str | None, Depends(caller_purpose)]
