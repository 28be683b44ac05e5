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
from socialcredit.ledger.schema import CASEWORK_IDS, RECORDS, SUBJECTS
from socialcredit.policy import PolicyCatalog
from socialcredit.policy.models import CASEWORK_PREFIX, RecordType
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


#: kind codes of :func:`_identity`
NO_KIND, PERSON, ORGANISATION = 0, 1, 2


def _identity(
    subject_id: pa.Array, problems: Problems, today: dt.date
) -> tuple[pa.Array, npt.NDArray[np.int8]]:
    """The kind of each ID ("person" / "organisation", null when invalid), as text and
    as codes (NO_KIND, PERSON, ORGANISATION); reasons for invalid ones."""
    checked = validate_array(subject_id, today=today)
    valid = checked.valid.to_numpy(zero_copy_only=False)
    invalid = ~valid & ~subject_id.is_null().to_numpy(zero_copy_only=False)  # else: missing
    messages = checked.messages() if invalid.any() else None
    if messages is not None:
        problems.add(invalid, lambda row: f"subject_id: {messages[row].as_py()}")
    names = checked.kind.dictionary.to_pylist()
    indices = pc.fill_null(checked.kind.indices, -1).to_numpy(zero_copy_only=False)
    by_index = np.array(
        [PERSON if n == "person" else ORGANISATION for n in names] + [NO_KIND], np.int8
    )
    codes = np.where(valid, by_index[indices], NO_KIND).astype(np.int8)
    kind = pc.if_else(
        checked.valid, checked.kind.cast(pa.string()), pa.nulls(len(valid), pa.string())
    )
    return kind, codes


@cache
def _known_region(code: str) -> bool:
    return code.isdigit() and len(code) == 6 and region_table().get(code) is not None


def _regions(
    values: pa.Array, name: str, problems: Problems, encoded: pa.DictionaryArray | None = None
) -> Mask:
    """Rows whose value is a known 6-digit administrative division code (``encoded``:
    ``values`` dictionary-encoded, when the caller has it)."""
    encoded = pc.dictionary_encode(values) if encoded is None else encoded
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


#: a definition as the checks use it: found, person, organisation, needs a decision
#: reference, needs an amount, amount minimum, amount maximum
_Flags = tuple[bool, bool, bool, bool, bool, float, float]
_NOT_FOUND: _Flags = (False, False, False, False, False, -np.inf, np.inf)


class TypeResolver:
    """The record-type definition in force for (jurisdiction, record type), cached for
    a batch: the same few thousand pairs recur in every chunk."""

    def __init__(self, catalog: PolicyCatalog, casework_rows: bool = False) -> None:
        """``casework_rows``: also accept the rows of casework decisions (``casework.*``
        types, written by :mod:`socialcredit.casework` only)."""
        self.catalog = catalog
        self.casework_rows = casework_rows
        # the record types in force depend only on which overlays apply: compose each
        # combination of overlays once, not once per jurisdiction
        self._by_overlays: dict[tuple[int, ...], dict[str, RecordType]] = {}
        self._pairs: dict[tuple[str, str], _Flags] = {}

    def definition(self, jurisdiction: str, record_type: str) -> RecordType | None:
        overlays = tuple(id(o) for o in self.catalog.overlays_for(jurisdiction))
        types = self._by_overlays.get(overlays)
        if types is None:
            types = dict(self.catalog.effective(jurisdiction).record_types)
            self._by_overlays[overlays] = types
        return types.get(record_type)

    def flags(self, jurisdiction: str, record_type: str) -> _Flags:
        key = (jurisdiction, record_type)
        found = self._pairs.get(key)
        if found is None:
            d = self.definition(jurisdiction, record_type)
            found = _NOT_FOUND
            if self.casework_rows and record_type.startswith(CASEWORK_PREFIX):
                found = (True, True, True, True, False, -np.inf, np.inf)
            elif d is not None:
                found = (
                    True,
                    "person" in d.subject_kinds,
                    "organisation" in d.subject_kinds,
                    d.is_negative or d.requires_decision_ref,
                    d.points_per_unit is not None,
                    d.amount_min if d.amount_min is not None else -np.inf,
                    d.amount_max if d.amount_max is not None else np.inf,
                )
            self._pairs[key] = found
        return found


