"""The national picture (aggregates of the snapshot in service), for anyone: the
portal's home page draws its charts from it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from socialcredit.web.deps import ServicesDep, SnapshotDep
from socialcredit.web.schemas import NationalPicture, error_responses

router = APIRouter(prefix="/api/v1", tags=["national picture"])


@router.get(
    "/stats",
    operation_id="get_national_picture",
    summary="The national picture: score histogram, grades, lists, provinces",
    response_model=NationalPicture,
    responses=error_responses(429, 503),
)
async def get_national_picture(
    request: Request, snapshot: SnapshotDep, services: ServicesDep
) -> dict[str, Any]:
    client = request.client.host if request.client else "unknown"
    services.limiter.take(f"ip:{client}")
    picture: dict[str, Any] = await run_in_threadpool(services.picture, snapshot)
    return picture
