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
import sys
from collections import Counter
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from socialcredit.ledger.errors import UnusableInputError

FORMATS = ("csv", "parquet", "jsonl")
_EXTENSIONS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
#: rows per batch: large enough for vectorised work, small enough for bounded memory
BATCH_ROWS = 262_144
_CSV_BLOCK = 16 << 20
#: the longest CSV field or line (characters) the Python fallback holds in memory
_FIELD_LIMIT = 64 << 20


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
    if fmt == "csv":
        cells, _ = _csv_header(path)
        if isinstance(cells, str):
            raise ValueError(f"the header cannot be read: {cells}")
        if not cells:
            raise ValueError("the file is empty: a CSV file needs a header line")
        return tuple(c.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for c in cells)
    with open(path, "rb"):
        return ()  # JSON Lines: the columns are the keys of the objects


def batches(source: InputFile) -> Iterator[RawBatch]:
    if source.format == "parquet":
        yield from _parquet_batches(source)
    elif source.format == "csv":
        yield from _csv_batches(source)
    else:
        yield from _jsonl_batches(source)


#: bytes read at a time from each column chunk of a Parquet input
PARQUET_BUFFER = 1 << 20


def parquet_chunks(path: Path | str, columns: list[str] | None = None) -> Iterator[pa.Table]:
    """A Parquet file in chunks of :data:`BATCH_ROWS` rows, in bounded memory.

    Column chunks are read through small buffers as the pages are decoded: with
    pre-buffering (pyarrow's default) the reader keeps the chunks of row groups
    already read, and memory grows with the file.
    """
    parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=PARQUET_BUFFER)
    for batch in parquet.iter_batches(BATCH_ROWS, columns=columns):
        yield pa.Table.from_batches([batch])


def _parquet_batches(source: InputFile) -> Iterator[RawBatch]:
    row = 1
    try:
        for batch in parquet_chunks(source.path):
            yield RawBatch(batch, row)
            row += batch.num_rows
    except (OSError, pa.ArrowException) as error:
        raise UnusableInputError(
            f"{source.path}: unreadable Parquet after row {row - 1}: {error}"
        ) from error


def _csv_batches(source: InputFile) -> Iterator[RawBatch]:
    """pyarrow parses the file; where it gives up on a chunk (a row longer than a block,
    or a row with the wrong number of cells that is not UTF-8), Python's csv module reads
    on from the last row handed out, past that row, and pyarrow resumes after it.

    Row numbers count the data rows after the header from 1, blank lines not counted.
    """
    position = _Position(0, 0, 0)
    try:
        position.offset = _csv_header(source.path)[1]
        while True:
            try:
                yield from _arrow_csv(source, position)
                return
            except pa.ArrowInvalid:
                pass  # rows up to position.done are out; the rest of the round is read again
            if not (yield from _python_csv(source, position)):
                return
    except (OSError, pa.ArrowException) as error:
        raise UnusableInputError(
            f"{source.path}: unreadable CSV after row {position.done}: {error}"
        ) from error


@dataclass
class _Position:
    offset: int  # byte offset of the record a read starts at
    base: int  # the number of data rows before ``offset``
    done: int  # every row up to this number has been handed out


