from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa

from socialcredit.ledger import Ledger
from socialcredit.ledger.quarantine import Quarantine, _json_value


def test_rows_written_column_by_column_read_as_json_dumps_writes_them(tmp_path: Path) -> None:
    ledger, _ = Ledger.init(tmp_path)
    table = pa.table(
        {
            "record_id": pa.array([b'a"b\\c', b"\xff\xfe bad", None, "中文\n\t".encode()]),
            "occurred_on": pa.array([dt.date(2024, 1, 2), None, dt.date(1949, 10, 1), None]),
            "amount": pa.array([1.5, None, 1e300, -0.0]),
            "note": pa.array(["=cmd()", "\u2028", "", None]),
        }
    )
    reasons = [["x: bad"], ["x: bad", 'y: "quoted"'], [], ["x: bad"]]
    quarantine = Quarantine(ledger, "b1")
    quarantine.write_rows(Path("in.csv"), [1, 2, None, 40], reasons, table)
    quarantine.write_rows(Path("empty.jsonl"), [7], [["no keys"]], pa.table({}))
    # (split on newlines only: U+2028 in a cell is no line break for JSON Lines)
    written = Path(str(quarantine.publish())).read_text(encoding="utf-8").split("\n")[:-1]
    expected = [
        json.dumps(
            {"file": "in.csv", "row": row, "reasons": why, "content": content},
            ensure_ascii=False,
            default=_json_value,
        )
        for row, why, content in zip([1, 2, None, 40], reasons, table.to_pylist(), strict=True)
    ] + ['{"file": "empty.jsonl", "row": 7, "reasons": ["no keys"], "content": {}}']
    assert written == expected
    assert json.loads(written[1])["content"]["record_id"] == "\\xff\\xfe bad"


def test_column_names_with_braces_or_repeated_are_written_as_json_dumps_would(
    tmp_path: Path,
) -> None:
    ledger, _ = Ledger.init(tmp_path)
    table = pa.Table.from_arrays(
        [pa.array([b"1"]), pa.array(["x"]), pa.array([b"2"]), pa.array(["y"])],
        names=["a", "{x}", "a", "}{0}"],
    )
    quarantine = Quarantine(ledger, "b2")
    quarantine.write_rows(Path("in.csv"), [3], [["bad"]], table)
    written = Path(str(quarantine.publish())).read_text(encoding="utf-8").split("\n")[:-1]
    content = {"a": "1", "{x}": "x"} | {"a": "2", "}{0}": "y"}  # a dict keeps the last
    assert written == [
        json.dumps(
            {"file": "in.csv", "row": 3, "reasons": ["bad"], "content": content},
            ensure_ascii=False,
        )
    ]
