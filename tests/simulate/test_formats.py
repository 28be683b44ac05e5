"""Record IDs and decision references: the formats docs/simulation.md describes."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from socialcredit.policy import PolicyCatalog
from socialcredit.simulate import GenerateOptions, generate
from tests.populations import AS_OF, Generated


def _negative(records: pa.Table, catalog: PolicyCatalog) -> pa.Array:
    """Whether each record's type is negative (national definitions; overlays agree)."""
    types: list[str] = pc.unique(records.column("record_type")).to_pylist()
    everywhere = {
        key: rt.is_negative
        for region in (None, *catalog.overlay_regions)
        for key, rt in catalog.effective(region).record_types.items()
    }
    negative = [key for key in types if everywhere[key]]
    return pc.is_in(records.column("record_type"), pa.array(negative, pa.string()))


def test_record_ids_are_seed_run_hash_and_record_number(population: Generated) -> None:
    ids = population.records.column("record_id")
    assert pc.all(pc.match_substring_regex(ids, r"^S2019-[0-9A-F]{6}-[0-9]{12}$")).as_py()
    assert pc.count_distinct(pc.utf8_slice_codeunits(ids, 0, 12)).as_py() == 1
    numbers = pc.utf8_slice_codeunits(ids, 13, 25)
    assert pc.count_distinct(numbers).as_py() == len(ids)


def test_decision_references_carry_the_year_and_the_record_number(
    population: Generated, shipped_catalog: PolicyCatalog
) -> None:
    records = population.records
    negative = _negative(records, shipped_catalog)
    refs = records.column("decision_ref")
    # positive records have none; every negative one has one
    assert pc.all(pc.is_null(refs.filter(pc.invert(negative)))).as_py()
    with_ref = records.filter(negative)
    assert with_ref.column("decision_ref").null_count == 0
    parts = pc.extract_regex(
        with_ref.column("decision_ref"), r"[(〔](?P<year>[0-9]{4})[)〕].*?(?P<n>[0-9]{12})号$"
    )
    assert parts.null_count == 0  # every reference matched
    year = pc.cast(pc.struct_field(parts, "year"), pa.int64())
    assert pc.all(pc.equal(year, pc.year(with_ref.column("occurred_on")))).as_py()
    number = pc.utf8_slice_codeunits(with_ref.column("record_id"), 13, 25)
    assert pc.all(pc.equal(pc.struct_field(parts, "n"), number)).as_py()
    # court references: (year) province abbreviation, court = digits 3-6 of the county, 执
    court = with_ref.filter(pc.starts_with(with_ref.column("record_type"), "court."))
    assert court.num_rows > 0
    shape = r"^\([0-9]{4}\)\p{Han}[0-9]{4}执[0-9]{12}号$"
    assert pc.all(pc.match_substring_regex(court.column("decision_ref"), shape)).as_py()
    county = pc.utf8_slice_codeunits(court.column("jurisdiction"), 2, 6)
    in_ref = pc.utf8_slice_codeunits(court.column("decision_ref"), 7, 11)
    assert pc.all(pc.equal(county, in_ref)).as_py()


def _run_tag(tmp_path: Path, catalog: PolicyCatalog, **changes: object) -> str:
    base = GenerateOptions(people=300, seed=7, out=tmp_path, as_of=AS_OF, force=True)
    generate(dataclasses.replace(base, **changes), catalog)  # type: ignore[arg-type]
    first: str = pq.read_table(tmp_path / "records.parquet").column("record_id")[0].as_py()
    return first[: first.rindex("-")]


@pytest.mark.parametrize(
    ("changes", "same_hash"),
    [
        ({"compression": "zstd"}, True),
        ({"organisations": 15}, True),  # the default: round(300 / 20)
        ({"seed": 8}, True),  # the seed is in the tag, not in the hash
        ({"people": 301}, False),
        ({"organisations": 16}, False),
        ({"as_of": dt.date(2026, 6, 29)}, False),
        ({"chunk_people": 100}, False),
    ],
)
def test_run_hash_covers_the_arguments_that_shape_the_records(
    tmp_path: Path, shipped_catalog: PolicyCatalog, changes: dict[str, object], same_hash: bool
) -> None:
    base = _run_tag(tmp_path / "base", shipped_catalog)
    other = _run_tag(tmp_path / "other", shipped_catalog, **changes)
    assert base.startswith("S7-")
    assert other.startswith(f"S{changes.get('seed', 7)}-")
    assert (base.split("-")[1] == other.split("-")[1]) is same_hash
