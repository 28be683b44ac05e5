"""The platform's request errors: a small family, each carrying its HTTP status and a
stable code, raised by the services and turned into a JSON body by the web layer.

A message never tells a caller whether a subject exists unless the caller may know it:
the services raise :class:`ForbiddenError` for someone else's subject, whether or not it is
registered.
"""

from __future__ import annotations

from typing import Any, ClassVar


class PlatformError(Exception):
    """An error a caller can act on: ``status`` (HTTP), ``code`` (stable), a message."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail:
            error["detail"] = self.detail
        return {"error": error}


class BadRequestError(PlatformError):
    status, code = 400, "bad_request"


class UnauthorizedError(PlatformError):
    status, code = 401, "unauthorized"


class ForbiddenError(PlatformError):
    status, code = 403, "forbidden"


class NotFoundError(PlatformError):
    status, code = 404, "not_found"


class ConflictError(PlatformError):
    """The request lost a race or repeats what was done (a case already decided)."""

    status, code = 409, "conflict"


class PayloadTooLargeError(PlatformError):
    status, code = 413, "payload_too_large"


class UnprocessableError(PlatformError):
    status, code = 422, "invalid_request"


class RateLimitedError(PlatformError):
    status, code = 429, "rate_limited"


class UnavailableError(PlatformError):
    status, code = 503, "unavailable"
