"""Two reviewers deciding the same case at once produce exactly one decision: each
through its own engine and connection to the same store (SQLite file, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest

from socialcredit.casework import Casework
from socialcredit.errors import ConflictError
from socialcredit.store import Database
from tests.casework.conftest import REVIEWER, World, subject


def _at_once(databases: list[Database], step: Callable[[int], object]) -> list[object]:
    """``step(0)`` and ``step(1)`` started together in two threads (a barrier), each
    on its own engine; what each returned, or the ConflictError it raised."""
    start = threading.Barrier(2)
    results: list[object] = [None, None]

    def run(n: int) -> None:
        start.wait()
        try:
            results[n] = step(n)
        except ConflictError as error:
            results[n] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for database in databases:
        database.dispose()
    return results


def _escalated_case(world: World) -> int:
    person = world.book.person()
    record = world.book.record(person, "court.judgment_default", "2026-06-01")
    world.book.commit()
    case = world.casework.open_objection(record, "performed", subject(person))
    world.clock.day = case.deadline + dt.timedelta(days=1)
    assert world.casework.escalate_overdue() == [case.case_id]
    return case.case_id


@pytest.mark.parametrize("outcomes", [("revoked", "upheld"), ("upheld", "upheld")])
def test_two_reviewers_at_once_make_exactly_one_decision(
    world: World, store_url: str, outcomes: tuple[str, str]
) -> None:
    case_id = _escalated_case(world)
    version = world.casework.get(case_id, REVIEWER).version  # what both reviewers read
    databases = [Database(store_url), Database(store_url)]  # two engines, two connections
    workers = [Casework(d, world.book.ledger, world.catalog, today=world.clock) for d in databases]
    results = _at_once(
        databases,
        lambda n: workers[n].decide(
            case_id, outcomes[n], f"REF-{n}", f"reviewer {n}", REVIEWER,
            expected_version=version,
        ),
    )  # fmt: skip
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    decided = [r for r in results if not isinstance(r, ConflictError)]
    assert len(conflicts) == 1, results
    assert len(decided) == 1, results
    final = world.casework.get(case_id, REVIEWER)
    winner = results.index(decided[0])
    assert final.decision_ref == f"REF-{winner}"
    assert final.version == version + 1
    # the ledger holds the winner's rows only
    rows = list(world.explain(world.score(), final.subject_id)["not_counted"])
    refs = {r["decision_ref"] for r in rows if r.get("about") or r.get("revokes")}
    assert refs == {f"REF-{winner}"}


def test_a_decision_on_a_stale_version_is_refused(world: World) -> None:
    case_id = _escalated_case(world)
    stale = world.casework.get(case_id, REVIEWER).version
    world.casework.decide(case_id, "upheld", "REF-A", "first", REVIEWER)
    with pytest.raises(ConflictError):
        world.casework.decide(
            case_id, "revoked", "REF-B", "second", REVIEWER, expected_version=stale
        )


def test_two_objections_at_once_open_one_case(world: World, store_url: str) -> None:
    person = world.book.person()
    record = world.book.record(person, "court.judgment_default", "2026-06-01")
    world.book.commit()
    databases = [Database(store_url), Database(store_url)]
    workers = [Casework(d, world.book.ledger, world.catalog, today=world.clock) for d in databases]
    results = _at_once(
        databases, lambda n: workers[n].open_objection(record, f"grounds {n}", subject(person))
    )
    assert sum(isinstance(r, ConflictError) for r in results) == 1, results
    assert len(world.casework.cases(REVIEWER, status="open")) == 1
