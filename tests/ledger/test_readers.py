"""CSV reading: exact row numbers around skipped rows, and rows pyarrow cannot take.

Row numbers count the data rows after the header from 1; blank lines are not rows.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import socialcredit.ledger.readers as readers
from socialcredit.ledger import RECORDS, Ledger, UnusableInputError, open_input, run_batch
from socialcredit.ledger.readers import RawBatch
from socialcredit.policy import PolicyCatalog

HEADER = b"record_id,subject_id,record_type,occurred_on,authority,jurisdiction,decision_ref,amount"
WIDTH = 8


def _record(record_id: str) -> bytes:
    cells = [
        record_id,
        "11010519491231002X",
        "court.judgment_default",
        "2024-01-05",
        "北京市朝阳区人民法院",
        "110105",
        f"(2024)京0105执{record_id}号",
        "",
    ]
    return ",".join(cells).encode()


Rows = dict[int, tuple[bytes, ...]]
Skipped = dict[int, str]


def _read(batches: Iterator[RawBatch]) -> tuple[Rows, Skipped]:
    """Every row by its number, and every unparsed row's text by its number."""
    rows: Rows = {}
    skipped: Skipped = {}
    for raw in batches:
        for index, row in enumerate(raw.table.to_pylist()):
            number = raw.row_number(index)
            assert number not in rows
            rows[number] = tuple(row.values())
        for unparsed in raw.unparsed:
            assert unparsed.row is not None  # CSV rows are always numbered
            assert unparsed.row not in skipped
            skipped[unparsed.row] = unparsed.text
    return rows, skipped


def _read_file(path: Path, content: bytes) -> tuple[Rows, Skipped]:
    path.write_bytes(content)
    return _read(readers.batches(open_input(path)))


def test_rows_after_skipped_rows_keep_their_numbers(tmp_path: Path) -> None:
    lines = [b"a,b", b"1,2", b"short", b"3,4", b"5,6,7", b"too,many,cells", b"8,9", b"", b"10,11"]
    rows, skipped = _read_file(tmp_path / "in.csv", b"\n".join(lines) + b"\n")
    assert rows == {1: (b"1", b"2"), 3: (b"3", b"4"), 6: (b"8", b"9"), 7: (b"10", b"11")}
    assert skipped == {2: "short", 4: "5,6,7", 5: "too,many,cells"}


def test_row_numbers_stay_exact_across_blocks_and_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "_CSV_BLOCK", 64)
    monkeypatch.setattr(readers, "BATCH_ROWS", 5)
    body = [b"%d,%d" % (n, n) if n % 7 else b"bad row %d" % n for n in range(1, 200)]
    rows, skipped = _read_file(tmp_path / "in.csv", b"\n".join([b"a,b", *body]) + b"\n")
    assert rows == {n: (b"%d" % n, b"%d" % n) for n in range(1, 200) if n % 7}
    assert skipped == {n: f"bad row {n}" for n in range(7, 200, 7)}


def test_wrong_cell_count_and_invalid_utf8_is_quarantined_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    content = b"a,b\n1,2\nbad\xff\xfe row\n3,\xff4\n\n5,6,\xc3\n7,8"
    rows, skipped = _read_file(tmp_path / "in.csv", content)
    assert rows == {1: (b"1", b"2"), 3: (b"3", b"\xff4"), 5: (b"7", b"8")}
    assert skipped == {2: "bad\\xff\\xfe row", 4: "5,6,\\xc3"}
    assert unraisable == []  # pyarrow's failure to decode the row is not printed
    assert sys.unraisablehook == unraisable.append  # and the hook is put back


@pytest.mark.parametrize("short", [b"", b"short\r\n"])
def test_bom_crlf_quoted_line_break_and_no_final_line_end(short: bytes, tmp_path: Path) -> None:
    content = (
        b'\xef\xbb\xbf"a",b\r\n1,2\r\n"multi\r\nline",3\r\n' + short + b'"x""y",4\r\n\r\n5,"six"'
    )
    path = tmp_path / "in.csv"
    rows, skipped = _read_file(path, content)
    after = 1 if short else 0  # the rows after a skipped row keep their own numbers
    assert rows == {
        1: (b"1", b"2"),
        2: (b"multi\r\nline", b"3"),
        3 + after: (b'x"y', b"4"),
        4 + after: (b"5", b"six"),
    }
    assert skipped == ({3: "short"} if short else {})
    assert open_input(path).columns == ("a", "b")


def test_lines_ended_by_cr_alone(tmp_path: Path) -> None:
    rows, skipped = _read_file(tmp_path / "in.csv", b"a,b\r1,2\rx\r\r3,4\r")
    assert rows == {1: (b"1", b"2"), 3: (b"3", b"4")}
    assert skipped == {2: "x"}


def test_a_line_too_long_to_hold_is_quarantined_in_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "_CSV_BLOCK", 64)
    monkeypatch.setattr(readers, "_FIELD_LIMIT", 100)
    body = [b"%d,%d" % (n, n) for n in range(1, 30)]
    body[9] = b"10," + b"y" * 5000  # longer than the block and the line limit
    path = tmp_path / "in.csv"
    path.write_bytes(b"\n".join([b"a,b", *body]) + b"\n")
    out = list(readers.batches(open_input(path)))
    rows, _ = _read(iter(out))
    assert rows == {n: (b"%d" % n, b"%d" % n) for n in range(1, 30) if n != 10}
    [unparsed] = [u for raw in out for u in raw.unparsed]
    assert unparsed.reason == "CSV row that cannot be read: a line longer than 100 characters"
    assert unparsed.text == "10," + "y" * 97


