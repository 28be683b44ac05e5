"""What a plan run reads, the same for every engine: the ledger tables' data files as
of the run's ledger-as-of moment (in the ledger's order), the variant of each region,
and the records casework has repaired or frozen by then."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa

from socialcredit.ledger import RECORDS, SUBJECTS, Ledger
from socialcredit.scoring.ledger_view import CaseworkInputs, NoCasework, ordered_files, version_at
from socialcredit.scoring.policy_tables import PolicyTables

RECORD_COLUMNS = ("record_id", "subject_id", "record_type", "occurred_on", "amount", "revokes")
SUBJECT_COLUMNS = ("subject_id", "kind", "region")


@dataclass(frozen=True)
class PlanInputs:
    record_files: list[str]
    subject_files: list[str]
    records_version: int
    subjects_version: int
    marks: pa.Table  # record_id, repaired (else frozen by an open objection)

    @classmethod
    def of(
        cls, ledger: Ledger, ledger_as_of: dt.datetime, casework: CaseworkInputs | None
    ) -> PlanInputs:
        records_version = version_at(ledger, RECORDS, ledger_as_of)
        subjects_version = version_at(ledger, SUBJECTS, ledger_as_of)
        casework = casework or NoCasework()
        repaired = set(casework.repaired(ledger_as_of))
        marked = sorted(repaired | set(casework.under_objection(ledger_as_of)))
        return cls(
            record_files=ordered_files(ledger, RECORDS, records_version),
            subject_files=ordered_files(ledger, SUBJECTS, subjects_version),
            records_version=records_version,
            subjects_version=subjects_version,
            marks=pa.table(
                {
                    "record_id": pa.array(marked, pa.string()),
                    # (repaired before frozen, as the engine's statuses)
                    "repaired": pa.array([r in repaired for r in marked], pa.bool_()),
                }
            ),
        )


def region_variants(tables: PolicyTables, regions: list[str]) -> pa.Table:
    """(region, variant) of each region code given."""
    variants = tables.variant_of_regions(regions)
    return pa.table(
        {
            "region": pa.array(regions, pa.string()),
            "variant": pa.array(variants.astype("int32"), pa.int32()),
        }
    )


def empty(layout_columns: tuple[str, ...], schema: pa.Schema) -> pa.Table:
    return schema.empty_table().select(list(layout_columns))
