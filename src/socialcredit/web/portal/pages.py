"""The portal's pages, server-rendered (Jinja2): the national picture, sign-in with a
subject key, and "my credit" with the report download. Forms carry a CSRF token (the
session's, or before sign-in a cookie's own: double submit). Pages allow scripts and
styles from the server only (Content-Security-Policy)."""

from __future__ import annotations

import datetime as dt
import secrets
from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool

from socialcredit.errors import PlatformError, UnauthorizedError
from socialcredit.keys import ApiKey
from socialcredit.reports.content import applying_measures
from socialcredit.scoring.directory import Directory
from socialcredit.scoring.snapshots import Snapshot
from socialcredit.web.deps import Services
from socialcredit.web.portal import i18n, signouts
from socialcredit.web.portal.casework_pages import casework_router, opened_case, record_titles
from socialcredit.web.portal.oidc import STATE_SECONDS, OidcClient, SignInRefusedError
from socialcredit.web.portal.search_quota import MEASURE as SEARCH_MEASURE
from socialcredit.web.portal.search_quota import take_search
from socialcredit.web.portal.session import (
    COOKIE,
    SESSION_SECONDS,
    Session,
    same_token,
    seal,
    seal_values,
    unseal,
    unseal_values,
)

PRE_SESSION_CSRF = "sc_csrf"
OIDC_COOKIE = "sc_oidc"
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("socialcredit.web.portal", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def portal_router(services: Services) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    secret = services.settings.secret_key.get_secret_value().encode("utf-8")
    secure = services.settings.environment != "development"

    def page(
        request: Request, name: str, status: int = 200, private: bool = False, **values: Any
    ) -> HTMLResponse:
        lang = i18n.language(request)
        session = _session(request)
        context = {"csrf": session.csrf if session else "", **values}
        html = (
            _templates()
            .get_template(name)
            .render(lang=lang, t=i18n.TEXT[lang], signed_in=session is not None, **context)
        )
        response = HTMLResponse(html, status_code=status)
        response.headers["Content-Security-Policy"] = POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        if private:  # a person's data: kept by no cache
            response.headers["Cache-Control"] = "no-store"
        if request.query_params.get("lang") in i18n.LANGUAGES:
            response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, samesite="lax")
        return response

    def _session(request: Request) -> Session | None:
        return unseal(request.cookies.get(COOKIE), secret)

    def _signed_in(request: Request) -> tuple[Session, ApiKey] | None:
        session = _session(request)
        if session is None:
            return None
        key = services.keys.active(session.key_id)
        if key is None or key.role != "subject" or key.subject_id != session.subject_id:
            return None  # revoked or expired since: the session ends with its key
        if signouts.ended(services.database, session.key_id, session.made):
            return None
        return session, key

    def error_page(request: Request, error: PlatformError) -> HTMLResponse:
        return page(request, "error.html.j2", status=error.status, message=error.message)

    @router.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> HTMLResponse:
        try:
            snapshot = services.snapshots.require()
        except PlatformError as error:
            return error_page(request, error)
        picture = await run_in_threadpool(services.picture, snapshot)
        return page(request, "home.html.j2", picture=picture)

    @router.get("/signin", response_class=HTMLResponse)
    async def signin_form(request: Request) -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        response = page(
            request, "signin.html.j2", form_csrf=token, failed=False, oidc=oidc is not None
        )
        response.set_cookie(
            PRE_SESSION_CSRF, token, httponly=True, samesite="strict", secure=secure
        )
        return response

    @router.post("/signin", response_model=None)
    async def signin(request: Request) -> Response:
        form = await request.form()
        given, expected = str(form.get("csrf", "")), request.cookies.get(PRE_SESSION_CSRF, "")
        if not expected or not same_token(given, expected):
            return Response("the form has expired; reload the sign-in page", status_code=403)
        try:
            key = services.keys.authenticate(f"Bearer {str(form.get('key', '')).strip()}")
            if key.role != "subject" or key.subject_id is None:
                raise UnauthorizedError("only a subject's key signs in to the portal")
        except UnauthorizedError:
            client = request.client.host if request.client else "unknown"
            services.failures.take(f"auth:{client}")  # guessing keys: 429 past the limit
            return page(
                request, "signin.html.j2", status=401, form_csrf=expected, failed=True,
                oidc=oidc is not None,
            )  # fmt: skip
        response = start_session(key.key_id, key.subject_id)
        response.delete_cookie(PRE_SESSION_CSRF)
        return response

    oidc = _oidc_client(services)

    def start_session(key_id: str, subject_id: str) -> RedirectResponse:
        session = Session.start(key_id, subject_id)
        response = RedirectResponse("/me", status_code=303)
        response.set_cookie(
            COOKIE,
            seal(session, secret),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="lax",
            secure=secure,
        )
        return response

    @router.get("/signin/oidc", response_model=None)
    async def signin_oidc(request: Request) -> Response:
        if oidc is None:
            return page(
                request, "error.html.j2", status=404, message="OpenID Connect is not set up"
            )
        callback = str(request.url_for("signin_oidc_callback"))
        try:
            url, state, nonce = await run_in_threadpool(oidc.authorize_url, callback)
        except Exception as error:  # the provider cannot be reached
            message = f"the identity provider cannot be reached: {error}"
            return page(request, "error.html.j2", status=503, message=message)
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(
            OIDC_COOKIE,
            seal_values([state, nonce], secret, "oidc"),
            max_age=STATE_SECONDS,
            httponly=True,
            samesite="lax",
            secure=secure,
        )
        return response

    @router.get("/signin/oidc/callback", response_model=None, name="signin_oidc_callback")
    async def signin_oidc_callback(request: Request, code: str = "", state: str = "") -> Response:
        kept = unseal_values(request.cookies.get(OIDC_COOKIE), secret, "oidc", STATE_SECONDS)
        if oidc is None or kept is None or not same_token(state, kept[0][0]) or not code:
            return Response("the sign-in has expired; start again", status_code=403)
        callback = str(request.url_for("signin_oidc_callback"))
        try:
            subject_id = await run_in_threadpool(oidc.subject_of, code, callback, kept[0][1])
        except SignInRefusedError:
            client = request.client.host if request.client else "unknown"
            services.failures.take(f"auth:{client}")
            return page(request, "signin.html.j2", status=401, form_csrf="", failed=True, oidc=True)
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=SESSION_SECONDS)
        key, _ = services.keys.create("subject", [subject_id], expires, "portal sign-in (oidc)")
        response = start_session(key.key_id, subject_id)
        response.delete_cookie(OIDC_COOKIE)
        return response

    @router.post("/signout", response_model=None)
    async def signout(request: Request) -> Response:
        session = _session(request)
        form = await request.form()
        if session is None or not same_token(str(form.get("csrf", "")), session.csrf):
            return Response("the form has expired; reload the page", status_code=403)
        await run_in_threadpool(signouts.sign_out, services.database, session.key_id)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    async def explained(session: Session, key: ApiKey) -> dict[str, Any]:
        """The subject's own explanation with its cases (a read of their records,
        audited like the API's ``read:records``)."""
        snapshot = services.snapshots.require()
        return await services.audited(
            key,
            "self-access (portal)",
            "read:records",
            [session.subject_id],
            lambda: services.explanation(snapshot, session.subject_id),
            in_thread=True,
        )

    @router.get("/me", response_model=None)
    async def my_credit(request: Request) -> Response:
        found = _signed_in(request)
        if found is None:
            return RedirectResponse("/signin", status_code=303)
        session, key = found
        try:
            explanation = await explained(session, key)
        except PlatformError as error:
            return error_page(request, error)
        measures = applying_measures(services.catalog, explanation)
        return page(
            request, "me.html.j2", private=True, me=explanation, measures=measures,
            opened=opened_case(explanation, request.query_params.get("case", "")),
            titles=record_titles(explanation),
        )  # fmt: skip

    @router.post("/me/report", response_model=None)
    async def my_report(request: Request) -> Response:
        """A POST with the session's token: each report takes one from the quota, so
        no other site may make the browser ask for one."""
        from socialcredit.web.routes.reports import make_report, report_response

        found = _signed_in(request)
        if found is None:
            return RedirectResponse("/signin", status_code=303)
        session, key = found
        form = await request.form()
        if not same_token(str(form.get("csrf", "")), session.csrf):
            return Response("the form has expired; reload the page", status_code=403)
        why = "self-access (portal)"
        try:
            snapshot = services.snapshots.require()
            issue, data = await run_in_threadpool(
                make_report, services, key, session.subject_id, snapshot, "pdf", False, why
            )
        except PlatformError as error:
            await services.record_async(key, why, "report", error.code, [session.subject_id])
            return error_page(request, error)
        return report_response(issue, data, "pdf")

    def directory(snapshot: Snapshot) -> Directory:
        from socialcredit.ledger import Ledger

        return snapshot.derived(
            "directory", lambda: Directory.of(Ledger.open(services.settings.data), snapshot)
        )

    @router.get("/platform", response_class=HTMLResponse)
    async def platform(request: Request, q: str = "") -> HTMLResponse:
        """Search organisations by name or code: without limit for those the policy
        grants free searches, else a daily quota (by subject, or by address)."""
        from socialcredit.ledger import Ledger
        from socialcredit.scoring.disclosure import organisations

        query = q.strip()[:100]
        try:
            snapshot = services.snapshots.require()
        except PlatformError as error:
            return error_page(request, error)
        if not query:
            return page(request, "platform.html.j2", query="", results=None, left=None)
        found = _signed_in(request)
        client = request.client.host if request.client else "unknown"
        searcher = f"subject:{found[0].subject_id}" if found else f"ip:{client}"
        left = None
        if not (found and _granted(snapshot, found[0].subject_id, SEARCH_MEASURE)):
            rule = services.catalog.effective().measures.get(SEARCH_MEASURE)
            daily = rule.daily_quota_others if rule and rule.daily_quota_others else 10
            left = await run_in_threadpool(take_search, services.database, searcher, daily)
            if left is None:
                return page(
                    request,
                    "error.html.j2",
                    status=429,
                    message=i18n.TEXT[i18n.language(request)]["quota_used"],
                )
        hits = await run_in_threadpool(directory(snapshot).search, query)
        ledger = Ledger.open(services.settings.data)
        results = await run_in_threadpool(
            organisations, ledger, services.catalog, snapshot, [code for code, _ in hits]
        )
        names = dict(hits)
        for entry in results:
            entry["name"] = entry["name"] or names.get(entry["subject_id"])
        actor = found[1].key_id if found else f"ip:{client}"
        role = "subject" if found else "public"
        await run_in_threadpool(
            services.record_as, actor, role, "platform search", "read:platform", "answered",
            *[entry["subject_id"] for entry in results],
        )  # fmt: skip
        return page(request, "platform.html.j2", query=query, results=results, left=left)

    @router.get("/platform/list", response_class=HTMLResponse)
    async def discredited_list(request: Request, cursor: str | None = None) -> HTMLResponse:
        """The public discredited list, a page at a time: persons masked, the records
        behind each listing (as ``GET /api/v1/lists/discredited``)."""
        from socialcredit.web.routes.lists import read_public_list

        client = request.client.host if request.client else "unknown"
        try:
            snapshot = services.snapshots.require()
            document = await run_in_threadpool(
                read_public_list,
                services,
                snapshot,
                client,
                "discredited",
                (cursor or "")[:200] or None,
                25,
            )
        except PlatformError as error:
            return error_page(request, error)
        return page(request, "list.html.j2", listing=document)

    router.include_router(casework_router(services, page, _signed_in, explained))
    return router


def _oidc_client(services: Services) -> OidcClient | None:
    settings = services.settings
    if not (settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret):
        return None
    return OidcClient(
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.oidc_client_secret.get_secret_value(),
        settings.oidc_subject_claim,
    )


def _granted(snapshot: Snapshot, subject_id: str, measure: str) -> bool:
    from socialcredit.scoring import answers

    try:
        return bool(answers.check(snapshot, subject_id, measure)["allowed"])
    except PlatformError:
        return False
