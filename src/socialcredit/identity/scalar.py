"""Validate one resident ID or Unified Social Credit Code."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from socialcredit.identity.codes import (
    CENTRAL_REGION,
    EARLIEST_BIRTH_DATE,
    LENGTH,
    ORG_CODE_WEIGHTS,
    REGISTERING_AUTHORITIES,
    RIC_CHECK,
    RIC_WEIGHTS,
    USCC_ALPHABET,
    USCC_WEIGHTS,
    Kind,
    Reason,
)
from socialcredit.regions import region_table

_DIGITS = "0123456789"


@dataclass(frozen=True, slots=True)
class Failure:
    reason: Reason
    message: str


@dataclass(frozen=True, slots=True)
class IdentityResult:
    """The verdict on one code.

    ``code`` is the normalised form (ASCII upper case). ``kind`` is the kind the
    code is, or for an invalid code the kind it most resembles (None when it
    resembles neither). ``warnings`` never make a code invalid.
    """

    input: str | None
    code: str | None
    valid: bool
    kind: Kind | None
    reason: Reason | None = None
    message: str | None = None
    warnings: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        """The contract's JSON shape: id, valid, kind, reason (plus detail)."""
        return {
            "id": self.input,
            "normalised": self.code,
            "valid": self.valid,
            "kind": self.kind,
            "reason": self.message,
            "reason_code": None if self.reason is None else self.reason.value,
            "warnings": list(self.warnings),
        }


def ric_check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, RIC_WEIGHTS, strict=True))
    return RIC_CHECK[total % 11]


