"""The calibration tables (``calibration.toml``, ``names.toml``) as typed data."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from socialcredit.regions import region_table

Level = Literal["county", "city", "province"]
LEVEL_DIGITS: dict[str, int] = {"county": 6, "city": 4, "province": 2}


@dataclass(frozen=True, slots=True)
class RecordRate:
    record_type: str
    share: float
    mean: float
    amount: tuple[str, float, float] | None


@dataclass(frozen=True, slots=True)
class Authority:
    level: Level
    authority: str
    decision_ref: str


@dataclass(frozen=True, slots=True)
class OrganisationType:
    authority: str
    entity_type: str
    share: float
    label: str


@dataclass(frozen=True)
class Calibration:
    sources: dict[str, str]
    male_share: float
    organisations_per_person: float
    window_years: int
    province_population: dict[str, int]
    age_bands: list[tuple[int, int, float]]
    organisation_types: list[OrganisationType]
    new_style_org_code_share: float
    registered_within_years: int
    person_rates: list[RecordRate]
    organisation_rates: list[RecordRate]
    cleared_share: float
    clearing_days: tuple[int, int]
    authorities: dict[str, Authority]
    authorities_by_type: dict[str, Authority]
    abbreviations: dict[str, str]
    names: dict[str, Any]

    def authority_for(self, record_type: str, category: str) -> Authority:
        return self.authorities_by_type.get(record_type) or self.authorities[category]


def _rates(table: dict[str, Any]) -> list[RecordRate]:
    rates = []
    for key, entry in table.items():
        amount = entry.get("amount")
        parsed = None if amount is None else (str(amount[0]), float(amount[1]), float(amount[2]))
        rates.append(RecordRate(key, float(entry["share"]), float(entry["mean"]), parsed))
    return rates


def _authority(entry: dict[str, Any]) -> Authority:
    level = entry["level"]
    if level not in LEVEL_DIGITS:
        raise ValueError(f"calibration.toml: unknown authority level {level!r}")
    return Authority(level, entry["authority"], entry["decision_ref"])


def _read(name: str) -> dict[str, Any]:
    text = (resources.files("socialcredit.simulate") / name).read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def calibration() -> Calibration:
    raw = _read("calibration.toml")
    population = raw["population"]
    clearing = raw["records"]["clearing"]["court.judgment_default"]
    return Calibration(
        sources=raw["sources"],
        male_share=float(population["male_share"]),
        organisations_per_person=float(population["organisations_per_person"]),
        window_years=int(population["as_of_window_years"]),
        province_population={str(k): int(v) for k, v in population["provinces"].items()},
        age_bands=[(int(a), int(b), float(s)) for a, b, s in population["age_bands"]["bands"]],
        organisation_types=[
            OrganisationType(a, t, float(s), label)
            for a, t, s, label in raw["organisations"]["types"]
        ],
        new_style_org_code_share=float(raw["organisations"]["new_style_org_code_share"]),
        registered_within_years=int(raw["organisations"]["registered_within_years"]),
        person_rates=_rates(raw["records"]["person"]),
        organisation_rates=_rates(raw["records"]["organisation"]),
        cleared_share=float(clearing["cleared_share"]),
        clearing_days=(int(clearing["after_days"][0]), int(clearing["after_days"][1])),
        authorities={k: _authority(v) for k, v in raw["authorities"].items() if k != "by_type"},
        authorities_by_type={k: _authority(v) for k, v in raw["authorities"]["by_type"].items()},
        abbreviations={str(k): str(v) for k, v in raw["places"]["abbreviations"].items()},
        names=_read("names.toml"),
    )


@dataclass(frozen=True)
class Counties:
    """The current county-level divisions of the provinces in the census table."""

    codes: list[str]
    weights: npt.NDArray[np.float64]  # province population shared equally by its counties

    def county_name(self, code: str) -> str:
        region = region_table().get(code)
        return region.name if region else code

    def city_name(self, code: str) -> str:
        """The prefecture's name; for municipalities and '市辖区' placeholders, the province's."""
        prefecture = region_table().get(code[:4] + "00")
        if prefecture is None or prefecture.name in ("市辖区", "县", "省直辖县级行政区划"):
            return self.province_name(code)
        return prefecture.name

    def province_name(self, code: str) -> str:
        province = region_table().province(code)
        return province.name if province else code


@cache
def counties(as_of_year: int | None = None) -> Counties:
    """Current county-level codes (first listed by ``as_of_year``, when given)."""
    populations = calibration().province_population
    by_province: dict[str, list[str]] = {}
    for code, region in sorted(region_table().regions.items()):
        if (
            region.level == "county"
            and region.last_year is None
            and region.name != "市辖区"
            and code[:2] in populations
            and (as_of_year is None or region.first_year is None or region.first_year <= as_of_year)
        ):
            by_province.setdefault(code[:2], []).append(code)
    codes: list[str] = []
    weights: list[float] = []
    for province, members in sorted(by_province.items()):
        codes += members
        weights += [populations[province] / len(members)] * len(members)
    array = np.array(weights, np.float64)
    return Counties(codes, array / array.sum())
