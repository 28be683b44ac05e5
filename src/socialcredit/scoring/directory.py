"""The directory of organisations behind the national credit information platform's
search: each organisation's Unified Social Credit Code and registered name, as the
snapshot's ledger version has them, searched by code (exact) or by name (any part,
ignoring case). Persons are not in it: they are found only on public lists, masked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from socialcredit.identity import validate
from socialcredit.ledger import SUBJECTS, Ledger
from socialcredit.scoring.ledger_view import ordered_files, version_at
from socialcredit.scoring.snapshots import Snapshot

#: results a search gives at most
SEARCH_LIMIT = 20


@dataclass(frozen=True)
class Directory:
    snapshot: str
    codes: pa.Array
    names: pa.Array

    @classmethod
    def of(cls, ledger: Ledger, snapshot: Snapshot) -> Directory:
        moment = dt.datetime.fromisoformat(snapshot.metadata["ledger_as_of"])
        version = version_at(ledger, SUBJECTS, moment)
        pieces = [
            pq.read_table(
                path,
                columns=["subject_id", "name"],
                filters=[("kind", "=", "organisation")],
            )
            for path in ordered_files(ledger, SUBJECTS, version)
        ]
        table = pa.concat_tables(pieces) if pieces else pa.table({"subject_id": [], "name": []})
        codes = table.column("subject_id").combine_chunks().cast(pa.string())
        names = pc.fill_null(table.column("name").combine_chunks().cast(pa.string()), "")
        return cls(snapshot.id, codes, names)

    def search(self, query: str, limit: int = SEARCH_LIMIT) -> list[tuple[str, str]]:
        """(code, name) of the organisations whose code is ``query`` or whose name
        holds it, in registration order."""
        text = query.strip()
        if not text:
            return []
        code = text.upper()
        if validate(code).valid:
            found = pc.equal(self.codes, code)
        else:
            found = pc.match_substring(self.names, text, ignore_case=True)
        rows = pc.indices_nonzero(found).slice(0, limit).to_pylist()
        return [(str(self.codes[i]), str(self.names[i])) for i in rows]
