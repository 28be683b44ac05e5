"""The daily search quota of the national credit information platform: those the policy
grants ``platform.free_search`` (role models) search without limit; everyone else,
signed in (by subject) or not (by address), gets the measure's ``daily_quota_others``
a day (China's day). Counted in one serial transaction: two searches at once cannot
both take the last one."""

from __future__ import annotations

import datetime as dt
import zlib

from sqlalchemy import insert, select, update

from socialcredit.ledger.ingest import CHINA_TIME
from socialcredit.store import Database
from socialcredit.store.tables import SEARCH_COUNTS

MEASURE = "platform.free_search"


def take_search(
    database: Database, searcher: str, daily: int, now: dt.datetime | None = None
) -> int | None:
    """Count one search for ``searcher``; the searches left today after it, or None if
    today's ``daily`` are used up (nothing counted)."""
    day = (now or dt.datetime.now(dt.UTC)).astimezone(CHINA_TIME).date().isoformat()
    key = (SEARCH_COUNTS.c.searcher == searcher) & (SEARCH_COUNTS.c.day == day)
    with database.serial(), database.transaction() as connection:
        if not database.is_sqlite:  # SQLite's write transactions are serial already
            lock = zlib.crc32(f"search:{searcher}:{day}".encode())
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (lock,))
        used = connection.execute(select(SEARCH_COUNTS.c.searches).where(key)).scalar()
        if used is not None and int(used) >= daily:
            return None
        if used is None:
            connection.execute(insert(SEARCH_COUNTS).values(searcher=searcher, day=day, searches=1))
        else:
            connection.execute(update(SEARCH_COUNTS).where(key).values(searches=int(used) + 1))
        return daily - (int(used or 0) + 1)
