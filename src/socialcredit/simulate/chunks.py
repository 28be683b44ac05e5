"""The unit of generation: a chunk of whole counties, independent of every other chunk.

Counties are never split between chunks, so resident IDs are unique by construction;
each chunk has its own random stream (seed, chunk number) and its own block of record
numbers, so chunks can be generated in any order, in parallel, with identical output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from socialcredit.policy import PolicyCatalog
from socialcredit.simulate.calibration import counties
from socialcredit.simulate.frames import FrameTable
from socialcredit.simulate.grouping import distinct
from socialcredit.simulate.organisations import generate_organisations
from socialcredit.simulate.people import SEQUENCES_PER_SEX, generate_people
from socialcredit.simulate.records import (
    CLEARED_TYPE,
    CLEARING_TYPE,
    Subjects,
    TypePlan,
    build_table,
    check_clearing,
    draw_records,
    plan_types,
)
from socialcredit.simulate.schema import SUBJECT_WRITE_SCHEMA, GenerateError, GenerateOptions

#: record numbers are chunk * RECORDS_PER_CHUNK + n, whatever the other chunks hold
RECORDS_PER_CHUNK = 10_000_000
#: days from a birth date to the 18th birthday, at most (records start then)
EIGHTEEN_YEARS = 18 * 366

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Chunk:
    """Rows are county parts: a county is whole (parts = 1) or one of ``parts`` pieces."""

    number: int
    county_codes: Ints
    people: Ints  # per row
    organisations: Ints  # per row
    part: Ints
    parts: Ints
    first_organisation: int  # organisations in the chunks before this one


@dataclass(frozen=True)
class Plan:
    """What every chunk needs, computed once (and sent once to each worker)."""

    options: GenerateOptions
    plans: dict[str, list[TypePlan]]
    texts: FrameTable
    type_names: list[str]
    #: one permutation of the 500 sequence numbers per sex, for the whole run
    sequence_order: Ints

    @classmethod
    def of(cls, options: GenerateOptions, catalog: PolicyCatalog) -> Plan:
        plans = {kind: plan_types(catalog, kind) for kind in ("person", "organisation")}
        type_names = sorted({p.key for ps in plans.values() for p in ps} | {CLEARING_TYPE})
        by_type: dict[int, TypePlan] = {}
        for kind_plans in plans.values():
            for plan in kind_plans:
                by_type.setdefault(type_names.index(plan.key), plan)
        kinds_listed = [k for k, ps in plans.items() if any(p.key == CLEARED_TYPE for p in ps)]
        if not kinds_listed:
            raise ValueError(f"calibration has no rate for {CLEARED_TYPE!r}")
        check_clearing(catalog, kinds_listed)
        # the clearing record is written by the court that listed the debtor
        listed = by_type[type_names.index(CLEARED_TYPE)]
        by_type[type_names.index(CLEARING_TYPE)] = TypePlan(
            CLEARING_TYPE,
            listed.rate,
            listed.category,
            True,
            listed.prefixes,
            listed.authority,
            listed.jurisdiction_digits,
        )
        order = np.random.default_rng([options.seed, 0x5E]).permutation(SEQUENCES_PER_SEX)
        texts = FrameTable({i: p.authority for i, p in by_type.items()}, len(type_names))
        return cls(options, plans, texts, type_names, order.astype(np.int64))


@dataclass(frozen=True)
class ChunkResult:
    subjects: pa.Table
    records: list[pa.Table]
    people: int
    organisations: int
    records_by_kind: Counter[str]
    records_by_type: Counter[str]


#: a county larger than a chunk is split into at most this many parts (each keeps
#: 500 / parts sequence numbers per sex and birth date: 50 at the most)
MAX_COUNTY_PARTS = 10


def plan_chunks(options: GenerateOptions) -> Iterator[Chunk]:
    """Split the population over the counties (whole, or in parts when a county is
    larger than a chunk), then group county parts into chunks of about
    ``chunk_people`` subjects, organisations included."""
    places = counties(options.as_of.year)
    rng = np.random.default_rng([options.seed, 0xC0])
    people = rng.multinomial(options.people, places.weights)
    organisations = rng.multinomial(options.organisation_count, places.weights)
    rows: list[tuple[int, int, int, int, int]] = []
    for code, persons, orgs in zip(
        places.codes, people.tolist(), organisations.tolist(), strict=True
    ):
        parts = min(MAX_COUNTY_PARTS, max(1, -(-(persons + orgs) // options.chunk_people)))
        for part in range(parts):
            rows.append(
                (int(code), _share(persons, part, parts), _share(orgs, part, parts), part, parts)
            )
    start, number, running, first_organisation = 0, 0, 0, 0
    for end, row in enumerate(rows):
        running += row[1] + row[2]
        if running >= options.chunk_people or end == len(rows) - 1:
            block = np.array(rows[start : end + 1], np.int64)
            yield Chunk(
                number,
                block[:, 0],
                block[:, 1],
                block[:, 2],
                block[:, 3],
                block[:, 4],
                first_organisation,
            )
            first_organisation += int(block[:, 2].sum())
            start, number, running = end + 1, number + 1, 0


def _share(total: int, part: int, parts: int) -> int:
    """Part ``part`` of ``total`` split as evenly as possible into ``parts``."""
    return total // parts + (1 if part < total % parts else 0)


def subjects_table(
    people: tuple[pa.Array, pa.Array, Ints, npt.NDArray[np.int32]],
    organisations: tuple[pa.Array, pa.Array, Ints, npt.NDArray[np.int32]],
) -> pa.Table:
    p_id, p_name, p_region, p_birth = people
    o_id, o_name, o_region, o_registered = organisations
    # people and organisations each come county by county: index the two in turn
    p_unique, p_inverse = distinct(p_region)
    o_unique, o_inverse = distinct(o_region)
    unique = np.union1d(p_unique, o_unique)
    inverse = np.concatenate(
        [np.searchsorted(unique, p_unique)[p_inverse], np.searchsorted(unique, o_unique)[o_inverse]]
    )
    n_people, n_orgs = len(p_region), len(o_region)
    kind = np.concatenate([np.zeros(n_people, np.int64), np.ones(n_orgs, np.int64)])
    person = np.concatenate([np.ones(n_people, bool), np.zeros(n_orgs, bool)])
    days = np.concatenate([p_birth, o_registered]).astype(np.int32)
    regions = pa.array([f"{c:06d}" for c in unique.tolist()] or [""], pa.string())
    return pa.table(
        {
            "subject_id": pa.concat_arrays([p_id, o_id]),
            "kind": pa.DictionaryArray.from_arrays(
                pa.array(kind.astype(np.int32)), pa.array(["person", "organisation"])
            ),
            "name": pa.concat_arrays([p_name, o_name]),
            "region": pa.DictionaryArray.from_arrays(pa.array(inverse.astype(np.int32)), regions),
            "birth_date": pa.array(days, pa.date32(), mask=~person),
            "registered_on": pa.array(days, pa.date32(), mask=person),
        },
        schema=SUBJECT_WRITE_SCHEMA,
    )


def generate_chunk(plan: Plan, chunk: Chunk) -> ChunkResult:
    options = plan.options
    rng = np.random.default_rng([options.seed, chunk.number])
    person_regions = np.repeat(chunk.county_codes, chunk.people)
    org_regions = np.repeat(chunk.county_codes, chunk.organisations)
    people = generate_people(
        rng,
        person_regions,
        options.as_of,
        plan.sequence_order,
        np.repeat(chunk.part, chunk.people),
        np.repeat(chunk.parts, chunk.people),
    )
    orgs = generate_organisations(rng, org_regions, chunk.first_organisation, options.as_of)
    subjects = subjects_table(
        (people.subject_id, people.name, people.region, people.birth_day),
        (orgs.subject_id, orgs.name, orgs.region, orgs.registered_day),
    )
    tables: list[pa.Table] = []
    by_kind: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    block = chunk.number * RECORDS_PER_CHUNK
    first_record = block
    for group in (
        Subjects(
            "person",
            people.subject_id,
            people.region,
            people.birth_day.astype(np.int64) + EIGHTEEN_YEARS,
            chunk.county_codes,
        ),
        Subjects(
            "organisation",
            orgs.subject_id,
            orgs.region,
            orgs.registered_day.astype(np.int64),
            chunk.county_codes,
        ),
    ):
        drawn = draw_records(rng, group, plan.plans[group.kind], options.as_of, plan.type_names)
        if first_record - block + drawn.rows > RECORDS_PER_CHUNK:
            raise GenerateError(f"chunk {chunk.number} holds more records than its number block")
        table = build_table(
            drawn, group, plan.texts, plan.type_names, options.run_tag, first_record
        )
        first_record += table.num_rows
        tables.append(table)
        by_kind[group.kind] += table.num_rows
        counts = table.column("record_type").value_counts().to_pylist()
        by_type.update({c["values"]: c["counts"] for c in counts})
    return ChunkResult(subjects, tables, len(person_regions), len(org_regions), by_kind, by_type)
