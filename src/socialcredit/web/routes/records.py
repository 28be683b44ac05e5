"""Agency ingestion: records as a JSON array or an uploaded CSV, Parquet or JSON Lines
file, validated, deduplicated and quarantined exactly as ``socialcredit ingest`` does.
The key's authority and jurisdictions bound what it may record: a request with any row
outside them records nothing (403, naming the rows)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from socialcredit.errors import (
    BadRequestError,
    ForbiddenError,
    PlatformError,
    UnavailableError,
    UnprocessableError,
)
from socialcredit.keys import ApiKey
from socialcredit.web.deps import KeyDep, Purpose, Services, ServicesDep
from socialcredit.web.schemas import IngestAnswer, error_responses

router = APIRouter(prefix="/api/v1/records", tags=["records"])

RECORD_EXAMPLE = {
    "record_id": "court-3701-2026-000123",
    "subject_id": "11010519491231002X",
    "record_type": "court.judgment_default",
    "occurred_on": "2026-03-01",
    "authority": "court-3701",
    "jurisdiction": "370102",
    "decision_ref": "(2026) Lu 0102 Zhi 123",
}


@router.post(
    "",
    operation_id="post_records",
    summary="Record conduct: a JSON array, or a CSV, Parquet or JSON Lines file",
    response_model=IngestAnswer,
    responses=error_responses(400, 401, 403, 413, 422, 429, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "array", "items": {"type": "object"}, "maxItems": 1_000_000},
                    "example": [RECORD_EXAMPLE],
                },
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "format": {"type": "string", "enum": ["csv", "parquet", "jsonl"]},
                        },
                    }
                },
            },
        }
    },
)
async def post_records(
    key: KeyDep, request: Request, services: ServicesDep, purpose: Purpose
) -> dict[str, Any]:
    if key.role != "agency":
        raise ForbiddenError(f"a {key.role} key cannot record")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        rows = await _json_rows(request)
        return await run_in_threadpool(_ingest_json, services, key, purpose, rows)
    if kind == "multipart/form-data":
        async with request.form(max_files=1, max_fields=4) as form:
            upload = form.get("file")
            declared = form.get("format")
            if not isinstance(upload, UploadFile):
                raise UnprocessableError("file: upload the records as the form field 'file'")
            body = await upload.read()
            name = upload.filename
        fmt = declared if isinstance(declared, str) else None
        return await run_in_threadpool(_ingest_file, services, key, purpose, body, name, fmt)
    raise UnprocessableError(
        "content-type: send application/json (an array of records) or multipart/form-data"
    )


async def _json_rows(request: Request) -> list[Any]:
    raw = await request.body()
    try:
        rows = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise BadRequestError(f"body: not valid JSON ({error})") from error
    if not isinstance(rows, list):
        raise UnprocessableError("body: send a JSON array of record objects")
    if not rows:
        raise UnprocessableError("body: the array holds no records")
    return rows


def _ingest_json(
    services: Services, key: ApiKey, purpose: str | None, rows: list[Any]
) -> dict[str, Any]:
    from socialcredit.ledger.uploads import stored_upload, write_json_rows

    with stored_upload(services.settings.data, ".jsonl") as path:
        write_json_rows(rows, path)
        return _ingest(services, key, purpose, path)


def _ingest_file(
    services: Services,
    key: ApiKey,
    purpose: str | None,
    body: bytes,
    filename: str | None,
    declared: str | None,
) -> dict[str, Any]:
    from socialcredit.ledger import UnusableInputError
    from socialcredit.ledger.uploads import stored_upload, suffix_for

    try:
        suffix = suffix_for(filename, declared)
    except UnusableInputError as error:
        raise UnprocessableError(str(error)) from error
    with stored_upload(services.settings.data, suffix) as path:
        path.write_bytes(body)
        return _ingest(services, key, purpose, path)


def _ingest(services: Services, key: ApiKey, purpose: str | None, path: Any) -> dict[str, Any]:
    from socialcredit.ledger import RECORDS, Ledger, LedgerError, open_input, run_batch
    from socialcredit.ledger.uploads import scope_report
    from socialcredit.policy import load_catalog

    def outside(authority: str, jurisdiction: str) -> str | None:
        try:
            key.require_recording(authority, jurisdiction)
        except PlatformError as error:
            return error.message
        return None

    why = purpose or f"recording by {key.authority}"
    try:
        ledger = Ledger.open(services.settings.data)
        source = open_input(path)
        report = scope_report(source, outside)
    except LedgerError as error:
        raise _ledger_error(error, path) from error
    subjects = sorted(report.subjects)
    if report.outside_count:
        services.record(key, why, "record", "forbidden", *subjects)
        raise ForbiddenError(
            f"{report.outside_count:,} rows are outside this key's scope; nothing was recorded",
            rows=[{"row": row, "reason": reason} for row, reason in report.outside],
        )
    # the attempt is logged before the ledger changes, the outcome after it
    services.record(key, why, "record", "started", *subjects)
    try:
        summary = run_batch(
            ledger,
            RECORDS,
            [source],
            catalog=load_catalog(services.settings.effective_policy_dir()),
            source=f"api:{key.key_id}",
        )
    except LedgerError as error:
        services.record(key, why, "record", "failed", *subjects)
        raise _ledger_error(error, path) from error
    outcome = f"accepted {summary.accepted}, rejected {summary.rejected}, batch {summary.batch_id}"
    services.record(key, why, "record", outcome, *subjects)
    document = summary.as_dict("accepted")
    document["quarantine"] = None if summary.quarantine is None else summary.batch_id
    document["errors"] = _rejections(summary.quarantine)
    return document


def _ledger_error(error: Exception, path: Any) -> PlatformError:
    """The error for the caller, without the server's paths."""
    from socialcredit.ledger import LedgerNotInitialisedError

    if isinstance(error, LedgerNotInitialisedError):
        return UnavailableError("the ledger is not set up on this server")
    return UnprocessableError(f"records: {str(error).replace(str(path), 'the upload')}")


def _rejections(quarantine: str | None, limit: int = 100) -> list[dict[str, Any]]:
    """The first rejected rows and their reasons (the quarantine file holds them all)."""
    if quarantine is None:
        return []
    found = []
    with open(quarantine, encoding="utf-8") as lines:
        for line in lines:
            entry = json.loads(line)
            found.append({"row": entry["row"], "reasons": entry["reasons"]})
            if len(found) >= limit:
                break
    return found
