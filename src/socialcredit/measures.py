"""Incentive and restriction decisions: may this subject have this measure, and why.

A decision depends only on the subject's policy variant, kind, grade and lists, so the
batch engine decides each combination once and every look-up answers from that. The
reason codes are stable strings that relying parties may act on:

- ``listed:<list>``: on a list that grants the incentive or imposes the restriction;
- ``grade:<grade>``: the grade grants the incentive or imposes the restriction;
- ``not_eligible``: an incentive whose lists and grades the subject does not meet;
- ``not_restricted``: a restriction none of whose lists or grades applies;
- ``not_for_kind:<kind>``: the measure does not apply to persons, or to organisations.
"""

from __future__ import annotations

from dataclasses import dataclass

from socialcredit.policy.models import EffectivePolicy, Measure


@dataclass(frozen=True)
class Decision:
    measure: str
    allowed: bool
    reasons: tuple[str, ...]
    #: what the reasons mean, in words (for people, not for scripts)
    detail: str


def decide(
    policy: EffectivePolicy, measure: str, kind: str, grade: str, lists: frozenset[str]
) -> Decision:
    """The decision on ``measure`` for a subject of ``kind`` with ``grade`` and ``lists``.

    Raises KeyError for a measure the policy does not have.
    """
    rule = policy.measures[measure]
    if kind not in rule.subject_kinds:
        allowed = rule.kind == "restriction"
        return Decision(
            measure, allowed, (f"not_for_kind:{kind}",), f"{rule.title}: not for a {kind}"
        )
    if rule.kind == "incentive":
        return _incentive(measure, rule, grade, lists)
    return _restriction(measure, rule, grade, lists)


def _incentive(measure: str, rule: Measure, grade: str, lists: frozenset[str]) -> Decision:
    reasons = tuple(f"listed:{name}" for name in rule.granted_to_lists if name in lists)
    if grade in rule.granted_to_grades:
        reasons += (f"grade:{grade}",)
    if reasons:
        return Decision(measure, True, reasons, f"{rule.title}: granted")
    wanted = [f"list {name}" for name in rule.granted_to_lists]
    wanted += [f"grade {name}" for name in rule.granted_to_grades]
    return Decision(
        measure,
        False,
        ("not_eligible",),
        f"{rule.title}: needs {' or '.join(wanted)}; the subject has grade {grade}"
        + (f" and lists {', '.join(sorted(lists))}" if lists else " and is on no list"),
    )


def _restriction(measure: str, rule: Measure, grade: str, lists: frozenset[str]) -> Decision:
    reasons = tuple(f"listed:{name}" for name in rule.denied_to_lists if name in lists)
    if grade in rule.denied_to_grades:
        reasons += (f"grade:{grade}",)
    if reasons:
        on = ", ".join(reason.split(":", 1)[1] for reason in reasons)
        return Decision(measure, False, reasons, f"{rule.title}: restricted ({on})")
    return Decision(measure, True, ("not_restricted",), f"{rule.title}: no restriction applies")
