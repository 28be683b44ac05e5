"""The scoring commands through the CLI: score, show, check, export snapshot, snapshot
list; their JSON documents and exit codes (DESIGN.md contract)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from socialcredit.cli import create_cli
from socialcredit.policy import PolicyCatalog
from tests.scored import AS_OF, Scored
from tests.scoring.factories import LedgerBook


def _invoke(runner: CliRunner, data: Path, *args: str) -> tuple[int, Any, str]:
    result = runner.invoke(create_cli(), ["--data", str(data), *args, "--json"])
    document = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, document, result.stderr


@pytest.fixture
def data(scored: Scored, tmp_path: Path) -> Path:
    return scored.copy_to(tmp_path / "data")


def _listed(data: Path) -> str:
    current = (data / "snapshots" / "CURRENT").read_text().strip()
    subject: str = pq.read_table(data / "snapshots" / current / "listed.parquet")["subject_id"][
        0
    ].as_py()
    return subject


def test_score_prints_the_contract_document(runner: CliRunner, data: Path) -> None:
    code, document, _ = _invoke(runner, data, "score", "--as-of", AS_OF.isoformat())
    assert code == 0
    assert isinstance(document, dict)
    assert {"snapshot", "subjects", "as_of", "seconds"} <= set(document)
    assert document["as_of"] == "2026-06-30"
    code, listed, _ = _invoke(runner, data, "snapshot", "list")
    assert code == 0
    assert isinstance(listed, list)
    assert listed[0]["snapshot"] == document["snapshot"]
    assert listed[0]["current"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--as-of", "2026-13-01"), "not a date"),
        (("--ledger-as-of", "yesterday"), "not a timestamp"),
        (("--ledger-as-of", "2999-01-01T00:00:00Z"), "in the future"),
    ],
)
def test_score_refuses_bad_dates(
    runner: CliRunner, data: Path, args: tuple[str, ...], message: str
) -> None:
    code, document, error = _invoke(runner, data, "score", *args)
    assert (code, document) == (2, {})
    assert message in error


def test_score_without_a_ledger_says_init(runner: CliRunner, tmp_path: Path) -> None:
    code, _, error = _invoke(runner, tmp_path / "none", "score")
    assert code == 2
    assert "init` first" in error


def test_check_denies_a_discredited_subject_with_the_record_behind_it(
    runner: CliRunner, data: Path
) -> None:
    subject = _listed(data)
    code, document, _ = _invoke(runner, data, "check", subject, "transport.flight")
    assert code == 1
    assert isinstance(document, dict)
    assert document["allowed"] is False
    assert document["measure"] == "transport.flight"
    assert document["reasons"] == ["listed:discredited"]
    assert document["records"]
    assert "score" not in json.dumps(document)
    code, document, _ = _invoke(runner, data, "check", subject, "platform.free_search")
    assert code == 1
    assert document["reasons"] == ["not_eligible"]


def test_check_allows_an_ordinary_subject(runner: CliRunner, data: Path, scored: Scored) -> None:
    table = scored.snapshot.subject_table(["subject_id", "lists"])
    ordinary = next(
        s
        for s, lists in zip(
            table["subject_id"].to_pylist(), table["lists"].to_pylist(), strict=True
        )
        if not lists
    )
    code, document, _ = _invoke(runner, data, "check", ordinary, "transport.high_speed_rail")
    assert (code, document["allowed"], document["reasons"]) == (0, True, ["not_restricted"])


@pytest.mark.parametrize(
    ("subject", "measure", "message"),
    [
        ("110101198001010000", "transport.flight", "no subject"),
        (None, "transport.teleport", "unknown measure"),
    ],
)
def test_check_errors_exit_2(
    runner: CliRunner, data: Path, subject: str | None, measure: str, message: str
) -> None:
    code, document, error = _invoke(runner, data, "check", subject or _listed(data), measure)
    assert (code, document) == (2, {})
    assert message in error


def test_show_explains_and_text_output_names_the_records(runner: CliRunner, data: Path) -> None:
    subject = _listed(data)
    code, document, _ = _invoke(runner, data, "show", subject)
    assert code == 0
    assert isinstance(document, dict)
    assert document["lists"] == ["discredited"]
    assert set(document["ranks"]) == {"national", "province", "city", "region"}
    assert any(r["record_type"] == "court.judgment_default" for r in document["counted"])
    result = runner.invoke(create_cli(), ["--data", str(data), "show", subject])
    assert result.exit_code == 0
    assert "court.judgment_default" in result.stdout
    assert "transport.flight: no" in result.stdout
    code, _, error = _invoke(runner, data, "show", "110101198001010000")
    assert code == 1
    assert "no subject" in error


def test_export_snapshot_has_the_contract_columns(
    runner: CliRunner, data: Path, tmp_path: Path, scored: Scored
) -> None:
    out = tmp_path / "out" / "snapshot.parquet"
    code, document, _ = _invoke(runner, data, "export", "snapshot", "--out", str(out))
    assert code == 0
    table = pq.read_table(out)
    assert table.column_names[:10] == [
        "subject_id",
        "kind",
        "region",
        "score",
        "grade",
        "lists",
        "national_rank",
        "national_percentile",
        "region_rank",
        "region_percentile",
    ]
    assert table.num_rows == len(scored.snapshot) == document["rows"]
    assert set(table["kind"].to_pylist()) == {"person", "organisation"}
    assert not list(out.parent.glob(".*tmp"))


def test_commands_without_a_snapshot_say_score_first(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert runner.invoke(create_cli(), ["--data", str(data), "init"]).exit_code == 0
    code, _, error = _invoke(runner, data, "check", "110101198001010000", "transport.flight")
    assert code == 2
    assert "socialcredit score" in error
    code, listed, _ = _invoke(runner, data, "snapshot", "list")
    assert (code, listed) == (0, [])


def test_an_internal_error_exits_2_never_the_denied_code(data: Path) -> None:
    import subprocess
    import sys

    current = (data / "snapshots" / "CURRENT").read_text().strip()
    (data / "snapshots" / current / "decisions.json").write_text('{"shape"')
    command = [sys.executable, "-m", "socialcredit", "--data", str(data), "check"]
    result = subprocess.run(
        [*command, _listed(data), "transport.flight", "--json"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "internal error" in result.stderr


def test_show_prints_record_ids_that_look_like_markup(
    runner: CliRunner, tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    book = LedgerBook(tmp_path / "data", shipped_catalog)
    subject = book.person()
    book.record(subject, "traffic.violation", "2026-05-01", record_id="/2026/0043")
    book.record(subject, "traffic.violation", "2026-05-02", record_id="bold")
    book.score(AS_OF)
    result = runner.invoke(create_cli(), ["--data", str(book.data), "show", subject])
    assert result.exit_code == 0, result.output
    assert "[/2026/0043]" in result.stdout
    assert "[bold]" in result.stdout
