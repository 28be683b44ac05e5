"""API keys: scopes, hashing, expiry, revocation; no forged header ever gets in."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from socialcredit.errors import BadRequestError, ForbiddenError, UnauthorizedError
from socialcredit.keys import KeyRing, parse_scope
from socialcredit.store import Database
from socialcredit.store.tables import API_KEYS


@pytest.fixture
def ring(store_url: str) -> KeyRing:
    """On SQLite and on PostgreSQL."""
    return KeyRing(Database(store_url), b"k" * 32)


def test_a_key_works_and_only_its_hash_is_stored(ring: KeyRing) -> None:
    key, token = ring.create("relying_party", ["transport.flight"], label="airline")
    assert ring.authenticate(f"Bearer {token}") == key
    assert ring.authenticate(f"bearer   {token} ").key_id == key.key_id
    with ring.database.reading() as connection:
        stored = connection.execute(select(API_KEYS)).one()._mapping
    assert token not in {str(v) for v in stored.values()}
    assert stored["digest"] == ring.digest(token) != token
    other = KeyRing(ring.database, b"another secret of 32 characters!")
    with pytest.raises(UnauthorizedError):  # the store alone lets no one in
        other.authenticate(f"Bearer {token}")


def test_revoked_and_expired_keys_are_refused(ring: KeyRing) -> None:
    _, token = ring.create("admin")
    key = ring.revoke(ring.authenticate(f"Bearer {token}").key_id)
    assert key.revoked_at is not None
    with pytest.raises(UnauthorizedError):
        ring.authenticate(f"Bearer {token}")
    with pytest.raises(BadRequestError, match="already revoked"):
        ring.revoke(key.key_id)
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    _, expiring = ring.create("admin", expires_at=soon)
    assert ring.authenticate(f"Bearer {expiring}")
    later = soon + dt.timedelta(seconds=1)
    with pytest.raises(UnauthorizedError):
        ring.authenticate(f"Bearer {expiring}", now=later)


@pytest.mark.parametrize(
    ("role", "scope", "message"),
    [
        ("subject", [], "exactly one subject id"),
        ("subject", ["12345"], "not a subject id"),
        ("relying_party", [], "measures"),
        ("agency", ["authority:court-001"], "region:CODE"),
        ("agency", ["authority:x", "region:37"], "6-digit"),
        ("admin", ["anything"], "takes no scope"),
        ("wizard", [], "unknown role"),
    ],
)
def test_bad_scopes_are_refused_with_a_reason(role: str, scope: list[str], message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        parse_scope(role, scope)


def test_roles_bound_what_a_key_may_do(ring: KeyRing) -> None:
    agency, _ = ring.create("agency", ["authority:court-3701", "region:370100", "region:110000"])
    agency.require_recording("court-3701", "370102")  # a county of the city
    agency.require_recording("court-3701", "110105")  # within the province
    with pytest.raises(ForbiddenError, match="jurisdiction"):
        agency.require_recording("court-3701", "370200")  # another city
    with pytest.raises(ForbiddenError, match="authority"):
        agency.require_recording("court-9999", "370102")
    party, _ = ring.create("relying_party", ["transport.flight"])
    party.require_check("transport.flight")
    with pytest.raises(ForbiddenError):
        party.require_check("transport.high_speed_rail")
    with pytest.raises(ForbiddenError):
        party.require_subject("11010519491231002X")
    with pytest.raises(ForbiddenError):
        party.require_recording("court-3701", "370102")


@settings(max_examples=300, deadline=None)
@given(
    header=st.one_of(
        st.text(max_size=120),
        st.builds(lambda t: f"Bearer {t}", st.text(max_size=100)),
        st.builds(
            lambda i, s: f"Bearer sck_{i}_{s}",
            st.text("0123456789abcdef", min_size=16, max_size=16),
            st.text(min_size=0, max_size=60),
        ),
    )
)
def test_fuzzed_authorization_headers_never_grant_access(header: str) -> None:
    ring = fuzz_ring()
    with pytest.raises(UnauthorizedError):
        ring.authenticate(header)


@cache
def fuzz_ring() -> KeyRing:
    """One store for all the examples (made on first use)."""
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="keys-fuzz-"))
    ring = KeyRing(Database(f"sqlite:///{directory / 'keys.db'}"), b"s" * 32)
    _, token = ring.create("admin")
    # the real key with a changed last character must fail too
    assert ring.authenticate(f"Bearer {token}")
    with pytest.raises(UnauthorizedError):
        ring.authenticate(f"Bearer {token[:-1]}{'A' if token[-1] != 'A' else 'B'}")
    return ring
