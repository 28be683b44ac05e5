"""Public disclosure, a page at a time: a snapshot's public lists (the discredited
list, the red list), who is on them with the records behind each listing; and
``organisation_records``, organisations with their published records.

What is shown: only lists the policy marks public, and of the records behind a listing
only those of a type the policy marks public; they are in force on the snapshot's date
(the engine lists a subject only on records in force), so within their publication
period, and any whose period has ended since are left out. Persons appear only on
lists, with a masked ID (the first 6 and last 4 characters) and a masked name (the
first character); organisations' codes and names are public. An organisation's record
under objection is shown as such.

The page's details (record type, date, authority, decision reference, names) are read
from the ledger files of the snapshot's ledger version, filtered by ID (Parquet
statistics skip most row groups), so a page costs the same whatever the list's size.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from socialcredit.errors import NotFoundError, UnprocessableError
from socialcredit.ledger import RECORDS, SUBJECTS, Ledger
from socialcredit.policy import PolicyCatalog
from socialcredit.policy.models import RESERVED_LIST_NAMES
from socialcredit.scoring.ledger_view import ordered_files, version_at
from socialcredit.scoring.policy_tables import KINDS, add_months
from socialcredit.scoring.snapshots import Snapshot

PAGE_LIMIT = 100
#: the pseudo-list of organisations' published records (a name policies may not use)
ORGANISATION_RECORDS = RESERVED_LIST_NAMES[0]


def mask_id(subject_id: str) -> str:
    return subject_id[:6] + "*" * max(len(subject_id) - 10, 0) + subject_id[-4:]


def mask_name(name: str | None) -> str | None:
    if not name:
        return name
    return name[0] + "*" * max(len(name) - 1, 1)


@dataclass(frozen=True)
class Cursor:
    snapshot: str
    offset: int

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.snapshot}|{self.offset}".encode()).decode()

    @classmethod
    def decode(cls, text: str, snapshot: Snapshot) -> Cursor:
        try:
            snapshot_id, offset = base64.urlsafe_b64decode(text.encode()).decode().split("|")
            cursor = cls(snapshot_id, int(offset))
        except (ValueError, UnicodeError) as error:
            raise UnprocessableError("cursor: not a cursor this API gave") from error
        if cursor.snapshot != snapshot.id or cursor.offset < 0:
            raise UnprocessableError(
                "cursor: it belongs to an earlier snapshot; start again without a cursor",
                snapshot=snapshot.id,
            )
        return cursor


def public_lists(snapshot: Snapshot, catalog: PolicyCatalog) -> list[str]:
    names: list[str] = snapshot.metadata["list_names"]
    rules = catalog.effective().lists
    public = [name for name in names if name in rules and rules[name].public]
    return public + ([ORGANISATION_RECORDS] if snapshot.publishes_records else [])


def page(
    ledger: Ledger,
    catalog: PolicyCatalog,
    snapshot: Snapshot,
    list_name: str,
    cursor: str | None,
    limit: int,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """One page of the public list ``list_name``: subjects in snapshot order. Records
    whose publication ended before ``today`` (default: today in China) are left out,
    and so is a subject listed only by such records: a snapshot may be older than
    the end of a publication."""
    if list_name not in public_lists(snapshot, catalog):
        raise NotFoundError(
            f"list: no public list {list_name!r}; public lists: "
            + ", ".join(public_lists(snapshot, catalog))
        )
    if not 1 <= limit <= PAGE_LIMIT:
        raise UnprocessableError(f"limit: between 1 and {PAGE_LIMIT}")
    start = Cursor.decode(cursor, snapshot).offset if cursor else 0
    if list_name == ORGANISATION_RECORDS:
        rows = snapshot.published_rows()
        chosen = rows[start : start + limit]
        behind = {int(row): snapshot.published_records(int(row)) for row in chosen.tolist()}
    else:
        rows = snapshot.rows_on(list_name)
        chosen = rows[start : start + limit]
        behind = _records_behind(snapshot, list_name, chosen)
    from socialcredit.ledger.ingest import CHINA_TIME

    day = today or dt.datetime.now(CHINA_TIME).date()
    subject_ids = _subject_ids(snapshot, chosen)
    entries = _entries(ledger, catalog, snapshot, chosen, subject_ids, behind, day)
    following = start + limit
    return {
        "list": list_name,
        "snapshot": snapshot.id,
        "as_of": snapshot.metadata["as_of"],
        "total": len(rows),
        "entries": entries,
        # the full ids, for the audit log (not part of the answer)
        "_subject_ids": subject_ids,
        "next_cursor": Cursor(snapshot.id, following).encode() if following < len(rows) else None,
    }


def organisations(
    ledger: Ledger,
    catalog: PolicyCatalog,
    snapshot: Snapshot,
    subject_ids: list[str],
    today: dt.date | None = None,
) -> list[dict[str, Any]]:
    """The platform's entries of these organisations (codes and names public): each
    with the public lists it is on and its records still published ``today``."""
    from socialcredit.ledger.ingest import CHINA_TIME

    located = snapshot.locate(subject_ids)
    kinds = snapshot.array("kind")
    organisation = KINDS.index("organisation")
    chosen = [
        (int(row), subject_id)
        for row, subject_id in zip(located.tolist(), subject_ids, strict=True)
        if row >= 0 and int(kinds[row]) == organisation
    ]
    rows = np.asarray([row for row, _ in chosen], np.int64)
    ids = [subject_id for _, subject_id in chosen]
    behind = {row: snapshot.published_records(row) for row, _ in chosen}
    day = today or dt.datetime.now(CHINA_TIME).date()
    entries = _entries(ledger, catalog, snapshot, rows, ids, behind, day)
    public = set(public_lists(snapshot, catalog))
    names = snapshot.metadata["list_names"]
    bits = {entry_id: int(snapshot.array("lists")[row]) for row, entry_id in chosen}
    for entry in entries:
        on = bits.get(entry["subject_id"], 0)
        entry["lists"] = [n for i, n in enumerate(names) if on >> i & 1 and n in public]
    return entries


def _records_behind(
    snapshot: Snapshot, list_name: str, rows: npt.NDArray[np.int64]
) -> dict[int, list[tuple[str, bool]]]:
    """For each row, the records behind its place on ``list_name`` (none is under
    objection: a record under objection lists no one)."""
    return {
        int(row): [
            (record, False)
            for name, record in snapshot.listed_records(int(row))
            if name == list_name
        ]
        for row in rows.tolist()
    }


def _entries(
    ledger: Ledger,
    catalog: PolicyCatalog,
    snapshot: Snapshot,
    rows: npt.NDArray[np.int64],
    subject_ids: list[str],
    behind: dict[int, list[tuple[str, bool]]],
    today: dt.date,
) -> list[dict[str, Any]]:
    moment = dt.datetime.fromisoformat(snapshot.metadata["ledger_as_of"])
    names = subject_names(ledger, moment, subject_ids)
    record_ids = [r for row in rows.tolist() for r, _ in behind.get(int(row), [])]
    details = _record_details(ledger, moment, record_ids)
    policies: dict[str, Any] = {}
    entries = []
    kinds, regions = snapshot.array("kind"), snapshot.array("region")
    for row, subject_id in zip(rows.tolist(), subject_ids, strict=True):
        kind = KINDS[int(kinds[row])]
        person = kind == "person"
        region = f"{int(regions[row]):06d}"
        if region not in policies:
            policies[region] = catalog.effective(region)
        types = policies[region].record_types
        records = []
        for record_id, objected in behind.get(int(row), []):
            detail = details.get(record_id)
            if detail is None:
                continue
            rule = types.get(detail["record_type"])
            if rule is None or not rule.public:
                continue  # listed by a record whose type is not published
            occurred = detail["occurred_on"]
            until = add_months(occurred, rule.in_force_months) - dt.timedelta(days=1)
            if until < today:
                continue  # its publication has ended since the snapshot
            records.append(
                {
                    "record_id": record_id,
                    "record_type": detail["record_type"],
                    "title": rule.title,
                    "occurred_on": occurred.isoformat(),
                    "authority": detail["authority"],
                    "decision_ref": detail["decision_ref"],
                    "published_until": until.isoformat(),
                    "under_objection": objected,
                }
            )
        if behind.get(int(row)) and not records:
            continue  # listed only by records no longer published
        name = names.get(subject_id)
        entries.append(
            {
                "subject_id": mask_id(subject_id) if person else subject_id,
                "kind": kind,
                "name": mask_name(name) if person else name,
                "region": region,
                "records": records,
            }
        )
    return entries


def _subject_ids(snapshot: Snapshot, rows: npt.NDArray[np.int64]) -> list[str]:
    """The ids of snapshot rows, from the per-subject table's files (2M rows each)."""
    if not len(rows):
        return []
    files = snapshot.table_files()
    sizes = [pq.ParquetFile(f).metadata.num_rows for f in files]
    starts = np.cumsum([0, *sizes])
    out: list[str] = []
    file_of = np.searchsorted(starts, rows, side="right") - 1
    for f in np.unique(file_of):
        mine = rows[file_of == f] - starts[f]
        column = pq.read_table(files[int(f)], columns=["subject_id"]).column(0)
        out += [str(v) for v in column.take(pa.array(mine)).to_pylist()]
    return out


