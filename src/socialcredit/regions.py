"""The administrative division table (GB/T 2260) shipped in ``data/regions.tsv``.

Codes are six digits: province (2), prefecture (4), county (6). The table is
built from python-stdnum's reference data by ``scripts/build_regions.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import numpy as np
import numpy.typing as npt

Level = Literal["province", "prefecture", "county"]
_LEVELS: tuple[Level, ...] = ("province", "prefecture", "county")


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    level: Level
    name: str
    first_year: int | None
    last_year: int | None


@dataclass(frozen=True, slots=True)
class RegionTable:
    regions: dict[str, Region]
    #: indexed by the 2-digit province number: True where the province exists
    province_known: npt.NDArray[np.bool_]
    #: indexed by the 6-digit code as an integer: True where the code is listed
    code_known: npt.NDArray[np.bool_]

    def get(self, code: str) -> Region | None:
        return self.regions.get(code)

    def province(self, code: str) -> Region | None:
        """The province a region code (2 to 6 digits) belongs to."""
        return self.regions.get(code[:2] + "0000")

    def prefecture(self, code: str) -> Region | None:
        """The prefecture-level division of a 4- or 6-digit code, if listed."""
        if len(code) < 4:
            return None
        return self.regions.get(code[:4] + "00")

    def is_province_known(self, code: str) -> bool:
        return len(code) >= 2 and code[:2].isdigit() and bool(self.province_known[int(code[:2])])

    def describe(self, code: str) -> str:
        """A human-readable place name, e.g. ``山东省 威海市 荣成市``."""
        parts: list[str] = []
        for prefix_len in (2, 4, 6):
            if len(code) < prefix_len:
                break
            region = self.regions.get(code[:prefix_len].ljust(6, "0"))
            if region is not None and region.name not in parts:
                parts.append(region.name)
        return " ".join(parts) if parts else code


def _level(text: str, code: str) -> Level:
    for level in _LEVELS:
        if text == level:
            return level
    raise ValueError(f"regions.tsv: unknown level {text!r} for {code}")


def _parse_year(text: str) -> int | None:
    return int(text) if text else None


@cache
def region_table() -> RegionTable:
    text = (resources.files("socialcredit") / "data" / "regions.tsv").read_text(encoding="utf-8")
    regions: dict[str, Region] = {}
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    for line in lines[1:]:  # the first non-comment line is the header
        code, level, name, first, last = line.split("\t")
        regions[code] = Region(
            code, _level(level, code), name, _parse_year(first), _parse_year(last)
        )
    province_known = np.zeros(100, dtype=np.bool_)
    code_known = np.zeros(1_000_000, dtype=np.bool_)
    for code, region in regions.items():
        code_known[int(code)] = True
        if region.level == "province":
            province_known[int(code[:2])] = True
    return RegionTable(regions, province_known, code_known)