def uscc_check_character(first17: str) -> str:
    """The GB 32100 mod-31 check character of the first 17 characters."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_character(body8: str) -> str:
    """The GB 11714 check character of an organisation code's 8 body characters."""
    total = sum(int(c, 36) * w for c, w in zip(body8, ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def _first_non_ascii(code: str) -> int | None:
    for index, char in enumerate(code):
        if not char.isascii():
            return index
    return None


def check_resident_id(code: str, today: dt.date) -> Failure | None:
    """Rules for an 18-character, upper-cased code whose first 17 are digits."""
    regions = region_table()
    if not regions.is_province_known(code):
        return Failure(
            Reason.UNKNOWN_REGION,
            f"unknown region: no province has code {code[:2]} (from division code {code[:6]})",
        )
    text = code[6:14]
    try:
        born = dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return Failure(Reason.BAD_DATE, f"bad date: birth date {text} is not a real date")
    if int(text) < EARLIEST_BIRTH_DATE:
        return Failure(Reason.BAD_DATE, f"bad date: birth date {born} is before 1900-01-01")
    if born > today:
        return Failure(Reason.BAD_DATE, f"bad date: birth date {born} is in the future")
    expected = ric_check_character(code[:17])
    if code[17] != expected:
        return Failure(
            Reason.BAD_CHECK_CHARACTER,
            f"bad check character: position 18 is {code[17]!r}, expected {expected!r}",
        )
    return None


def check_uscc(code: str) -> Failure | None:
    """Rules for an 18-character, upper-cased Unified Social Credit Code."""
    for index, char in enumerate(code):
        if char not in USCC_ALPHABET:
            return Failure(
                Reason.BAD_CHARACTER,
                f"bad character {char!r} at position {index + 1}: the code uses 0-9 and "
                "A-Z without I, O, S, V and Z",
            )
    for index in range(2, 8):
        if code[index] not in _DIGITS:
            return Failure(
                Reason.BAD_CHARACTER,
                f"bad character {code[index]!r} at position {index + 1}: "
                "the division code (positions 3-8) is digits",
            )
    authority = REGISTERING_AUTHORITIES.get(code[0])
    if authority is None:
        return Failure(
            Reason.BAD_AUTHORITY,
            f"bad registering-authority code {code[0]!r} at position 1: expected one of "
            + ", ".join(REGISTERING_AUTHORITIES),
        )
    name, entity_types = authority
    if code[1] not in entity_types:
        return Failure(
            Reason.BAD_ENTITY_TYPE,
            f"bad entity-type code {code[1]!r} at position 2 for authority {code[0]} ({name}): "
            "expected one of " + ", ".join(entity_types),
        )
    if code[2:8] != CENTRAL_REGION and not region_table().is_province_known(code[2:8]):
        return Failure(
            Reason.UNKNOWN_REGION,
            f"unknown region: no province has code {code[2:4]} (from division code {code[2:8]})",
        )
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        return Failure(
            Reason.BAD_CHECK_CHARACTER,
            f"bad check character: position 18 is {code[17]!r}, expected {expected!r}",
        )
    return None


def _person_warnings(code: str) -> tuple[str, ...]:
    if region_table().code_known[int(code[:6])]:
        return ()
    return (f"division code {code[:6]} is not in the division table (province is known)",)


def _organisation_warnings(code: str) -> tuple[str, ...]:
    warnings: list[str] = []
    if code[2:8] != CENTRAL_REGION and not region_table().code_known[int(code[2:8])]:
        warnings.append(
            f"division code {code[2:8]} is not in the division table (province is known)"
        )
    expected = org_code_check_character(code[8:16])
    if code[16] != expected:
        warnings.append(
            f"organisation code {code[8:17]} fails its GB 11714 check (expected {expected!r} "
            "at position 17); some early codes were issued like this"
        )
    return tuple(warnings)


def _prefers_person(code: str) -> bool:
    """For a 17-digit code that is neither valid kind: which kind's reason to give."""
    return region_table().is_province_known(code) or code[0] not in REGISTERING_AUTHORITIES


def _not_resident_id(code: str) -> Failure:
    position = next(i for i, char in enumerate(code[:17]) if char not in _DIGITS)
    return Failure(
        Reason.BAD_CHARACTER,
        f"bad character {code[position]!r} at position {position + 1}: a resident ID is 17 "
        "digits and a check character 0-9 or X",
    )


def validate(
    code: str | None, *, kind: Kind | None = None, today: dt.date | None = None
) -> IdentityResult:
    """Validate a resident ID or a Unified Social Credit Code.

    The checks run in a fixed order and the first failure is the reason:
    missing, non-ASCII character, length, then the rules of the kind. With
    ``kind`` given, only that kind's rules apply (a code valid as the other kind
    is invalid); otherwise a 17-digit code is tried as a resident ID first.
    """
    today = today or dt.date.today()
    if code is None or code == "":
        return IdentityResult(code, None, False, None, Reason.MISSING, "missing: no code given")
    position = _first_non_ascii(code)
    if position is not None:
        return IdentityResult(
            code,
            "".join(char.upper() if char.isascii() else char for char in code),
            False,
            None,
            Reason.BAD_CHARACTER,
            f"bad character {code[position]!r} at position {position + 1}: codes are ASCII",
        )
    normalised = code.upper()
    if len(normalised) != LENGTH:
        return IdentityResult(
            code,
            normalised,
            False,
            None,
            Reason.LENGTH,
            f"length: expected 18 characters, got {len(normalised)}",
        )
    if kind == "person":
        failure = (
            check_resident_id(normalised, today)
            if normalised[:17].isdigit()
            else _not_resident_id(normalised)
        )
        if failure is None:
            return IdentityResult(
                code, normalised, True, "person", None, None, _person_warnings(normalised)
            )
        return IdentityResult(code, normalised, False, "person", failure.reason, failure.message)
    person_failure: Failure | None = None
    if kind is None and normalised[:17].isdigit():
        person_failure = check_resident_id(normalised, today)
        if person_failure is None:
            return IdentityResult(
                code, normalised, True, "person", None, None, _person_warnings(normalised)
            )
    organisation_failure = check_uscc(normalised)
    if organisation_failure is None:
        return IdentityResult(
            code, normalised, True, "organisation", None, None, _organisation_warnings(normalised)
        )
    if person_failure is None:
        return IdentityResult(
            code,
            normalised,
            False,
            "organisation",
            organisation_failure.reason,
            organisation_failure.message,
        )
    # 17 digits, valid as neither kind: the likelier kind's reason first, then the other's
    if _prefers_person(normalised):
        message = (
            f"{person_failure.message}; as a Unified Social Credit Code: "
            f"{organisation_failure.message}"
        )
        return IdentityResult(code, normalised, False, "person", person_failure.reason, message)
    message = f"{organisation_failure.message}; as a resident ID: {person_failure.message}"
    return IdentityResult(
        code, normalised, False, "organisation", organisation_failure.reason, message
    )
