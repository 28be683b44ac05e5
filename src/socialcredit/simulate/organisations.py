"""Synthetic organisations: unique, valid Unified Social Credit Codes and names."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from socialcredit.identity.codes import ORG_CODE_WEIGHTS, USCC_ALPHABET, USCC_WEIGHTS
from socialcredit.simulate.calibration import calibration, counties
from socialcredit.simulate.grouping import distinct
from socialcredit.simulate.people import day_number
from socialcredit.simulate.text import Piece, WeightedChoice, digits, fixed, join

_ALPHABET = np.frombuffer(USCC_ALPHABET.encode(), np.uint8)
#: bijective scrambles of the organisation index, so codes look random but never repeat
_NEW_STYLE_SPACE = 31**6
_OLD_STYLE_SPACE = 10**8
_MULTIPLIER = 48_271  # coprime to both spaces


@dataclass(frozen=True)
class Organisations:
    subject_id: pa.Array
    name: pa.Array
    region: npt.NDArray[np.int64]
    registered_day: npt.NDArray[np.int32]


@cache
def _type_choice() -> WeightedChoice:
    return WeightedChoice.of([t.share for t in calibration().organisation_types])


def _org_code_bodies(
    rng: np.random.Generator, index: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint8]:
    """The 8 body characters of a GB 11714 organisation code, unique per index."""
    rows = len(index)
    new_style = rng.random(rows) < calibration().new_style_org_code_share
    bodies = np.empty((rows, 8), np.uint8)
    scrambled = (index * _MULTIPLIER + 123_456_789) % _NEW_STYLE_SPACE
    powers = 31 ** np.arange(5, -1, -1, dtype=np.int64)
    new = _ALPHABET[(scrambled[:, None] // powers) % 31]
    bodies[new_style, 0] = ord("M")
    bodies[new_style, 1] = ord("A")
    bodies[new_style, 2:] = new[new_style]
    old = digits((index * _MULTIPLIER + 31_415_926) % _OLD_STYLE_SPACE, 8).matrix
    bodies[~new_style] = old[~new_style]
    return bodies


def _char_values(matrix: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """GB 11714 / GB 32100 character values: digits 0-9, letters A=10 ... (base 36)."""
    values = matrix.astype(np.int64)
    return np.where(values >= 65, values - 55, values - 48)


def generate_organisations(
    rng: np.random.Generator,
    regions: npt.NDArray[np.int64],
    first_index: int,
    as_of: dt.date,
) -> Organisations:
    """One organisation per entry of ``regions``; ``first_index`` numbers them globally."""
    rows = len(regions)
    cal = calibration()
    kinds = _type_choice().draw(rng, rows)
    prefix = np.array(
        [[ord(t.authority), ord(t.entity_type)] for t in cal.organisation_types], np.uint8
    )[kinds]
    body = _org_code_bodies(rng, first_index + np.arange(rows, dtype=np.int64))
    org_check_total = _char_values(body) @ np.array(ORG_CODE_WEIGHTS, np.int64)
    org_check = 11 - org_check_total % 11
    org_check_char = np.where(
        org_check == 10, ord("X"), np.where(org_check == 11, 48, 48 + org_check)
    )
    first17 = np.hstack(
        [prefix, digits(regions, 6).matrix, body, org_check_char[:, None].astype(np.uint8)]
    )
    index_of = np.full(256, 0, np.int64)
    index_of[_ALPHABET] = np.arange(31)
    total = index_of[first17] @ np.array(USCC_WEIGHTS, np.int64)
    check = _ALPHABET[(31 - total % 31) % 31]
    subject_id = join([fixed(np.hstack([first17, check[:, None]]))])
    window = cal.registered_within_years * 365
    registered = day_number(as_of) - rng.integers(0, window, rows)
    return Organisations(
        subject_id, _names(rng, regions, kinds), regions, registered.astype(np.int32)
    )


@cache
def _name_parts() -> tuple[Piece, Piece, Piece, list[int]]:
    """Trade and industry words, and the legal forms of the three form groups in one
    table (with where each group starts)."""
    names = calibration().names
    groups = [names["org_form_enterprise"], names["org_form_individual"], names["org_form_other"]]
    starts = np.cumsum([0, *(len(g) for g in groups)]).tolist()
    forms = Piece.of([form for group in groups for form in group])
    return Piece.of(names["org_trade"]), Piece.of(names["org_industry"]), forms, starts


def _names(
    rng: np.random.Generator, regions: npt.NDArray[np.int64], kinds: npt.NDArray[np.int32]
) -> pa.Array:
    """``{city}{two trade characters}{industry}{legal form}``, e.g. 杭州华信科技有限公司."""
    rows = len(regions)
    trade, industry, forms, starts = _name_parts()
    unique, inverse = distinct(regions)
    places = counties()
    cities = Piece.of([places.city_name(str(code)).removesuffix("市") for code in unique])
    types = calibration().organisation_types
    form_group = np.array(
        [
            0
            if (t.authority, t.entity_type) == ("9", "1")
            else 1
            if t.entity_type == "2" and t.authority == "9"
            else 2
            for t in types
        ]
    )[kinds]
    form = np.zeros(rows, np.int64)
    for group in range(len(starts) - 1):
        drawn = starts[group] + rng.integers(0, starts[group + 1] - starts[group], rows)
        form = np.where(form_group == group, drawn, form)
    return join(
        [
            cities.pick(inverse),
            trade.pick(rng.integers(0, len(trade.lengths), rows)),
            trade.pick(rng.integers(0, len(trade.lengths), rows)),
            industry.pick(rng.integers(0, len(industry.lengths), rows)),
            forms.pick(form),
        ]
    )
