"""The audit log's index by subject: look-ups are exact whether the entries are in the
tail, in runs or in merged runs; a damaged index is found by verify and remade."""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, insert, select, update

from socialcredit.audit import AuditEntry, AuditLog, IndexMaintainer, subject_index, subject_keys
from socialcredit.audit import log as audit_log
from socialcredit.store import Database
from socialcredit.store.tables import AUDIT_INDEX_PAGES, AUDIT_INDEX_RUNS


@pytest.fixture
def small_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny pages, runs and tiers, so a few hundred entries go through every path."""
    monkeypatch.setattr(subject_index, "PAGE_PAIRS", 4)
    monkeypatch.setattr(subject_index, "WRITE_PAGES", 2)
    monkeypatch.setattr(subject_index, "FANOUT", 3)
    monkeypatch.setattr(subject_index, "FIRST_TIER_PAIRS", 8)
    monkeypatch.setattr(subject_index, "BUILD_PAIRS", 20)
    monkeypatch.setattr(subject_index, "FINAL_RUN_PAIRS", 3 * 400)


def make_log(
    tmp_path: Path, maintains: bool = False, one_store: bool = False, url: str | None = None
) -> AuditLog:
    """A log on a SQLite file, its index in a file beside it; or (``one_store``) both in
    one in-memory database; or both in one PostgreSQL database (``url``)."""
    url = url or ("sqlite://" if one_store else f"sqlite:///{tmp_path / 'audit.db'}")
    log = AuditLog(Database(url), maintains_index=maintains)
    assert (log.index.store is log.database) == (one_store or url.startswith("postgresql"))
    return log


@pytest.fixture(params=["file", "memory", "postgresql"])
def backend_log(request: pytest.FixtureRequest, tmp_path: Path) -> AuditLog:
    """A log on each backend: a SQLite file (its index beside it), one in-memory SQLite
    database, and a real PostgreSQL."""
    if request.param == "postgresql":
        from tests.stores import fresh_postgres_database

        return make_log(
            tmp_path, url=fresh_postgres_database(request.getfixturevalue("postgres_server"))
        )
    return make_log(tmp_path, one_store=request.param == "memory")


def entry(n: int, subjects: list[str]) -> AuditEntry:
    return AuditEntry(f"key{n}", "relying_party", "test", "check:m", "allowed", tuple(subjects))


def live_runs(log: AuditLog) -> list[subject_index.Run]:
    with log.index.store.reading() as connection:
        return log.index.live_runs(connection)


def test_keys_are_pinned_and_do_not_depend_on_the_batch() -> None:
    ids = ["11010519491231002X", "91350100M000100Y43", "", "a", "a" * 30, "张三"]
    alone = np.array([subject_keys([s])[0] for s in ids])
    assert np.array_equal(subject_keys(ids), alone)  # padding to the longest changes nothing
    assert len(set(alone.tolist())) == len(ids)
    assert subject_keys(["11010519491231002X"])[0] == subject_keys(["11010519491231002X"])[0]
    # stored keys: a change to the function would silently lose every indexed entry
    assert int(subject_keys(["11010519491231002X"])[0]) == PINNED_PERSON
    assert int(subject_keys([""])[0]) == PINNED_EMPTY


PINNED_PERSON = -212109913287008782
PINNED_EMPTY = -2152535657050944081


@pytest.mark.usefixtures("small_runs")
def test_look_ups_match_a_scan_through_tail_runs_and_merges(backend_log: AuditLog) -> None:
    log = backend_log
    rng = random.Random(5)
    people = [f"P{n:04d}" for n in range(40)]
    expected: dict[str, list[int]] = {p: [] for p in people}
    for round_ in range(12):
        entries = []
        for _ in range(rng.randint(1, 6)):
            entries.append(entry(round_, rng.sample(people, rng.randint(0, 12))))
        numbers = log.append(entries)
        for number, made in zip(numbers, entries, strict=True):
            for person in set(made.subjects):
                expected[person].append(number)
        if round_ % 3 != 2:  # some rounds leave a tail
            log.index.maintain()
        for person in people:
            assert [e["seq"] for e in log.for_subject(person)] == sorted(expected[person])[::-1]
    runs = live_runs(log)
    assert len(runs) >= 2
    assert any(run.first_seq != run.last_seq and run.pairs > 8 for run in runs)  # merged
    assert log.verify().ok
    assert [e["seq"] for e in log.for_subject(people[0], limit=3)] == sorted(expected[people[0]])[
        ::-1
    ][:3]


@pytest.mark.usefixtures("small_runs")
def test_a_subject_across_many_pages_is_found_in_full(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    numbers = log.append([entry(n, ["OFTEN", f"X{n}"]) for n in range(50)])
    log.index.maintain()
    with log.index.store.reading() as connection:
        pages = connection.execute(select(AUDIT_INDEX_PAGES.c.page)).scalars().all()
    assert len(pages) > 10
    assert [e["seq"] for e in log.for_subject("OFTEN")] == numbers[::-1]


def test_a_shared_key_is_not_taken_for_the_subject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = make_log(tmp_path)
    log.append([entry(1, ["A"]), entry(2, ["B"]), entry(3, ["A", "B"])])
    monkeypatch.setattr(
        subject_index, "subject_keys", lambda ids: np.zeros(len(ids), np.int64)
    )  # every id collides
    log.index.maintain()
    assert [e["seq"] for e in log.for_subject("A")] == [3, 1]
    assert [e["seq"] for e in log.for_subject("B")] == [3, 2]
    assert log.for_subject("C") == []


def test_a_run_cut_short_is_ignored_then_collected(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    log.append([entry(1, ["A"])])
    log.index.maintain()
    with log.index.store.transaction() as connection:  # as a crash mid-write leaves it
        connection.execute(
            insert(AUDIT_INDEX_RUNS).values(
                run=99, first_seq=1, last_seq=1, last_hash="x", pairs=1, live=False
            )
        )
        key = int(subject_keys(["A"])[0])
        connection.execute(
            insert(AUDIT_INDEX_PAGES).values(
                run=99,
                page=0,
                first_key=key,
                last_key=key,
                key_data=np.array([key], "<i8").tobytes(),
                seq_data=np.array([1], "<i8").tobytes(),
            )
        )
    assert [e["seq"] for e in log.for_subject("A")] == [1]  # not twice
    assert log.verify().ok
    log.index.maintain()
    with log.index.store.reading() as connection:
        assert connection.execute(select(AUDIT_INDEX_RUNS.c.run)).scalars().all() != [1, 99]
        assert 99 not in connection.execute(select(AUDIT_INDEX_PAGES.c.run)).scalars().all()


@pytest.mark.parametrize("damage", ["page removed", "entry changed", "run hidden"])
def test_a_damaged_index_is_found_by_verify_and_rebuilt(backend_log: AuditLog, damage: str) -> None:
    log = backend_log
    log.append([entry(n, [f"S{n % 7}", f"S{n % 5}"]) for n in range(3000)])
    log.index.maintain()
    pages = AUDIT_INDEX_PAGES
    newest = live_runs(log)[-1].last_hash
    with log.index.store.transaction() as connection:
        if damage == "page removed":
            connection.execute(delete(pages).where(pages.c.page == 0))
        elif damage == "entry changed":
            data = connection.execute(
                select(pages.c.seq_data).where(pages.c.page == 0)
            ).scalar_one()
            changed = np.frombuffer(data, "<i8").copy()
            changed[0] += 1
            connection.execute(
                update(pages).where(pages.c.page == 0).values(seq_data=changed.tobytes())
            )
        else:
            connection.execute(update(AUDIT_INDEX_RUNS).values(live=False))
            connection.execute(
                insert(AUDIT_INDEX_RUNS).values(
                    first_seq=1, last_seq=3000, last_hash=newest, pairs=0, live=True
                )
            )
    result = log.verify()
    assert not result.ok
    assert result.position is None  # the chain itself is intact
    assert result.index_problem
    assert log.index.rebuild() == 6000
    assert log.verify().ok
    assert len(log.for_subject("S3", limit=5000)) == len(
        [n for n in range(3000) if 3 in (n % 7, n % 5)]
    )


def test_one_process_maintains_at_a_time(store_url: str) -> None:
    first, second = (AuditLog(Database(store_url), maintains_index=False) for _ in range(2))
    first.append([entry(1, ["A"])])
    with first.index.store.exclusive("audit-index") as mine:
        assert mine
        assert second.index.maintain() is False
    assert second.index.maintain() is True
    assert len(live_runs(second)) == 1


def test_a_command_indexes_its_own_appends_once_the_tail_is_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_log, "TAIL_PAIRS", 10)
    log = make_log(tmp_path, maintains=True)
    log.append([entry(1, ["A"] * 4)])
    assert live_runs(log) == []  # 4 pairs: the tail is short
    log.append([entry(2, ["B"] * 6)])
    assert [run.last_seq for run in live_runs(log)] == [2]


def test_the_maintainer_keeps_up(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    maintainer = IndexMaintainer(log.database, interval=0.05)
    assert maintainer.shareable
    maintainer.start()
    try:
        log.append([entry(1, ["A"]), entry(2, ["B"])])
        deadline = time.monotonic() + 30
        while subject_index.SubjectIndex.watermark(live_runs(log)) < 2:
            assert time.monotonic() < deadline, "the maintainer did not index the entries"
            time.sleep(0.05)
    finally:
        maintainer.stop()
    assert [e["seq"] for e in log.for_subject("B")] == [2]
    log.append([entry(3, ["B"])])
    time.sleep(0.2)  # stopped: nothing indexes the new entry, which the tail still finds
    assert subject_index.SubjectIndex.watermark(live_runs(log)) == 2
    assert [e["seq"] for e in log.for_subject("B")] == [3, 2]


def test_an_entry_whose_subjects_cannot_be_read_does_not_stop_the_index(
    tmp_path: Path,
) -> None:
    from socialcredit.store.tables import AUDIT_LOG

    log = make_log(tmp_path)
    log.append([entry(1, ["A"]), entry(2, ["A", "B"]), entry(3, ["A"])])
    with log.database.transaction() as connection:
        connection.execute(update(AUDIT_LOG).where(AUDIT_LOG.c.seq == 2).values(subjects="[oops"))
    log.index.maintain()
    assert subject_index.SubjectIndex.watermark(live_runs(log)) == 3
    assert [e["seq"] for e in log.for_subject("A")] == [3, 1]
    result = log.verify()
    assert (result.ok, result.position) == (False, 2)


def test_an_index_left_beside_another_log_is_not_used_then_remade(tmp_path: Path) -> None:
    """The store moved aside (or a backup restored) and the index file left: look-ups
    scan this log instead, verify says so, and the next maintenance remakes it."""
    first = make_log(tmp_path)
    first.append([entry(1, ["P"]), entry(2, ["P"])])
    first.index.maintain()
    first.database.dispose()
    (tmp_path / "audit.db").rename(tmp_path / "aside.db")
    for leftover in tmp_path.glob("audit.db-*"):
        leftover.unlink()  # SQLite's own files go with the store
    second = make_log(tmp_path)  # a new store, beside the old index
    second.append([entry(1, ["Q"]), entry(2, ["Q"]), entry(3, ["P"])])
    assert [e["seq"] for e in second.for_subject("Q")] == [2, 1]
    assert [e["seq"] for e in second.for_subject("P")] == [3]
    result = second.verify()
    assert not result.ok
    assert "another log" in (result.index_problem or "")
    second.index.maintain()
    assert second.verify().ok
    assert [run.last_seq for run in live_runs(second)] == [3]
    assert [e["seq"] for e in second.for_subject("Q")] == [2, 1]


def test_the_tail_is_not_fooled_by_an_id_holding_quotes(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    log.append([entry(1, ['X","P']), entry(2, ["P"])])
    assert [e["seq"] for e in log.for_subject("P")] == [2]  # in the tail
    log.index.maintain()
    assert [e["seq"] for e in log.for_subject("P")] == [2]  # indexed
    assert [e["seq"] for e in log.for_subject('X","P')] == [1]


@pytest.mark.usefixtures("small_runs")
def test_runs_as_large_as_a_build_are_merged_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to a merged run of exactly FINAL_RUN_PAIRS."""
    monkeypatch.setattr(
        subject_index, "FINAL_RUN_PAIRS", subject_index.FANOUT * subject_index.BUILD_PAIRS
    )
    log = make_log(tmp_path)
    for n in range(subject_index.FANOUT):
        log.append([entry(n, [f"S{i}" for i in range(subject_index.BUILD_PAIRS)])])
        log.index.maintain()
    runs = live_runs(log)
    assert len(runs) == 1
    assert runs[0].pairs == subject_index.FANOUT * subject_index.BUILD_PAIRS
    assert len(log.for_subject("S7")) == subject_index.FANOUT


def test_a_maintainer_that_ends_is_started_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from socialcredit.audit import maintainer as module

    monkeypatch.setattr(module, "RESTART_SECONDS", 0.05)
    log = make_log(tmp_path)
    maintainer = IndexMaintainer(log.database, interval=0.05)
    maintainer.start()
    try:
        first = maintainer._process
        assert first is not None
        first.kill()
        first.wait()
        deadline = time.monotonic() + 30
        while maintainer.restarts == 0:
            assert time.monotonic() < deadline, "the maintainer was not started again"
            time.sleep(0.05)
        log.append([entry(1, ["A"])])
        while subject_index.SubjectIndex.watermark(live_runs(log)) < 1:
            assert time.monotonic() < deadline, "the new maintainer does not index"
            time.sleep(0.05)
    finally:
        maintainer.stop()
    assert maintainer._process is None


def test_an_in_memory_store_starts_no_maintainer() -> None:
    maintainer = IndexMaintainer(Database("sqlite://"))
    assert not maintainer.shareable
    maintainer.start()
    assert maintainer._process is None
    maintainer.stop()
