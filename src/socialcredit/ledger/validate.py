"""Validation of a batch of records or subjects, vectorised, with every reason per row.

Pure domain code: it reads the policy and the identity rules, never the storage.
What needs the ledger (registered subjects, duplicates) is decided by the caller.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.identity import validate_array
from socialcredit.ledger import columns as col
from socialcredit.ledger.columns import Mask, Problems
from socialcredit.ledger.schema import RECORDS, SUBJECTS
from socialcredit.policy import PolicyCatalog
from socialcredit.policy.models import RecordType
from socialcredit.regions import region_table

#: the founding of the People's Republic: no record predates it
EARLIEST_RECORD = dt.date(1949, 10, 1)
EARLIEST_REGISTRATION = dt.date(1900, 1, 1)


@dataclass(frozen=True)
class Checked:
    """A batch after validation: typed input columns and each row's problems."""

    table: pa.Table  # the layout's input columns, typed (null where unusable)
    problems: Problems
    kind: pa.Array  # "person" / "organisation" from the identity code (null if invalid)


def _identity(subject_id: pa.Array, problems: Problems, today: dt.date) -> pa.Array:
    """Normalised IDs (uppercase x); reasons for invalid ones; the kind of each."""
    checked = validate_array(subject_id, today=today)
    invalid = ~checked.valid.to_numpy(zero_copy_only=False)
    invalid &= ~subject_id.is_null().to_numpy(zero_copy_only=False)  # reported as missing
    messages = checked.messages() if invalid.any() else None
    if messages is not None:
        problems.add(invalid, lambda row: f"subject_id: {messages[row].as_py()}")
    kind = checked.kind.cast(pa.string())
    return pc.if_else(checked.valid, kind, pa.nulls(len(kind), pa.string()))


@cache
def _known_region(code: str) -> bool:
    return code.isdigit() and len(code) == 6 and region_table().get(code) is not None


def _regions(values: pa.Array, name: str, problems: Problems) -> Mask:
    """Rows whose value is a known 6-digit administrative division code."""
    encoded = pc.dictionary_encode(values)
    known_by_code = np.array(
        [_known_region(str(code)) for code in encoded.dictionary.to_pylist()] or [False],
        np.bool_,
    )
    indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    known = np.where(indices >= 0, known_by_code[np.maximum(indices, 0)], False)
    bad = ~known & (indices >= 0)
    problems.add(
        bad, lambda row: f"{name}: {values[row].as_py()!r} is not a known 6-digit region code"
    )
    return known


@dataclass(frozen=True)
class _TypeTable:
    """Per distinct (jurisdiction, record_type) pair: its definition, as arrays."""

    found: Mask
    person: Mask
    organisation: Mask
    negative: Mask
    needs_amount: Mask
    low: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]


class TypeResolver:
    """The record-type definition in force for (jurisdiction, record type), cached for
    a batch: the same few thousand pairs recur in every chunk."""

    def __init__(self, catalog: PolicyCatalog) -> None:
        self.catalog = catalog
        # the record types in force depend only on which overlays apply: compose each
        # combination of overlays once, not once per jurisdiction
        self._by_overlays: dict[tuple[int, ...], dict[str, RecordType]] = {}
        self._pairs: dict[tuple[str, str], RecordType | None] = {}

    def definition(self, jurisdiction: str, record_type: str) -> RecordType | None:
        key = (jurisdiction, record_type)
        if key not in self._pairs:
            overlays = tuple(id(o) for o in self.catalog.overlays_for(jurisdiction))
            types = self._by_overlays.get(overlays)
            if types is None:
                types = dict(self.catalog.effective(jurisdiction).record_types)
                self._by_overlays[overlays] = types
            self._pairs[key] = types.get(record_type)
        return self._pairs[key]


