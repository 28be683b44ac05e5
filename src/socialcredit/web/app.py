"""The FastAPI app factory: ``create_app(settings)`` builds the services and the routes;
nothing is built at import time."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from socialcredit.audit import AuditLog, IndexMaintainer
from socialcredit.errors import PayloadTooLargeError, PlatformError
from socialcredit.keys import KeyRing
from socialcredit.settings import Settings
from socialcredit.store import Database
from socialcredit.web.deps import Services
from socialcredit.web.metrics import Metrics
from socialcredit.web.portal import portal_router
from socialcredit.web.ratelimit import RateLimiter
from socialcredit.web.routes import casework, checks, lists, records, reports, stats, subjects
from socialcredit.web.routes.health import health_router
from socialcredit.web.serving import SnapshotHolder

API_VERSION = "1"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def build_services(settings: Settings) -> Services:
    database = Database(settings.effective_database_url(), checkpoints_apart=True)
    return Services(
        settings=settings,
        database=database,
        keys=KeyRing(database, settings.secret_key.get_secret_value().encode("utf-8")),
        audit=AuditLog(database, maintains_index=False),  # the lifespan's maintainer does
        snapshots=SnapshotHolder(
            settings.data, settings.snapshot_poll_seconds, housekeeping=database.checkpoint
        ),
        limiter=RateLimiter(settings.rate_limit),
        metrics=Metrics(),
    )


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The API over ``settings``' data dir and store (``services``: already built ones,
    e.g. in tests)."""
    found = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        found.snapshots.start()
        indexer = IndexMaintainer(found.database)
        indexer.start()
        # what start-up made lives as long as the process: out of the collector's
        # sight, a full collection no longer walks it (pauses of tens of ms otherwise)
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            found.snapshots.stop()
            found.audit_writer.close()
            await asyncio.to_thread(indexer.stop)  # waits for the child to end

    app = FastAPI(
        title="socialcredit API",
        version=API_VERSION,
        description=(
            "Decisions for relying parties, scores and explanations for subjects, and the "
            "audit log of who read what. Every answer names the snapshot it came from."
        ),
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.services = found
    app.include_router(checks.router)
    app.include_router(subjects.router)
    app.include_router(reports.router)
    app.include_router(records.router)
    app.include_router(casework.objections_router)
    app.include_router(casework.repairs_router)
    app.include_router(lists.router)
    app.include_router(stats.router)
    app.include_router(health_router("/api/v1", in_schema=True))
    app.include_router(health_router("", in_schema=False))
    app.include_router(portal_router(found))
    app.mount(
        "/static",
        StaticFiles(packages=[("socialcredit.web.portal", "static")]),
        name="static",
    )
    _error_handlers(app)
    app.add_middleware(_Timing, metrics=found.metrics)
    app.add_middleware(_BodyLimit, limit=settings.max_body_bytes)
    return app


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PlatformError)
    async def platform_error(_request: Request, error: PlatformError) -> JSONResponse:
        headers = {}
        retry = error.detail.get("retry_after_seconds")
        if retry is not None:
            headers["Retry-After"] = str(max(1, int(-(-float(retry) // 1))))
        if error.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(error.body(), status_code=error.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        if any(p.get("type") == "json_invalid" for p in problems):
            first = next(p for p in problems if p.get("type") == "json_invalid")
            message = f"body: not valid JSON ({first.get('ctx', {}).get('error', 'malformed')})"
            return JSONResponse(
                {"error": {"code": "bad_json", "message": message}}, status_code=400
            )
        described = [
            {"field": ".".join(str(p) for p in problem["loc"]), "reason": problem["msg"]}
            for problem in problems
        ]
        message = "; ".join(f"{d['field']}: {d['reason']}" for d in described[:5])
        detail: dict[str, Any] = {"errors": described}
        error_body = {"code": "invalid_request", "message": message, "detail": detail}
        return JSONResponse({"error": error_body}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        body = {
            "error": {"code": codes.get(error.status_code, "error"), "message": str(error.detail)}
        }
        return JSONResponse(body, status_code=error.status_code)


class _BodyLimit:
    """Refuses bodies over ``limit`` bytes with 413, by their Content-Length or, when
    that is absent or wrong, while they are read."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(send, self.limit)
            return
        seen, over, started = 0, False, False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    over = True
                    raise _TooLargeError()
            return message

        async def sending(message: Message) -> None:
            # whatever the app made of the interrupted read, the answer is 413
            nonlocal started
            if over:
                if not started:
                    started = True
                    await _too_large(send, self.limit)
                return
            started = True
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except _TooLargeError:
            if not started:
                await _too_large(send, self.limit)


class _TooLargeError(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    error = PayloadTooLargeError(f"body: over the limit of {limit:,} bytes")
    response = JSONResponse(error.body(), status_code=error.status)
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


class _Timing:
    """Counts answers by route template and status, and their latency."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(path, scope["method"], status[0], time.perf_counter() - start)
