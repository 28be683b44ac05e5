"""Authorities and decision-reference frames, per (record type, jurisdiction).

The same few thousand (type, jurisdiction) combinations recur in every chunk.
:class:`FrameTable` formats each once per process, from templates parsed once, and
keeps the texts in byte tables that grow as combinations appear, so a chunk does
per-combination Python work only for combinations it is the first to use.

The decision-reference texts are picked by a process-wide combination number, which
never reaches the output. The authority and jurisdiction columns are dictionary
arrays whose dictionaries are made per chunk from the chunk's own values, in sorted
order: chunks made in worker processes write the same bytes as chunks made in order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from socialcredit.simulate.calibration import Authority, calibration, counties
from socialcredit.simulate.text import Piece

Ints = npt.NDArray[np.int64]


@cache
def _frame_parts(decision_ref: str) -> tuple[str, str, str]:
    """A decision-reference template cut at ``{year}`` and ``{n}``: the text before
    the year, between the year and the serial, and after the serial."""
    before_year, _, rest = decision_ref.partition("{year}")
    between, _, after = rest.partition("{n}")
    return before_year, between, after


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
    def of(cls, authority: Authority, fields: dict[str, str]) -> Texts:
        before_year, between, after = _frame_parts(authority.decision_ref)
        return cls(
            authority.authority.format_map(fields),
            before_year.format_map(fields),
            between.format_map(fields),
            after.format_map(fields),
        )


def place_fields(code: int) -> dict[str, str]:
    """The names a template may use for a jurisdiction (shared by every record type)."""
    text = f"{code:06d}"
    places = counties()
    return {
        "county": places.county_name(text),
        "city": places.city_name(text),
        "province": places.province_name(text),
        "abbr": calibration().abbreviations.get(text[:2], ""),
        "court": text[2:6],
    }


class _GrowingTable:
    """A byte table (one left-aligned string per row) that rows are appended to.

    Appending never changes the rows a :meth:`piece` handed out earlier can see, so
    readers need no lock once they hold one.
    """

    def __init__(self) -> None:
        self._matrix = np.zeros((64, 8), np.uint8)
        self._lengths = np.zeros(64, np.int64)
        self._rows = 0

    def append(self, values: list[str]) -> None:
        new = Piece.of(values)
        needed = self._rows + len(values)
        width = max(self._matrix.shape[1], new.matrix.shape[1])
        if needed > len(self._lengths) or width > self._matrix.shape[1]:
            capacity = max(needed, 2 * len(self._lengths))
            matrix = np.zeros((capacity, width), np.uint8)
            matrix[: self._rows, : self._matrix.shape[1]] = self._matrix[: self._rows]
            lengths = np.zeros(capacity, np.int64)
            lengths[: self._rows] = self._lengths[: self._rows]
            self._matrix, self._lengths = matrix, lengths
        self._matrix[self._rows : needed, : new.matrix.shape[1]] = new.matrix
        self._lengths[self._rows : needed] = new.lengths
        self._rows = needed

    def piece(self, index: Ints) -> Piece:
        return Piece(self._matrix[: self._rows], self._lengths[: self._rows], index)


@dataclass(frozen=True)
class ChunkFrames:
    """The authority, jurisdiction and decision-reference frame of each row of a chunk."""

    authority: pa.DictionaryArray
    jurisdiction: pa.DictionaryArray
    before_year: Piece
    between: Piece
    after: Piece
    has_reference: npt.NDArray[np.bool_]


class FrameTable:
    """The texts of (type index, jurisdiction) combinations, formatted once per process.

    Shared by the generating threads of a run; additions happen under a lock.
    """

    def __init__(self, authorities: dict[int, Authority], type_count: int) -> None:
        self._authorities = authorities
        county_codes = np.array([int(c) for c in counties().codes], np.int64)
        # every jurisdiction is a county truncated to county, city or province
        self._codes = np.unique(np.concatenate([county_codes // s * s for s in (1, 100, 10_000)]))
        self._position = np.full(1_000_000, -1, np.int64)  # of each 6-digit code
        self._position[self._codes] = np.arange(len(self._codes))
        self._code_texts = [f"{c:06d}" for c in self._codes.tolist()]
        self._numbers = np.full((type_count, len(self._codes)), -1, np.int64)
        self._parts = (_GrowingTable(), _GrowingTable(), _GrowingTable())
        self._has_reference = np.zeros(0, np.bool_)
        self._authority_of = np.zeros(0, np.int64)  # authority text number per combination
        self._authority_texts: list[str] = []
        self._authority_numbers: dict[str, int] = {}
        self._formatted: dict[tuple[Authority, int], Texts] = {}
        self._fields: dict[int, dict[str, str]] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        del state["_lock"]  # worker processes get a copy, and a lock of their own
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def frames(self, type_index: Ints, jurisdiction: Ints) -> ChunkFrames:
        if len(jurisdiction) and (jurisdiction.min() < 0 or jurisdiction.max() >= 1_000_000):
            raise ValueError("a jurisdiction is not a 6-digit code")
        position = self._position[jurisdiction]
        if len(position) and position.min() < 0:
            raise ValueError("a jurisdiction is not a known county, city or province code")
        number = self._numbers[type_index, position]
        with self._lock:
            if len(number) and number.min() < 0:
                self._add(type_index[number < 0], position[number < 0])
                number = self._numbers[type_index, position]
            before_year, between, after = (part.piece(number) for part in self._parts)
            has_reference = self._has_reference[number]
            authority = self._authority_of[number]
            authority_texts = self._authority_texts
        return ChunkFrames(
            _sorted_dictionary(authority, authority_texts),
            _sorted_dictionary(position, self._code_texts),
            before_year,
            between,
            after,
            has_reference,
        )

    def _texts_of(self, authority: Authority, code: int) -> Texts:
        # record types share authorities: each (authority, place) is formatted once
        key = (authority, code)
        texts = self._formatted.get(key)
        if texts is None:
            fields = self._fields.get(code)
            if fields is None:
                fields = self._fields[code] = place_fields(code)
            texts = self._formatted[key] = Texts.of(authority, fields)
        return texts

    def _add(self, type_index: Ints, position: Ints) -> None:
        new = np.zeros(self._numbers.size, np.bool_)  # marking, not a sort of the rows
        new[type_index * len(self._codes) + position] = True
        pairs = np.flatnonzero(new)
        first = len(self._has_reference)
        self._numbers.flat[pairs] = np.arange(first, first + len(pairs))
        types, positions = np.divmod(pairs, len(self._codes))
        texts = [
            self._texts_of(self._authorities[t], code)
            for t, code in zip(types.tolist(), self._codes[positions].tolist(), strict=True)
        ]
        for part, values in zip(
            self._parts,
            ([t.before_year for t in texts], [t.between for t in texts], [t.after for t in texts]),
            strict=True,
        ):
            part.append(values)
        authority = [
            self._authority_numbers.setdefault(t.authority, len(self._authority_numbers))
            for t in texts
        ]
        self._authority_texts = list(self._authority_numbers)  # a new list: readers keep theirs
        self._authority_of = np.concatenate([self._authority_of, np.array(authority, np.int64)])
        self._has_reference = np.concatenate(
            [self._has_reference, np.array([t.has_reference for t in texts], np.bool_)]
        )


def _sorted_dictionary(numbers: Ints, texts: list[str]) -> pa.DictionaryArray:
    """Rows given as numbers into ``texts``, as a dictionary array whose dictionary is
    the distinct texts used, sorted (so it does not depend on the numbering)."""
    used = np.zeros(len(texts), np.bool_)
    used[numbers] = True
    distinct = sorted((texts[n], n) for n in np.flatnonzero(used).tolist())
    remap = np.zeros(len(texts), np.int32)
    remap[[n for _, n in distinct]] = np.arange(len(distinct), dtype=np.int32)
    dictionary = pa.array([text for text, _ in distinct], pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(remap[numbers]), dictionary)