def _type_table(pairs: list[tuple[str, str]], resolver: TypeResolver) -> _TypeTable:
    definitions = [resolver.definition(j, t) for j, t in pairs]

    def flags(test: object) -> Mask:
        return np.array([d is not None and bool(test(d)) for d in definitions] or [False])  # type: ignore[operator]

    return _TypeTable(
        found=np.array([d is not None for d in definitions] or [False]),
        person=flags(lambda d: "person" in d.subject_kinds),
        organisation=flags(lambda d: "organisation" in d.subject_kinds),
        negative=flags(lambda d: d.is_negative or d.requires_decision_ref),
        needs_amount=flags(lambda d: d.points_per_unit is not None),
        low=np.array(
            [d.amount_min if d and d.amount_min is not None else -np.inf for d in definitions]
            or [-np.inf]
        ),
        high=np.array(
            [d.amount_max if d and d.amount_max is not None else np.inf for d in definitions]
            or [np.inf]
        ),
    )


def check_records(raw: pa.Table, catalog: PolicyCatalog | TypeResolver, today: dt.date) -> Checked:
    """Check every rule of the record contract that needs no ledger (pass a
    :class:`TypeResolver` to reuse its cache across the chunks of a batch)."""
    resolver = catalog if isinstance(catalog, TypeResolver) else TypeResolver(catalog)
    rows = raw.num_rows
    problems = Problems(rows)

    def get(name: str) -> pa.Array | None:
        return raw.column(name) if name in raw.column_names else None

    typed: dict[str, pa.Array] = {}
    for name in ("record_id", "subject_id", "record_type", "authority", "jurisdiction"):
        typed[name] = col.text(get(name), rows, name, problems)
    typed["decision_ref"] = col.text(get("decision_ref"), rows, "decision_ref", problems)
    typed["revokes"] = col.text(get("revokes"), rows, "revokes", problems)
    typed["occurred_on"] = col.date(
        get("occurred_on"), rows, "occurred_on", problems, EARLIEST_RECORD, today
    )
    typed["amount"] = col.number(get("amount"), rows, "amount", problems)
    for name in RECORDS.required:
        col.required(get(name), rows, name, problems)
    typed["subject_id"] = pc.ascii_upper(typed["subject_id"])
    kind = _identity(typed["subject_id"], problems, today)
    known = _regions(typed["jurisdiction"], "jurisdiction", problems)

    # the record type, looked up in the effective policy of each distinct jurisdiction
    pair_keys = pc.binary_join_element_wise(
        pc.fill_null(typed["jurisdiction"], ""), pc.fill_null(typed["record_type"], ""), "|"
    )
    encoded = pc.dictionary_encode(pair_keys)
    pairs = [tuple(str(p).split("|", 1)) for p in encoded.dictionary.to_pylist()]
    table = _type_table([(j, t) for j, t in pairs], resolver)
    pair = encoded.indices.to_numpy(zero_copy_only=False)
    has_type = known & ~typed["record_type"].is_null().to_numpy(zero_copy_only=False)
    unknown_type = has_type & ~table.found[pair]
    problems.add(
        unknown_type,
        lambda row: (
            f"record_type: {typed['record_type'][row].as_py()!r} is not in the policy "
            f"for jurisdiction {typed['jurisdiction'][row].as_py()}"
        ),
    )
    defined = has_type & table.found[pair]
    kinds = kind.to_numpy(zero_copy_only=False)
    wrong_kind = defined & (
        ((kinds == "person") & ~table.person[pair])
        | ((kinds == "organisation") & ~table.organisation[pair])
    )
    problems.add(
        wrong_kind,
        lambda row: (
            f"subject_id: {'an' if kinds[row] == 'organisation' else 'a'} {kinds[row]} "
            f"cannot have a {typed['record_type'][row].as_py()} record"
        ),
    )
    no_ref = (
        defined
        & table.negative[pair]
        & typed["decision_ref"].is_null().to_numpy(zero_copy_only=False)
    )
    problems.add(
        no_ref,
        lambda row: (
            f"decision_ref: required for the record type {typed['record_type'][row].as_py()}"
        ),
    )
    amount = pc.fill_null(typed["amount"], np.nan).to_numpy(zero_copy_only=False)
    no_amount = defined & table.needs_amount[pair] & np.isnan(amount)
    no_amount &= ~problems.failed
    problems.add(
        no_amount,
        lambda row: f"amount: required by {typed['record_type'][row].as_py()} (points per unit)",
    )
    with np.errstate(invalid="ignore"):
        below = defined & (amount < table.low[pair])
        above = defined & (amount > table.high[pair])
    problems.add(
        below, lambda row: f"amount: {amount[row]:g} is below the minimum {table.low[pair[row]]:g}"
    )
    problems.add(
        above, lambda row: f"amount: {amount[row]:g} is above the maximum {table.high[pair[row]]:g}"
    )
    columns = {name: typed[name] for name in RECORDS.content}
    return Checked(pa.table(columns), problems, kind)


