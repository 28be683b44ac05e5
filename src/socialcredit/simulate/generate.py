"""``socialcredit generate``: a synthetic population and its records, as Parquet files.

Counties are never split between chunks, so IDs are unique by construction; each
chunk has its own random stream (seed, chunk number), so the output depends only on
the arguments. Files are written to temporary names and renamed when complete.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from socialcredit.policy import PolicyCatalog
from socialcredit.simulate.calibration import calibration, counties
from socialcredit.simulate.organisations import generate_organisations
from socialcredit.simulate.people import generate_people
from socialcredit.simulate.records import (
    CLEARING_TYPE,
    Subjects,
    TypePlan,
    build_table,
    draw_records,
    plan_types,
)

SUBJECTS_FILE = "subjects.parquet"
RECORDS_FILE = "records.parquet"
CHUNK_PEOPLE = 250_000
#: days from a birth date to the 18th birthday, at most (records start then)
_EIGHTEEN_YEARS = 18 * 366

SUBJECT_SCHEMA = pa.schema(
    [
        ("subject_id", pa.string()),
        ("kind", pa.string()),
        ("name", pa.string()),
        ("region", pa.string()),
        ("birth_date", pa.date32()),
        ("registered_on", pa.date32()),
    ]
)
RECORD_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("subject_id", pa.string()),
        ("record_type", pa.string()),
        ("occurred_on", pa.date32()),
        ("authority", pa.string()),
        ("jurisdiction", pa.string()),
        ("decision_ref", pa.string()),
        ("amount", pa.float64()),
    ]
)


class GenerateError(Exception):
    """The arguments cannot be used (the command exits 2)."""


@dataclass(frozen=True)
class GenerateOptions:
    people: int
    seed: int
    out: Path
    as_of: dt.date
    organisations: int | None = None
    force: bool = False
    chunk_people: int = CHUNK_PEOPLE

    @property
    def organisation_count(self) -> int:
        if self.organisations is not None:
            return self.organisations
        return round(self.people * calibration().organisations_per_person)


@dataclass
class GenerateSummary:
    people: int = 0
    organisations: int = 0
    records: int = 0
    records_by_type: Counter[str] = field(default_factory=Counter)
    records_by_kind: Counter[str] = field(default_factory=Counter)
    subjects_file: str = ""
    records_file: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "people": self.people,
            "organisations": self.organisations,
            "records": self.records,
            "records_by_kind": dict(sorted(self.records_by_kind.items())),
            "records_by_type": dict(sorted(self.records_by_type.items())),
            "subjects_file": self.subjects_file,
            "records_file": self.records_file,
            "seconds": round(self.seconds, 3),
        }


def check_options(options: GenerateOptions) -> None:
    if options.people <= 0:
        raise GenerateError(f"--people must be a positive number, got {options.people}")
    if options.organisations is not None and options.organisations < 0:
        raise GenerateError(f"--organisations must be 0 or more, got {options.organisations}")
    if options.as_of > dt.date.today():
        raise GenerateError(f"--as-of {options.as_of} is in the future")
    out = options.out
    if out.exists() and not out.is_dir():
        raise GenerateError(f"--out {out} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GenerateError(f"--out {out}: cannot create it ({error.strerror})") from error
    if not os.access(out, os.W_OK | os.X_OK):
        raise GenerateError(f"--out {out} is not writable")
    existing = [name for name in (SUBJECTS_FILE, RECORDS_FILE) if (out / name).exists()]
    if existing and not options.force:
        raise GenerateError(
            f"{', '.join(str(out / n) for n in existing)} already exist: use --force to replace"
        )


@dataclass(frozen=True)
class _Chunk:
    number: int
    county_codes: np.ndarray
    people: np.ndarray  # per county
    organisations: np.ndarray


def _chunks(options: GenerateOptions) -> Iterator[_Chunk]:
    places = counties()
    rng = np.random.default_rng([options.seed, 0xC0])
    people = rng.multinomial(options.people, places.weights)
    organisations = rng.multinomial(options.organisation_count, places.weights)
    codes = np.array([int(c) for c in places.codes], np.int64)
    start, number, running = 0, 0, 0
    for end in range(len(codes)):
        running += int(people[end])
        if running >= options.chunk_people or end == len(codes) - 1:
            span = slice(start, end + 1)
            yield _Chunk(number, codes[span], people[span], organisations[span])
            start, number, running = end + 1, number + 1, 0


def _subjects_table(
    people_part: tuple[pa.Array, pa.Array, np.ndarray, np.ndarray],
    organisation_part: tuple[pa.Array, pa.Array, np.ndarray, np.ndarray],
) -> pa.Table:
    p_id, p_name, p_region, p_birth = people_part
    o_id, o_name, o_region, o_registered = organisation_part
    regions = np.concatenate([p_region, o_region])
    unique, inverse = np.unique(regions, return_inverse=True)
    n_people, n_orgs = len(p_region), len(o_region)
    kind = np.concatenate([np.zeros(n_people, np.int64), np.ones(n_orgs, np.int64)])
    person = np.concatenate([np.ones(n_people, bool), np.zeros(n_orgs, bool)])
    days = np.concatenate([p_birth, o_registered]).astype(np.int32)
    return pa.table(
        {
            "subject_id": pa.concat_arrays([p_id, o_id]),
            "kind": pa.array(["person", "organisation"]).take(pa.array(kind)),
            "name": pa.concat_arrays([p_name, o_name]),
            "region": pa.array([f"{c:06d}" for c in unique.tolist()] or [""]).take(
                pa.array(inverse)
            ),
            "birth_date": pa.array(days, pa.date32(), mask=~person),
            "registered_on": pa.array(days, pa.date32(), mask=person),
        },
        schema=SUBJECT_SCHEMA,
    )


def generate(
    options: GenerateOptions,
    catalog: PolicyCatalog,
    progress: Callable[[int], None] | None = None,
) -> GenerateSummary:
    """Write ``subjects.parquet`` and ``records.parquet`` in ``options.out``."""
    check_options(options)
    started = time.perf_counter()
    plans = {kind: plan_types(catalog, kind) for kind in ("person", "organisation")}
    type_names = sorted({p.key for ps in plans.values() for p in ps} | {CLEARING_TYPE})
    plans_by_type = _plans_by_type(plans, type_names, catalog)
    summary = GenerateSummary()
    subjects_path, records_path = options.out / SUBJECTS_FILE, options.out / RECORDS_FILE
    subjects_tmp = subjects_path.with_name(f".{SUBJECTS_FILE}.tmp")
    records_tmp = records_path.with_name(f".{RECORDS_FILE}.tmp")
    pending: deque[Future[None]] = deque()
    try:
        with (
            pq.ParquetWriter(subjects_tmp, SUBJECT_SCHEMA, **_WRITE_OPTIONS) as subjects_out,
            pq.ParquetWriter(records_tmp, RECORD_SCHEMA, **_WRITE_OPTIONS) as records_out,
            ThreadPoolExecutor(max_workers=1) as writer,
        ):
            # Parquet encoding runs in the writer thread (it releases the GIL) while the
            # next chunk is generated; at most two chunks wait, so memory stays bounded.
            for chunk in _chunks(options):
                subjects_table, record_tables = _generate_chunk(
                    options, chunk, plans, plans_by_type, type_names, summary
                )
                while len(pending) >= 2:
                    pending.popleft().result()
                pending.append(
                    writer.submit(_write, subjects_out, records_out, subjects_table, record_tables)
                )
                if progress is not None:
                    progress(int(chunk.people.sum()))
            while pending:
                pending.popleft().result()
        os.replace(subjects_tmp, subjects_path)
        os.replace(records_tmp, records_path)
    finally:
        for leftover in (subjects_tmp, records_tmp):
            leftover.unlink(missing_ok=True)
    summary.subjects_file, summary.records_file = str(subjects_path), str(records_path)
    summary.seconds = time.perf_counter() - started
    return summary


_WRITE_OPTIONS: dict[str, object] = {
    "compression": "zstd",
    "use_dictionary": ["kind", "region", "record_type", "authority", "jurisdiction"],
}


def _write(
    subjects_out: pq.ParquetWriter,
    records_out: pq.ParquetWriter,
    subjects: pa.Table,
    records: list[pa.Table],
) -> None:
    subjects_out.write_table(subjects)
    for table in records:
        records_out.write_table(table)


def _generate_chunk(
    options: GenerateOptions,
    chunk: _Chunk,
    plans: dict[str, list[TypePlan]],
    plans_by_type: dict[int, TypePlan],
    type_names: list[str],
    summary: GenerateSummary,
) -> tuple[pa.Table, list[pa.Table]]:
    rng = np.random.default_rng([options.seed, chunk.number])
    person_regions = np.repeat(chunk.county_codes, chunk.people)
    org_regions = np.repeat(chunk.county_codes, chunk.organisations)
    people = generate_people(rng, person_regions, options.as_of)
    orgs = generate_organisations(rng, org_regions, summary.organisations, options.as_of)
    subjects_table = _subjects_table(
        (people.subject_id, people.name, people.region, people.birth_day),
        (orgs.subject_id, orgs.name, orgs.region, orgs.registered_day),
    )
    record_tables = []
    for subjects in (
        Subjects(
            "person",
            people.subject_id,
            people.region,
            people.birth_day.astype(np.int64) + _EIGHTEEN_YEARS,
        ),
        Subjects(
            "organisation", orgs.subject_id, orgs.region, orgs.registered_day.astype(np.int64)
        ),
    ):
        drawn = draw_records(rng, subjects, plans[subjects.kind], options.as_of, type_names)
        table = build_table(
            drawn, subjects, plans_by_type, type_names, options.seed, summary.records
        )
        record_tables.append(table)
        summary.records += table.num_rows
        summary.records_by_kind[subjects.kind] += table.num_rows
        counts = table.column("record_type").value_counts().to_pylist()
        summary.records_by_type.update({c["values"]: c["counts"] for c in counts})
    summary.people += len(person_regions)
    summary.organisations += len(org_regions)
    return subjects_table, record_tables


def _plans_by_type(
    plans: dict[str, list[TypePlan]], type_names: list[str], catalog: PolicyCatalog
) -> dict[int, TypePlan]:
    by_type: dict[int, TypePlan] = {}
    for kind_plans in plans.values():
        for plan in kind_plans:
            by_type.setdefault(type_names.index(plan.key), plan)
    # the clearing record is written by the court that listed the debtor
    listed = next(p for ps in plans.values() for p in ps if p.key == "court.judgment_default")
    by_type[type_names.index(CLEARING_TYPE)] = TypePlan(
        CLEARING_TYPE,
        listed.rate,
        listed.category,
        True,
        listed.prefixes,
        listed.authority,
        listed.jurisdiction_digits,
    )
    return by_type
