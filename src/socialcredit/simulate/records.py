"""Synthetic records for a chunk of subjects, drawn at the calibrated rates.

Every record type comes from the effective policy of the subject's region (overlay
types only for subjects of the overlay's region); authorities, jurisdictions and
decision references follow the type's category and the subject's place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from socialcredit.policy import PolicyCatalog
from socialcredit.simulate.calibration import (
    LEVEL_DIGITS,
    Authority,
    RecordRate,
    calibration,
)
from socialcredit.simulate.frames import FrameTable
from socialcredit.simulate.people import day_number, years_before
from socialcredit.simulate.text import DigitTable, Piece, constant, digits, join, table_of

Ints = npt.NDArray[np.int64]
CLEARED_TYPE = "court.judgment_default"
CLEARING_TYPE = "court.obligation_performed"


@dataclass(frozen=True)
class Subjects:
    """The subjects of one chunk, of one kind."""

    kind: str
    subject_id: pa.Array
    region: Ints
    earliest_day: Ints  # records cannot predate this (18th birthday, registration)
    counties: Ints  # the chunk's county codes, sorted


@dataclass(frozen=True)
class TypePlan:
    """Where a record type applies and who records it."""

    key: str
    rate: RecordRate
    category: str
    negative: bool
    prefixes: tuple[str, ...]  # region prefixes where it is in force ("" = everywhere)
    authority: Authority
    jurisdiction_digits: int
    overrides: tuple[str, ...] = ()  # overlay regions that redefine the type


def plan_types(catalog: PolicyCatalog, kind: str) -> list[TypePlan]:
    """The record types of the calibration for ``kind``, checked against the policy."""
    cal = calibration()
    rates = cal.person_rates if kind == "person" else cal.organisation_rates
    national = catalog.effective(None).record_types
    plans = []
    for rate in rates:
        holders = [o for o in catalog.overlays if rate.record_type in o.policy.record_types]
        if rate.record_type in national:
            prefixes: tuple[str, ...] = ("",)
            definition = national[rate.record_type]
            # overlays that redefine a national type: their subjects' records must carry
            # a jurisdiction inside the overlay, so the overlay's definition applies
            overrides = tuple(o.policy.policy.region or "" for o in holders)
        else:
            if not holders:
                raise ValueError(f"calibration names {rate.record_type!r}, not in any policy")
            prefixes = tuple(o.policy.policy.region or "" for o in holders)
            definition = holders[0].policy.record_types[rate.record_type]
            overrides = ()
        for version in (definition, *(o.policy.record_types[rate.record_type] for o in holders)):
            if kind not in version.subject_kinds:
                raise ValueError(f"{rate.record_type} does not apply to {kind} everywhere")
        authority = cal.authority_for(rate.record_type, definition.category)
        level = max(LEVEL_DIGITS[authority.level], max(len(p) for p in prefixes))
        plans.append(
            TypePlan(
                rate.record_type,
                rate,
                definition.category,
                definition.is_negative,
                prefixes,
                authority,
                level,
                overrides,
            )
        )
    return plans


def check_clearing(catalog: PolicyCatalog, kinds_listed: list[str]) -> None:
    """The clearing type is not in the calibration (it follows a listing): check that
    the policy has it, everywhere, for every kind of subject that gets listed."""
    definitions = [catalog.effective(None).record_types.get(CLEARING_TYPE)]
    definitions += [
        o.policy.record_types[CLEARING_TYPE]
        for o in catalog.overlays
        if CLEARING_TYPE in o.policy.record_types
    ]
    for definition in definitions:
        if definition is None:
            raise ValueError(
                f"{CLEARING_TYPE!r} (which clears {CLEARED_TYPE}) is not in the policy"
            )
        for kind in kinds_listed:
            if kind not in definition.subject_kinds:
                raise ValueError(f"{CLEARING_TYPE} does not apply to {kind} everywhere")


@dataclass
class Drawn:
    """The records drawn for a chunk's subjects of one kind, as column parts."""

    subject: list[Ints] = field(default_factory=list)
    type_index: list[Ints] = field(default_factory=list)
    day: list[Ints] = field(default_factory=list)
    amount: list[npt.NDArray[np.float64]] = field(default_factory=list)
    jurisdiction: list[Ints] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(len(part) for part in self.subject)

    def add(
        self,
        subject: Ints,
        type_index: int,
        day: Ints,
        amount: npt.NDArray[np.float64],
        jurisdiction: Ints,
    ) -> None:
        self.subject.append(subject)
        self.type_index.append(np.full(len(subject), type_index, np.int64))
        self.day.append(day)
        self.amount.append(amount)
        self.jurisdiction.append(jurisdiction)


