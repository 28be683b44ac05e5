"""Input files (CSV, Parquet, JSON Lines) as a stream of raw batches, chunk by chunk.

A raw batch keeps the rows as read (CSV cells as bytes, so invalid UTF-8 is a row's
problem, not the file's), their row numbers, and the rows the format itself could
not parse (a CSV row with the wrong number of cells, a JSON line that is not an
object); those are quarantined with the reason and never silently dropped.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from socialcredit.ledger.errors import UnusableInputError

FORMATS = ("csv", "parquet", "jsonl")
_EXTENSIONS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
#: rows per batch: large enough for vectorised work, small enough for bounded memory
BATCH_ROWS = 262_144
_CSV_BLOCK = 16 << 20


@dataclass(frozen=True)
class Unparsed:
    """A piece of input the format could not turn into a row."""

    row: int | None  # the row number when known
    text: str
    reason: str


@dataclass
class RawBatch:
    table: pa.Table  # the rows as read, every column of the file
    first_row: int  # 1-based row number of the table's first row
    unparsed: list[Unparsed] = field(default_factory=list)
    #: each table row's number, when they are not consecutive from ``first_row``
    numbers: list[int] | None = None

    def row_number(self, index: int) -> int:
        return self.numbers[index] if self.numbers is not None else self.first_row + index


@dataclass(frozen=True)
class InputFile:
    path: Path
    format: str
    columns: tuple[str, ...]

    @property
    def rows(self) -> int | None:
        """The number of rows, when the format says it up front (Parquet)."""
        if self.format == "parquet":
            return int(pq.read_metadata(self.path).num_rows)
        return None


def detect_format(path: Path, forced: str | None = None) -> str:
    if forced is not None:
        if forced not in FORMATS:
            raise UnusableInputError(f"--format {forced!r}: expected one of {', '.join(FORMATS)}")
        return forced
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise UnusableInputError(
            f"{path}: cannot tell the format from the extension {path.suffix!r}; "
            f"use .csv, .parquet or .jsonl, or --format"
        )
    return found


def open_input(path: Path, forced: str | None = None) -> InputFile:
    """Check the file can be read and find its columns (exit 2 material if not)."""
    fmt = detect_format(path, forced)
    if not path.is_file():
        raise UnusableInputError(f"{path}: no such file")
    try:
        columns = _columns(path, fmt)
    except (OSError, pa.ArrowException, ValueError) as error:
        raise UnusableInputError(f"{path}: cannot be read as {fmt}: {error}") from error
    duplicated = sorted(name for name, count in Counter(columns).items() if count > 1)
    if duplicated:
        raise UnusableInputError(
            f"{path}: duplicate columns in the header: {', '.join(duplicated)}"
        )
    return InputFile(path, fmt, columns)


def _columns(path: Path, fmt: str) -> tuple[str, ...]:
    if fmt == "parquet":
        return tuple(pq.ParquetFile(path).schema_arrow.names)
    with open(path, "rb") as handle:
        first = handle.readline(1 << 20)
    if not first.strip():
        if fmt == "csv":
            raise ValueError("the file is empty: a CSV file needs a header line")
        return ()  # JSON Lines: the columns are the keys of the objects
    if fmt == "csv":
        text = first.decode("utf-8-sig", errors="replace")
        return tuple(next(csv.reader(io.StringIO(text))))
    return ()


def batches(source: InputFile) -> Iterator[RawBatch]:
    if source.format == "parquet":
        yield from _parquet_batches(source)
    elif source.format == "csv":
        yield from _csv_batches(source)
    else:
        yield from _jsonl_batches(source)


def _parquet_batches(source: InputFile) -> Iterator[RawBatch]:
    row = 1
    try:
        for batch in pq.ParquetFile(source.path).iter_batches(BATCH_ROWS):
            yield RawBatch(pa.Table.from_batches([batch]), row)
            row += batch.num_rows
    except (OSError, pa.ArrowException) as error:
        raise UnusableInputError(
            f"{source.path}: unreadable Parquet after row {row - 1}: {error}"
        ) from error


def _csv_batches(source: InputFile) -> Iterator[RawBatch]:
    unparsed: list[Unparsed] = []

    def invalid(row: pacsv.InvalidRow) -> str:
        unparsed.append(
            Unparsed(
                row.number,
                row.text,
                f"CSV row with {row.actual_columns} cells where the header has "
                f"{row.expected_columns} (unbalanced quotes run on to the end of the file)",
            )
        )
        return "skip"

    types = {name: pa.binary() for name in source.columns}
    row = 1
    try:
        # the first block is parsed when the reader opens: its errors are read errors too
        reader = pacsv.open_csv(
            source.path,
            read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK, use_threads=True),
            parse_options=pacsv.ParseOptions(invalid_row_handler=invalid, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
        )
        for batch in reader:
            yield RawBatch(pa.Table.from_batches([batch]), row, unparsed[:])
            unparsed.clear()
            row += batch.num_rows
    except (OSError, pa.ArrowException) as error:
        raise UnusableInputError(
            f"{source.path}: unreadable CSV after row {row - 1}: {error}"
        ) from error
    if unparsed:
        yield RawBatch(
            pa.table({n: pa.array([], pa.binary()) for n in source.columns}), row, unparsed
        )


def _jsonl_batches(source: InputFile) -> Iterator[RawBatch]:
    rows: list[dict[str, str | None]] = []
    numbers: list[int] = []
    unparsed: list[Unparsed] = []
    first = 1
    number = 0
    with open(source.path, "rb") as handle:
        for line in handle:
            if not line.strip():
                continue  # blank lines are not rows
            number += 1
            parsed = _json_row(line, number)
            if isinstance(parsed, Unparsed):
                unparsed.append(parsed)
            else:
                rows.append(parsed)
                numbers.append(number)
            if number - first + 1 >= BATCH_ROWS:
                yield _json_batch(rows, numbers, first, unparsed)
                rows, numbers, unparsed, first = [], [], [], number + 1
    if rows or unparsed:
        yield _json_batch(rows, numbers, first, unparsed)


def _json_row(line: bytes, number: int) -> dict[str, str | None] | Unparsed:
    try:
        value = json.loads(line)
    except UnicodeDecodeError:
        return Unparsed(number, line.decode("utf-8", "backslashreplace"), "not valid UTF-8")
    except ValueError as error:
        return Unparsed(number, line.decode("utf-8", "replace"), f"not valid JSON ({error})")
    if not isinstance(value, dict):
        return Unparsed(number, line.decode("utf-8", "replace"), "a JSON line must be an object")
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # "\ud800": an escaped lone surrogate is no character
        return Unparsed(
            number, line.decode("utf-8", "replace"), "not valid UTF-8 (a lone surrogate)"
        )
    return {
        str(key): None if v is None else v if isinstance(v, str) else json.dumps(v)
        for key, v in value.items()
    }


def _json_batch(
    rows: list[dict[str, str | None]], numbers: list[int], first: int, unparsed: list[Unparsed]
) -> RawBatch:
    names = sorted({key for row in rows for key in row})
    table = pa.table(
        {name: pa.array([row.get(name) for row in rows], pa.string()) for name in names}
    )
    return RawBatch(table, first, unparsed, numbers)
