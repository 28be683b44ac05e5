"""The scoring cache: entries made once per data file and reused, new files and new
subjects picked up, a compaction of the registry handled, damaged entries re-made; in
every case the snapshot equals one scored without any cache."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pyarrow as pa

from socialcredit.ledger import SUBJECTS, Ledger
from socialcredit.policy import PolicyCatalog
from socialcredit.scoring.snapshots import Snapshot
from tests.scoring.factories import LedgerBook

AS_OF = dt.date(2026, 6, 30)


def _by_subject(snapshot: Snapshot) -> pa.Table:
    return snapshot.subject_table().sort_by("subject_id")


def _uncached(book: LedgerBook) -> pa.Table:
    shutil.rmtree(book.data / "scoring-cache", ignore_errors=True)
    return _by_subject(book.score(AS_OF))


def _populate(book: LedgerBook, people: int, start: int) -> list[str]:
    subjects = [book.person("330102" if i % 3 else "110101") for i in range(people)]
    for i, subject in enumerate(subjects):
        book.record(subject, "traffic.violation", f"2026-0{1 + (start + i) % 6}-15")
        if i % 4 == 0:
            book.record(subject, "civic.volunteer_hour", "2026-03-01", amount=5 + i % 7)
    return subjects


def test_entries_are_reused_and_new_files_and_subjects_added(
    tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    book = LedgerBook(tmp_path / "data", shipped_catalog)
    _populate(book, 30, 0)
    book.score(AS_OF)
    entries = sorted((book.data / "scoring-cache" / "records").iterdir())
    made = {entry.name: (entry / "meta.json").stat().st_mtime_ns for entry in entries}
    later = _populate(book, 20, 5)  # new subjects, and records in new data files
    debtor = book.person()
    book.record(debtor, "court.judgment_default", "2026-04-01")
    snapshot = book.score(AS_OF)
    after = sorted((book.data / "scoring-cache" / "records").iterdir())
    assert len(after) > len(entries)
    for entry in entries:  # old entries were not re-made
        assert (entry / "meta.json").stat().st_mtime_ns == made[entry.name]
    rows = snapshot.locate([*later, debtor])
    assert (rows >= 0).all()
    assert snapshot.metadata["lists"]["person"]["discredited"] == 1
    assert _by_subject(snapshot).equals(_uncached(book))


def test_a_compacted_registry_gives_the_same_scores(
    tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    book = LedgerBook(tmp_path / "data", shipped_catalog)
    _populate(book, 20, 0)
    book.commit()
    _populate(book, 20, 3)
    before = _by_subject(book.score(AS_OF))
    ledger = Ledger.open(book.data)
    with ledger.writing():
        ledger.compact(SUBJECTS)
    after = _by_subject(book.score(AS_OF))
    assert after.equals(before)
    assert len(list((book.data / "scoring-cache").glob("registry-*"))) == 2


def test_a_damaged_entry_is_made_again(tmp_path: Path, shipped_catalog: PolicyCatalog) -> None:
    book = LedgerBook(tmp_path / "data", shipped_catalog)
    _populate(book, 25, 0)
    expected = _by_subject(book.score(AS_OF))
    for entry in (book.data / "scoring-cache" / "records").iterdir():
        (entry / "meta.json").write_text("{ half written")
    assert _by_subject(book.score(AS_OF)).equals(expected)
    entry = next((book.data / "scoring-cache" / "records").iterdir())
    (entry / "amount.npy").write_bytes((entry / "amount.npy").read_bytes()[:100])
    assert _by_subject(book.score(AS_OF)).equals(expected)
