"""Public disclosure of the public lists, a page at a time (no key needed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from socialcredit.errors import UnavailableError
from socialcredit.scoring.snapshots import Snapshot
from socialcredit.web.deps import Services, ServicesDep, SnapshotDep
from socialcredit.web.schemas import ListPage, error_responses

router = APIRouter(prefix="/api/v1/lists", tags=["public lists"])


@router.get(
    "/{list_name}",
    operation_id="get_public_list",
    summary="A page of a public list: masked persons, organisations, the records behind",
    description=(
        "The policy's public lists (e.g. `discredited`), and `organisation_records`: "
        "organisations with their published records. Only records of a type the policy "
        "marks public and still within their publication period are shown."
    ),
    response_model=ListPage,
    responses=error_responses(404, 422, 429, 503),
)
def get_public_list(
    list_name: Annotated[
        str,
        Path(
            min_length=1,
            max_length=64,
            description="A public list, or `organisation_records`.",
            examples=["discredited"],
        ),
    ],
    request: Request,
    snapshot: SnapshotDep,
    services: ServicesDep,
    cursor: Annotated[
        str | None, Query(max_length=200, description="From the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Entries per page.")] = 50,
) -> dict[str, Any]:
    client = request.client.host if request.client else "unknown"
    return read_public_list(services, snapshot, client, list_name, cursor, limit)


def read_public_list(
    services: Services,
    snapshot: Snapshot,
    client: str,
    list_name: str,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """A page of a public list for a reader at ``client`` (the API and the portal
    alike): limited per address, and audited about the subjects on it."""
    from socialcredit.ledger import Ledger, LedgerError
    from socialcredit.scoring import disclosure

    services.limiter.take(f"ip:{client}")
    try:
        ledger = Ledger.open(services.settings.data)
        document = disclosure.page(ledger, services.catalog, snapshot, list_name, cursor, limit)
    except LedgerError as error:
        raise UnavailableError(f"the ledger cannot be read: {error}") from error
    subjects = [str(row) for row in document.pop("_subject_ids", [])]
    services.record_as(
        f"ip:{client}", "public", "public disclosure", f"read:list:{list_name}", "answered",
        *subjects,
    )  # fmt: skip
    return document
