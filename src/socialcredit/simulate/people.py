"""Synthetic residents: unique, valid resident IDs, names, birth dates and sex."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from socialcredit.identity.codes import RIC_CHECK, RIC_WEIGHTS
from socialcredit.simulate.calibration import calibration
from socialcredit.simulate.grouping import distinct, ranks_within
from socialcredit.simulate.names import person_names
from socialcredit.simulate.text import U8, Piece, WeightedChoice, digits, fixed, join

EPOCH = dt.date(1970, 1, 1)
#: 3-digit sequence numbers per (county, birth date): odd for men, even for women
SEQUENCES_PER_SEX = 500


@dataclass(frozen=True)
class People:
    subject_id: pa.Array
    name: pa.Array
    region: npt.NDArray[np.int64]  # 6-digit county code
    birth_day: npt.NDArray[np.int32]  # days since 1970-01-01
    male: npt.NDArray[np.bool_]


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def yyyymmdd(days: npt.NDArray[np.integer]) -> npt.NDArray[np.int64]:
    """Days since 1970-01-01 as YYYYMMDD integers."""
    as_days = days.astype("datetime64[D]")
    months = as_days.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (as_days - months).astype(np.int64) + 1
    result: npt.NDArray[np.int64] = year * 10000 + month * 100 + day
    return result


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@cache
def _age_choice() -> WeightedChoice:
    return WeightedChoice.of([share for _, _, share in calibration().age_bands])


def _birth_days(rng: np.random.Generator, rows: int, as_of: dt.date) -> npt.NDArray[np.int64]:
    bands = calibration().age_bands
    band = _age_choice().draw(rng, rows)
    first = np.array([a for a, _, _ in bands])[band]
    last = np.array([b for _, b, _ in bands])[band]
    age_days = (first + rng.random(rows) * (last - first + 1)) * 365.2425
    latest = day_number(years_before(as_of, 18))
    birth: npt.NDArray[np.int64] = np.minimum(day_number(as_of) - age_days.astype(np.int64), latest)
    return birth


@dataclass(frozen=True)
class _IdParts:
    """Digits and check-sum contributions of each part of a resident ID, by value."""

    first_day: int
    days: U8  # YYYYMMDD of each day from first_day
    day_sums: npt.NDArray[np.int64]
    sequences: U8
    sequence_sums: npt.NDArray[np.int64]


@cache
def _id_parts() -> _IdParts:
    first, last = day_number(dt.date(1900, 1, 1)), day_number(dt.date(2100, 1, 1))
    days = digits(yyyymmdd(np.arange(first, last)), 8).matrix
    sequences = digits(np.arange(1000), 3).matrix
    weights = np.array(RIC_WEIGHTS, np.int64)
    return _IdParts(
        first,
        days,
        (days - np.uint8(48)).astype(np.int64) @ weights[6:14],
        sequences,
        (sequences - np.uint8(48)).astype(np.int64) @ weights[14:17],
    )


def resident_ids(
    regions: npt.NDArray[np.int64],
    birth: npt.NDArray[np.int64],
    sequence: npt.NDArray[np.int64],
) -> pa.Array:
    """Resident IDs from their parts; check characters from per-part weighted sums."""
    parts = _id_parts()
    unique_regions, region_index = distinct(regions)
    region_bytes = digits(unique_regions, 6).matrix
    region_sums = (region_bytes - np.uint8(48)).astype(np.int64) @ np.array(RIC_WEIGHTS[:6])
    day_index = birth - parts.first_day
    total = region_sums[region_index] + parts.day_sums[day_index] + parts.sequence_sums[sequence]
    check = np.frombuffer(RIC_CHECK.encode(), np.uint8)[total % 11]
    return join(
        [
            fixed(region_bytes).pick(region_index),
            fixed(parts.days).pick(day_index),
            fixed(parts.sequences).pick(sequence),
            fixed(check[:, None]),
        ]
    )


def generate_people(
    rng: np.random.Generator,
    regions: npt.NDArray[np.int64],
    as_of: dt.date,
    sequence_order: npt.NDArray[np.int64],
    part: npt.NDArray[np.int64] | None = None,
    parts: npt.NDArray[np.int64] | None = None,
) -> People:
    """One person per entry of ``regions``.

    IDs are unique because the sequence numbers of a (county, birth date, sex) cell are
    ranks within the call: a county is either generated whole in one call, or split into
    ``parts`` that each use their own block of the 500 sequence numbers per sex
    (``part`` says which). ``sequence_order`` is the same permutation of 0..499 for
    every call of a run, so the blocks of different calls never meet.
    """
    rows = len(regions)
    part = np.zeros(rows, np.int64) if part is None else part
    parts = np.ones(rows, np.int64) if parts is None else parts
    capacity = SEQUENCES_PER_SEX // parts
    male = rng.random(rows) < calibration().male_share
    birth = _birth_days(rng, rows, as_of)
    while True:  # a cell holds at most `capacity` people: redraw the overflow
        ranks = ranks_within(regions, birth * 2 + male)
        overflow = ranks >= capacity
        if not overflow.any():
            break
        birth[overflow] = _birth_days(rng, int(overflow.sum()), as_of)
    sequence = 2 * sequence_order[part * capacity + ranks] + male
    subject_id = resident_ids(regions, birth, sequence)
    return People(subject_id, person_names(rng, male), regions, birth.astype(np.int32), male)


__all__ = ["People", "Piece", "day_number", "generate_people"]
