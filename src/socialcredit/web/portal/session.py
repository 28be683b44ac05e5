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


def _mac(secret: bytes, data: bytes) -> str:
    digest = hmac.new(secret, b"portal-session|" + data, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def seal(session: Session, secret: bytes) -> str:
    payload = json.dumps(
        [session.key_id, session.subject_id, session.csrf, session.made], separators=(",", ":")
    ).encode()
    data = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{data}.{_mac(secret, data.encode())}"


def unseal(value: str | None, secret: bytes, now: float | None = None) -> Session | None:
    """The session in a cookie, or None if absent, altered or too old."""
    if not value or value.count(".") != 1:
        return None
    data, mac = value.split(".")
    if not data.isascii():
        return None
    if not hmac.compare_digest(mac.encode("utf-8"), _mac(secret, data.encode()).encode()):
        return None
    try:
        key_id, subject_id, csrf, made = json.loads(base64.urlsafe_b64decode(data + "==="))
    except (ValueError, TypeError):
        return None
    if (now or time.time()) - float(made) > SESSION_SECONDS:
        return None
    return Session(str(key_id), str(subject_id), str(csrf), float(made))
