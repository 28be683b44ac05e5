"""The generator's output: valid, unique, consistent with the policy and the contract."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from socialcredit.identity import validate_array
from socialcredit.policy import PolicyCatalog
from socialcredit.simulate import GenerateError, GenerateOptions, generate, pinyin
from tests.simulate.conftest import AS_OF, Generated

SUBJECT_COLUMNS = ["subject_id", "kind", "name", "region", "birth_date", "registered_on"]
RECORD_COLUMNS = [
    "record_id",
    "subject_id",
    "record_type",
    "occurred_on",
    "authority",
    "jurisdiction",
    "decision_ref",
    "amount",
]


def test_columns_follow_the_contract(population: Generated) -> None:
    assert population.subjects.column_names == SUBJECT_COLUMNS
    assert population.records.column_names == RECORD_COLUMNS
    assert population.subjects.schema.field("birth_date").type == pa.date32()
    assert population.records.schema.field("amount").type == pa.float64()


def test_counts(population: Generated) -> None:
    kinds = population.subjects.column("kind").to_pylist()
    assert kinds.count("person") == 200_000
    assert kinds.count("organisation") == 10_000  # default M = N / 20
    assert population.summary.records == population.records.num_rows
    assert sum(population.summary.records_by_type.values()) == population.records.num_rows


def test_every_id_validates_and_is_unique(population: Generated) -> None:
    subjects = population.subjects
    for kind in ("person", "organisation"):
        ids = subjects.filter(pc.equal(subjects.column("kind"), kind)).column("subject_id")
        batch = validate_array(ids, kind=kind, today=AS_OF)
        assert batch.invalid_count == 0, batch.messages().drop_null()[:5]
    assert pc.count_distinct(subjects.column("subject_id")).as_py() == subjects.num_rows
    records = population.records.column("record_id")
    assert pc.count_distinct(records).as_py() == len(records)


def test_people_are_adults_and_ids_match_region_birth_date_and_sex(population: Generated) -> None:
    people = population.subjects.filter(pc.equal(population.subjects.column("kind"), "person"))
    ids = people.column("subject_id").to_pylist()
    regions = people.column("region").to_pylist()
    births = people.column("birth_date").to_pylist()
    eighteen = AS_OF.replace(year=AS_OF.year - 18)
    for code, region, born in zip(ids[:5000], regions[:5000], births[:5000], strict=True):
        assert code[:6] == region
        assert code[6:14] == f"{born:%Y%m%d}"
        assert born <= eighteen
    odd = sum(int(code[16]) % 2 for code in ids)  # odd sequence: men
    assert abs(odd / len(ids) - 0.5124) < 0.01


def test_records_name_registered_subjects_and_policy_types(
    population: Generated, shipped_catalog: PolicyCatalog
) -> None:
    records, subjects = population.records, population.subjects
    assert pc.all(pc.is_in(records.column("subject_id"), subjects.column("subject_id"))).as_py()
    ids = subjects.column("subject_id").to_pylist()
    kind_of = dict(zip(ids, subjects.column("kind").to_pylist(), strict=True))
    region_of = dict(zip(ids, subjects.column("region").to_pylist(), strict=True))
    combos = {
        (t, j)
        for t, j in zip(
            records.column("record_type").to_pylist(),
            records.column("jurisdiction").to_pylist(),
            strict=True,
        )
    }
    for record_type, jurisdiction in combos:
        assert record_type in shipped_catalog.effective(jurisdiction).record_types, (
            record_type,
            jurisdiction,
        )
    sample = records.slice(0, 20_000).to_pylist()
    for row in sample:
        policy = shipped_catalog.effective(row["jurisdiction"])
        rt = policy.record_types[row["record_type"]]
        assert kind_of[row["subject_id"]] in rt.subject_kinds
        # the authority's jurisdiction contains the subject's county
        assert region_of[row["subject_id"]].startswith(row["jurisdiction"].rstrip("0")), row
        if rt.requires_decision_ref:
            assert row["decision_ref"], row
        if rt.amount_max is not None and row["amount"] is not None:
            assert (rt.amount_min or 0) <= row["amount"] <= rt.amount_max


def test_dates_fall_in_the_five_years_before_as_of(population: Generated) -> None:
    days = population.records.column("occurred_on")
    assert pc.max(days).as_py() <= AS_OF
    assert pc.min(days).as_py() >= AS_OF.replace(year=AS_OF.year - 5)


def test_overlay_types_only_in_their_region(population: Generated) -> None:
    records = population.records
    for prefix, region in (("zhoushan.", "3309"), ("rongcheng.", "371082")):
        mask = pc.starts_with(records.column("record_type"), prefix)
        jurisdictions = set(records.filter(mask).column("jurisdiction").to_pylist())
        assert jurisdictions, prefix
        assert all(j.startswith(region) for j in jurisdictions)


def test_some_court_records_are_cleared(population: Generated) -> None:
    records = population.records
    listed = records.filter(pc.equal(records.column("record_type"), "court.judgment_default"))
    cleared = records.filter(pc.equal(records.column("record_type"), "court.obligation_performed"))
    assert 0 < cleared.num_rows < listed.num_rows
    assert pc.all(pc.is_in(cleared.column("subject_id"), listed.column("subject_id"))).as_py()


def test_same_arguments_give_byte_identical_files(
    tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    outputs = []
    for name in ("a", "b"):
        options = GenerateOptions(
            people=30_000, seed=7, out=tmp_path / name, as_of=AS_OF, chunk_people=10_000
        )
        generate(options, shipped_catalog)
        outputs.append(
            (
                (tmp_path / name / "subjects.parquet").read_bytes(),
                (tmp_path / name / "records.parquet").read_bytes(),
            )
        )
    assert outputs[0] == outputs[1]
    other = GenerateOptions(
        people=30_000, seed=8, out=tmp_path / "c", as_of=AS_OF, chunk_people=10_000
    )
    generate(other, shipped_catalog)
    assert (tmp_path / "c" / "subjects.parquet").read_bytes() != outputs[0][0]


def test_worker_processes_write_the_same_bytes(
    tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    files = []
    for workers in (0, 2):
        out = tmp_path / f"w{workers}"
        options = GenerateOptions(
            people=40_000, seed=3, out=out, as_of=AS_OF, chunk_people=8_000, workers=workers
        )
        summary = generate(options, shipped_catalog)
        files.append(
            (
                (out / "subjects.parquet").read_bytes(),
                (out / "records.parquet").read_bytes(),
                summary.as_dict()["records"],
            )
        )
    assert files[0] == files[1]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"people": 0}, "positive"),
        ({"people": -5}, "positive"),
        ({"organisations": -1}, "0 or more"),
        ({"as_of": dt.date.today() + dt.timedelta(days=2)}, "future"),
        ({"compression": "brotli"}, "expected one of snappy, zstd, none"),
        ({"as_of": dt.date(1999, 12, 31)}, "before 2000-01-01"),
    ],
)
def test_bad_arguments(
    tmp_path: Path, shipped_catalog: PolicyCatalog, changes: dict[str, object], words: str
) -> None:
    options = {"people": 10, "seed": 1, "out": tmp_path, "as_of": AS_OF} | changes
    with pytest.raises(GenerateError, match=words):
        generate(GenerateOptions(**options), shipped_catalog)  # type: ignore[arg-type]


def test_existing_output_needs_force(tmp_path: Path, shipped_catalog: PolicyCatalog) -> None:
    options = GenerateOptions(people=100, seed=1, out=tmp_path, as_of=AS_OF)
    generate(options, shipped_catalog)
    before = (tmp_path / "subjects.parquet").read_bytes()
    with pytest.raises(GenerateError, match="--force"):
        generate(options, shipped_catalog)
    assert (tmp_path / "subjects.parquet").read_bytes() == before
    forced = GenerateOptions(people=100, seed=2, out=tmp_path, as_of=AS_OF, force=True)
    generate(forced, shipped_catalog)
    assert (tmp_path / "subjects.parquet").read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records.parquet", "subjects.parquet"]


def test_out_that_is_a_file_or_unwritable(tmp_path: Path, shipped_catalog: PolicyCatalog) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(GenerateError, match="not a directory"):
        generate(GenerateOptions(people=10, seed=1, out=a_file, as_of=AS_OF), shipped_catalog)
    with pytest.raises(GenerateError, match="cannot create"):
        generate(
            GenerateOptions(people=10, seed=1, out=a_file / "sub", as_of=AS_OF), shipped_catalog
        )


def test_names_are_chinese_with_pinyin(population: Generated) -> None:
    names = population.subjects.column("name").slice(0, 1000).to_pylist()
    assert all(2 <= len(name) <= 4 for name in names)
    assert all("\u4e00" <= char <= "\u9fff" for name in names for char in name)
    assert pinyin("欧阳伟") == "Ouyang Wei"
    assert pinyin("王芳") == "Wang Fang"
    assert pinyin(names[0]).split()[0].isascii()


def test_leap_day_as_of(tmp_path: Path, shipped_catalog: PolicyCatalog) -> None:
    leap = dt.date(2024, 2, 29)
    summary = generate(
        GenerateOptions(people=5_000, seed=1, out=tmp_path, as_of=leap), shipped_catalog
    )
    assert summary.records > 0
    import pyarrow.parquet as pq

    ids = pq.read_table(tmp_path / "subjects.parquet").column("subject_id")
    assert validate_array(ids, today=leap).invalid_count == 0


def test_small_population_still_has_every_column(
    tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    generate(
        GenerateOptions(people=1, seed=1, out=tmp_path, as_of=AS_OF, organisations=0),
        shipped_catalog,
    )
    import pyarrow.parquet as pq

    subjects = pq.read_table(tmp_path / "subjects.parquet")
    assert subjects.num_rows == 1
    assert pq.read_table(tmp_path / "records.parquet").column_names == RECORD_COLUMNS
    assert np.all(np.array(subjects.column("kind").to_pylist()) == "person")
