"""Liveness, readiness (a snapshot is loaded) and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from socialcredit.errors import UnavailableError
from socialcredit.web.deps import ServicesDep
from socialcredit.web.schemas import Health, error_responses


def health_router(prefix: str, in_schema: bool) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["operations"], include_in_schema=in_schema)
    suffix = "" if in_schema else "_root"

    @router.get(
        "/healthz",
        operation_id=f"healthz{suffix}",
        response_model=Health,
        response_model_exclude_none=True,
    )
    async def healthz() -> dict[str, Any]:
        """The process answers."""
        return {"status": "ok"}

    @router.get(
        "/readyz",
        operation_id=f"readyz{suffix}",
        response_model=Health,
        responses=error_responses(503),
    )
    async def readyz(services: ServicesDep) -> Any:
        """Ready once a snapshot is loaded."""
        snapshot = services.snapshots.current
        if snapshot is None:
            raise UnavailableError(services.snapshots.last_error or "no snapshot is loaded yet")
        return {"status": "ready", "snapshot": snapshot.id}

    @router.get(
        "/metrics",
        operation_id=f"metrics{suffix}",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {"example": "socialcredit_up 1\n"}}}},
    )
    def metrics(services: ServicesDep) -> str:
        """Prometheus text format: requests by route and status, latencies, the
        snapshot in service."""
        snapshot = services.snapshots.current
        gauges = {
            "socialcredit_up": ("1 while the process serves.", 1.0, {}),
            "socialcredit_snapshot_loaded": (
                "1 when a snapshot is in service.",
                0.0 if snapshot is None else 1.0,
                {} if snapshot is None else {"snapshot": snapshot.id},
            ),
        }
        if snapshot is not None:
            gauges["socialcredit_snapshot_subjects"] = (
                "Subjects in the snapshot in service.",
                float(len(snapshot)),
                {},
            )
        return services.metrics.render(gauges)

    return router
