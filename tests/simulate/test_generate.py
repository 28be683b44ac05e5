"""The generator's output: valid, unique, consistent with the policy and the contract."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from socialcredit.identity import validate_array
from socialcredit.policy import PolicyCatalog
from socialcredit.policy.models import RecordType
from socialcredit.simulate import (
    RECORD_SCHEMA,
    SUBJECT_SCHEMA,
    GenerateError,
    GenerateOptions,
    generate,
    pinyin,
)
from socialcredit.simulate.calibration import calibration
from tests.populations import AS_OF, Generated

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
    # exactly the contract's types: the chunks' dictionary columns are read as strings
    assert population.subjects.schema.equals(SUBJECT_SCHEMA)
    assert population.records.schema.equals(RECORD_SCHEMA)


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
    ids = people.column("subject_id")
    births = people.column("birth_date")
    assert births.null_count == 0
    assert pc.all(pc.equal(pc.utf8_slice_codeunits(ids, 0, 6), people.column("region"))).as_py()
    born = pc.strftime(births, format="%Y%m%d")
    assert pc.all(pc.equal(pc.utf8_slice_codeunits(ids, 6, 14), born)).as_py()
    assert pc.max(births).as_py() <= AS_OF.replace(year=AS_OF.year - 18)
    sequence = pc.cast(pc.utf8_slice_codeunits(ids, 16, 17), pa.int8()).to_numpy()
    men = float(np.mean(sequence % 2))  # odd sequence: men
    assert abs(men - 0.5124) < 0.01


Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def _ymd(dates: pa.ChunkedArray) -> Ints:
    """Dates as YYYYMMDD integers (0 for null)."""
    parts = [pc.fill_null(f(dates), 0).to_numpy().astype(np.int64) for f in (pc.year, pc.month)]
    day = pc.fill_null(pc.day(dates), 0).to_numpy().astype(np.int64)
    ymd: Ints = parts[0] * 10_000 + parts[1] * 100 + day
    return ymd


def _codes(column: pa.ChunkedArray) -> tuple[list[str], Ints]:
    """The distinct values of a string column and each row's index among them."""
    values = pc.unique(column).to_pylist()
    index: Ints = pc.index_in(column, value_set=pa.array(values, pa.string())).to_numpy()
    return values, index.astype(np.int64)


