"""Hand-written cases for ``socialcredit.identity.validate``."""

from __future__ import annotations

import datetime as dt

import pytest

from socialcredit.identity import Reason, validate
from tests.factories import TODAY, make_resident_id, make_uscc


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("11010519491231002X", "person"),
        ("34052419800101001X", "person"),
        ("91110000600037341L", "organisation"),
    ],
)
def test_reference_codes_are_valid(code: str, kind: str) -> None:
    result = validate(code, today=TODAY)
    assert result.valid, result.message
    assert result.kind == kind
    assert result.reason is None
    assert result.code == code


def test_lowercase_x_is_normalised() -> None:
    result = validate("11010519491231002x", today=TODAY)
    assert result.valid
    assert result.code == "11010519491231002X"


def test_region_outside_the_table_is_a_warning_not_an_error() -> None:
    result = validate("34052419800101001X", today=TODAY)
    assert result.valid
    assert any("340524" in warning for warning in result.warnings)


@pytest.mark.parametrize(
    ("code", "reason", "words"),
    [
        ("110105194912310021", Reason.BAD_CHECK_CHARACTER, "expected 'X'"),
        ("34052419800101001Y", Reason.BAD_CHECK_CHARACTER, "expected 'X'"),
        ("91110000600037341M", Reason.BAD_CHECK_CHARACTER, "expected 'L'"),
        ("11010519490231002X", Reason.BAD_DATE, "19490231 is not a real date"),
        ("9111000060003734OL", Reason.BAD_CHARACTER, "'O' at position 17"),
        ("91110000600037341O", Reason.BAD_CHARACTER, "'O' at position 18"),
        ("11010519491231002", Reason.LENGTH, "got 17"),
        ("11010519491231002X1", Reason.LENGTH, "got 19"),
        ("9111000060003734L", Reason.LENGTH, "got 17"),
        ("", Reason.MISSING, "missing"),
        (None, Reason.MISSING, "missing"),
        ("1101051949123100２X", Reason.BAD_CHARACTER, "ASCII"),
    ],
)
def test_invalid_codes_name_the_reason(code: str | None, reason: Reason, words: str) -> None:
    result = validate(code, today=TODAY)
    assert not result.valid
    assert result.reason == reason
    assert result.message is not None
    assert words in result.message


def test_unknown_province_prefix_is_invalid() -> None:
    code = make_resident_id("991234", dt.date(1980, 1, 1), 1)
    result = validate(code, kind="person", today=TODAY)
    assert result.reason == Reason.UNKNOWN_REGION
    assert "99" in (result.message or "")


@pytest.mark.parametrize(
    ("born", "words"),
    [(dt.date(1899, 12, 31), "before 1900"), (TODAY + dt.timedelta(days=1), "in the future")],
)
def test_birth_date_bounds(born: dt.date, words: str) -> None:
    result = validate(make_resident_id("110105", born, 2), today=TODAY)
    assert result.reason == Reason.BAD_DATE
    assert words in (result.message or "")


def test_born_today_and_leap_day_are_valid() -> None:
    assert validate(make_resident_id("110105", TODAY, 2), today=TODAY).valid
    assert validate(make_resident_id("110105", dt.date(2000, 2, 29), 2), today=TODAY).valid
    assert validate("11010519000229002X", today=TODAY).reason == Reason.BAD_DATE


def test_uscc_authority_and_entity_type_rules() -> None:
    bad_authority = make_uscc("B", "1", "110000", "60003734")
    assert validate(bad_authority, today=TODAY).reason == Reason.BAD_AUTHORITY
    bad_type = make_uscc("9", "9", "110000", "60003734")
    result = validate(bad_type, today=TODAY)
    assert result.reason == Reason.BAD_ENTITY_TYPE
    assert "expected one of 1, 2, 3" in (result.message or "")
    assert validate(make_uscc("Y", "1", "330100", "MA2AXYB7"), today=TODAY).valid


def test_uscc_organisation_code_failure_is_only_a_warning() -> None:
    body = "91110000" + "60003734" + "2"  # 2 is not the GB 11714 check character (1 is)
    from socialcredit.identity import uscc_check_character

    code = body + uscc_check_character(body)
    result = validate(code, today=TODAY)
    assert result.valid
    assert any("GB 11714" in warning for warning in result.warnings)


def test_kind_restricts_the_rules() -> None:
    assert not validate("91110000600037341L", kind="person", today=TODAY).valid
    assert validate("91110000600037341L", kind="organisation", today=TODAY).valid
    result = validate("11010519491231002X", kind="organisation", today=TODAY)
    assert not result.valid
    assert result.kind == "organisation"
    person = validate("1101051949123100AX", kind="person", today=TODAY)
    assert person.reason == Reason.BAD_CHARACTER
    assert "position 17" in (person.message or "")


def test_as_dict_has_the_contract_fields() -> None:
    document = validate("91110000600037341O", today=TODAY).as_dict()
    assert {"id", "valid", "kind", "reason"} <= set(document)
    assert document["valid"] is False
    assert document["kind"] == "organisation"


def test_central_level_uscc_region() -> None:
    code = make_uscc("1", "1", "100000", "00001312")
    result = validate(code, today=TODAY)
    assert result.valid, result.message
    assert result.warnings == ()


def test_taiwan_residence_permit_prefix_is_known() -> None:
    assert validate(make_resident_id("830000", dt.date(1990, 5, 1), 3), today=TODAY).valid


def test_seventeen_digits_valid_as_neither_kind_gives_both_reasons() -> None:
    result = validate("921234198001010015", today=TODAY)
    assert not result.valid
    assert result.message is not None
    assert "as a resident ID: unknown region" in result.message
    assert result.message.startswith("bad check character")
