"""The effective policies compiled into dense tables the batch engine indexes.

A subject's region picks its *variant* (the national policy with the overlays of that
region, DESIGN.md); every record type key gets one small integer code shared by all
variants. The engine then looks rules up by ``[variant, type]`` over whole arrays,
never record by record in Python.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from socialcredit.policy import PolicyCatalog
from socialcredit.policy.models import EffectivePolicy

KINDS = ("person", "organisation")
#: ``days`` arrays count days since 1970-01-01, as Arrow's date32 does
EPOCH = dt.date(1970, 1, 1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (earlier if negative), clipped to the month's end:
    2024-01-31 plus one month is 2024-02-29."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def in_force_from(as_of: dt.date, months: int) -> dt.date:
    """The earliest ``occurred_on`` still in force on ``as_of`` for a period of
    ``months``: a record counts while ``occurred_on <= as_of < occurred_on + months``.
    ``add_months`` is monotone, so the records in force are one interval of dates."""
    day = add_months(as_of, -months) - dt.timedelta(days=3)
    while add_months(day, months) <= as_of:
        day += dt.timedelta(days=1)
    return day


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


@dataclass(frozen=True)
class PolicyTables:
    """Rules of every variant as arrays indexed ``[variant, type]``.

    ``months`` is 0 where a type is not part of a variant; ``kinds`` is a bit mask
    (1 person, 2 organisation) of the subject kinds a type applies to.
    """

    variants: tuple[EffectivePolicy, ...]
    #: the overlay region of each variant (None for the national policy alone)
    variant_regions: tuple[str | None, ...]
    type_keys: tuple[str, ...]
    list_names: tuple[str, ...]
    measure_names: tuple[str, ...]
    months: npt.NDArray[np.int32]
    kinds: npt.NDArray[np.uint8]
    points: npt.NDArray[np.int64]
    per_unit: npt.NDArray[np.float64]
    yearly_cap: npt.NDArray[np.int64]
    #: list bit mask (bit i: ``list_names[i]``) a record of the type puts its subject on
    lists: npt.NDArray[np.uint8]
    #: ``clears[v, t, u]``: a record of type t ends the list effect of records of type u
    clears: npt.NDArray[np.bool_]
    counts_against: npt.NDArray[np.bool_]

    @property
    def national(self) -> EffectivePolicy:
        return self.variants[0]

    @property
    def grouped(self) -> npt.NDArray[np.bool_]:
        """Types whose points are summed per subject, type and calendar year before
        they count: those with points per unit of amount or a yearly cap."""
        grouped: npt.NDArray[np.bool_] = ~np.isnan(self.per_unit) | (self.yearly_cap >= 0)
        return grouped

    @cached_property
    def grade_names(self) -> tuple[str, ...]:
        """Best grade first."""
        bands = sorted(self.national.grades, key=lambda band: -band.min)
        return tuple(band.name for band in bands)

    @cached_property
    def grade_of_score(self) -> npt.NDArray[np.uint8]:
        """Grade code (index in ``grade_names``) of each score from floor to ceiling."""
        scale = self.national.scale
        table = np.zeros(scale.ceiling - scale.floor + 1, np.uint8)
        for code, name in enumerate(self.grade_names):
            band = next(band for band in self.national.grades if band.name == name)
            table[band.min - scale.floor : band.max - scale.floor + 1] = code
        return table

    @cached_property
    def restriction_bits(self) -> int:
        """Bit mask over ``measure_names`` of the restrictions (the rest are incentives)."""
        bits = 0
        for bit, measure in enumerate(self.measure_names):
            rules = [v.measures[measure] for v in self.variants if measure in v.measures]
            if any(rule.kind == "restriction" for rule in rules):
                bits |= 1 << bit
        return bits

    @cached_property
    def public(self) -> npt.NDArray[np.bool_]:
        """``[variant, type]``: records of the type are published (public disclosure)."""
        out = np.zeros(self.months.shape, np.bool_)
        for v, variant in enumerate(self.variants):
            for key, rule in variant.record_types.items():
                out[v, self.type_keys.index(key)] = rule.public
        return out

    def type_code(self, key: str) -> int:
        return self.type_keys.index(key)

    def list_bit(self, name: str) -> int:
        return 1 << self.list_names.index(name)

    def variant_of_regions(self, regions: list[str]) -> npt.NDArray[np.int16]:
        """The variant of each region code (the longest overlay region it starts with)."""
        ranked = sorted(
            ((code, index) for index, code in enumerate(self.variant_regions) if code),
            key=lambda item: -len(item[0]),
        )
        out = np.zeros(len(regions), np.int16)
        for row, region in enumerate(regions):
            out[row] = next((index for code, index in ranked if region.startswith(code)), 0)
        return out


def compile_policy(catalog: PolicyCatalog) -> PolicyTables:
    """One variant for the national policy and one for each overlay region's chain."""
    regions: list[str | None] = [None, *catalog.overlay_regions]
    variants = tuple(catalog.effective(region) for region in regions)
    type_keys = tuple(sorted({key for v in variants for key in v.record_types}))
    list_names = tuple(sorted(variants[0].lists))
    measure_names = tuple(sorted({key for v in variants for key in v.measures}))
    shape = (len(variants), len(type_keys))
    months = np.zeros(shape, np.int32)
    kinds = np.zeros(shape, np.uint8)
    points = np.zeros(shape, np.int64)
    per_unit = np.full(shape, np.nan)
    yearly_cap = np.full(shape, -1, np.int64)
    lists = np.zeros(shape, np.uint8)
    clears = np.zeros((*shape, len(type_keys)), np.bool_)
    counts_against = np.zeros(shape, np.bool_)
    for v, variant in enumerate(variants):
        for key, rule in variant.record_types.items():
            t = type_keys.index(key)
            months[v, t] = rule.in_force_months
            kinds[v, t] = sum(1 << KINDS.index(kind) for kind in rule.subject_kinds)
            if rule.points_per_unit is not None:
                per_unit[v, t] = rule.points_per_unit
            else:
                points[v, t] = rule.points or 0
            if rule.yearly_cap is not None:
                yearly_cap[v, t] = rule.yearly_cap
            for name in rule.lists:
                lists[v, t] |= 1 << list_names.index(name)
            for cleared in rule.clears:
                if cleared in type_keys:
                    clears[v, t, type_keys.index(cleared)] = True
            counts_against[v, t] = rule.counts_against
    return PolicyTables(
        variants=variants,
        variant_regions=tuple(regions),
        type_keys=type_keys,
        list_names=list_names,
        measure_names=measure_names,
        months=months,
        kinds=kinds,
        points=points,
        per_unit=per_unit,
        yearly_cap=yearly_cap,
        lists=lists,
        clears=clears,
        counts_against=counts_against,
    )


def in_force_table(tables: PolicyTables, as_of: dt.date) -> npt.NDArray[np.int32]:
    """``[variant, type]``: the first day number still in force on ``as_of``
    (a huge number where the type is not in the variant, so nothing is in force)."""
    out = np.full(tables.months.shape, np.iinfo(np.int32).max, np.int32)
    for months in np.unique(tables.months[tables.months > 0]):
        out[tables.months == months] = day_number(in_force_from(as_of, int(months)))
    return out
