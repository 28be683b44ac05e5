"""Answers from a published snapshot, for the command line and the API alike: a
relying party's check (allowed or not, with reasons, never the score) and a subject's
own figures. Unknown subjects and measures raise the platform's errors.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from socialcredit.errors import NotFoundError, UnprocessableError
from socialcredit.scoring.policy_tables import KINDS
from socialcredit.scoring.ranking import LEVELS
from socialcredit.scoring.snapshot_files import LEVEL_COLUMNS
from socialcredit.scoring.snapshots import Snapshot

#: most subject ids one batch check takes
BATCH_LIMIT = 10_000


def require_measure(snapshot: Snapshot, measure: str) -> None:
    measures = snapshot.metadata["measure_names"]
    if measure not in measures:
        raise UnprocessableError(
            f"measure: unknown measure {measure!r}", known=list(measures), field="measure"
        )


def check(snapshot: Snapshot, subject_id: str, measure: str) -> dict[str, Any]:
    """The relying party's answer: allowed or not, reason codes, the records behind a
    denial; never the score. NotFoundError if the subject is not in the snapshot."""
    require_measure(snapshot, measure)
    row = row_of(snapshot, subject_id)
    document = _answer(snapshot, subject_id, measure, int(snapshot.array("combo")[row]))
    reasons = document["reasons"]
    on = {reason.split(":", 1)[1] for reason in reasons if reason.startswith("listed:")}
    if on and not document["allowed"]:
        document["records"] = [r for name, r in snapshot.listed_records(row) if name in on]
    return document


@dataclass(frozen=True)
class BatchAnswers:
    """The answers of a batch: each id's combination (-1: not in the snapshot) and the
    decision of each combination present, computed once."""

    subject_ids: Sequence[str]
    combos: list[int]
    decided: dict[int, tuple[bool, list[str]]]

    def items(self) -> list[dict[str, Any]]:
        """One answer per id, in order (``found`` false, no decision, when absent)."""
        return [
            {"subject_id": subject_id, "found": False}
            if combo < 0
            else {
                "subject_id": subject_id,
                "found": True,
                "allowed": self.decided[combo][0],
                "reasons": self.decided[combo][1],
            }
            for subject_id, combo in zip(self.subject_ids, self.combos, strict=True)
        ]

    def items_json(self) -> str:
        """:meth:`items` as a JSON array, each combination's part encoded once (the
        ids are checked codes: letters and digits, nothing to escape)."""
        tails = {
            combo: json.dumps({"found": True, "allowed": allowed, "reasons": reasons})[1:]
            for combo, (allowed, reasons) in self.decided.items()
        }
        tails[-1] = '"found": false}'
        return (
            "["
            + ", ".join(
                f'{{"subject_id": "{subject_id}", {tails[combo]}'
                for subject_id, combo in zip(self.subject_ids, self.combos, strict=True)
            )
            + "]"
        )


def check_many(snapshot: Snapshot, subject_ids: Sequence[str], measure: str) -> BatchAnswers:
    """The answers for every id (checked codes), in order. One look-up for all;
    decisions computed once per combination."""
    require_measure(snapshot, measure)
    if len(subject_ids) > BATCH_LIMIT:
        raise UnprocessableError(
            f"subject_ids: {len(subject_ids):,} ids; at most {BATCH_LIMIT:,} per batch",
            field="subject_ids",
        )
    rows = snapshot.locate(list(subject_ids)) if subject_ids else np.zeros(0, np.int32)
    found = rows >= 0
    combos = np.where(found, np.asarray(snapshot.array("combo"))[np.maximum(rows, 0)], -1)
    decided: dict[int, tuple[bool, list[str]]] = {}
    for combo in np.unique(combos[found]).tolist():
        decision = snapshot.decision(int(combo), measure)
        decided[int(combo)] = (decision.allowed, list(decision.reasons))
    return BatchAnswers(subject_ids, combos.tolist(), decided)


def _answer(snapshot: Snapshot, subject_id: str, measure: str, combo: int) -> dict[str, Any]:
    decision = snapshot.decision(combo, measure)
    return {
        "subject_id": subject_id,
        "allowed": decision.allowed,
        "measure": measure,
        "reasons": list(decision.reasons),
        "snapshot": snapshot.id,
        "policy": snapshot.metadata["policy"]["version"],
    }


def row_of(snapshot: Snapshot, subject_id: str) -> int:
    """The subject's row in the snapshot; NotFoundError if it is not there."""
    row = int(snapshot.locate([subject_id])[0])
    if row < 0:
        raise NotFoundError(f"no subject {subject_id} in snapshot {snapshot.id}")
    return row


def figures(snapshot: Snapshot, subject_id: str) -> dict[str, Any]:
    """A subject's score, grade, lists, and ranks and percentiles at every level."""
    return figures_at(snapshot, subject_id, row_of(snapshot, subject_id))


def figures_at(snapshot: Snapshot, subject_id: str, row: int) -> dict[str, Any]:
    """:func:`figures` of the subject at ``row``: as published, in the snapshot's own
    names (the policy may have changed since)."""
    meta = snapshot.metadata
    score = int(snapshot.array("score")[row])
    kind, region = int(snapshot.array("kind")[row]), int(snapshot.array("region")[row])
    ranks = snapshot.ranks.lookup_one(score, region, kind)
    bits = int(snapshot.array("lists")[row])
    return {
        "subject_id": subject_id,
        "kind": KINDS[kind],
        "region": f"{region:06d}",
        "score": score,
        "grade": meta["grade_names"][int(snapshot.array("grade")[row])],
        "lists": [n for i, n in enumerate(meta["list_names"]) if bits >> i & 1],
        "ranks": {
            LEVEL_COLUMNS[level]: {"rank": ranks[level][0], "percentile": ranks[level][1]}
            for level in LEVELS
        },
        "snapshot": snapshot.id,
        "as_of": meta["as_of"],
        "policy": meta["policy"]["version"],
    }
