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
import pyarrow.compute as pc

from socialcredit.policy import PolicyCatalog
from socialcredit.simulate.calibration import (
    LEVEL_DIGITS,
    Authority,
    RecordRate,
    calibration,
    counties,
)
from socialcredit.simulate.people import day_number, years_before
from socialcredit.simulate.text import DigitTable, TextTable, digits, fixed, join

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


@dataclass
class _Drawn:
    subject: list[Ints] = field(default_factory=list)
    type_index: list[Ints] = field(default_factory=list)
    day: list[Ints] = field(default_factory=list)
    amount: list[npt.NDArray[np.float64]] = field(default_factory=list)
    jurisdiction: list[Ints] = field(default_factory=list)

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
) -> _Drawn:
    cal = calibration()
    drawn = _Drawn()
    last = day_number(as_of)
    window_start = day_number(years_before(as_of, cal.window_years))
    for plan in plans:
        eligible = np.zeros(len(subjects.region), np.bool_)
        for prefix in plan.prefixes:
            eligible |= _in_region(subjects.region, prefix)
        candidates = np.flatnonzero(eligible)
        chosen = candidates[rng.random(len(candidates)) < plan.rate.share]
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


def _dense(values: Ints, counties: Ints) -> tuple[Ints, Ints]:
    """The distinct jurisdiction codes that ``values`` can take, and each value's index.

    Jurisdictions are counties of the chunk truncated to county, city or province, so
    the candidates are few and known without sorting the values.
    """
    candidates = np.unique(np.concatenate([counties // s * s for s in (1, 100, 10_000)]))
    index: Ints = np.searchsorted(candidates, values)
    return candidates, index


def _dictionary(indices: npt.NDArray[np.integer], values: list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array(indices.astype(np.int32)), pa.array(values or [""], pa.string())
    )


@cache
def _year_digits() -> DigitTable:
    return DigitTable.of(1900, 300, 4)


@cache
def _low_digits() -> DigitTable:
    return DigitTable.of(0, 1_000_000, 6)


def record_ids(run: str, first: int, count: int) -> pa.Array:
    """``<run>-<12 digits>``: unique per record, and per run's arguments (see ``run_tag``)."""
    index = first + np.arange(count, dtype=np.int64)
    high, low = index // 1_000_000, index % 1_000_000
    unique_high, inverse = np.unique(high, return_inverse=True)
    prefix = TextTable.of([f"{run}-{h:06d}" for h in unique_high.tolist()])

    return join([prefix.pick(inverse), fixed(_low_digits().pick(low))])


@cache
def _place_fields(code: int) -> dict[str, str]:
    text = f"{code:06d}"
    places = counties()
    return {
        "county": places.county_name(text),
        "city": places.city_name(text),
        "province": places.province_name(text),
        "abbr": calibration().abbreviations.get(text[:2], ""),
        "court": text[2:6],
    }


@cache
def _texts(plan: TypePlan, code: int) -> tuple[str, str, str, str]:
    """(authority, decision-reference text before the year, between year and serial, after)."""
    fields = _place_fields(code)
    before_year, _, rest = plan.authority.decision_ref.partition("{year}")
    between, _, after = rest.partition("{n}")
    return (
        plan.authority.authority.format(**fields),
        before_year.format(**fields),
        between.format(**fields),
        after.format(**fields),
    )


def build_table(
    drawn: _Drawn,
    subjects: Subjects,
    plans_by_type: dict[int, TypePlan],
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
    year = day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    # one authority and decision-reference frame per (type, jurisdiction): the used
    # combinations are found with a presence table, not a sort
    jurisdictions, jurisdiction_index = _dense(jurisdiction, subjects.counties)
    combo = type_index * len(jurisdictions) + jurisdiction_index
    present = np.zeros(len(type_names) * max(len(jurisdictions), 1), np.bool_)
    present[combo] = True
    used = np.flatnonzero(present)
    position = np.cumsum(present) - 1
    inverse = position[combo]
    combo_types, combo_places = np.divmod(used, max(len(jurisdictions), 1))
    texts = [
        _texts(plans_by_type[int(t)], int(jurisdictions[j]))
        for t, j in zip(combo_types.tolist(), combo_places.tolist(), strict=True)
    ]
    authorities = [t[0] for t in texts] or [""]
    # the serial is the record number: decision references never repeat within a run
    serial = first_record + np.arange(rows, dtype=np.int64)
    combo_index = pa.array(inverse)
    # positive types have no decision reference: their frame is null, and so is the join
    frames = [
        pa.array([t[part] if (t[1] or t[3]) else None for t in texts] or [None], pa.string())
        for part in (1, 2, 3)
    ]
    decision_ref = pc.binary_join_element_wise(
        frames[0].take(combo_index),
        join([fixed(_year_digits().pick(year))]),
        frames[1].take(combo_index),
        join([digits(serial, 12)]),
        frames[2].take(combo_index),
        "",
    )
    # low-cardinality columns stay dictionary-encoded: Parquet stores them that way anyway
    return pa.table(
        {
            "record_id": record_ids(run, first_record, rows),
            "subject_id": subjects.subject_id.take(pa.array(subject)),
            "record_type": _dictionary(type_index, type_names),
            "occurred_on": pa.array(day.astype(np.int32), pa.date32()),
            "authority": _dictionary(inverse, authorities),
            "jurisdiction": _dictionary(
                inverse, [f"{int(jurisdictions[j]):06d}" for j in combo_places.tolist()]
            ),
            "decision_ref": decision_ref,
            "amount": pa.array(amount, pa.float64(), from_pandas=True),
        }
    )
