from __future__ import annotations

import json

from typer.testing import CliRunner

from socialcredit.cli import create_cli


def test_validate_json_contract(runner: CliRunner) -> None:
    result = runner.invoke(
        create_cli(), ["id", "validate", "--json", "11010519491231002X", "91110000600037341L"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [(d["id"], d["valid"], d["kind"], d["reason"]) for d in document] == [
        ("11010519491231002X", True, "person", None),
        ("91110000600037341L", True, "organisation", None),
    ]


def test_any_invalid_code_exits_1_with_reasons(runner: CliRunner) -> None:
    result = runner.invoke(
        create_cli(), ["id", "validate", "--json", "11010519491231002X", "1101051949123100"]
    )
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document[1]["valid"] is False
    assert document[1]["reason"] == "length: expected 18 characters, got 16"


def test_codes_from_stdin(runner: CliRunner) -> None:
    result = runner.invoke(
        create_cli(),
        ["id", "validate", "--json", "-"],
        input="11010519491231002x\n\n91110000600037341L\n",
    )
    assert result.exit_code == 0
    assert [d["normalised"] for d in json.loads(result.stdout)] == [
        "11010519491231002X",
        "91110000600037341L",
    ]


def test_human_output_names_the_reason(runner: CliRunner) -> None:
    result = runner.invoke(create_cli(), ["id", "validate", "91110000600037341O"])
    assert result.exit_code == 1
    assert "bad character 'O'" in result.stdout


def test_undecodable_stdin_and_bom_are_handled(runner: CliRunner) -> None:
    result = runner.invoke(
        create_cli(),
        ["id", "validate", "--json", "-"],
        input=b"\xef\xbb\xbf11010519491231002X \r\n\xff1\n",
    )
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document[0]["valid"] is True
    assert document[1]["reason_code"] == "bad_character"


def test_non_utf8_argument_is_a_bad_character(runner: CliRunner) -> None:
    code = b"\xff1010519491231002X".decode("utf-8", "surrogateescape")
    result = runner.invoke(create_cli(), ["id", "validate", "--json", code])
    assert result.exit_code == 1
    assert json.loads(result.stdout)[0]["reason_code"] == "bad_character"
