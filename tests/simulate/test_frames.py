from __future__ import annotations

import numpy as np
import pytest

from socialcredit.simulate.calibration import Authority
from socialcredit.simulate.frames import FrameTable
from socialcredit.simulate.text import join

COURT = Authority("county", "{county}人民法院", "({year}){abbr}{court}执{n}号")
BANK = Authority("city", "中国工商银行{city}分行", "{abbr}银催字〔{year}〕{n}号")
HONOUR = Authority("county", "{county}人民政府", "")


def _table() -> FrameTable:
    return FrameTable({0: COURT, 1: BANK, 2: HONOUR}, 3)


def _texts(table: FrameTable, types: list[int], places: list[int]) -> dict[str, list[object]]:
    frames = table.frames(np.array(types, np.int64), np.array(places, np.int64))
    rows = len(types)
    return {
        "authority": frames.authority.to_pylist(),
        "authority_dictionary": frames.authority.dictionary.to_pylist(),
        "jurisdiction": frames.jurisdiction.to_pylist(),
        "jurisdiction_dictionary": frames.jurisdiction.dictionary.to_pylist(),
        "frame": join(
            [frames.before_year, frames.between, frames.after], valid=frames.has_reference
        ).to_pylist(),
        "rows": [rows],
    }


def test_frames_fill_the_templates_with_the_place() -> None:
    texts = _texts(_table(), [0, 1, 2], [330106, 330100, 330106])
    assert texts["authority"] == ["西湖区人民法院", "中国工商银行杭州市分行", "西湖区人民政府"]
    assert texts["jurisdiction"] == ["330106", "330100", "330106"]
    assert texts["frame"] == ["()浙0106执号", "浙银催字〔〕号", None]


def test_a_chunks_dictionaries_do_not_depend_on_what_came_before() -> None:
    chunk = ([1, 0, 0, 2, 1], [110100, 110105, 330106, 330106, 330100])
    earlier = ([0, 2, 1], [440305, 440305, 440300])
    seasoned = _table()
    _texts(seasoned, *earlier)
    fresh = _texts(_table(), *chunk)
    assert _texts(seasoned, *chunk) == fresh
    assert fresh["authority_dictionary"] == sorted(set(fresh["authority"]))  # type: ignore[type-var]
    assert fresh["jurisdiction_dictionary"] == sorted(set(fresh["jurisdiction"]))  # type: ignore[type-var]


def test_unknown_jurisdictions_are_refused() -> None:
    with pytest.raises(ValueError, match="not a known"):
        _table().frames(np.array([0]), np.array([999_999]))
    with pytest.raises(ValueError, match="6-digit"):
        _table().frames(np.array([0]), np.array([1_000_000]))
