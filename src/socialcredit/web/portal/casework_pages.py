"""The portal's casework forms: a signed-in subject objects to one of their records
(``/me/objection``) or applies for its credit repair (``/me/repair``) through
:class:`socialcredit.casework.Casework`, which checks and audits every step. The forms
carry the session's CSRF token and are kept by no cache. A refusal shows the form again
with the reason, in the error's status (a repair asked for too early: the date it
becomes possible); an opened case goes back to ``/me?case=<number>``, which confirms
it with its number and decision deadline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from socialcredit.casework import EVIDENCE_KINDS, Actor, Case
from socialcredit.errors import PlatformError, UnavailableError
from socialcredit.keys import ApiKey
from socialcredit.ledger import LedgerError
from socialcredit.web.deps import Services
from socialcredit.web.portal.session import Session, same_token

#: the longest record id a form takes (the ledger's longest)
MAX_RECORD_ID = 1000


class PageMaker(Protocol):
    def __call__(
        self,
        request: Request,
        name: str,
        status: int = 200,
        private: bool = False,
        **values: Any,
    ) -> HTMLResponse: ...


SignedIn = Callable[[Request], "tuple[Session, ApiKey] | None"]
Explained = Callable[[Session, ApiKey], Awaitable[dict[str, Any]]]


def casework_router(
    services: Services, page: PageMaker, signed_in: SignedIn, explained: Explained
) -> APIRouter:
    """The two forms on the portal's own ``page``, session check and explanation."""
    router = APIRouter(include_in_schema=False)

    async def form(
        request: Request,
        found: tuple[Session, ApiKey],
        kind: str,
        values: dict[str, str],
        error: PlatformError | None = None,
    ) -> HTMLResponse:
        """The form, its record choices from the subject's own explanation (the records
        that count: for a repair, those that take points)."""
        try:
            explanation = await explained(*found)
        except PlatformError as failed:
            return page(
                request, "error.html.j2", status=failed.status, private=True,
                message=failed.message,
            )  # fmt: skip
        choices = _choices(explanation, kind)
        return page(
            request,
            "case_form.html.j2",
            status=error.status if error is not None else 200,
            private=True,
            kind=kind,
            choices=choices,
            chosen=values.get("record_id", ""),
            values=values,
            evidence_kinds=EVIDENCE_KINDS,
            error=error.message if error is not None else None,
            possible_from=str(error.detail.get("possible_from", "")) if error else "",
        )

    def actor(session: Session) -> Actor:
        """The subject acting through the portal, under the session's key."""
        name = session.key_id or f"portal:{session.subject_id}"
        return Actor(name, "subject", subject_id=session.subject_id)

    async def submitted(
        request: Request,
        kind: str,
        fields: tuple[str, ...],
        act: Callable[[dict[str, str], Actor], Case],
    ) -> Response:
        """A form posted: the session and its token checked, then ``act`` with the
        form's values (in a worker thread: casework reads the ledger and the store)."""
        found = signed_in(request)
        if found is None:
            return RedirectResponse("/signin", status_code=303)
        session, _ = found
        data = await request.form()
        if not same_token(_text(data, "csrf"), session.csrf):
            return Response("the form has expired; reload the page", status_code=403)
        values = {name: _text(data, name) for name in fields}
        values["record_id"] = values["record_id"].strip()[:MAX_RECORD_ID]
        try:
            case = await run_in_threadpool(act, values, actor(session))
        except LedgerError as error:  # (as the API answers it)
            unavailable = UnavailableError(f"the ledger cannot be read now; try again ({error})")
            return await form(request, found, kind, values, unavailable)
        except PlatformError as error:
            return await form(request, found, kind, values, error)
        return RedirectResponse(f"/me?case={case.case_id}", status_code=303)

    @router.get("/me/objection", response_model=None)
    async def objection_form(request: Request, record_id: str = "") -> Response:
        found = signed_in(request)
        if found is None:
            return RedirectResponse("/signin", status_code=303)
        values = {"record_id": record_id.strip()[:MAX_RECORD_ID], "grounds": ""}
        return await form(request, found, "objection", values)

    @router.post("/me/objection", response_model=None)
    async def objection(request: Request) -> Response:
        def act(values: dict[str, str], by: Actor) -> Case:
            return services.casework().open_objection(
                values["record_id"], values["grounds"], by, "objection (portal)"
            )

        return await submitted(request, "objection", ("record_id", "grounds"), act)

    @router.get("/me/repair", response_model=None)
    async def repair_form(request: Request, record_id: str = "") -> Response:
        found = signed_in(request)
        if found is None:
            return RedirectResponse("/signin", status_code=303)
        values = {
            "record_id": record_id.strip()[:MAX_RECORD_ID],
            "evidence_kind": "",
            "evidence": "",
        }
        return await form(request, found, "repair", values)

    @router.post("/me/repair", response_model=None)
    async def repair(request: Request) -> Response:
        def act(values: dict[str, str], by: Actor) -> Case:
            return services.casework().apply_repair(
                values["record_id"], values["evidence_kind"], values["evidence"], by,
                "credit repair (portal)",
            )  # fmt: skip

        fields = ("record_id", "evidence_kind", "evidence")
        return await submitted(request, "repair", fields, act)

    return router


def _text(data: FormData, name: str) -> str:
    """A form field's text ("" if absent or a file)."""
    value = data.get(name)
    return value if isinstance(value, str) else ""


def _choices(explanation: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The records a form offers: those that count and are not under objection (an
    objection), or those that count against the subject (a repair)."""
    counted = explanation.get("counted", [])
    if kind == "objection":
        return [r for r in counted if not r.get("under_objection")]
    return [r for r in counted if r.get("points", 0) < 0]


def record_titles(explanation: dict[str, Any]) -> dict[str, str]:
    """Each record's title by its ID, for the cases that name it."""
    records = [*explanation.get("counted", []), *explanation.get("not_counted", [])]
    return {str(r["record_id"]): str(r.get("title") or r.get("record_type") or "") for r in records}


def opened_case(explanation: dict[str, Any], asked: str) -> dict[str, Any] | None:
    """The open case ``/me?case=`` confirms: only one of the subject's own."""
    if not asked.isdigit():
        return None
    return next((c for c in explanation.get("cases", []) if str(c["case_id"]) == asked), None)