def _type_table(pairs: list[tuple[str, str]], resolver: TypeResolver) -> _TypeTable:
    rows = [resolver.flags(j, t) for j, t in pairs] or [_NOT_FOUND]
    found, person, organisation, negative, needs_amount, low, high = zip(*rows, strict=True)
    return _TypeTable(
        found=np.array(found, np.bool_),
        person=np.array(person, np.bool_),
        organisation=np.array(organisation, np.bool_),
        negative=np.array(negative, np.bool_),
        needs_amount=np.array(needs_amount, np.bool_),
        low=np.array(low, np.float64),
        high=np.array(high, np.float64),
    )


def _pairs(
    jurisdiction: pa.DictionaryArray, record_type: pa.DictionaryArray
) -> tuple[list[tuple[str, str]], npt.NDArray[np.int64]]:
    """The distinct (jurisdiction, record type) pairs, and each row's pair number
    (null values count as "")."""
    places = [str(v) for v in jurisdiction.dictionary.to_pylist()] + [""]
    types = [str(v) for v in record_type.dictionary.to_pylist()] + [""]
    place = pc.fill_null(jurisdiction.indices, len(places) - 1).to_numpy(zero_copy_only=False)
    kind = pc.fill_null(record_type.indices, len(types) - 1).to_numpy(zero_copy_only=False)
    combined = place.astype(np.int64) * len(types) + kind
    space = len(places) * len(types)
    if space <= max(4 * len(combined), 1 << 16):  # by marking: linear, no sort
        used = np.zeros(space, np.bool_)
        used[combined] = True
        unique = np.flatnonzero(used)
        number = np.zeros(space, np.int64)
        number[unique] = np.arange(len(unique))
        pair = number[combined]
    else:
        unique, pair = np.unique(combined, return_inverse=True)
    pairs = [(places[c // len(types)], types[c % len(types)]) for c in unique.tolist()]
    return pairs, pair.astype(np.int64)


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
    if not resolver.casework_rows:
        reserved = pc.fill_null(pc.starts_with(typed["record_id"], CASEWORK_IDS), False)
        problems.add(
            reserved.to_numpy(zero_copy_only=False),
            f"record_id: IDs beginning {CASEWORK_IDS!r} are reserved for casework decisions",
        )
    typed["subject_id"] = pc.ascii_upper(typed["subject_id"])
    kind, kinds = _identity(typed["subject_id"], problems, today)
    places = pc.dictionary_encode(typed["jurisdiction"])
    known = _regions(typed["jurisdiction"], "jurisdiction", problems, places)

    # the record type, looked up in the effective policy of each distinct jurisdiction
    pairs, pair = _pairs(places, pc.dictionary_encode(typed["record_type"]))
    table = _type_table(pairs, resolver)
    has_type = known & ~typed["record_type"].is_null().to_numpy(zero_copy_only=False)
    unknown_type = has_type & ~table.found[pair]
    problems.add(
        unknown_type,
        lambda row: _unknown_type(
            str(typed["record_type"][row].as_py()), str(typed["jurisdiction"][row].as_py())
        ),
    )
    defined = has_type & table.found[pair]
    wrong_kind = defined & (
        ((kinds == PERSON) & ~table.person[pair])
        | ((kinds == ORGANISATION) & ~table.organisation[pair])
    )
    problems.add(
        wrong_kind,
        lambda row: (
            f"subject_id: {'an organisation' if kinds[row] == ORGANISATION else 'a person'} "
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


def _unknown_type(record_type: str, jurisdiction: str) -> str:
    if record_type.startswith(CASEWORK_PREFIX):
        return f"record_type: {record_type!r} rows are written by casework decisions only"
    return f"record_type: {record_type!r} is not in the policy for jurisdiction {jurisdiction}"


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
    kind, _ = _identity(typed["subject_id"], problems, today)
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
