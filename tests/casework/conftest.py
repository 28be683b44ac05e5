"""A small world for casework tests: a ledger built by hand (``LedgerBook``), the
casework store on SQLite or a real PostgreSQL (``store_url``), a business date the
test moves, and actors of each role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from socialcredit.casework import Actor, Casework
from socialcredit.casework.explanation import explain_with_cases
from socialcredit.policy import PolicyCatalog
from socialcredit.scoring.policy_tables import compile_policy
from socialcredit.scoring.snapshots import Snapshot
from socialcredit.store import Database
from tests.scoring.factories import LedgerBook

AUTHORITY = "测试机关"  # the authority LedgerBook records under


@dataclass
class Clock:
    day: dt.date = field(default_factory=lambda: dt.date(2026, 11, 27))

    def __call__(self) -> dt.date:
        return self.day


@dataclass
class World:
    book: LedgerBook
    database: Database
    clock: Clock
    catalog: PolicyCatalog

    @property
    def casework(self) -> Casework:
        return Casework(self.database, self.book.ledger, self.catalog, today=self.clock)

    def score(self, as_of: dt.date | None = None) -> Snapshot:
        casework = self.casework
        casework.write_pending()
        return self.book.score(as_of or self.clock.day, casework=casework)

    def explain(self, snapshot: Snapshot, subject_id: str) -> dict[str, Any]:
        tables = compile_policy(self.catalog)
        return explain_with_cases(self.book.ledger, tables, snapshot, subject_id, self.casework)

    def status(self, snapshot: Snapshot, subject_id: str, record_id: str) -> str:
        document = self.explain(snapshot, subject_id)
        for record in document["counted"]:
            if record["record_id"] == record_id:
                return "counted"
        for record in document["not_counted"]:
            if record["record_id"] == record_id:
                return str(record["status"])
        raise AssertionError(f"no record {record_id}")


def subject(subject_id: str) -> Actor:
    return Actor(f"key-{subject_id[-4:]}", "subject", subject_id=subject_id)


AGENCY = Actor("key-agency", "agency", authority=AUTHORITY, jurisdictions=("110000",))
OTHER_AGENCY = Actor("key-other", "agency", authority="另一机关", jurisdictions=("110000",))
#: the same authority name in another province (names repeat: 鼓楼区 in four)
NAMESAKE = Actor("key-namesake", "agency", authority=AUTHORITY, jurisdictions=("350000",))
REVIEWER = Actor("key-reviewer", "reviewer")
RELYING_PARTY = Actor("key-airline", "relying_party")


@pytest.fixture
def world(store_url: str, tmp_path: Path, shipped_catalog: PolicyCatalog) -> Iterator[World]:
    book = LedgerBook(tmp_path / "data", shipped_catalog)
    database = Database(store_url)
    yield World(book, database, Clock(), shipped_catalog)
    database.dispose()