@dataclass(frozen=True)
class Rows:
    """Every record joined to its subject, as one NumPy entry per record."""

    type_names: list[str]
    type_index: Ints
    jurisdictions: list[str]
    jurisdiction_index: Ints
    person: Bools
    region: Ints
    birth: Ints  # YYYYMMDD, 0 for organisations
    registered: Ints  # YYYYMMDD, 0 for people
    occurred: Ints  # YYYYMMDD
    amount: npt.NDArray[np.float64]  # NaN for null
    has_decision_ref: Bools

    def combos(self) -> tuple[list[tuple[str, str]], Ints]:
        """The distinct (record type, jurisdiction) pairs and each row's index among them."""
        places = len(self.jurisdictions)
        unique, inverse = np.unique(
            self.type_index * places + self.jurisdiction_index, return_inverse=True
        )
        pairs = [
            (self.type_names[k // places], self.jurisdictions[k % places]) for k in unique.tolist()
        ]
        return pairs, inverse.astype(np.int64)

    def of_type(self, key: str) -> Bools:
        mask: Bools = self.type_index == self.type_names.index(key)
        return mask

    def in_jurisdiction(self, prefix: str) -> Bools:
        starts = np.array([j.startswith(prefix) for j in self.jurisdictions], np.bool_)
        mask: Bools = starts[self.jurisdiction_index]
        return mask


@pytest.fixture(scope="module")
def dense(tmp_path_factory: pytest.TempPathFactory, shipped_catalog: PolicyCatalog) -> Generated:
    """More organisations than usual, so that the small overlay regions (Rongcheng: 0.05% of
    the subjects) hold records of every kind with an amount."""
    out = tmp_path_factory.mktemp("dense")
    options = GenerateOptions(
        people=500_000, organisations=300_000, seed=2020, out=out, as_of=AS_OF
    )
    return Generated(out, generate(options, shipped_catalog))


@pytest.fixture(scope="module")
def population_rows(population: Generated) -> Rows:
    return _rows(population)


@pytest.fixture(scope="module")
def dense_rows(dense: Generated) -> Rows:
    return _rows(dense)


@pytest.fixture(scope="module", params=["population_rows", "dense_rows"])
def rows(request: pytest.FixtureRequest) -> Rows:
    joined: Rows = request.getfixturevalue(request.param)
    return joined


def _rows(population: Generated) -> Rows:
    records, subjects = population.records, population.subjects
    subject = pc.index_in(records.column("subject_id"), value_set=subjects.column("subject_id"))
    assert subject.null_count == 0  # every record names a registered subject
    taken = subjects.take(subject)
    type_names, type_index = _codes(records.column("record_type"))
    jurisdictions, jurisdiction_index = _codes(records.column("jurisdiction"))
    decision_ref = records.column("decision_ref")
    return Rows(
        type_names,
        type_index,
        jurisdictions,
        jurisdiction_index,
        pc.equal(taken.column("kind"), "person").to_numpy(),
        pc.cast(taken.column("region"), pa.int64()).to_numpy(),
        _ymd(taken.column("birth_date")),
        _ymd(taken.column("registered_on")),
        _ymd(records.column("occurred_on")),
        records.column("amount").to_numpy(),
        pc.fill_null(pc.greater(pc.utf8_length(decision_ref), 0), False).to_numpy(),
    )


def _record_types(pairs: list[tuple[str, str]], catalog: PolicyCatalog) -> list[RecordType]:
    """The effective definition of each (record type, jurisdiction) pair."""
    policies = {j: catalog.effective(j).record_types for j in {j for _, j in pairs}}
    for record_type, jurisdiction in pairs:
        assert record_type in policies[jurisdiction], (record_type, jurisdiction)
    return [policies[j][t] for t, j in pairs]


def test_records_name_policy_types_their_subjects_may_have(
    rows: Rows, shipped_catalog: PolicyCatalog
) -> None:
    pairs, combo = rows.combos()
    types = _record_types(pairs, shipped_catalog)
    allowed = np.array(
        [("person" in rt.subject_kinds, "organisation" in rt.subject_kinds) for rt in types]
    )
    kind_ok = allowed[combo, np.where(rows.person, 0, 1)]
    assert kind_ok.all(), [pairs[i] for i in np.unique(combo[~kind_ok])]
    # DESIGN.md: negative records need a decision reference
    needs_ref = np.array([rt.is_negative or rt.requires_decision_ref for rt in types])
    ref_ok = rows.has_decision_ref | ~needs_ref[combo]
    assert ref_ok.all(), [pairs[i] for i in np.unique(combo[~ref_ok])]
    assert needs_ref[combo][~rows.person].any()  # organisations' records are checked too
    # the authority's jurisdiction is the subject's county, city or province
    codes = np.array([int(j) for j in rows.jurisdictions], np.int64)[rows.jurisdiction_index]
    inside = (
        (rows.region == codes)
        | (rows.region // 100 * 100 == codes)
        | (rows.region // 10_000 * 10_000 == codes)
    )
    assert inside.all(), np.flatnonzero(~inside)[:5]


def test_amounts_follow_the_calibration_and_the_policy_bounds(
    rows: Rows, shipped_catalog: PolicyCatalog
) -> None:
    pairs, combo = rows.combos()
    types = _record_types(pairs, shipped_catalog)
    low = np.array([-np.inf if rt.amount_min is None else rt.amount_min for rt in types])[combo]
    high = np.array([np.inf if rt.amount_max is None else rt.amount_max for rt in types])[combo]
    per_unit = np.array([rt.points_per_unit is not None for rt in types])[combo]
    # the calibration's amount of each (record type, kind): none, lognormal or uniform_int
    cal = calibration()
    spec = np.zeros((len(rows.type_names), 2), np.int64)  # 0 none, 1 lognormal, 2 integers
    int_low = np.zeros((len(rows.type_names), 2))
    int_high = np.zeros((len(rows.type_names), 2))
    for column, rates in enumerate((cal.person_rates, cal.organisation_rates)):
        for rate in rates:
            if rate.amount is not None and rate.record_type in rows.type_names:
                t = rows.type_names.index(rate.record_type)
                spec[t, column] = 1 if rate.amount[0] == "lognormal" else 2
                int_low[t, column], int_high[t, column] = rate.amount[1], rate.amount[2]
    kind = np.where(rows.person, 0, 1)
    expected = spec[rows.type_index, kind]
    amount, has_amount = rows.amount, ~np.isnan(rows.amount)

    def where(bad: Bools) -> list[tuple[str, str]]:
        return [pairs[i] for i in np.unique(combo[bad])][:5]

    assert not has_amount[expected == 0].any(), where(has_amount & (expected == 0))
    assert not (per_unit & ~has_amount).any(), where(per_unit & ~has_amount)  # points need it
    used = expected > 0
    assert has_amount[used].all(), where(used & ~has_amount)
    assert (amount[used] > 0).all()
    assert np.isfinite(amount[used]).all()
    out_of_bounds = used & ~((low <= amount) & (amount <= high))
    assert not out_of_bounds.any(), where(out_of_bounds)
    integers = expected == 2
    chosen = integers & (
        (amount != np.round(amount))
        | (amount < int_low[rows.type_index, kind])
        | (amount > int_high[rows.type_index, kind])
    )
    assert not chosen.any(), where(chosen)


def test_amount_checks_reach_overlay_types_of_both_kinds(
    dense_rows: Rows, shipped_catalog: PolicyCatalog
) -> None:
    """The dense population (checked above with every row) has bounded amounts of both
    kinds, of an overlay type (Rongcheng's bank arrears, 1 to 36 cycles) and of Hangzhou's
    redefinition of volunteering."""
    rows = dense_rows
    pairs, combo = rows.combos()
    types = _record_types(pairs, shipped_catalog)
    bounded = np.array([rt.amount_max is not None for rt in types])[combo] & ~np.isnan(rows.amount)
    for kind in (rows.person, ~rows.person):
        assert (bounded & kind & rows.of_type("rongcheng.bank_arrears")).any()
        assert (bounded & kind & rows.of_type("finance.loan_default")).any()
    volunteering = rows.of_type("civic.volunteer_hour") & rows.in_jurisdiction("3301")
    assert (bounded & volunteering).any()
    arrears = rows.amount[rows.of_type("rongcheng.bank_arrears")]
    assert arrears.max() <= 36


def test_dates_fall_in_the_five_years_before_as_of_and_after_the_subject_begins(
    rows: Rows,
) -> None:
    as_of = AS_OF.year * 10_000 + AS_OF.month * 100 + AS_OF.day
    assert rows.occurred.max() <= as_of
    assert rows.occurred.min() >= as_of - 5 * 10_000  # AS_OF is not 29 February
    people = rows.person
    assert (rows.birth[people] > 0).all()
    assert (rows.registered[~people] > 0).all()
    assert (~people).any()
    # YYYYMMDD arithmetic: on or after the 18th birthday (29 February: 1 March)
    assert (rows.occurred[people] - rows.birth[people] >= 18 * 10_000).all()
    assert (rows.occurred[~people] >= rows.registered[~people]).all()


def test_overlays_that_redefine_a_national_type_get_its_records(
    rows: Rows, shipped_catalog: PolicyCatalog
) -> None:
    national = shipped_catalog.effective(None).record_types
    redefined = [
        (overlay, key)
        for overlay in shipped_catalog.overlays
        for key in overlay.policy.record_types
        if key in national
    ]
    # Hangzhou (3301) gives blood donation 10 points instead of the national 5
    hangzhou = shipped_catalog.effective("330100").record_types["civic.blood_donation"]
    assert ("cities/hangzhou.toml", "civic.blood_donation") in {(o.name, k) for o, k in redefined}
    assert hangzhou != national["civic.blood_donation"]
    blood = rows.of_type("civic.blood_donation")
    assert (blood & (rows.region // 100 == 3301)).sum() > 10
    assert (blood & (rows.region // 100 != 3301)).sum() > 1000
    for overlay, key in redefined:
        region = overlay.policy.policy.region or ""
        of_type = rows.of_type(key)
        inside = of_type & (rows.region // 10 ** (6 - len(region)) == int(region))
        assert inside.any(), (overlay.name, key)
        in_overlay = rows.in_jurisdiction(region)
        assert in_overlay[inside].all(), (overlay.name, key)
        assert not in_overlay[of_type & ~inside].any(), (overlay.name, key)
        for j in np.unique(rows.jurisdiction_index[inside]).tolist():
            effective = shipped_catalog.effective(rows.jurisdictions[j])
            assert effective.record_types[key] == overlay.policy.record_types[key], (key, j)
            assert effective.sources[f"record_types.{key}"] == overlay.name


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