def _in_region(region: Ints, prefix: str) -> npt.NDArray[np.bool_]:
    if not prefix:
        return np.ones(len(region), np.bool_)
    inside: npt.NDArray[np.bool_] = region // 10 ** (6 - len(prefix)) == int(prefix)
    return inside


#: below this share, successes are found by geometric gaps instead of one draw per row
_SPARSE_SHARE = 0.2


def bernoulli_positions(rng: np.random.Generator, rows: int, share: float) -> Ints:
    """The positions, in order, where ``rows`` independent trials with success
    probability ``share`` succeed. Rare events cost draws per success, not per row:
    the gaps between successes are geometric."""
    if share <= 0.0 or rows == 0:
        return np.zeros(0, np.int64)
    if share >= _SPARSE_SHARE:
        return np.flatnonzero(rng.random(rows) < share)
    expected = rows * share
    blocks: list[Ints] = []
    last = -1
    while last < rows - 1:
        gaps = rng.geometric(share, int(expected + 6 * expected**0.5 + 16))
        block = last + np.cumsum(gaps)
        blocks.append(block)
        last = int(block[-1])
    positions = np.concatenate(blocks)
    result: Ints = positions[: np.searchsorted(positions, rows)]
    return result


def _amounts(rng: np.random.Generator, rate: RecordRate, rows: int) -> npt.NDArray[np.float64]:
    if rate.amount is None:
        return np.full(rows, np.nan)
    kind, a, b = rate.amount
    if kind == "lognormal":
        return np.round(a * np.exp(b * rng.standard_normal(rows)), 2)
    if kind == "uniform_int":
        return rng.integers(int(a), int(b) + 1, rows).astype(np.float64)
    raise ValueError(f"calibration: unknown amount distribution {kind!r}")


def _jurisdiction(region: Ints, digits_kept: int) -> Ints:
    scale = 10 ** (6 - digits_kept)
    truncated: Ints = region // scale * scale
    return truncated


def draw_records(
    rng: np.random.Generator,
    subjects: Subjects,
    plans: list[TypePlan],
    as_of: dt.date,
    type_names: list[str],
) -> Drawn:
    cal = calibration()
    drawn = Drawn()
    last = day_number(as_of)
    window_start = day_number(years_before(as_of, cal.window_years))
    candidates_of: dict[tuple[str, ...], Ints] = {}  # overlay types share their regions
    for plan in plans:
        if "" in plan.prefixes:  # in force everywhere
            chosen = bernoulli_positions(rng, len(subjects.region), plan.rate.share)
        else:
            if plan.prefixes not in candidates_of:
                eligible = np.zeros(len(subjects.region), np.bool_)
                for prefix in plan.prefixes:
                    eligible |= _in_region(subjects.region, prefix)
                candidates_of[plan.prefixes] = np.flatnonzero(eligible)
            candidates = candidates_of[plan.prefixes]
            chosen = candidates[bernoulli_positions(rng, len(candidates), plan.rate.share)]
        counts = 1 + rng.poisson(max(plan.rate.mean - 1.0, 0.0), len(chosen))
        subject = np.repeat(chosen, counts)
        low = np.maximum(window_start, subjects.earliest_day[subject])
        day = low + (rng.random(len(subject)) * (last - low + 1)).astype(np.int64)
        keep = day <= last
        subject, day = subject[keep], np.minimum(day[keep], last)
        region = subjects.region[subject]
        jurisdiction = _jurisdiction(region, plan.jurisdiction_digits)
        for prefix in plan.overrides:
            inside = _in_region(region, prefix)
            digits_kept = max(plan.jurisdiction_digits, len(prefix))
            jurisdiction[inside] = _jurisdiction(region[inside], digits_kept)
        index = type_names.index(plan.key)
        drawn.add(subject, index, day, _amounts(rng, plan.rate, len(subject)), jurisdiction)
        if plan.key == CLEARED_TYPE:
            cleared = rng.random(len(subject)) < cal.cleared_share
            later = day[cleared] + rng.integers(*cal.clearing_days, int(cleared.sum()))
            done = later <= last
            drawn.add(
                subject[cleared][done],
                type_names.index(CLEARING_TYPE),
                later[done],
                np.full(int(done.sum()), np.nan),
                jurisdiction[cleared][done],
            )
    return drawn


