"""A batch's Parquet data files, written as its rows arrive, committed as one Delta version.

The rows stream from the checks straight into Parquet files in the table's directory;
nothing is part of the table until :meth:`DataFiles.commit` adds every file in one
Delta log entry, which is created atomically. A killed writer leaves files that no
version names (readers never see them). Writing the files here, rather than handing
a stream to ``write_deltalake``, keeps memory flat in the size of the input: each
chunk is encoded and released as soon as it is accepted.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable
from deltalake.transaction import AddAction, RemoveAction

from socialcredit.ledger.schema import Layout

#: rows per data file (a few hundred MB of Parquet for records)
ROWS_PER_FILE = 1 << 23
#: chunks handed to the writing thread and not yet written, at most
WRITES_IN_FLIGHT = 2
#: rows per Parquet row group: chunks are written as they come, up to this size
ROWS_PER_GROUP = 1 << 20


class DataFiles:
    """The data files of one batch for one Delta table."""

    def __init__(self, table: Path, layout: Layout, rows_per_file: int = ROWS_PER_FILE) -> None:
        self.table = table
        self.layout = layout
        self.schema = layout.table_schema
        self.rows_per_file = rows_per_file
        self._done: list[AddAction] = []
        self._writer: pq.ParquetWriter | None = None
        self._name = ""
        self._rows_in_file = 0
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future[None]] = deque()

    def write(self, rows: pa.RecordBatch | pa.Table) -> None:
        """Append ``rows`` (of the table's schema) to the batch's files: encoded in a
        thread of its own, in order, while the caller checks the next chunk; what it
        raises comes out of a later ``write`` or of ``close``."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="data-files")
        self._pending.append(self._pool.submit(self._write_now, rows))
        while len(self._pending) > WRITES_IN_FLIGHT:  # memory stays bounded
            self._pending.popleft().result()

    def close(self) -> None:
        """Finish writing (no more rows)."""
        self._drain()
        if self._writer is not None:
            self._close_file()

    def _drain(self) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            for future in self._pending:  # after a failed write: the rest are moot
                future.cancel()
            self._pending.clear()
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def _write_now(self, rows: pa.RecordBatch | pa.Table) -> None:
        offset = 0
        while offset < rows.num_rows:
            if self._writer is None:
                self._open()
            assert self._writer is not None
            room = self.rows_per_file - self._rows_in_file
            part = rows.slice(offset, room)
            if isinstance(part, pa.RecordBatch):
                self._writer.write_batch(part, row_group_size=ROWS_PER_GROUP)
            else:
                self._writer.write_table(part, row_group_size=ROWS_PER_GROUP)
            offset += part.num_rows
            self._rows_in_file += part.num_rows
            if self._rows_in_file >= self.rows_per_file:
                self._close_file()

    def commit(self, batch_id: str) -> int | None:
        """Add every file to the table in one new version; its number (None: no rows)."""
        self.close()
        if not self._done:
            return None
        table = DeltaTable(str(self.table))
        actions: list[AddAction | RemoveAction] = [*self._done]
        table.create_write_transaction(
            actions,
            mode="append",
            schema=self.schema,
            commit_properties=CommitProperties(custom_metadata={"batch_id": batch_id}),
        )
        self._done = []  # committed: no longer this batch's to discard
        table.update_incremental()
        return table.version()

    def discard(self) -> None:
        """Remove the files written so far (the batch will not be committed)."""
        with contextlib.suppress(Exception):  # the batch failed already: that error counts
            self._drain()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for path in [*(action.path for action in self._done), self._name]:
            if path:
                (self.table / path).unlink(missing_ok=True)
        self._done.clear()

    def _open(self) -> None:
        self._name = f"part-{len(self._done):05d}-{uuid.uuid4()}-c000.snappy.parquet"
        self._writer = pq.ParquetWriter(
            self.table / self._name,
            self.schema,
            compression="snappy",
            use_dictionary=list(self.layout.dictionary),
            write_statistics=list(self.layout.statistics),
            store_schema=False,
        )
        self._rows_in_file = 0

    def _close_file(self) -> None:
        assert self._writer is not None
        self._writer.close()
        self._writer = None
        path = self.table / self._name
        stat = path.stat()
        self._done.append(
            AddAction(
                path=self._name,
                size=stat.st_size,
                partition_values={},
                modification_time=int(time.time() * 1000),
                data_change=True,
                stats=json.dumps({"numRecords": self._rows_in_file}),
            )
        )
        self._name = ""
