"""The proportionality and context audit of an effective policy.

For every measure it works out which record types can affect it, and how (through
a list, or through the grade the score gives). A record type that can hurt the
subject in a measure is flagged when

* its category is not one the measure declares as related (``unrelated_context``:
  detrimental treatment in a social context unrelated to the one the data was
  recorded in, the test of the EU AI Act, article 5(1)(c)); or
* the measure's impact is heavier than the record's severity allows
  (``disproportionate``: minor records may affect low-impact measures only,
  general records up to medium, serious records up to high).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from socialcredit.policy.models import (
    IMPACT_ORDER,
    SEVERITY_ORDER,
    EffectivePolicy,
    Measure,
    RecordType,
)

FlagKind = Literal["unrelated_context", "disproportionate"]
_ALLOWED_IMPACT_BY_SEVERITY = {"minor": "low", "general": "medium", "serious": "high"}


@dataclass(frozen=True, slots=True)
class Reach:
    record_type: str
    category: str
    severity: str
    effect: Literal["detriment", "benefit"]
    via: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Flag:
    kind: FlagKind
    category: str
    record_types: tuple[str, ...]
    message: str


@dataclass(frozen=True, slots=True)
class MeasureAudit:
    measure: str
    title: str
    kind: str
    domain: str
    impact: str
    declared_categories: tuple[str, ...]
    reachable_categories: tuple[str, ...]
    reachable: tuple[Reach, ...]
    flags: tuple[Flag, ...]


@dataclass(frozen=True, slots=True)
class PolicyAudit:
    policy: str
    version: str
    content_hash: str
    region: str | None
    measures: tuple[MeasureAudit, ...]
    summary: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _points(rt: RecordType) -> float:
    return float(rt.points if rt.points is not None else rt.points_per_unit or 0)


def _paths(policy: EffectivePolicy, measure: Measure, key: str, rt: RecordType) -> list[str]:
    """How record type ``key`` can change the measure's outcome for a subject."""
    paths: list[str] = []
    moves_score = _points(rt) != 0
    for name in (*measure.granted_to_lists, *measure.denied_to_lists):
        rule = policy.lists[name]
        if rule.basis == "records":
            if name in rt.lists:
                paths.append(f"list {name}")
            elif any(
                name in policy.record_types[c].lists for c in rt.clears if c in policy.record_types
            ):
                paths.append(f"list {name} (clears it)")
        else:
            if moves_score:
                paths.append(f"list {name} (grade {rule.min_grade} or better)")
            if rt.counts_against and rule.clean_months:
                paths.append(f"list {name} (no negative record for {rule.clean_months} months)")
    if (measure.granted_to_grades or measure.denied_to_grades) and moves_score:
        grades = ", ".join((*measure.granted_to_grades, *measure.denied_to_grades))
        paths.append(f"grade ({grades})")
    return list(dict.fromkeys(paths))


def _effect(rt: RecordType, paths: list[str]) -> Literal["detriment", "benefit"]:
    if not rt.counts_against or all(path.endswith("(clears it)") for path in paths):
        return "benefit"
    return "detriment"


def audit_measure(policy: EffectivePolicy, key: str, measure: Measure) -> MeasureAudit:
    reaches: list[Reach] = []
    for rt_key, rt in policy.record_types.items():
        if not set(rt.subject_kinds) & set(measure.subject_kinds):
            continue
        paths = _paths(policy, measure, rt_key, rt)
        if paths:
            reaches.append(
                Reach(rt_key, rt.category, rt.severity, _effect(rt, paths), tuple(paths))
            )
    flags: list[Flag] = []
    harmful = [reach for reach in reaches if reach.effect == "detriment"]
    unrelated: dict[str, list[str]] = {}
    for reach in harmful:
        if reach.category not in measure.trigger_categories:
            unrelated.setdefault(reach.category, []).append(reach.record_type)
    for category, keys in sorted(unrelated.items()):
        flags.append(
            Flag(
                "unrelated_context",
                category,
                tuple(keys),
                f"{category} records ({', '.join(keys)}) can cost the subject '{measure.title}' "
                f"({measure.domain}), a context the measure does not declare as related",
            )
        )
    for reach in harmful:
        allowed = _ALLOWED_IMPACT_BY_SEVERITY[reach.severity]
        if IMPACT_ORDER[measure.impact] > IMPACT_ORDER[allowed]:
            flags.append(
                Flag(
                    "disproportionate",
                    reach.category,
                    (reach.record_type,),
                    f"a {reach.severity} record ({reach.record_type}) can affect a measure of "
                    f"{measure.impact} impact; {reach.severity} records are proportionate to "
                    f"{allowed} impact at most",
                )
            )
    categories = sorted({reach.category for reach in reaches})
    return MeasureAudit(
        measure=key,
        title=measure.title,
        kind=measure.kind,
        domain=measure.domain,
        impact=measure.impact,
        declared_categories=tuple(measure.trigger_categories),
        reachable_categories=tuple(categories),
        reachable=tuple(sorted(reaches, key=lambda r: (SEVERITY_ORDER[r.severity], r.record_type))),
        flags=tuple(flags),
    )


def audit(policy: EffectivePolicy) -> PolicyAudit:
    """Audit every measure of an effective policy."""
    measures = tuple(audit_measure(policy, key, m) for key, m in policy.measures.items())
    flags = [flag for m in measures for flag in m.flags]
    summary = {
        "measures": len(measures),
        "measures_flagged": sum(1 for m in measures if m.flags),
        "unrelated_context": sum(1 for f in flags if f.kind == "unrelated_context"),
        "disproportionate": sum(1 for f in flags if f.kind == "disproportionate"),
    }
    return PolicyAudit(
        policy.id, policy.version, policy.content_hash(), policy.region, measures, summary
    )
