"""API keys: made, listed and revoked by ``socialcredit keys``; checked on every request.

A key reads ``sck_<key id>_<secret>``. The store keeps the key id, the role, the scope
and an HMAC-SHA256 of the whole key under the server secret (``SOCIALCREDIT_SECRET_KEY``):
a copy of the store alone lets no one use a key, and checking one costs microseconds
(a password hash such as argon2 would cost milliseconds on every request, and keys,
unlike passwords, are long random strings that need no stretching).

Roles and their scopes:

* ``subject``: one subject id; reads only that subject's data;
* ``relying_party``: the measures it may ask about; answered allow or deny only;
* ``agency``: an authority code and the jurisdictions (region codes: a province
  ``37xxxx`` given as ``370000`` covers its cities and counties) it may record in;
* ``reviewer``, ``auditor``, ``admin``: no scope.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from sqlalchemy import insert, select, update

from socialcredit.errors import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)
from socialcredit.identity import validate
from socialcredit.store import Database
from socialcredit.store.tables import API_KEYS

Role = Literal["subject", "relying_party", "agency", "reviewer", "auditor", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
PREFIX = "sck"
#: how long a checked key is trusted without asking the store again (a revocation
#: takes effect within this time in every server process)
CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class ApiKey:
    """A key's identity and scope (never its secret)."""

    key_id: str
    role: str
    subject_id: str | None = None
    measures: tuple[str, ...] = ()
    authority: str | None = None
    jurisdictions: tuple[str, ...] = ()
    label: str = ""
    created_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None

    def covers_region(self, region: str) -> bool:
        """Is the 6-digit ``region`` within one of the key's jurisdictions?"""
        return any(region_within(region, mine) for mine in self.jurisdictions)

    def require_check(self, measure: str) -> None:
        """May this key ask for decisions on ``measure``? ForbiddenError if not."""
        if self.role == "admin" or (self.role == "relying_party" and measure in self.measures):
            return
        if self.role == "relying_party":
            raise ForbiddenError(f"measure: this key may ask about {', '.join(self.measures)} only")
        raise ForbiddenError(f"a {self.role} key cannot ask for relying-party checks")

    def require_subject(self, subject_id: str, what: str = "data") -> None:
        """May this key read ``subject_id``'s data (scores, records)? A subject key reads
        only its own; a relying party never. The answer is the same whether or not the
        subject exists."""
        if self.role in ("admin", "reviewer"):
            return
        if self.role == "subject" and self.subject_id == subject_id:
            return
        if self.role == "subject":
            raise ForbiddenError(f"this key may read only its own subject's {what}")
        raise ForbiddenError(f"a {self.role} key cannot read {what}")

    def require_access_log(self, subject_id: str) -> None:
        if self.role == "auditor":
            return
        self.require_subject(subject_id, "access log")

    def require_recording(self, authority: str, jurisdiction: str) -> None:
        """May this key record for ``authority`` in ``jurisdiction``?"""
        if self.role != "agency":
            raise ForbiddenError(f"a {self.role} key cannot record")
        if authority != self.authority:
            raise ForbiddenError(f"authority: this key records for {self.authority} only")
        if not self.covers_region(jurisdiction):
            raise ForbiddenError(
                f"jurisdiction: {jurisdiction} is outside this key's "
                f"{', '.join(self.jurisdictions)}"
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "role": self.role,
            "subject_id": self.subject_id,
            "measures": list(self.measures),
            "authority": self.authority,
            "jurisdictions": list(self.jurisdictions),
            "label": self.label,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "revoked_at": _iso(self.revoked_at),
        }


def region_within(region: str, jurisdiction: str) -> bool:
    """Is the 6-digit ``region`` within ``jurisdiction`` (a province ``37xxxx`` given as
    ``370000`` covers its cities and counties)?"""
    if jurisdiction.endswith("0000"):
        return region[:2] == jurisdiction[:2]
    if jurisdiction.endswith("00"):
        return region[:4] == jurisdiction[:4]
    return region == jurisdiction


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else _utc(moment).isoformat()


def _utc(moment: dt.datetime) -> dt.datetime:
    # SQLite gives back naive datetimes: they were stored as UTC
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def parse_scope(role: str, scope: Sequence[str]) -> dict[str, Any]:
    """The role's scope from ``--scope`` values: a subject id (subject), measures
    (relying_party), ``authority:CODE`` and ``region:CODE`` items (agency); nothing for
    the other roles. BadRequestError says what is wrong."""
    if role not in ROLES:
        raise BadRequestError(f"role: unknown role {role!r}; one of {', '.join(ROLES)}")
    items = [item.strip() for item in scope if item.strip()]
    if role == "subject":
        if len(items) != 1:
            raise BadRequestError("scope: a subject key needs exactly one subject id")
        checked = validate(items[0])
        if not checked.valid:
            raise BadRequestError(f"scope: {items[0]!r} is not a subject id ({checked.message})")
        return {"subject_id": checked.code}
    if role == "relying_party":
        if not items:
            raise BadRequestError("scope: a relying party key needs the measures it may ask about")
        return {"measures": tuple(sorted(set(items)))}
    if role == "agency":
        authority = [i.split(":", 1)[1] for i in items if i.startswith("authority:")]
        regions = [i.split(":", 1)[1] for i in items if i.startswith("region:")]
        other = [i for i in items if not i.startswith(("authority:", "region:"))]
        if other or len(authority) != 1 or not authority[0] or not regions:
            raise BadRequestError(
                "scope: an agency key needs one authority:CODE and one or more region:CODE"
            )
        for region in regions:
            if len(region) != 6 or not region.isdigit():
                raise BadRequestError(f"scope: region {region!r} is not a 6-digit region code")
        return {"authority": authority[0], "jurisdictions": tuple(sorted(set(regions)))}
    if items:
        raise BadRequestError(f"scope: a {role} key takes no scope")
    return {}


