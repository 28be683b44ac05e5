"""The shipped division table agrees with its source, python-stdnum's cn/loc.dat."""

from __future__ import annotations

import re
from importlib import metadata, resources

from scripts.build_regions import build_rows

from socialcredit.regions import region_table


def _shipped_stdnum_version() -> str:
    text = (resources.files("socialcredit") / "data" / "regions.tsv").read_text(encoding="utf-8")
    match = re.search(r"from python-stdnum (\S+),", text)
    assert match is not None, "regions.tsv must name the python-stdnum version it came from"
    return match.group(1)


def test_table_is_what_the_build_script_makes_from_stdnum() -> None:
    loc_dat = (resources.files("stdnum") / "cn" / "loc.dat").read_text(encoding="utf-8")
    expected = build_rows(loc_dat)
    table = region_table()
    if metadata.version("python-stdnum") == _shipped_stdnum_version():
        assert len(table.regions) == len(expected)
    else:
        # another stdnum release may add or retire codes: the provinces must still agree
        expected = [row for row in expected if row[1] == "province"]
    for code, level, name, _first, _last in expected:
        region = table.regions[code]
        assert (region.level, region.name) == (level, name)


def test_every_province_and_the_policy_cities() -> None:
    table = region_table()
    provinces = [r for r in table.regions.values() if r.level == "province"]
    assert len(provinces) == 35  # 34 province-level divisions and the 83 supplement
    assert table.regions["330100"].name == "杭州市"
    assert table.regions["330900"].name == "舟山市"
    assert table.regions["371000"].name == "威海市"
    assert table.regions["371082"].name == "荣成市"
    assert table.regions["371082"].first_year == 1989
    assert table.describe("371082") == "山东省 威海市 荣成市"
    assert table.is_province_known("11")
    assert not table.is_province_known("99")
