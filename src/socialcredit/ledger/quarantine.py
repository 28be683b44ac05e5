"""Rejected rows of a batch: ``quarantine/<batch_id>.jsonl``, one JSON object a line.

Written as rows are rejected, under a temporary name, and published (synced, renamed)
when the batch has landed; discarded when it fails.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import IO

from socialcredit.ledger.store import Ledger


class Quarantine:
    """Rejected rows, written as they are found, published when the batch commits."""

    def __init__(self, ledger: Ledger, batch_id: str) -> None:
        ledger.quarantine.mkdir(parents=True, exist_ok=True)
        self.final = ledger.quarantine_path(batch_id)
        self.tmp = self.final.with_name(f"{batch_id}.{os.getpid()}.jsonl.tmp")
        self._handle: IO[str] | None = None

    def write(self, file: Path, row: int | None, reasons: list[str], content: object) -> None:
        if self._handle is None:
            self._handle = open(self.tmp, "w", encoding="utf-8")  # noqa: SIM115 (closed in publish)
        line = {"file": str(file), "row": row, "reasons": reasons, "content": content}
        self._handle.write(json.dumps(line, ensure_ascii=False, default=_json_value) + "\n")

    def publish(self) -> str | None:
        if self._handle is None:
            return None
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self.tmp, self.final)
        return str(self.final)

    def discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self.tmp.unlink(missing_ok=True)


def _json_value(value: object) -> object:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)
