from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from socialcredit.cli import create_cli
from socialcredit.ledger import RECORDS, Ledger


def _invoke(runner: CliRunner, data: Path, *args: str) -> tuple[int, dict[str, object], str]:
    result = runner.invoke(create_cli(), ["--data", str(data), *args, "--json"])
    document = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, document, result.stderr


def test_init_is_idempotent(runner: CliRunner, data_dir: Path) -> None:
    code, first, _ = _invoke(runner, data_dir, "init")
    assert (code, first["created"]) == (0, True)
    code, again, _ = _invoke(runner, data_dir, "init")
    assert (code, again["created"]) == (0, False)
    assert (data_dir / "ledger" / "records" / "_delta_log").is_dir()


def test_commands_need_an_initialised_ledger(
    runner: CliRunner, data_dir: Path, generated: Path
) -> None:
    code, document, error = _invoke(runner, data_dir, "ingest", str(generated / "records.parquet"))
    assert code == 2
    assert document == {}
    assert "init` first" in error


def test_register_then_ingest_exit_codes_and_summaries(
    runner: CliRunner, data_dir: Path, generated: Path, tmp_path: Path
) -> None:
    assert _invoke(runner, data_dir, "init")[0] == 0
    code, registered, _ = _invoke(runner, data_dir, "register", str(generated / "subjects.parquet"))
    subjects = pq.read_metadata(generated / "subjects.parquet").num_rows
    assert code == 0
    assert {k: registered[k] for k in ("registered", "rejected", "duplicates", "quarantine")} == {
        "registered": subjects,
        "rejected": 0,
        "duplicates": 0,
        "quarantine": None,
    }
    records = generated / "records.parquet"
    code, summary, _ = _invoke(runner, data_dir, "ingest", str(records), "--source", "test")
    rows = pq.read_metadata(records).num_rows
    assert (code, summary["accepted"], summary["rejected"]) == (0, rows, 0)
    # a CSV with one bad row: exit 3, the rest accepted, the bad row quarantined
    table = pq.read_table(records).slice(0, 3).to_pylist()
    csv = tmp_path / "more.csv"
    lines = ["record_id,subject_id,record_type,occurred_on,authority,jurisdiction,decision_ref"]
    for index, row in enumerate(table):
        lines.append(
            f"new-{index},{row['subject_id']},{row['record_type']},"
            f"{'2024-13-01' if index == 1 else row['occurred_on']},{row['authority']},"
            f"{row['jurisdiction']},{row['decision_ref'] or ''}"
        )
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, summary, _ = _invoke(runner, data_dir, "ingest", str(csv))
    assert (code, summary["accepted"], summary["rejected"], summary["duplicates"]) == (3, 2, 1, 0)
    quarantined = Path(str(summary["quarantine"])).read_text(encoding="utf-8").splitlines()
    assert json.loads(quarantined[0])["reasons"] == [
        "occurred_on: '2024-13-01' is not a date (YYYY-MM-DD)"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("record_id,subject_id\nr1,x\n", "missing required columns: record_type, occurred_on"),
        ("", "the file is empty"),
        ("record_id,record_id,subject_id\n", "duplicate columns in the header: record_id"),
    ],
)
def test_unusable_files_exit_2_and_ingest_nothing(
    runner: CliRunner, data_dir: Path, tmp_path: Path, content: str, message: str
) -> None:
    assert _invoke(runner, data_dir, "init")[0] == 0
    path = tmp_path / "in.csv"
    path.write_text(content, encoding="utf-8")
    code, document, error = _invoke(runner, data_dir, "ingest", str(path))
    assert code == 2
    assert document == {}
    assert message in error


def test_format_by_extension_or_forced(
    runner: CliRunner, data_dir: Path, generated: Path, tmp_path: Path
) -> None:
    assert _invoke(runner, data_dir, "init")[0] == 0
    odd = tmp_path / "subjects.data"
    shutil.copy(generated / "subjects.parquet", odd)
    code, _, error = _invoke(runner, data_dir, "register", str(odd))
    assert code == 2
    assert "cannot tell the format from the extension '.data'" in error
    code, document, _ = _invoke(runner, data_dir, "register", str(odd), "--format", "parquet")
    assert (code, document["rejected"]) == (0, 0)


def test_stats_and_compact_keep_the_content(
    runner: CliRunner, data_dir: Path, generated: Path, tmp_path: Path
) -> None:
    assert _invoke(runner, data_dir, "init")[0] == 0
    assert _invoke(runner, data_dir, "register", str(generated / "subjects.parquet"))[0] == 0
    records = pq.read_table(generated / "records.parquet")
    for part in range(3):  # three small batches: three files
        path = tmp_path / f"part{part}.parquet"
        pq.write_table(records.slice(part * 100, 100), path)
        assert _invoke(runner, data_dir, "ingest", str(path))[0] == 0
    code, stats, _ = _invoke(runner, data_dir, "ledger", "stats")
    assert code == 0
    assert stats["records"]["rows"] == 300  # type: ignore[index]
    assert stats["records"]["versions"] == 4  # type: ignore[index]
    assert stats["records"]["files"] == 3  # type: ignore[index]
    assert stats["records"]["bytes"] > 0  # type: ignore[index]
    before = sorted(
        Ledger.open(data_dir).table(RECORDS).to_pyarrow_table().column("record_id").to_pylist()
    )
    code, compacted, _ = _invoke(runner, data_dir, "ledger", "compact")
    assert code == 0
    assert compacted["records"]["files_removed"] == 3  # type: ignore[index]
    code, stats, _ = _invoke(runner, data_dir, "ledger", "stats")
    assert stats["records"]["files"] == 1  # type: ignore[index]
    assert stats["records"]["rows"] == 300  # type: ignore[index]
    ledger = Ledger.open(data_dir)
    after = sorted(ledger.table(RECORDS).to_pyarrow_table().column("record_id").to_pylist())
    assert after == before
    # the compaction added no keys: the same rows are still duplicates, counted once
    assert ledger.key_index(RECORDS).rows == 300
    code, summary, _ = _invoke(runner, data_dir, "ingest", str(tmp_path / "part0.parquet"))
    assert (code, summary["duplicates"]) == (0, 100)
