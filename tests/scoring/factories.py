"""A small ledger builder for scoring tests: subjects and records by hand, ingested
through the real ``run_batch``, scored through the real ``run_scoring``."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from socialcredit.ledger import RECORDS, SUBJECTS, Ledger, open_input, run_batch
from socialcredit.policy import PolicyCatalog
from socialcredit.scoring.ledger_view import CaseworkInputs
from socialcredit.scoring.run import ScoreRequest, run_scoring
from socialcredit.scoring.snapshots import Snapshot
from tests.factories import make_resident_id, make_uscc

_serial = itertools.count(1)


def person(region: str = "110101", born: dt.date = dt.date(1980, 5, 17)) -> str:
    return make_resident_id(region, born, next(_serial) % 1000)


def organisation(region: str = "110101") -> str:
    return make_uscc("9", "1", region, f"{next(_serial):08d}"[-8:].replace("0", "A", 1))


@dataclass
class LedgerBook:
    """Collects subjects and records, then ingests them as one batch each."""

    data: Path
    catalog: PolicyCatalog
    subjects: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ledger = Ledger.init(self.data)[0]

    def person(self, region: str = "110101") -> str:
        subject_id = person(region)
        self.subjects.append(
            {
                "subject_id": subject_id,
                "kind": "person",
                "region": region,
                "name": "张三",
                "birth_date": "1980-05-17",
            }
        )
        return subject_id

    def organisation(self, region: str = "110101") -> str:
        subject_id = organisation(region)
        self.subjects.append(
            {
                "subject_id": subject_id,
                "kind": "organisation",
                "region": region,
                "name": "某某有限公司",
                "registered_on": "2001-01-01",
            }
        )
        return subject_id

    def record(
        self,
        subject_id: str,
        record_type: str,
        occurred_on: dt.date | str,
        *,
        amount: float | None = None,
        revokes: str | None = None,
        jurisdiction: str | None = None,
        record_id: str | None = None,
    ) -> str:
        record_id = record_id or f"R{next(_serial):09d}"
        self.records.append(
            {
                "record_id": record_id,
                "subject_id": subject_id,
                "record_type": record_type,
                "occurred_on": str(occurred_on),
                "authority": "测试机关",
                "jurisdiction": jurisdiction or "110101",
                "decision_ref": f"测〔2026〕{next(_serial)}号",
                "amount": amount,
                "revokes": revokes,
            }
        )
        return record_id

    def commit(self) -> None:
        for layout, rows in ((SUBJECTS, self.subjects), (RECORDS, self.records)):
            if not rows:
                continue
            path = self.data.parent / f"batch-{next(_serial)}-{layout.name}.jsonl"
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
            summary = run_batch(
                self.ledger,
                layout,
                [open_input(path)],
                catalog=self.catalog if layout is RECORDS else None,
            )
            assert summary.rejected == 0, (
                summary.quarantine and Path(summary.quarantine).read_text()
            )
            rows.clear()

    def score(
        self,
        as_of: dt.date,
        ledger_as_of: dt.datetime | None = None,
        retention: int = 5,
        casework: CaseworkInputs | None = None,
    ) -> Snapshot:
        self.commit()
        moment = ledger_as_of or dt.datetime.now(dt.UTC)
        request = ScoreRequest(as_of, moment, retention)
        return run_scoring(self.data, self.catalog, request, casework).snapshot


@dataclass(frozen=True)
class FakeCasework:
    """Casework inputs by hand: the record IDs repaired and under objection."""

    repaired_ids: tuple[str, ...] = ()
    objected_ids: tuple[str, ...] = ()

    def repaired(self, ledger_as_of: dt.datetime) -> Iterable[str]:
        return self.repaired_ids

    def under_objection(self, ledger_as_of: dt.datetime) -> Iterable[str]:
        return self.objected_ids
