"""How an audit entry's subjects are stored and found: the stored JSON text (and its
parsing), the text a look-up searches for, and each subject's 64-bit key in the index
by subject (:mod:`socialcredit.audit.subject_index`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import numpy as np
from sqlalchemy import ColumnElement, func

from socialcredit.store.tables import AUDIT_LOG

log = logging.getLogger(__name__)

_SEED = np.uint64(0x9E3779B97F4A7C15)
_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (uint64, wrapping)."""
    x = (x ^ (x >> np.uint64(30))) * _MIX[0]
    x = (x ^ (x >> np.uint64(27))) * _MIX[1]
    mixed: np.ndarray = x ^ (x >> np.uint64(31))
    return mixed


def subject_keys(subject_ids: Sequence[str]) -> np.ndarray:
    """Each id's 64-bit key (int64): its UTF-8 bytes, 8 at a time, mixed in, then its
    length. The same for an id whatever else is in the batch; stored, so never change
    it (a test pins its values)."""
    if not subject_ids:
        return np.empty(0, np.int64)
    encoded = [s.encode("utf-8") for s in subject_ids]
    lengths = np.fromiter((len(b) for b in encoded), np.uint64, len(encoded))
    width = max(8, -(-int(lengths.max()) // 8) * 8)
    words = np.array(encoded, dtype=f"S{width}").view("<u8").reshape(len(encoded), -1)
    key = np.full(len(encoded), _SEED, np.uint64)
    with np.errstate(over="ignore"):
        for column in range(words.shape[1]):
            within = lengths > np.uint64(column * 8)
            key = np.where(within, _mix(key ^ words[:, column]), key)
        key = _mix(key ^ lengths)
    return key.view(np.int64)


def pairs_digest(keys: np.ndarray, seqs: np.ndarray) -> int:
    """An order-free digest of (key, entry) pairs: the sum of each pair mixed (mod 2**64)."""
    with np.errstate(over="ignore"):
        mixed = _mix(keys.view(np.uint64) ^ _mix(seqs.astype(np.uint64) + _SEED))
    return int(mixed.sum(dtype=np.uint64))


def contains(needle: str, dialect: str) -> ColumnElement[bool]:
    """The entry's stored subjects hold this JSON string (an id, quoted)."""
    find = func.instr if dialect == "sqlite" else func.strpos
    return find(AUDIT_LOG.c.subjects, needle) > 0


def quoted(subject_id: str) -> str:
    """The id as the stored JSON arrays spell it."""
    return json.dumps(subject_id, ensure_ascii=False)


def stored_subjects(stored: str) -> list[str] | None:
    """An entry's stored subjects, or None if they are not a JSON array of ids."""
    try:
        listed = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
        return None
    return listed


def parse_subjects(seqs: Sequence[int], stored: Sequence[str]) -> list[list[str]]:
    """Many entries' stored subjects, parsed as one JSON document (one call instead of
    one per entry: most of the indexing time otherwise); an entry whose subjects are
    not an array of ids counts as naming no one (``audit verify`` names it)."""
    try:
        together = json.loads("[" + ",".join(stored) + "]")
        if len(together) == len(stored) and all(
            type(one) is list and all(type(s) is str for s in one) for one in together
        ):
            return together  # type: ignore[no-any-return]
    except ValueError:
        pass
    parsed = []
    for seq, one in zip(seqs, stored, strict=True):
        listed = stored_subjects(one)
        if listed is None:
            log.warning("audit entry %d: its subjects are not a JSON array of ids", seq)
        parsed.append(listed or [])
    return parsed
