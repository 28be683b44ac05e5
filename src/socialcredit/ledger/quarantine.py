"""Rejected rows of a batch: ``quarantine/<batch_id>.jsonl``, one JSON object a line.

Written as rows are rejected, under a temporary name, and published (synced, renamed)
when the batch has landed; discarded when it fails.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from pathlib import Path
from typing import IO

import pyarrow as pa

from socialcredit.ledger.store import Ledger


class Quarantine:
    """Rejected rows, written as they are found, published when the batch commits."""

    def __init__(self, ledger: Ledger, batch_id: str) -> None:
        ledger.quarantine.mkdir(parents=True, exist_ok=True)
        self.final = ledger.quarantine_path(batch_id)
        self.tmp = self.final.with_name(f"{batch_id}.{os.getpid()}.jsonl.tmp")
        self._handle: IO[str] | None = None

    def write(self, file: Path, row: int | None, reasons: list[str], content: object) -> None:
        line = {"file": str(file), "row": row, "reasons": reasons, "content": content}
        self._append([_ENCODER.encode(line) + "\n"])

    def write_rows(
        self, file: Path, rows: list[int | None], reasons: list[list[str]], contents: pa.Table
    ) -> None:
        """One line per rejected row: its number in ``file``, its reasons, and its
        content, the row of ``contents`` at the same position. The same text as
        :meth:`write` gives, made column by column: a JSON encoder called for every
        row (and back for every byte string) was most of the cost of a bad file."""
        name = _ENCODER.encode(str(file))
        known: dict[tuple[str, ...], str] = {}
        lines = []
        for row, why, content in zip(rows, reasons, _contents(contents, len(rows)), strict=True):
            key = tuple(why)
            reasons_json = known.get(key)
            if reasons_json is None:
                reasons_json = known[key] = _ENCODER.encode(why)
            number = "null" if row is None else str(row)
            lines.append(
                f'{{"file": {name}, "row": {number}, "reasons": {reasons_json}, '
                f'"content": {content}}}\n'
            )
        self._append(lines)

    def _append(self, lines: list[str]) -> None:
        if self._handle is None:
            self._handle = open(self.tmp, "w", encoding="utf-8")  # noqa: SIM115 (closed in publish)
        self._handle.write("".join(lines))

    def reasons(self) -> list[str]:
        """Every reason written so far (for a batch refused whole, before discard)."""
        if self._handle is None:
            return []
        self._handle.flush()
        with open(self.tmp, encoding="utf-8") as lines:
            return [reason for line in lines for reason in json.loads(line)["reasons"]]

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


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=_json_value)


def _contents(table: pa.Table, rows: int) -> list[str]:
    """Each row of ``table`` as a JSON object of its cells, as read: text as text,
    bytes (CSV cells) decoded, with backslash escapes where they are not UTF-8."""
    if table.num_columns == 0:  # JSON objects without keys
        return ["{}"] * rows
    quote = json.encoder.encode_basestring  # what the encoder does to a str
    # as a dict of the row would have it: a repeated column name once, where it first
    # comes, with the value of its last column
    last = {name: position for position, name in enumerate(table.column_names)}
    names = list(last)
    escaped = (quote(n).replace("{", "{{").replace("}", "}}") for n in names)
    template = "{{" + ", ".join(f"{n}: {{}}" for n in escaped) + "}}"
    cells: list[list[str]] = []
    for column in (table.column(last[name]) for name in names):
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type):
            # (some cells not UTF-8: the cast fails and the encoder decodes each cell)
            with contextlib.suppress(pa.ArrowInvalid):
                array = array.cast(pa.string())
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            cells.append(["null" if v is None else quote(v) for v in array.to_pylist()])
        else:
            cells.append([_ENCODER.encode(v) for v in array.to_pylist()])
    return [template.format(*row) for row in zip(*cells, strict=True)]
