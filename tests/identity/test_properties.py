"""Property tests: generated valid codes validate, single-character changes are caught,
and the verdicts agree with python-stdnum where its rules apply."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from socialcredit.identity import Reason, validate
from socialcredit.identity.codes import USCC_ALPHABET
from tests.factories import TODAY, resident_ids, usccs

_PRINTABLE = st.characters(min_codepoint=32, max_codepoint=126)


@given(resident_ids())
def test_generated_resident_ids_validate(code: str) -> None:
    result = validate(code, today=TODAY)
    assert result.valid, result.message
    assert result.kind == "person"


@given(usccs())
def test_generated_usccs_validate(code: str) -> None:
    result = validate(code, kind="organisation", today=TODAY)
    assert result.valid, result.message


def _changes(code: str, data: st.DataObject) -> str:
    position = data.draw(st.integers(0, len(code) - 1))
    char = data.draw(_PRINTABLE.filter(lambda c: c.upper() != code[position].upper()))
    return code[:position] + char + code[position + 1 :]


@given(resident_ids(), st.data())
def test_every_single_character_change_to_a_resident_id_is_detected(
    code: str, data: st.DataObject
) -> None:
    changed = _changes(code, data)
    assert not validate(changed, kind="person", today=TODAY).valid


@given(usccs(), st.data())
def test_every_single_character_change_to_a_uscc_is_detected(
    code: str, data: st.DataObject
) -> None:
    changed = _changes(code, data)
    assert not validate(changed, kind="organisation", today=TODAY).valid


def _stdnum_verdict(module: object, code: str) -> bool | None:
    """stdnum's answer, or None when it raises something other than a verdict.

    Known defect: ``ric.is_valid("34052419800101001X")`` raises KeyError('county').
    """
    try:
        module.validate(code)  # type: ignore[attr-defined]
    except ValidationError:
        return False
    except Exception:
        return None
    return True


def test_stdnum_defect_is_treated_as_no_verdict() -> None:
    assert _stdnum_verdict(ric, "34052419800101001X") is None
    assert validate("34052419800101001X", today=TODAY).valid


def _born(code: str) -> dt.date | None:
    try:
        return dt.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        return None


@settings(max_examples=300)
@given(st.one_of(resident_ids(), st.text("0123456789X", min_size=18, max_size=18)))
@example("11010519491231002X")
@example("110105194912310021")
def test_resident_ids_agree_with_stdnum(code: str) -> None:
    theirs = _stdnum_verdict(ric, code)
    assume(theirs is not None)
    ours = validate(code, kind="person", today=TODAY)
    if theirs and not ours.valid:
        # where our rules are stricter: birth dates before 1900 or in the future,
        # and a province prefix that must be known
        born = _born(code)
        assert born is not None
        assert ours.reason in (Reason.BAD_DATE, Reason.UNKNOWN_REGION)
        assert born.year < 1900 or born > TODAY or ours.reason == Reason.UNKNOWN_REGION
    if ours.valid and not theirs:
        # stdnum is stricter on the county: it must have existed in the birth year
        with pytest.raises(ValidationError):
            ric.get_birth_place(code)
    if not ours.valid and not theirs:
        return
    if ours.valid and theirs:
        assert ric.calc_check_digit(code) == code[-1]


@settings(max_examples=300)
@given(st.one_of(usccs(), st.text(USCC_ALPHABET, min_size=18, max_size=18)))
@example("91110000600037341L")
def test_usccs_agree_with_stdnum(code: str) -> None:
    theirs = _stdnum_verdict(uscc, code)
    assume(theirs is not None)
    ours = validate(code, kind="organisation", today=TODAY)
    if theirs and not ours.valid:
        # stricter here: authority and entity type from GB 32100, a known province
        assert ours.reason in (Reason.BAD_AUTHORITY, Reason.BAD_ENTITY_TYPE, Reason.UNKNOWN_REGION)
    if ours.valid and not theirs:
        # stdnum requires the first 8 characters to be digits; GB 32100 also has the
        # letter authorities A (military staffing), N (agriculture) and Y (other)
        assert code[0] in "ANY"
