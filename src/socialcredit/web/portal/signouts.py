"""Sign-outs kept in the store: the session lives in its cookie, so signing out also
records the moment, and any session of that key made before it has ended (a copy of
the cookie taken earlier included)."""

from __future__ import annotations

import time

from sqlalchemy import insert, select, update

from socialcredit.store import Database
from socialcredit.store.tables import PORTAL_SIGNOUTS


def sign_out(database: Database, key_id: str, now: float | None = None) -> None:
    moment = now or time.time()
    with database.serial(), database.transaction() as connection:
        done = connection.execute(
            update(PORTAL_SIGNOUTS)
            .where(PORTAL_SIGNOUTS.c.key_id == key_id)
            .values(signed_out_at=moment)
        )
        if done.rowcount == 0:
            connection.execute(insert(PORTAL_SIGNOUTS).values(key_id=key_id, signed_out_at=moment))


def ended(database: Database, key_id: str, made: float) -> bool:
    """Whether a session of ``key_id`` made at ``made`` was signed out since."""
    with database.reading() as connection:
        last = connection.execute(
            select(PORTAL_SIGNOUTS.c.signed_out_at).where(PORTAL_SIGNOUTS.c.key_id == key_id)
        ).scalar()
    return last is not None and float(last) >= made