@dataclass
class KeyRing:
    """The keys in ``database``, hashed under ``secret``."""

    database: Database
    secret: bytes
    _cache: dict[str, tuple[float, ApiKey, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def digest(self, token: str) -> str:
        return hmac.new(self.secret, token.encode("utf-8"), hashlib.sha256).hexdigest()

    def create(
        self,
        role: str,
        scope: Sequence[str] = (),
        expires_at: dt.datetime | None = None,
        label: str = "",
        now: dt.datetime | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key and its token (shown once: only its hash is kept)."""
        fields = parse_scope(role, scope)
        now = now or dt.datetime.now(dt.UTC)
        if expires_at is not None and _utc(expires_at) <= now:
            raise BadRequestError("expires: the expiry is in the past")
        key_id = secrets.token_hex(8)
        token = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        key = ApiKey(key_id, role, label=label, created_at=now, expires_at=expires_at, **fields)
        with self.database.transaction() as connection:
            connection.execute(
                insert(API_KEYS).values(
                    key_id=key_id,
                    digest=self.digest(token),
                    role=role,
                    subject_id=key.subject_id,
                    measures=json.dumps(list(key.measures)),
                    authority=key.authority,
                    jurisdictions=json.dumps(list(key.jurisdictions)),
                    label=label,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
        return key, token

    def revoke(self, key_id: str, now: dt.datetime | None = None) -> ApiKey:
        now = now or dt.datetime.now(dt.UTC)
        with self.database.transaction() as connection:
            done = connection.execute(
                update(API_KEYS)
                .where(API_KEYS.c.key_id == key_id, API_KEYS.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            row = connection.execute(select(API_KEYS).where(API_KEYS.c.key_id == key_id)).first()
        if row is None:
            raise NotFoundError(f"no key {key_id}")
        with self._lock:
            self._cache.pop(key_id, None)
        key = _key(row._mapping)
        if not done.rowcount:
            raise BadRequestError(f"key {key_id} was already revoked at {_iso(key.revoked_at)}")
        return key

    def list(self) -> list[ApiKey]:
        with self.database.reading() as connection:
            rows = connection.execute(select(API_KEYS).order_by(API_KEYS.c.created_at)).all()
        return [_key(row._mapping) for row in rows]

    def authenticate(self, authorization: str | None, now: dt.datetime | None = None) -> ApiKey:
        """The key of an ``Authorization: Bearer <key>`` header, or UnauthorizedError (one
        message for every failure: a caller learns nothing about other keys)."""
        refused = UnauthorizedError("a valid API key is required: Authorization: Bearer <key>")
        if not authorization:
            raise refused
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        parts = token.split("_", 2)
        if scheme.lower() != "bearer" or len(parts) != 3 or parts[0] != PREFIX:
            raise refused
        key_id = parts[1]
        found = self._stored(key_id)
        if found is None or not hmac.compare_digest(found[1], self.digest(token)):
            raise refused
        key = self.active(key_id, now)
        if key is None:
            raise refused
        return key

    def active(self, key_id: str, now: dt.datetime | None = None) -> ApiKey | None:
        """The key ``key_id`` if it is neither revoked nor expired (a portal session
        holds a key id, and ends with its key)."""
        found = self._stored(key_id)
        if found is None:
            return None
        key = found[0]
        now = now or dt.datetime.now(dt.UTC)
        if key.revoked_at is not None or (
            key.expires_at is not None and _utc(key.expires_at) <= now
        ):
            return None
        return key

    def _stored(self, key_id: str) -> tuple[ApiKey, str] | None:
        clock = time.monotonic()
        with self._lock:
            cached = self._cache.get(key_id)
        if cached is not None and clock - cached[0] < CACHE_SECONDS:
            return cached[1], cached[2]
        if len(key_id) != 16 or not all(c in "0123456789abcdef" for c in key_id):
            return None
        with self.database.reading() as connection:
            row = connection.execute(select(API_KEYS).where(API_KEYS.c.key_id == key_id)).first()
        if row is None:
            return None
        key, digest = _key(row._mapping), str(row._mapping["digest"])
        with self._lock:
            self._cache[key_id] = (clock, key, digest)
        return key, digest


def _key(row: Any) -> ApiKey:
    return ApiKey(
        key_id=row["key_id"],
        role=row["role"],
        subject_id=row["subject_id"],
        measures=tuple(json.loads(row["measures"] or "[]")),
        authority=row["authority"],
        jurisdictions=tuple(json.loads(row["jurisdictions"] or "[]")),
        label=row["label"] or "",
        created_at=_utc_or_none(row["created_at"]),
        expires_at=_utc_or_none(row["expires_at"]),
        revoked_at=_utc_or_none(row["revoked_at"]),
    )


def _utc_or_none(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else _utc(moment)