def check_subjects(raw: pa.Table, today: dt.date) -> Checked:
    rows = raw.num_rows
    problems = Problems(rows)

    def get(name: str) -> pa.Array | None:
        return raw.column(name) if name in raw.column_names else None

    typed: dict[str, pa.Array] = {}
    for name in ("subject_id", "kind", "name", "region"):
        typed[name] = col.text(get(name), rows, name, problems)
    typed["birth_date"] = col.date(
        get("birth_date"), rows, "birth_date", problems, EARLIEST_REGISTRATION, today
    )
    typed["registered_on"] = col.date(
        get("registered_on"), rows, "registered_on", problems, EARLIEST_REGISTRATION, today
    )
    for name in SUBJECTS.required:
        col.required(get(name), rows, name, problems)
    typed["subject_id"] = pc.ascii_upper(typed["subject_id"])
    kind = _identity(typed["subject_id"], problems, today)
    _regions(typed["region"], "region", problems)
    given = typed["kind"].to_numpy(zero_copy_only=False)
    derived = kind.to_numpy(zero_copy_only=False)
    has_given = typed["kind"].is_valid().to_numpy(zero_copy_only=False)
    has_derived = kind.is_valid().to_numpy(zero_copy_only=False)
    unknown_kind = has_given & ~np.isin(given, ["person", "organisation"])
    problems.add(unknown_kind, lambda row: f"kind: {given[row]!r} is not person or organisation")
    mismatch = has_given & has_derived & ~unknown_kind & (given != derived)
    problems.add(mismatch, lambda row: f"kind: {given[row]}, but the ID is of an {derived[row]}")
    births = typed["birth_date"]
    id_birth = _birth_dates(typed["subject_id"], derived)
    differs = (
        (derived == "person")
        & births.is_valid().to_numpy(zero_copy_only=False)
        & (pc.fill_null(pc.not_equal(births, id_birth), False).to_numpy(zero_copy_only=False))
    )
    problems.add(
        differs, lambda row: f"birth_date: {births[row].as_py()} is not the date in the ID"
    )
    columns = {name: typed[name] for name in SUBJECTS.content}
    return Checked(pa.table(columns), problems, kind)


def _birth_dates(subject_id: pa.Array, kinds: npt.NDArray[np.object_]) -> pa.Array:
    """The birth date encoded in each valid resident ID (null for others)."""
    digits = pc.utf8_slice_codeunits(subject_id, 6, 14)
    person = pa.array(kinds == "person")
    text = pc.if_else(person, digits, pa.nulls(len(digits), pa.string()))
    parsed = pc.strptime(text, format="%Y%m%d", unit="s", error_is_null=True)
    return parsed.cast(pa.date32())


def subjects_from_ids(subject_id: pa.Array, kind: pa.Array) -> pa.Table:
    """Registry rows derived from identity codes alone (for ``--register-unknown``)."""
    kinds = kind.to_numpy(zero_copy_only=False)
    person = pa.array(kinds == "person")
    region = pc.if_else(
        person,
        pc.utf8_slice_codeunits(subject_id, 0, 6),
        pc.utf8_slice_codeunits(subject_id, 2, 8),
    )
    return pa.table(
        {
            "subject_id": subject_id,
            "kind": kind,
            "name": pa.nulls(len(subject_id), pa.string()),
            "region": region,
            "birth_date": _birth_dates(subject_id, kinds),
            "registered_on": pa.nulls(len(subject_id), pa.date32()),
        }
    )
