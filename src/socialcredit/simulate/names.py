"""Synthetic Chinese names for people and organisations, with pinyin."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from pypinyin import lazy_pinyin

from socialcredit.simulate.calibration import calibration
from socialcredit.simulate.text import Piece, WeightedChoice, join


@dataclass(frozen=True)
class NameTables:
    surnames: list[str]
    surname_text: Piece
    surname_choice: WeightedChoice
    #: given-name characters: the male table, the female table, then "" (no second)
    given_text: Piece
    male_choice: WeightedChoice
    female_choice: WeightedChoice
    female_offset: int
    one_char_share: float


def _split(pairs: list[list[object]]) -> tuple[list[str], list[float]]:
    return [str(value) for value, _ in pairs], [float(str(weight)) for _, weight in pairs]


@cache
def name_tables() -> NameTables:
    names = calibration().names
    surnames, surname_weights = _split(names["surnames"])
    male, male_weights = _split(names["given_male"])
    female, female_weights = _split(names["given_female"])
    return NameTables(
        surnames=surnames,
        surname_text=Piece.of(surnames),
        surname_choice=WeightedChoice.of(surname_weights),
        given_text=Piece.of([*male, *female, ""]),
        male_choice=WeightedChoice.of(male_weights),
        female_choice=WeightedChoice.of(female_weights),
        female_offset=len(male),
        one_char_share=float(names["one_char_share"]),
    )


def person_names(rng: np.random.Generator, male: npt.NDArray[np.bool_]) -> pa.Array:
    """A surname and a one- or two-character given name per person, by sex."""
    tables = name_tables()
    rows = len(male)
    surname = tables.surname_text.pick(tables.surname_choice.draw(rng, rows))
    given = []
    for _ in range(2):
        given.append(
            np.where(
                male,
                tables.male_choice.draw(rng, rows),
                tables.female_choice.draw(rng, rows) + tables.female_offset,
            )
        )
    one_char = rng.random(rows) < tables.one_char_share
    no_second = len(tables.given_text.lengths) - 1
    second = np.where(one_char, no_second, given[1])
    return join([surname, tables.given_text.pick(given[0]), tables.given_text.pick(second)])


def pinyin(name: str) -> str:
    """Pinyin of a name, surname first, e.g. ``欧阳伟`` -> ``Ouyang Wei``."""
    tables = name_tables()
    surname = next(
        (s for s in sorted(tables.surnames, key=len, reverse=True) if name.startswith(s)),
        name[:1],
    )
    given = name[len(surname) :]
    parts = ["".join(lazy_pinyin(surname)).capitalize()]
    if given:
        parts.append("".join(lazy_pinyin(given)).capitalize())
    return " ".join(parts)