def subject_names(
    ledger: Ledger, moment: dt.datetime, subject_ids: list[str]
) -> dict[str, str | None]:
    """The registered names of subjects, as recorded by ``moment``."""
    if not subject_ids:
        return {}
    version = version_at(ledger, SUBJECTS, moment)
    found: dict[str, str | None] = {}
    for path in ordered_files(ledger, SUBJECTS, version):
        table = pq.read_table(
            path, columns=["subject_id", "name"], filters=[("subject_id", "in", subject_ids)]
        )
        for subject_id, name in zip(
            table.column("subject_id").to_pylist(), table.column("name").to_pylist(), strict=True
        ):
            found.setdefault(str(subject_id), name)
    return found


def _record_details(
    ledger: Ledger, moment: dt.datetime, record_ids: list[str]
) -> dict[str, dict[str, Any]]:
    if not record_ids:
        return {}
    version = version_at(ledger, RECORDS, moment)
    columns = ["record_id", "record_type", "occurred_on", "authority", "decision_ref"]
    found: dict[str, dict[str, Any]] = {}
    for path in ordered_files(ledger, RECORDS, version):
        table = pq.read_table(path, columns=columns, filters=[("record_id", "in", record_ids)])
        for row in table.to_pylist():
            found.setdefault(str(row["record_id"]), row)
    return found
