"""Authorities and decision-reference frames, per (record type, jurisdiction), per run.

Formatting a court's name and its case-number frame is slow Python; the same few
thousand combinations recur in every chunk. :class:`FrameTable` formats each once,
gives it a run-wide number, and serves the texts as byte tables that chunks pick
from by that number, so a chunk does no per-combination Python work once the
combinations it uses have been seen.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from socialcredit.simulate.calibration import Authority, calibration, counties
from socialcredit.simulate.text import TextTable

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Texts:
    """A type's authority at one jurisdiction, and its decision-reference frame."""

    authority: str
    before_year: str
    between: str  # between the year and the serial
    after: str

    @property
    def has_reference(self) -> bool:
        return bool(self.before_year or self.after)

    @classmethod
    def of(cls, authority: Authority, code: int) -> Texts:
        text = f"{code:06d}"
        places = counties()
        fields = {
            "county": places.county_name(text),
            "city": places.city_name(text),
            "province": places.province_name(text),
            "abbr": calibration().abbreviations.get(text[:2], ""),
            "court": text[2:6],
        }
        before_year, _, rest = authority.decision_ref.partition("{year}")
        between, _, after = rest.partition("{n}")
        return cls(
            authority.authority.format(**fields),
            before_year.format(**fields),
            between.format(**fields),
            after.format(**fields),
        )


@dataclass(frozen=True)
class Frames:
    """The texts of combinations 0..n-1, as tables to pick from by combination number."""

    authority: pa.Array
    jurisdiction: pa.Array
    before_year: TextTable
    between: TextTable
    after: TextTable
    has_reference: npt.NDArray[np.bool_]


class FrameTable:
    """Run-wide numbers for (type index, jurisdiction) combinations, and their texts.

    Shared by the generating threads of a run; additions happen under a lock.
    """

    def __init__(self, authorities: dict[int, Authority], type_count: int) -> None:
        self._authorities = authorities
        county_codes = np.array([int(c) for c in counties().codes], np.int64)
        # every jurisdiction is a county truncated to county, city or province
        self._codes = np.unique(np.concatenate([county_codes // s * s for s in (1, 100, 10_000)]))
        self._numbers = np.full((type_count, len(self._codes)), -1, np.int64)
        self._texts: list[Texts] = []
        self._combos: list[int] = []  # jurisdiction code of each combination
        self._frames: Frames | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        del state["_lock"]  # worker processes get a copy, and a lock of their own
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def numbers(self, type_index: Ints, jurisdiction: Ints) -> tuple[Ints, Frames]:
        """Each row's combination number, and frames that cover every one of them."""
        position = np.searchsorted(self._codes, jurisdiction)
        if len(position) and (
            position.max() >= len(self._codes) or (self._codes[position] != jurisdiction).any()
        ):
            raise ValueError("a jurisdiction is not a known county, city or province code")
        found = self._numbers[type_index, position]
        with self._lock:
            missing = found < 0
            if missing.any():
                pairs = np.unique(type_index[missing] * len(self._codes) + position[missing])
                for pair in pairs.tolist():
                    t, p = divmod(pair, len(self._codes))
                    if self._numbers[t, p] < 0:
                        code = int(self._codes[p])
                        self._numbers[t, p] = len(self._texts)
                        self._texts.append(Texts.of(self._authorities[t], code))
                        self._combos.append(code)
                        self._frames = None
                found = self._numbers[type_index, position]
            if self._frames is None:
                self._frames = self._build()
            return found, self._frames

    def _build(self) -> Frames:
        texts = self._texts or [Texts("", "", "", "")]
        codes = self._combos or [0]
        return Frames(
            authority=pa.array([t.authority for t in texts], pa.string()),
            jurisdiction=pa.array([f"{c:06d}" for c in codes], pa.string()),
            before_year=TextTable.of([t.before_year for t in texts]),
            between=TextTable.of([t.between for t in texts]),
            after=TextTable.of([t.after for t in texts]),
            has_reference=np.array([t.has_reference for t in texts], np.bool_),
        )