def _dictionary(indices: npt.NDArray[np.integer], values: pa.Array) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), values)


_FIRST_DAY = -25_567  # 1900-01-01, days from 1970-01-01


@cache
def _year_of_day() -> Ints:
    """The calendar year of each day from 1900-01-01 to 2099-12-31."""
    days = np.arange(_FIRST_DAY, _FIRST_DAY + 73_049).astype("datetime64[D]")
    return days.astype("datetime64[Y]").astype(np.int64) + 1970


@cache
def _year_digits() -> DigitTable:
    return DigitTable.of(1900, 300, 4)


@cache
def _low_digits() -> DigitTable:
    return DigitTable.of(0, 1_000_000, 6)


def record_numbers(first: int, count: int) -> list[Piece]:
    """The 12 digits of record numbers ``first .. first + count - 1``."""
    index = first + np.arange(count, dtype=np.int64)
    high, low = np.divmod(index, 1_000_000)
    base = first // 1_000_000
    highs = digits(np.arange(base, int(high[-1]) + 1 if count else base), 6)
    return [highs.pick(high - base), _low_digits().pick(low)]


def build_table(
    drawn: Drawn,
    subjects: Subjects,
    texts: FrameTable,
    type_names: list[str],
    run: str,
    first_record: int,
) -> pa.Table:
    """The records of a chunk as an Arrow table with the contract's columns."""
    subject = np.concatenate(drawn.subject) if drawn.subject else np.zeros(0, np.int64)
    type_index = np.concatenate(drawn.type_index) if drawn.type_index else np.zeros(0, np.int64)
    day = np.concatenate(drawn.day) if drawn.day else np.zeros(0, np.int64)
    amount = np.concatenate(drawn.amount) if drawn.amount else np.zeros(0)
    jurisdiction = (
        np.concatenate(drawn.jurisdiction) if drawn.jurisdiction else np.zeros(0, np.int64)
    )
    rows = len(subject)
    year = _year_of_day()[day - _FIRST_DAY]
    # the authority and decision-reference frame of each (type, jurisdiction)
    frames = texts.frames(type_index, jurisdiction)
    # the serial is the record number: decision references never repeat within a run
    numbers = record_numbers(first_record, rows)
    decision_ref = join(
        [
            frames.before_year,
            _year_digits().pick(year),
            frames.between,
            *numbers,
            frames.after,
        ],
        valid=frames.has_reference,  # positive types: null
    )
    # low-cardinality columns stay dictionary-encoded: Parquet stores them that way anyway
    return pa.table(
        {
            "record_id": join([constant(f"{run}-", rows), *numbers]),
            "subject_id": join([table_of(subjects.subject_id).pick(subject)]),
            "record_type": _dictionary(type_index, pa.array(type_names or [""], pa.string())),
            "occurred_on": pa.array(day.astype(np.int32), pa.date32()),
            "authority": frames.authority,
            "jurisdiction": frames.jurisdiction,
            "decision_ref": decision_ref,
            "amount": pa.array(amount, pa.float64(), from_pandas=True),
        }
    )
