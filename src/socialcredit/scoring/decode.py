"""What a scoring run takes from ledger rows, decoded one way for every reader: the
scoring cache (whole data files) and explanations (one subject's rows) use these
functions, so both give the same arrays for the same rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.ledger.hashing import record_keys
from socialcredit.policy.models import CASEWORK_PREFIX
from socialcredit.scoring.engine_kernels import CASEWORK, REVOCATION
from socialcredit.scoring.policy_tables import KINDS
from socialcredit.scoring.subject_index import SubjectIndex

#: the records columns a run reads
RECORD_INPUTS = ("record_id", "subject_id", "record_type", "occurred_on", "amount", "revokes")


def decode_subjects(table: pa.Table) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]:
    """(kind as an index into KINDS, region as a number) of each subject row."""
    kind = pc.equal(table.column("kind"), KINDS[1]).to_numpy(zero_copy_only=False)
    region = pc.cast(table.column("region"), pa.int32()).to_numpy(zero_copy_only=False)
    return kind.astype(np.uint8), region.astype(np.int32)


@dataclass
class DecodedRecords:
    subject: npt.NDArray[np.int32]  # dense row, -1: not registered
    type_index: npt.NDArray[np.int16]  # index into ``type_names``
    type_names: list[str]
    occurred: npt.NDArray[np.int32]  # days since 1970-01-01
    amount: npt.NDArray[np.float64]  # NaN when none
    #: REVOCATION where the row revokes another; CASEWORK on a casework decision's row
    flags: npt.NDArray[np.uint8]
    key1: npt.NDArray[np.uint64]  # first key hash of the record_id
    revokes: npt.NDArray[np.uint64]  # first key hashes of the records revoked, unique


def decode_records(table: pa.Table, index: SubjectIndex) -> DecodedRecords:
    """The compact form of records rows (``RECORD_INPUTS``), subjects found in ``index``."""
    record_type = table.column("record_type").combine_chunks()
    if not isinstance(record_type, pa.DictionaryArray):
        record_type = record_type.dictionary_encode()
    type_names = [str(t) for t in record_type.dictionary.to_pylist()]
    type_index = record_type.indices.to_numpy(zero_copy_only=False).astype(np.int16)
    revokes = table.column("revokes")
    # a casework decision's row names the record it is about in ``revokes`` (it does
    # not revoke it: a revocation decision writes a revocation row of its own)
    casework_types = np.array([name.startswith(CASEWORK_PREFIX) for name in type_names], bool)
    casework = casework_types[type_index] if casework_types.any() else None
    names = revokes.is_valid().to_numpy(zero_copy_only=False)
    flags = np.where(names, REVOCATION, 0)
    if casework is not None:
        flags = np.where(casework, CASEWORK, flags)
    occurred = table.column("occurred_on").combine_chunks().view(pa.int32())
    return DecodedRecords(
        subject=index.locate(table.column("subject_id")),
        type_index=type_index,
        type_names=type_names,
        occurred=occurred.to_numpy(zero_copy_only=False).astype(np.int32),
        amount=table.column("amount").to_numpy(zero_copy_only=False).astype(np.float64),
        flags=flags.astype(np.uint8),
        key1=record_keys(table.column("record_id"))[0],
        revokes=revoked_keys(table),
    )


def revoked_keys(table: pa.Table) -> npt.NDArray[np.uint64]:
    """The first key hashes of the records the rows of ``table`` (``record_type``,
    ``revokes``) revoke: casework rows name a record without revoking it."""
    named = table.select(["record_type", "revokes"]).filter(table.column("revokes").is_valid())
    types = pc.cast(named.column("record_type"), pa.string())  # (few rows name another)
    revoking = named.column("revokes").filter(pc.invert(pc.starts_with(types, CASEWORK_PREFIX)))
    return np.unique(record_keys(revoking)[0])


def take_strings(column: pa.ChunkedArray | pa.Array, positions: npt.NDArray[np.int64]) -> pa.Array:
    """``column.take(positions)`` chunk by chunk (a chunked take would first copy the
    whole column into one chunk)."""
    if isinstance(column, pa.Array):
        return column.take(pa.array(positions))
    bounds = np.cumsum([0] + [len(chunk) for chunk in column.chunks])
    chunk_of = np.searchsorted(bounds, positions, side="right") - 1
    out: list[pa.Array] = []
    order = np.argsort(chunk_of, kind="stable")
    for c in np.unique(chunk_of):
        mine = order[chunk_of[order] == c]
        out.append(column.chunk(int(c)).take(pa.array(positions[mine] - bounds[c])))
    if not out:
        return pa.array([], column.type)
    gathered = pa.concat_arrays(out)
    back = np.empty(len(order), np.int64)
    back[order] = np.arange(len(order))
    return gathered.take(pa.array(back))


def concat_or_empty(
    arrays: Sequence[npt.NDArray[Any]], dtype: type[np.generic]
) -> npt.NDArray[Any]:
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype)
