"""Where the ledger lives: two Delta tables, their key indexes, quarantine, a writer lock.

```
DATA/ledger/records/        Delta table of records (append-only)
DATA/ledger/subjects/       Delta table of the subject registry (append-only)
DATA/ledger/<table>.keys/   key index of each table (see socialcredit.ledger.keys)
DATA/ledger/.lock           held by the one writer at a time
DATA/quarantine/<batch_id>.jsonl
```

A batch is one Delta commit: its data files are written first (see
socialcredit.ledger.datafiles) and become part of the table only when the commit's log
entry is created, atomically; a killed writer leaves the table at its previous version
(orphan data files are not in any version).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
from deltalake import DeltaTable

from socialcredit.ledger.datafiles import DataFiles
from socialcredit.ledger.errors import LedgerNotInitialisedError
from socialcredit.ledger.hashing import fingerprints, record_keys
from socialcredit.ledger.keys import KeyIndex, Run, empty_run, entries, merge_runs
from socialcredit.ledger.readers import parquet_chunks
from socialcredit.ledger.schema import RECORDS, SUBJECTS, Layout


class Ledger:
    """The ledger of one data directory."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.root = data / "ledger"
        self.quarantine = data / "quarantine"

    def table_path(self, layout: Layout) -> Path:
        return self.root / layout.name

    def keys_path(self, layout: Layout) -> Path:
        return self.root / f"{layout.name}.keys"

    @classmethod
    def init(cls, data: Path) -> tuple[Ledger, bool]:
        """Create the empty tables if they are missing; True when something was created."""
        ledger = cls(data)
        created = False
        ledger.root.mkdir(parents=True, exist_ok=True)
        ledger.quarantine.mkdir(parents=True, exist_ok=True)
        with ledger.writing():
            for layout in (RECORDS, SUBJECTS):
                path = ledger.table_path(layout)
                if not DeltaTable.is_deltatable(str(path)):
                    DeltaTable.create(str(path), layout.table_schema, mode="ignore")
                    created = True
        return ledger, created

    @classmethod
    def open(cls, data: Path) -> Ledger:
        ledger = cls(data)
        for layout in (RECORDS, SUBJECTS):
            if not DeltaTable.is_deltatable(str(ledger.table_path(layout))):
                raise LedgerNotInitialisedError(
                    f"no ledger in {data}: run `socialcredit --data {data} init` first"
                )
        return ledger

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One writer at a time (the key indexes assume it); others wait."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def table(self, layout: Layout, version: int | None = None) -> DeltaTable:
        return DeltaTable(str(self.table_path(layout)), version=version)

    def version(self, layout: Layout) -> int:
        return self.table(layout).version()

    def key_index(self, layout: Layout) -> KeyIndex:
        """The table's key index, completed for any version whose run is missing."""
        return KeyIndex.open(
            self.keys_path(layout),
            self.version(layout),
            lambda version: self.runs_added(layout, version),
        )

    def runs_added(self, layout: Layout, version: int) -> Iterator[Run]:
        """Key-index entries of the rows that table version ``version`` added, as sorted
        runs, a chunk of a data file at a time (none for a compaction, which rewrites
        rows the index already holds)."""
        if self.operation(layout, version) == "OPTIMIZE":
            return
        before = set(self.table(layout, version - 1).file_uris()) if version > 0 else set()
        for uri in self.table(layout, version).file_uris():
            if uri not in before:
                path = unquote(uri)  # URIs escape spaces and non-ASCII in the data dir
                for rows in parquet_chunks(path, columns=list(layout.content)):
                    yield entries_of(rows, layout)

    def entries_added(self, layout: Layout, version: int) -> Run:
        """:meth:`runs_added` as one run, in memory (a small version)."""
        return merge_runs(list(self.runs_added(layout, version)))

    def operation(self, layout: Layout, version: int) -> str | None:
        for entry in self.table(layout).history():
            if entry.get("version") == version:
                return str(entry.get("operation"))
        return None

    def compact(self, layout: Layout) -> dict[str, object]:
        """Merge small files (same rows, same content); a new version with no new keys."""
        table = self.table(layout)
        before = table.version()
        metrics = table.optimize.compact()
        after = self.version(layout)
        if after != before:
            self.key_index(layout).add(after, empty_run())
        return {
            "version": after,
            "files_added": metrics.get("numFilesAdded", 0),
            "files_removed": metrics.get("numFilesRemoved", 0),
        }

    def stats(self, layout: Layout) -> dict[str, object]:
        table = self.table(layout)
        actions = pa.table(table.get_add_actions(flatten=True))
        sizes = actions.column("size_bytes").to_pylist() if actions.num_rows else []
        counts = actions.column("num_records").to_pylist() if actions.num_rows else []
        keys = self.keys_path(layout)
        key_bytes = sum(p.stat().st_size for p in keys.glob("run-*.npy")) if keys.is_dir() else 0
        return {
            "rows": int(sum(n or 0 for n in counts)),
            "versions": table.version() + 1,
            "files": len(sizes),
            "bytes": int(sum(n or 0 for n in sizes)),
            "key_index_bytes": key_bytes,
        }

    def data_files(self, layout: Layout) -> DataFiles:
        """Where a batch writes its rows before committing them as one version."""
        return DataFiles(self.table_path(layout), layout)

    def quarantine_path(self, batch_id: str) -> Path:
        return self.quarantine / f"{batch_id}.jsonl"

    def pending_path(self, batch_id: str, layout: Layout) -> Path:
        """Where a batch spills the keys it has accepted so far (removed when it ends)."""
        return self.root / "pending" / f"{batch_id}.{os.getpid()}" / layout.name

    def clean_interrupted(self) -> None:
        """Remove quarantine files and spilled keys of batches that never finished.

        Called by the writer, under the lock, before its batch starts: whatever is
        there belongs to a batch that was killed (its process id may be reused).
        """
        if self.quarantine.is_dir():
            for path in self.quarantine.glob("*.jsonl.tmp"):
                path.unlink(missing_ok=True)
        pending = self.root / "pending"
        if pending.is_dir():
            for path in pending.iterdir():
                shutil.rmtree(path, ignore_errors=True)


def entries_of(table: pa.Table, layout: Layout) -> Run:
    key1, key2 = record_keys(table.column(layout.key))
    return entries(key1, key2, fingerprints([table.column(c) for c in layout.content]))
