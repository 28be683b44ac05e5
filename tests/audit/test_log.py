"""The audit log's hash chain finds any edited, removed, inserted or reordered entry."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, update

from socialcredit.audit import AuditEntry, AuditLog
from socialcredit.store import Database
from socialcredit.store.tables import AUDIT_HEAD, AUDIT_LOG

PERSON = "11010519491231002X"


def entry(n: int, *subjects: str) -> AuditEntry:
    return AuditEntry(f"key{n}", "relying_party", "test", f"check:m{n}", "allowed", subjects)


@pytest.fixture
def log(store_url: str) -> AuditLog:
    """On SQLite and on PostgreSQL."""
    audit = AuditLog(Database(store_url))
    audit.append([entry(n, PERSON, f"S{n}") for n in range(1, 6)])
    audit.append([entry(6)])
    return audit


def test_an_intact_log_verifies(log: AuditLog) -> None:
    result = log.verify()
    assert result.ok
    assert result.entries == 6
    assert [e["seq"] for e in log.for_subject(PERSON)] == [5, 4, 3, 2, 1]
    assert log.for_subject("S3")[0]["action"] == "check:m3"


@pytest.mark.parametrize("column", ["at", "actor", "role", "purpose", "action", "outcome"])
def test_one_byte_edited_in_any_field_is_found_at_its_position(log: AuditLog, column: str) -> None:
    with log.database.transaction() as connection:
        value = connection.execute(
            select(AUDIT_LOG.c[column]).where(AUDIT_LOG.c.seq == 3)
        ).scalar_one()
        changed = value[:-1] + ("x" if value[-1] != "x" else "y")
        connection.execute(update(AUDIT_LOG).where(AUDIT_LOG.c.seq == 3).values({column: changed}))
    result = log.verify()
    assert not result.ok
    assert result.position == 3
    assert result.seq == 3
    assert result.entries == 2


def test_an_edited_subject_is_found(log: AuditLog) -> None:
    with log.database.transaction() as connection:
        connection.execute(
            update(AUDIT_LOG).where(AUDIT_LOG.c.seq == 4).values(subjects=f'["{PERSON}","S9"]')
        )
    assert log.verify().position == 4


def test_a_removed_entry_is_found(log: AuditLog) -> None:
    with log.database.transaction() as connection:
        connection.execute(delete(AUDIT_LOG).where(AUDIT_LOG.c.seq == 2))
    result = log.verify()
    assert not result.ok
    assert result.position == 2
    assert result.seq == 3


def test_entries_cut_off_the_end_are_found(log: AuditLog) -> None:
    with log.database.transaction() as connection:
        connection.execute(delete(AUDIT_LOG).where(AUDIT_LOG.c.seq == 6))
    result = log.verify()
    assert not result.ok
    assert "head" in (result.problem or "")


def test_an_inserted_entry_is_found(log: AuditLog) -> None:
    with log.database.transaction() as connection:
        row = dict(connection.execute(select(AUDIT_LOG).where(AUDIT_LOG.c.seq == 6)).one()._mapping)
        connection.execute(delete(AUDIT_LOG).where(AUDIT_LOG.c.seq == 6))
        forged = {**row, "actor": "intruder"}
        connection.execute(insert(AUDIT_LOG).values(forged))
        connection.execute(insert(AUDIT_LOG).values({**row, "seq": 7}))
        connection.execute(update(AUDIT_HEAD).values(seq=7))
    result = log.verify()
    assert not result.ok
    assert result.position == 6


def test_reordered_entries_are_found(log: AuditLog) -> None:
    with log.database.transaction() as connection:
        rows = {
            r.seq: dict(r._mapping)
            for r in connection.execute(select(AUDIT_LOG).where(AUDIT_LOG.c.seq.in_([2, 3])))
        }
        for seq, other in ((2, 3), (3, 2)):
            fields = {k: v for k, v in rows[other].items() if k != "seq"}
            connection.execute(update(AUDIT_LOG).where(AUDIT_LOG.c.seq == seq).values(fields))
    result = log.verify()
    assert not result.ok
    assert result.position == 2


def test_concurrent_appends_keep_one_chain(store_url: str) -> None:
    logs = [AuditLog(Database(store_url)) for _ in range(4)]  # as separate processes would

    def write(log: AuditLog, n: int) -> None:
        for i in range(25):
            log.append([entry(n * 100 + i, PERSON)])

    threads = [threading.Thread(target=write, args=(log, n)) for n, log in enumerate(logs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = logs[0].verify()
    assert result.ok
    assert result.entries == 100


def test_an_entry_about_many_subjects_keeps_them_in_order(log: AuditLog) -> None:
    many = tuple(f"S{n:05d}" for n in range(500))
    (seq,) = log.append([entry(7, *many)])
    assert log.verify().ok
    assert log.for_subject("S00499")[0]["seq"] == seq
    with log.database.transaction() as connection:
        stored = connection.execute(
            select(AUDIT_LOG.c.subjects).where(AUDIT_LOG.c.seq == seq)
        ).scalar_one()
        connection.execute(
            update(AUDIT_LOG)
            .where(AUDIT_LOG.c.seq == seq)
            .values(subjects=stored.replace('"S00250"', '"S99999"'))
        )
    assert log.verify().position == 7


def test_a_waiter_that_gave_up_does_not_stop_the_writer(log: AuditLog) -> None:
    from socialcredit.audit import AuditWriter

    writer = AuditWriter(log)
    with log.database.serial():  # another writer has the turn
        first = writer.submit(entry(8, PERSON))
        assert first.cancel() or first.done()
    second = writer.submit(entry(9, PERSON))
    assert second.result(timeout=10) > 0
    writer.close()
    assert log.verify().ok


def test_a_store_made_by_an_earlier_version_is_refused_with_a_reason(tmp_path: Path) -> None:
    import sqlite3

    from socialcredit.store.database import OutdatedStoreError

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # the audit log before subjects were stored with it
        old.execute("CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, at TEXT, actor TEXT)")
    with pytest.raises(OutdatedStoreError, match=r"audit_log has no column .*subjects"):
        Database(f"sqlite:///{path}")


def test_a_log_rewritten_whole_is_found_through_its_anchor(log: AuditLog) -> None:
    """Someone with the store rewrites the chain from the start, consistently: it still
    follows itself, but not the head recorded elsewhere before."""
    anchor = log.head()
    assert anchor is not None
    assert anchor[0] == 6
    assert log.verify([anchor]).ok
    with log.database.transaction() as connection:
        connection.execute(delete(AUDIT_LOG))
        connection.execute(delete(AUDIT_HEAD))
    # entry 3 left out, the rest chained anew up to the same number
    log.append([entry(n, PERSON, f"S{n}") for n in (1, 2, 4, 5)] + [entry(6), entry(7)])
    assert log.verify().ok  # a consistent chain on its own
    result = log.verify([anchor])
    assert not result.ok
    assert (result.position, result.seq) == (6, 6)
    assert "anchored" in (result.problem or "")
    cut = log.verify([(99, anchor[1])])
    assert not cut.ok
    assert "before anchored entry 99" in (cut.problem or "")


def test_subjects_spelt_otherwise_are_an_edit(log: AuditLog) -> None:
    """The same list in other JSON (escaped digits) hashes alike but hides the entry
    from a text search: verify refuses it."""
    escaped = '["\\u0031' + PERSON[1:] + '","S4"]'
    with log.database.transaction() as connection:
        connection.execute(update(AUDIT_LOG).where(AUDIT_LOG.c.seq == 4).values(subjects=escaped))
    result = log.verify()
    assert (result.ok, result.position) == (False, 4)
