"""The scoring cache: entries made once per data file and reused, new files and new
subjects picked up, a compaction of the registry handled, damaged entries re-made; in
every case the snapshot equals one scored without any cache."""

from __future__ import annotations

import datetime as dt
import hashlib
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


def _records_dir(book: LedgerBook) -> Path:
    return next((book.data / "scoring-cache").glob("gen-*/records"))


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
    entries = sorted(_records_dir(book).iterdir())
    made = {entry.name: (entry / "meta.json").stat().st_mtime_ns for entry in entries}
    later = _populate(book, 20, 5)  # new subjects, and records in new data files
    debtor = book.person()
    book.record(debtor, "court.judgment_default", "2026-04-01")
    snapshot = book.score(AS_OF)
    after = sorted(_records_dir(book).iterdir())
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
    generations = list((book.data / "scoring-cache").glob("gen-*"))
    assert len(generations) == 1  # the old numbering's entries are gone
    assert (book.data / "scoring-cache" / "REGISTRY").read_text().strip() == generations[0].name


def test_damaged_entries_are_made_again(tmp_path: Path, shipped_catalog: PolicyCatalog) -> None:
    book = LedgerBook(tmp_path / "data", shipped_catalog)
    subjects = _populate(book, 25, 0)
    book.record(subjects[0], "court.judgment_default", "2026-04-01")
    expected = _by_subject(book.score(AS_OF))
    cache = book.data / "scoring-cache"
    damage = [
        ("records", "meta.json", b"{ half written"),
        ("records", "subject.npy", None),  # header intact, rows cut short
        ("records", "occurred.npy", None),
        ("records", "revokes.npy", b"x" * 20),
        ("records", "key1.npy", None),
        ("records", "row.npy", None),
        ("records", "record_id.arrow", b"x" * 20),
        ("parts", "kind.npy", None),
        ("parts", "subject_id.arrow", b"x" * 20),
    ]
    for where, name, content in damage:
        for entry in cache.glob(f"gen-*/{where}/*"):
            target = entry / name
            target.write_bytes(content if content is not None else target.read_bytes()[:-8])
        assert _by_subject(book.score(AS_OF)).equals(expected), (where, name)
    # (the index of the registry is checked against the parts' rows, and made again)
    for index in cache.glob("gen-*/index-*.npy"):
        index.write_bytes(index.read_bytes()[:-8])
    assert _by_subject(book.score(AS_OF)).equals(expected)


def test_row_order_is_the_ledgers_not_the_caches(
    tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    """The same ledger version gives the same table bytes whatever the cache saw: a
    deleted cache, a past ledger-as-of scored in between."""
    book = LedgerBook(tmp_path / "data", shipped_catalog)
    moments = []
    for batch in range(4):
        _populate(book, 3, batch)
        book.commit()
        moments.append(dt.datetime.now(dt.UTC))
    first = book.score(AS_OF, ledger_as_of=moments[-1])
    book.score(AS_OF, ledger_as_of=moments[1])  # a past version, a prefix of the files
    again = book.score(AS_OF, ledger_as_of=moments[-1])
    shutil.rmtree(book.data / "scoring-cache")
    fresh = book.score(AS_OF, ledger_as_of=moments[-1])
    digests = [_digests(s) for s in (first, again, fresh)]
    assert digests[0] == digests[1] == digests[2]
    early = book.score(AS_OF, ledger_as_of=moments[0] - dt.timedelta(seconds=30))
    assert len(early) == 0  # before the first registration: nobody
    assert _digests(book.score(AS_OF, ledger_as_of=moments[-1])) == digests[0]


def _digests(snapshot: Snapshot) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in snapshot.table_files()]
