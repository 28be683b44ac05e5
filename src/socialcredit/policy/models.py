"""The policy as typed data: scale, grades, lists, record types and measures.

These models check structure (types, required fields, value ranges). The rules that
relate parts to each other (signs per category, bands without gaps, names that must
exist, protected grounds) live in :mod:`socialcredit.policy.validation`, so that every
problem in a file is reported at once, with its file and key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

#: The closed taxonomy of record categories (DESIGN.md, principle 4).
NEGATIVE_CATEGORIES: Final = (
    "financial_obligation",
    "court_enforcement",
    "tax",
    "market_conduct",
    "product_safety",
    "public_utilities",
    "public_order",
    "transport_order",
    "traffic",
    "environment",
)
POSITIVE_CATEGORIES: Final = ("civic_contribution", "honours")
#: list names a policy may not use: public disclosure serves organisations' published
#: records as the list ``organisation_records``
RESERVED_LIST_NAMES: Final = ("organisation_records",)
#: record types under this prefix are written by casework decisions, never by a policy
CASEWORK_PREFIX: Final = "casework."
CATEGORIES: Final = NEGATIVE_CATEGORIES + POSITIVE_CATEGORIES

Severity = Literal["minor", "general", "serious"]
SubjectKind = Literal["person", "organisation"]
Impact = Literal["low", "medium", "high"]
MeasureKind = Literal["incentive", "restriction"]

SEVERITY_ORDER: Final[dict[str, int]] = {"minor": 0, "general": 1, "serious": 2}
IMPACT_ORDER: Final[dict[str, int]] = {"low": 0, "medium": 1, "high": 2}


#: TOML arrays arrive as lists; the models keep them as tuples
Names = Annotated[tuple[str, ...], Field(strict=False)]
Kinds = Annotated[tuple[SubjectKind, ...], Field(strict=False, min_length=1)]


class _Model(BaseModel):
    # strict: "-100" is not a number and "yes" is not a boolean; NaN and inf are refused
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Scale(_Model):
    # scores are stored as 16-bit integers in snapshots
    base: int = Field(1000, description="score of a subject with no record in force")
    floor: int = Field(0, ge=-32768, le=32767, description="lowest possible score")
    ceiling: int = Field(1500, ge=-32768, le=32767, description="highest possible score")


class GradeBand(_Model):
    name: str = Field(min_length=1)
    min: int = Field(description="lowest score of the band, inclusive")
    max: int = Field(description="highest score of the band, inclusive")
    description: str = ""


class RecordType(_Model):
    title: str = Field(min_length=1)
    description: str = ""
    category: str = Field(description="one of the closed taxonomy in DESIGN.md")
    legal_basis: str = Field(min_length=1, description="the law, regulation or rule it rests on")
    severity: Severity
    points: int | None = Field(None, description="fixed points per record")
    points_per_unit: float | None = Field(None, description="points per unit of `amount`")
    unit: str | None = None
    yearly_cap: int | None = Field(None, ge=0, description="max |points| per calendar year")
    amount_min: float | None = None
    amount_max: float | None = None
    in_force_months: int = Field(gt=0, description="how long a record counts and is published")
    extendable_months: int = Field(0, ge=0, description="how far the authority may extend it")
    repair_after_months: int | None = Field(
        None, ge=0, description="minimum publication before credit repair; None: not published"
    )
    public: bool = False
    subject_kinds: Kinds
    lists: Names = ()
    clears: Names = Field((), description="record types whose list effect it ends")
    requires_decision_ref: bool = True
    objection_deadline_days: int | None = Field(
        None, gt=0, description="days (calendar) the issuing authority has to decide an objection"
    )
    objection_deadline_working_days: int = Field(
        10, gt=0, description="without objection_deadline_days: working days (Monday to Friday)"
    )
    hardship_becomes: str | None = Field(
        None,
        description="the non-dishonesty record type this one becomes when a reviewer accepts "
        "evidence that the subject is unable (not unwilling) to pay",
    )

    @property
    def is_negative(self) -> bool:
        """Of a negative category (so it needs a decision reference)."""
        return self.category not in POSITIVE_CATEGORIES

    @property
    def counts_against(self) -> bool:
        """A negative record in the sense of the lists' clean-history rules: it costs points
        or puts the subject on a list. A record that only clears another (obligation
        performed) does not count against its subject."""
        value = self.points if self.points is not None else self.points_per_unit or 0
        return self.is_negative and (value < 0 or bool(self.lists))


class ListRule(_Model):
    title: str = Field(min_length=1)
    description: str = ""
    basis: Literal["records", "grade"]
    min_grade: str | None = Field(None, description="grade basis: this grade or better")
    clean_months: int = Field(0, ge=0, description="grade basis: no negative record in force for")
    public: bool = False


class Measure(_Model):
    title: str = Field(min_length=1)
    description: str = ""
    kind: MeasureKind
    legal_basis: str = Field(min_length=1)
    domain: str = Field(min_length=1, description="the area of life it acts on")
    impact: Impact
    subject_kinds: Kinds = ("person", "organisation")
    granted_to_lists: Names = ()
    granted_to_grades: Names = ()
    denied_to_lists: Names = ()
    denied_to_grades: Names = ()
    trigger_categories: Annotated[
        tuple[str, ...],
        Field(strict=False, min_length=1, description="record categories allowed to affect it"),
    ]
    per_year: int | None = Field(None, gt=0, description="how often a year it is granted")
    daily_quota_others: int | None = Field(None, ge=0, description="quota for the non-granted")


class PolicyMeta(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str = ""
    published_on: str | None = None
    region: str | None = Field(None, pattern=r"^\d{2}(\d{2}){0,2}$")
    extends: str | None = None


class PolicyFile(_Model):
    """One TOML file: the national policy (all parts) or an overlay (meta, types, measures)."""

    policy: PolicyMeta
    scale: Scale | None = None
    grades: Annotated[tuple[GradeBand, ...], Field(strict=False)] | None = None
    lists: dict[str, ListRule] | None = None
    record_types: dict[str, RecordType] = {}
    measures: dict[str, Measure] = {}

    @property
    def is_overlay(self) -> bool:
        return self.policy.region is not None


class EffectivePolicy(_Model):
    """The national policy with the overlays of one region applied, in order."""

    id: str
    version: str
    region: str | None
    layers: Annotated[tuple[PolicyMeta, ...], Field(strict=False)]
    scale: Scale
    grades: Annotated[tuple[GradeBand, ...], Field(strict=False)]
    lists: dict[str, ListRule]
    record_types: dict[str, RecordType]
    measures: dict[str, Measure]
    #: "record_types.<key>" / "measures.<key>" / part name -> file it came from
    sources: dict[str, str] = {}

    def content_hash(self) -> str:
        """sha256 of the canonical JSON of everything that affects a decision."""
        payload = self.model_dump(mode="json", exclude={"sources", "region", "id"})
        canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()

    def grade_of(self, score: int) -> str:
        for band in self.grades:
            if band.min <= score <= band.max:
                return band.name
        raise ValueError(f"score {score} is outside every grade band")

    def grade_rank(self, grade: str) -> int:
        """0 for the best grade, increasing downwards."""
        ordered = sorted(self.grades, key=lambda band: -band.min)
        return [band.name for band in ordered].index(grade)
