"""The portal's sign-in session: a cookie signed with the server secret (HMAC-SHA256)
holding the key id, the subject, a CSRF token and when it was made. HTTP-only,
SameSite=Lax, and Secure outside development. A session ends with its key (revoked or
expired) or after ``SESSION_SECONDS``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE = "sc_session"
SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Session:
    key_id: str
    subject_id: str
    csrf: str
    made: float

    @classmethod
    def start(cls, key_id: str, subject_id: str) -> Session:
        return cls(key_id, subject_id, secrets.token_urlsafe(24), time.time())


def same_token(given: str, expected: str) -> bool:
    """Tokens compared in constant time (as bytes: any text a form may hold)."""
    return secrets.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _mac(secret: bytes, data: bytes, purpose: str) -> str:
    digest = hmac.new(secret, purpose.encode() + b"|" + data, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def seal_values(values: list[str], secret: bytes, purpose: str) -> str:
    """``values`` and the time now, signed for ``purpose`` (one cookie's value cannot
    pass for another's)."""
    payload = json.dumps([*values, time.time()], separators=(",", ":")).encode()
    data = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{data}.{_mac(secret, data.encode(), purpose)}"


def unseal_values(
    value: str | None, secret: bytes, purpose: str, max_age: float, now: float | None = None
) -> tuple[list[str], float] | None:
    """The values and when they were sealed; None if absent, altered or too old."""
    if not value or value.count(".") != 1:
        return None
    data, mac = value.split(".")
    if not data.isascii():
        return None
    if not hmac.compare_digest(mac.encode("utf-8"), _mac(secret, data.encode(), purpose).encode()):
        return None
    try:
        *values, made = json.loads(base64.urlsafe_b64decode(data + "==="))
        made = float(made)
    except (ValueError, TypeError):
        return None
    if (now or time.time()) - made > max_age:
        return None
    return [str(v) for v in values], made


def seal(session: Session, secret: bytes) -> str:
    return seal_values([session.key_id, session.subject_id, session.csrf], secret, "session")


def unseal(value: str | None, secret: bytes, now: float | None = None) -> Session | None:
    """The session in a cookie, or None if absent, altered or too old."""
    found = unseal_values(value, secret, "session", SESSION_SECONDS, now)
    if found is None or len(found[0]) != 3:
        return None
    (key_id, subject_id, csrf), made = found
    return Session(key_id, subject_id, csrf, made)