def _arrow_csv(source: InputFile, position: _Position) -> Iterator[RawBatch]:
    skipped: list[tuple[int, Unparsed]] = []  # rows the parser skipped, in file order

    def invalid(row: pacsv.InvalidRow) -> str:
        if row.number is None:  # cannot be placed: the Python reader takes this part
            return "error"
        text = row.text
        number = position.base + row.number
        skipped.append(
            (
                number,
                Unparsed(
                    number, text, _cells_reason(row.actual_columns, row.expected_columns, text)
                ),
            )
        )
        return "skip"

    hook = sys.unraisablehook

    def quiet(unraisable: sys.UnraisableHookArgs) -> None:
        # pyarrow reports a row text that is not UTF-8 here and then fails the read,
        # which the Python reader recovers from: no traceback on stderr
        if unraisable.object is not invalid:
            hook(unraisable)

    sys.unraisablehook = quiet
    try:
        with pa.OSFile(str(source.path)) as handle:
            handle.seek(position.offset)
            # serial: only then does pyarrow number the rows it skips
            reader = pacsv.open_csv(
                handle,
                read_options=pacsv.ReadOptions(
                    block_size=_CSV_BLOCK, use_threads=False, column_names=list(source.columns)
                ),
                parse_options=pacsv.ParseOptions(
                    invalid_row_handler=invalid, newlines_in_values=True
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.binary() for name in source.columns},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            for batch in reader:
                numbers, placed, last = _place(batch.num_rows, position.done, skipped)
                if batch.num_rows or placed:
                    yield _csv_batch(pa.Table.from_batches([batch]), numbers, placed, last)
                position.done = last
        if skipped:  # rows after the last parsed row
            last = max(position.done, skipped[-1][0])
            yield _csv_batch(_empty(source.columns), [], [u for _, u in skipped], last)
            position.done = last
    finally:
        if sys.unraisablehook is quiet:
            sys.unraisablehook = hook


def _place(
    count: int, after: int, skipped: list[tuple[int, Unparsed]]
) -> tuple[list[int], list[Unparsed], int]:
    """Number ``count`` parsed rows that follow row ``after``, passing over the skipped rows
    among them (the parser reports a row before the batch that follows it); the skipped
    rows placed are taken out of ``skipped``. Returns the numbers, the skipped rows placed
    and the last row number placed."""
    numbers: list[int] = []
    placed: list[Unparsed] = []
    at, taken = after + 1, 0
    while True:
        if taken < len(skipped) and skipped[taken][0] <= at:
            placed.append(skipped[taken][1])
            at = max(at, skipped[taken][0] + 1)
            taken += 1
        elif len(numbers) < count:
            end = at + count - len(numbers)
            if taken < len(skipped):
                end = min(end, skipped[taken][0])
            numbers.extend(range(at, end))
            at = end
        else:
            break
    del skipped[:taken]
    return numbers, placed, at - 1


def _python_csv(source: InputFile, position: _Position) -> Generator[RawBatch, None, bool]:
    """Read from ``position.offset`` with Python's csv module, handing out the rows after
    ``position.done``, on past the rows pyarrow cannot take; returns whether pyarrow can
    resume (at ``position``, moved there) before the end of the file."""
    width = len(source.columns)
    rows: list[list[str]] = []
    numbers: list[int] = []
    unparsed: list[Unparsed] = []
    number, offset, calm, pending = position.base, position.offset, -1, 0
    with open(source.path, "rb") as handle:
        handle.seek(position.offset)
        for cells, data, size in _records(handle):
            offset += size
            if cells == []:
                continue  # a blank line is not a row (pyarrow skips it too)
            number += 1
            if number <= position.done:
                continue  # handed out before pyarrow gave up
            calm = offset + 2 * _CSV_BLOCK if calm < 0 else calm
            stuck = size > _CSV_BLOCK  # longer than a block: pyarrow cannot take it
            if isinstance(cells, list) and len(cells) == width:
                rows.append(cells)
                numbers.append(number)
            else:
                text = _row_text(data)
                reason = (
                    _cells_reason(len(cells), width, text)
                    if isinstance(cells, list)
                    else f"CSV row that cannot be read: {cells}"
                )
                unparsed.append(Unparsed(number, text, reason))
                stuck = stuck or not _is_utf8(data)
            if stuck:
                calm = offset
            pending += size
            position.done = number
            if len(rows) + len(unparsed) >= BATCH_ROWS or pending >= _CSV_BLOCK:
                yield _python_batch(source.columns, rows, numbers, unparsed, number)
                rows, numbers, unparsed, pending = [], [], [], 0
            # a pyarrow round parses a block or two before it hands out a row: resume only
            # after a block clear of rows it stops on (three, if none was seen)
            if offset - calm >= _CSV_BLOCK:
                position.offset, position.base = offset, number
                break
        else:
            offset = -1  # the end of the file
    if rows or unparsed:
        yield _python_batch(source.columns, rows, numbers, unparsed, number)
    return offset >= 0


def _records(handle: BinaryIO) -> Iterator[tuple[list[str] | str, bytes, int]]:
    """Each record from where ``handle`` stands: its cells (or why it cannot be read),
    its bytes with the line ends (the start only, of a line too long to hold) and its
    size in bytes. Cells are decoded with surrogateescape, so encoding them back gives
    the bytes of the file; lines end at LF, CR or CRLF, as for pyarrow."""
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
    lines = _Lines(io.TextIOWrapper(handle, "utf-8", "surrogateescape", newline=""))
    reader = csv.reader(lines)
    while True:
        cells: list[str] | str
        rest = -1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # a field over the limit: the next line starts anew
            cells = str(error)
        except _LineTooLongError:
            cells = f"a line longer than {_FIELD_LIMIT} characters"
            rest = lines.skip_line()
        data = "".join(lines.record).encode("utf-8", "surrogateescape")
        lines.record.clear()
        yield cells, (data if rest < 0 else data[:4096]), len(data) + max(rest, 0)


class _LineTooLongError(Exception):
    pass


class _Lines:
    """The lines of a text stream for csv.reader, none longer than ``_FIELD_LIMIT``
    characters (memory stays bounded), those of the current record kept."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self.text = text
        self.record: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self.text.readline(_FIELD_LIMIT)
        if not line:
            raise StopIteration
        self.record.append(line)
        if len(line) >= _FIELD_LIMIT and not line.endswith(("\n", "\r")):
            raise _LineTooLongError
        return line

    def skip_line(self) -> int:
        """Read past the end of the line, keeping nothing; returns the bytes read."""
        size = 0
        while line := self.text.readline(_FIELD_LIMIT):
            size += len(line.encode("utf-8", "surrogateescape"))
            if line.endswith(("\n", "\r")):
                break
        return size


def _csv_header(path: Path) -> tuple[list[str] | str, int]:
    """The header's cells (or why they cannot be read) and where the data rows start."""
    with open(path, "rb") as handle:
        bom = 3 if handle.read(3) == b"\xef\xbb\xbf" else 0
        handle.seek(bom)
        for cells, data, size in _records(handle):
            return (cells if data.strip() else []), bom + size
    return [], bom


def _row_text(data: bytes) -> str:
    for end in (b"\r\n", b"\n", b"\r"):
        if data.endswith(end):
            data = data[: -len(end)]
            break
    return data.decode("utf-8", "backslashreplace")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _cells_reason(cells: int, header: int, text: str) -> str:
    reason = f"CSV row with {cells} cells where the header has {header}"
    if text.count('"') % 2:  # likely why: a quote left open takes in the line ends after it
        reason += " (it has an unbalanced quote)"
    return reason


def _csv_batch(
    table: pa.Table, numbers: list[int], unparsed: list[Unparsed], last: int
) -> RawBatch:
    if not numbers:
        return RawBatch(table, last + 1, unparsed)
    consecutive = numbers[-1] - numbers[0] + 1 == len(numbers)
    return RawBatch(table, numbers[0], unparsed, None if consecutive else numbers)


def _python_batch(
    columns: tuple[str, ...],
    rows: list[list[str]],
    numbers: list[int],
    unparsed: list[Unparsed],
    last: int,
) -> RawBatch:
    table = pa.table(
        {
            name: pa.array(
                [row[index].encode("utf-8", "surrogateescape") for row in rows], pa.binary()
            )
            for index, name in enumerate(columns)
        }
    )
    return _csv_batch(table, numbers, unparsed, last)


def _empty(columns: tuple[str, ...]) -> pa.Table:
    return pa.table({name: pa.array([], pa.binary()) for name in columns})


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
    if not names:  # objects without keys are rows too (rejected: columns missing)
        table = pa.table({"_": pa.nulls(len(rows))}).select([])
    return RawBatch(table, first, unparsed, numbers)
