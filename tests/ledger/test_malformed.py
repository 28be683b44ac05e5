"""Malformed input never crashes an ingest, and every row is accounted for."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import socialcredit.ledger.readers as readers_module
from socialcredit.ledger import (
    RECORDS,
    IngestSummary,
    Ledger,
    UnusableInputError,
    open_input,
    run_batch,
)
from socialcredit.policy import PolicyCatalog

HEADER = "record_id,subject_id,record_type,occurred_on,authority,jurisdiction,decision_ref,amount"
VALID_ROW = [
    "r-1",
    "11010519491231002X",
    "court.judgment_default",
    "2024-01-05",
    "北京市朝阳区人民法院",
    "110105",
    "(2024)京0105执1号",
    "",
]
nasty_cells = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["=cmd()", "+SUM(A1)", "@x", '"', '""', "a,b", "line\nbreak", "\x00", "  ", "2024-02-30"]
    ),
    st.binary(max_size=12).map(lambda b: b.decode("latin-1")),
)
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _run(ledger: Ledger, catalog: PolicyCatalog, path: Path) -> IngestSummary | None:
    try:
        return run_batch(
            ledger, RECORDS, [open_input(path)], catalog=catalog, register_unknown=True
        )
    except UnusableInputError as error:
        # an unusable file is refused with a message naming it, not a crash
        if str(path) not in str(error):
            raise AssertionError(f"message without the file: {error}") from error
        return None


def _check_accounting(ledger: Ledger, summary: IngestSummary, rows_read: int | None) -> None:
    if rows_read is not None:
        assert summary.accepted + summary.rejected + summary.duplicates == rows_read
    lines: list[dict[str, object]] = []
    if summary.quarantine:
        with open(summary.quarantine, encoding="utf-8") as handle:
            lines = [json.loads(line) for line in handle]
    assert len(lines) == summary.rejected
    for line in lines:
        reasons = line["reasons"]
        assert isinstance(reasons, list)
        assert reasons
        for reason in reasons:
            assert isinstance(reason, str)
            # "<field>: <why>", or a whole-row reason of the format (CSV cells, JSON line)
            assert ": " in reason or reason.startswith(("CSV row", "not valid", "a JSON line"))
    stored = ledger.table(RECORDS).to_pyarrow_table().num_rows
    assert stored >= summary.accepted


@SETTINGS
@given(rows=st.lists(st.lists(nasty_cells, min_size=6, max_size=10), max_size=8))
def test_csv_cells_of_any_shape(
    rows: list[list[str]], tmp_path_factory: pytest.TempPathFactory, shipped_catalog: PolicyCatalog
) -> None:
    root = tmp_path_factory.mktemp("csv")
    ledger, _ = Ledger.init(root / "data")
    body = [",".join(VALID_ROW)]
    for cells in rows:
        body.append(",".join(_quote(c) for c in cells))
    path = root / "in.csv"
    path.write_bytes((HEADER + "\n" + "\n".join(body) + "\n").encode("utf-8", "surrogateescape"))
    summary = _run(ledger, shipped_catalog, path)
    if summary is not None:
        _check_accounting(ledger, summary, None)
        assert summary.accepted + summary.rejected + summary.duplicates >= 1


@SETTINGS
@given(
    lines=st.lists(
        st.one_of(
            st.builds(
                lambda cells: json.dumps(dict(zip(HEADER.split(","), cells, strict=True))),
                st.lists(nasty_cells, min_size=8, max_size=8),
            ),
            st.sampled_from(["[1, 2]", "{", "null", '"text"', '{"record_id": 5}', "{}"]),
            st.binary(max_size=20).map(lambda b: b.decode("latin-1")),
        ),
        max_size=10,
    )
)
@example(lines=["\x1c", "\u2028", " \t"])  # not blank for JSON Lines, except the last
def test_json_lines_of_any_shape(
    lines: list[str], tmp_path_factory: pytest.TempPathFactory, shipped_catalog: PolicyCatalog
) -> None:
    root = tmp_path_factory.mktemp("jsonl")
    ledger, _ = Ledger.init(root / "data")
    valid = json.dumps(dict(zip(HEADER.split(","), VALID_ROW, strict=True)), ensure_ascii=False)
    text = "\n".join([valid, *(line.replace("\n", " ") for line in lines)]) + "\n"
    path = root / "in.jsonl"
    content = text.encode("utf-8", "surrogateescape")
    path.write_bytes(content)
    # blank lines hold ASCII whitespace only: a line of "\x1c" or "\u2028" is a bad row
    expected = sum(1 for line in content.split(b"\n") if line.strip())
    summary = _run(ledger, shipped_catalog, path)
    if summary is not None:
        _check_accounting(ledger, summary, expected)


@pytest.mark.parametrize(
    "columns",
    [
        {"occurred_on": pa.array([20240105, 1]), "amount": pa.array(["1e999", "x"])},
        {"subject_id": pa.array([11010519491231002, 7]), "jurisdiction": pa.array([110105, -1])},
        {
            "occurred_on": pa.array([b"\xff\xfe", b"2024-01-05"]),
            "record_type": pa.array([None, "?"]),
        },
    ],
)
def test_parquet_columns_of_the_wrong_type(
    columns: dict[str, pa.Array], tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    ledger, _ = Ledger.init(tmp_path / "data")
    base = {
        name: pa.array([value, value])
        for name, value in zip(HEADER.split(","), VALID_ROW, strict=True)
    }
    base["record_id"] = pa.array(["a", "b"])
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table(base | columns), path)
    summary = _run(ledger, shipped_catalog, path)
    assert summary is not None
    _check_accounting(ledger, summary, 2)


def test_a_ten_megabyte_field_is_quarantined_not_stored(
    tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    ledger, _ = Ledger.init(tmp_path / "data")
    huge = "x" * (10 << 20)
    row = list(VALID_ROW)
    row[4] = huge
    path = tmp_path / "in.csv"
    path.write_text(
        HEADER + "\n" + ",".join(row) + "\n" + ",".join(VALID_ROW).replace("r-1", "r-2") + "\n",
        encoding="utf-8",
    )
    summary = _run(ledger, shipped_catalog, path)
    assert summary is not None
    assert (summary.accepted, summary.rejected) == (1, 1)
    _check_accounting(ledger, summary, 2)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (HEADER.replace("amount", "record_id").encode() + b"\n", "duplicate columns"),
        (b"record_id\nx\n", "missing required columns"),
    ],
)
def test_unusable_csv_files_are_refused(
    content: bytes, message: str, tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    ledger, _ = Ledger.init(tmp_path / "data")
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    with pytest.raises(UnusableInputError, match=message):
        run_batch(ledger, RECORDS, [open_input(path)], catalog=shipped_catalog)


def test_header_only_and_truncated_files(tmp_path: Path, shipped_catalog: PolicyCatalog) -> None:
    ledger, _ = Ledger.init(tmp_path / "data")
    header_only = tmp_path / "h.csv"
    header_only.write_text(HEADER + "\n", encoding="utf-8")
    summary = _run(ledger, shipped_catalog, header_only)
    assert summary is not None
    assert (summary.accepted, summary.rejected, summary.duplicates) == (0, 0, 0)
    truncated = tmp_path / "t.csv"
    truncated.write_text(HEADER + "\n" + ",".join(VALID_ROW) + '\n"r-2,1101', encoding="utf-8")
    summary = _run(ledger, shipped_catalog, truncated)
    assert summary is not None
    assert (summary.accepted, summary.rejected) == (1, 1)
    _check_accounting(ledger, summary, 2)


def _quote(cell: str) -> str:
    if any(c in cell for c in ',"\n\r'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def test_json_objects_without_keys_are_rows(
    tmp_path: Path, shipped_catalog: PolicyCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk whose every object is {} still counts its rows (rejected: no columns)."""
    monkeypatch.setattr(readers_module, "BATCH_ROWS", 2)
    ledger, _ = Ledger.init(tmp_path / "data")
    valid = dict(zip(HEADER.split(","), VALID_ROW, strict=True))
    lines = [json.dumps(valid), json.dumps(valid | {"record_id": "r-2"}), "{}", "{}"]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = _run(ledger, shipped_catalog, path)
    assert summary is not None
    assert (summary.accepted, summary.rejected) == (2, 2)
    _check_accounting(ledger, summary, 4)