def test_a_quoted_field_over_the_limit_is_quarantined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "_CSV_BLOCK", 64)
    monkeypatch.setattr(readers, "_FIELD_LIMIT", 100)
    previous = csv.field_size_limit(100)
    try:
        body = [b"%d,%d" % (n, n) for n in range(1, 30)]
        body[9] = b'10,"' + b"z\n" * 100 + b'"'  # short lines, one long quoted field
        path = tmp_path / "in.csv"
        path.write_bytes(b"\n".join([b"a,b", *body]) + b"\n")
        out = list(readers.batches(open_input(path)))
    finally:
        csv.field_size_limit(previous)
    rows, skipped = _read(iter(out))
    assert {n: rows[n] for n in range(1, 10)} == {n: (b"%d" % n, b"%d" % n) for n in range(1, 10)}
    reason = "CSV row that cannot be read: field larger than field limit (100)"
    assert [u.reason for raw in out for u in raw.unparsed if u.row == 10] == [reason]
    # past the limit the lines are read anew (the quote is lost): all accounted for, in order
    assert sorted([*rows, *skipped]) == list(range(1, len(rows) + len(skipped) + 1))


def test_an_unreadable_header_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "_FIELD_LIMIT", 100)
    path = tmp_path / "in.csv"
    path.write_bytes(b"a," * 100 + b"\n1,2\n")
    with pytest.raises(UnusableInputError, match="the header cannot be read"):
        open_input(path)


def test_an_unbalanced_quote_runs_to_the_end_and_is_numbered(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b'a,b,c\n1,2,3\n"4,5\n6,7,8\n')
    [raw] = readers.batches(open_input(path))
    assert [u.row for u in raw.unparsed] == [2]
    assert raw.unparsed[0].reason == (
        "CSV row with 1 cells where the header has 3 (it has an unbalanced quote)"
    )


def test_a_row_longer_than_a_block_is_read_by_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "_CSV_BLOCK", 256)
    long = b"x" * 1000
    body = [b"%d,%d" % (n, n) for n in range(1, 120)]
    body[40] = b"41," + long
    body[80] = b"81,\xff," + long  # wrong cell count, not UTF-8 and long
    rows, skipped = _read_file(tmp_path / "in.csv", b"\n".join([b"a,b", *body]) + b"\n")
    expected = {n: (b"%d" % n, b"%d" % n) for n in range(1, 120) if n != 81}
    expected[41] = (b"41", long)
    assert rows == expected
    assert skipped == {81: "81,\\xff," + "x" * 1000}


def test_pyarrow_failing_midway_hands_out_no_row_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "_CSV_BLOCK", 100)
    body = [b"%d,%d" % (n, n) for n in range(1, 500)]
    for n in (3, 4, 150, 151, 152, 498):  # at the start, in runs, near the end
        body[n - 1] = b"bad\xff%d" % n
    rows, skipped = _read_file(tmp_path / "in.csv", b"\n".join([b"a,b", *body]))
    assert sorted(skipped) == [3, 4, 150, 151, 152, 498]
    assert rows == {n: (b"%d" % n, b"%d" % n) for n in range(1, 500) if n not in skipped}


def test_ingest_quarantines_the_bad_rows_with_their_numbers(
    tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    ledger, _ = Ledger.init(tmp_path / "data")
    path = tmp_path / "in.csv"
    lines = [HEADER, _record("r-1"), b"r-2,\xff", _record("r-3"), b"r-4,x", _record("r-5")]
    path.write_bytes(b"\n".join(lines) + b"\n")
    summary = run_batch(
        ledger, RECORDS, [open_input(path)], catalog=shipped_catalog, register_unknown=True
    )
    assert (summary.accepted, summary.rejected, summary.duplicates) == (3, 2, 0)
    assert summary.quarantine is not None
    quarantined = [
        json.loads(line) for line in Path(summary.quarantine).read_text("utf-8").splitlines()
    ]
    assert [(q["row"], q["content"]) for q in quarantined] == [(2, "r-2,\\xff"), (4, "r-4,x")]
    assert quarantined[0]["reasons"] == [f"CSV row with 2 cells where the header has {WIDTH}"]


def _csv_bytes(rows: list[list[str]], line_end: str) -> bytes:
    return (line_end.join(",".join(cells) for cells in rows)).encode("utf-8", "surrogateescape")


# cells of any shape, quoted or not, well formed or not
_cell = st.one_of(
    st.text(alphabet='ab,"\r\n\udcff é', max_size=6),
    st.sampled_from(['""', '"a,b"', '"x""y"', '"open', 'mid"quote', '"a"b']),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(_cell, min_size=1, max_size=4), max_size=8),
    line_end=st.sampled_from(["\n", "\r\n", "\r"]),
    final=st.booleans(),
)
@example(rows=[["a", '"x\r\ny"'], ["b", "c"]], line_end="\r\n", final=False)
def test_the_fallback_reads_as_pyarrow_does(
    rows: list[list[str]], line_end: str, final: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Python's csv module finds the same rows, cells and numbers as pyarrow, so that
    numbers stay exact when the reading passes from one to the other."""
    path = tmp_path_factory.mktemp("csv") / "in.csv"
    path.write_bytes(
        b"a,b,c"
        + line_end.encode()
        + _csv_bytes(rows, line_end)
        + (line_end.encode() if final else b"")
    )
    source = open_input(path)
    start = readers._csv_header(path)[1]
    try:
        arrow = _read(readers._arrow_csv(source, readers._Position(start, 0, 0)))
    except pa.ArrowInvalid:
        assume(False)  # pyarrow gives up on a row with the wrong cells that is not UTF-8
        raise
    python = _read(readers._python_csv(source, readers._Position(start, 0, 0)))
    assert python == arrow
