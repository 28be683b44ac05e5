"""Semantic checks of policy files, and loading a catalog only once it is clean.

Every problem carries the file and key it is about. Errors make a policy unusable;
warnings are printed and do not.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from socialcredit.policy.loader import (
    LoadedFile,
    PolicyCatalog,
    PolicyError,
    Problem,
    compose,
    parse_file,
    policy_files_in,
)
from socialcredit.policy.models import (
    CASEWORK_PREFIX,
    CATEGORIES,
    POSITIVE_CATEGORIES,
    RESERVED_LIST_NAMES,
    EffectivePolicy,
    Measure,
    RecordType,
)
from socialcredit.policy.protected import protected_grounds_in
from socialcredit.regions import region_table

_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
#: minimum publication before repair, in months, per severity (casework defaults)
REPAIR_RANGE = {"general": (3, 12), "serious": (12, 36)}


def check_record_type(file: str, key: str, rt: RecordType) -> list[Problem]:
    where = f"record_types.{key}"
    problems: list[Problem] = []

    def error(message: str) -> None:
        problems.append(Problem(file, where, message))

    if not _KEY.match(key):
        error("key must be dotted lower-case words, e.g. 'court.judgment_default'")
    if key.startswith(CASEWORK_PREFIX):
        error(f"'{CASEWORK_PREFIX}*' record types are reserved for casework decisions")
    text = " ".join((key, rt.title, rt.description, rt.legal_basis, rt.unit or ""))
    for ground, words in protected_grounds_in(text):
        error(
            f"refused: a record type about {ground} ({words!r}) is not allowed; the platform "
            "never scores religion or belief, ethnicity, political opinion, lawful speech or "
            "lawful private life"
        )
    if rt.category not in CATEGORIES:
        error(f"unknown category {rt.category!r}: expected one of {', '.join(CATEGORIES)}")
    if (rt.points is None) == (rt.points_per_unit is None):
        error("give exactly one of 'points' (fixed) or 'points_per_unit' (with 'yearly_cap')")
    if rt.points_per_unit is not None and (rt.yearly_cap is None or rt.unit is None):
        error("'points_per_unit' needs 'unit' and 'yearly_cap'")
    value = rt.points if rt.points is not None else rt.points_per_unit
    if value is not None and rt.category in CATEGORIES:
        if rt.category in POSITIVE_CATEGORIES and value <= 0:
            error(f"points must be positive for category {rt.category!r}, got {value}")
        if rt.category not in POSITIVE_CATEGORIES and value > 0:
            error(f"points must be negative or zero for category {rt.category!r}, got {value}")
    if rt.is_negative and not rt.requires_decision_ref:
        error("a negative record type must require a decision reference (requires_decision_ref)")
    if rt.amount_min is not None and rt.amount_max is not None and rt.amount_min > rt.amount_max:
        error(f"amount_min {rt.amount_min} is above amount_max {rt.amount_max}")
    if rt.severity == "minor" and rt.public:
        error("minor records are never published: set public = false")
    if rt.public and rt.repair_after_months is None:
        error("a public record type needs repair_after_months (minimum publication period)")
    if rt.repair_after_months is not None and rt.repair_after_months > rt.in_force_months:
        error(
            f"repair_after_months {rt.repair_after_months} exceeds in_force_months "
            f"{rt.in_force_months}"
        )
    low_high = REPAIR_RANGE.get(rt.severity)
    if rt.public and low_high and rt.repair_after_months is not None:
        low, high = low_high
        if not low <= rt.repair_after_months <= high:
            problems.append(
                Problem(
                    file,
                    where,
                    f"repair_after_months {rt.repair_after_months} is outside the usual "
                    f"{low}-{high} months for {rt.severity} records",
                    "warning",
                )
            )
    return problems


def check_measure(file: str, key: str, measure: Measure, policy: EffectivePolicy) -> list[Problem]:
    where = f"measures.{key}"
    problems: list[Problem] = []
    grades = {band.name for band in policy.grades}
    for category in measure.trigger_categories:
        if category not in CATEGORIES:
            problems.append(Problem(file, where, f"unknown trigger category {category!r}"))
    for name in (*measure.granted_to_lists, *measure.denied_to_lists):
        if name not in policy.lists:
            problems.append(
                Problem(
                    file,
                    where,
                    f"names unknown list {name!r}: lists are " + ", ".join(sorted(policy.lists)),
                )
            )
    for grade in (*measure.granted_to_grades, *measure.denied_to_grades):
        if grade not in grades:
            problems.append(Problem(file, where, f"names unknown grade {grade!r}"))
    granted = measure.granted_to_lists or measure.granted_to_grades
    denied = measure.denied_to_lists or measure.denied_to_grades
    if measure.kind == "incentive" and (not granted or denied):
        problems.append(
            Problem(file, where, "an incentive is granted_to lists or grades (and denies none)")
        )
    if measure.kind == "restriction" and (not denied or granted):
        problems.append(
            Problem(file, where, "a restriction is denied_to lists or grades (and grants none)")
        )
    return problems


def check_grades(file: str, policy: EffectivePolicy) -> list[Problem]:
    problems: list[Problem] = []
    scale = policy.scale
    if not scale.floor <= scale.base <= scale.ceiling:
        problems.append(Problem(file, "scale", "base must lie between floor and ceiling"))
    names = [band.name for band in policy.grades]
    for name in {n for n in names if names.count(n) > 1}:
        problems.append(Problem(file, "grades", f"grade {name!r} is defined twice"))
    bands = sorted(policy.grades, key=lambda band: (band.min, band.max))
    if not bands:
        problems.append(Problem(file, "grades", "at least one grade band is needed"))
    for band in bands:
        if band.min > band.max:
            problems.append(Problem(file, f"grades.{band.name}", "min is above max"))
    if bands and bands[0].min != scale.floor:
        problems.append(
            Problem(
                file,
                "grades",
                f"the lowest band starts at {bands[0].min}, not at the "
                f"floor {scale.floor}: scores below it would have no grade",
            )
        )
    if bands and bands[-1].max != scale.ceiling:
        problems.append(
            Problem(
                file,
                "grades",
                f"the highest band ends at {bands[-1].max}, not at the ceiling {scale.ceiling}",
            )
        )
    for lower, upper in itertools.pairwise(bands):
        if upper.min <= lower.max:
            problems.append(
                Problem(
                    file,
                    "grades",
                    f"bands {lower.name} ({lower.min}-{lower.max}) and "
                    f"{upper.name} ({upper.min}-{upper.max}) overlap",
                )
            )
        elif upper.min > lower.max + 1:
            problems.append(
                Problem(
                    file,
                    "grades",
                    f"gap between {lower.name} (up to {lower.max}) and "
                    f"{upper.name} (from {upper.min}): scores {lower.max + 1}-"
                    f"{upper.min - 1} have no grade",
                )
            )
    return problems


def check_effective(policy: EffectivePolicy) -> list[Problem]:
    """Cross-references: lists, grades and record types named where they must exist."""
    problems: list[Problem] = []
    grades = {band.name for band in policy.grades}
    for name, rule in policy.lists.items():
        if name in RESERVED_LIST_NAMES:
            problems.append(
                Problem(
                    policy.sources["lists"],
                    f"lists.{name}",
                    f"{name!r} is reserved: public disclosure serves organisations' "
                    "published records under that name",
                )
            )
        if rule.basis == "grade" and rule.min_grade not in grades:
            problems.append(
                Problem(
                    policy.sources["lists"],
                    f"lists.{name}",
                    f"min_grade {rule.min_grade!r} is not a grade",
                )
            )
    for key, rt in policy.record_types.items():
        file = policy.sources[f"record_types.{key}"]
        for name in rt.lists:
            named = policy.lists.get(name)
            if named is None:
                problems.append(
                    Problem(file, f"record_types.{key}", f"names unknown list {name!r}")
                )
            elif named.basis != "records":
                problems.append(
                    Problem(
                        file,
                        f"record_types.{key}",
                        f"list {name!r} is given by grade, not by records",
                    )
                )
        for cleared in rt.clears:
            if cleared not in policy.record_types:
                problems.append(
                    Problem(file, f"record_types.{key}", f"clears unknown record type {cleared!r}")
                )
        if rt.hardship_becomes is not None:
            problems += _check_hardship(file, key, rt.hardship_becomes, policy)
    for key, measure in policy.measures.items():
        problems += check_measure(policy.sources[f"measures.{key}"], key, measure, policy)
    return problems


def _check_hardship(file: str, key: str, target: str, policy: EffectivePolicy) -> list[Problem]:
    """Inability to pay is not dishonesty: what a record becomes on hardship lists no one
    and costs no points."""
    where = f"record_types.{key}"
    becomes = policy.record_types.get(target)
    if becomes is None:
        return [Problem(file, where, f"hardship_becomes names unknown record type {target!r}")]
    if becomes.lists or becomes.counts_against or becomes.hardship_becomes:
        return [
            Problem(
                file,
                where,
                f"hardship_becomes: {target!r} must be a non-dishonesty record (no list, "
                "no points against the subject)",
            )
        ]
    return []


def _check_overlay_region(file: str, region: str) -> list[Problem]:
    if len(region) > 2 and region.endswith("00"):
        shorter = region[:-2] if region[-4:-2] != "00" else region[:2]
        return [
            Problem(
                file,
                "policy.region",
                f"write {region!r} as {shorter!r}: an overlay "
                "applies to every code that starts with its region",
            )
        ]
    if region_table().get(region.ljust(6, "0")) is None:
        return [
            Problem(file, "policy.region", f"unknown region {region!r}: not in the division table")
        ]
    return []


def _check_overlay_set(overlays: list[LoadedFile]) -> list[Problem]:
    problems: list[Problem] = []
    seen_regions: dict[str, str] = {}
    seen_ids: dict[str, str] = {}
    for overlay in overlays:
        meta = overlay.policy.policy
        region = meta.region or ""
        if region in seen_regions:
            problems.append(
                Problem(
                    overlay.name,
                    "policy.region",
                    f"region {region} already has an overlay: {seen_regions[region]}",
                )
            )
        if meta.id in seen_ids:
            problems.append(
                Problem(
                    overlay.name,
                    "policy.id",
                    f"id {meta.id!r} is already used by {seen_ids[meta.id]}",
                )
            )
        seen_regions.setdefault(region, overlay.name)
        seen_ids.setdefault(meta.id, overlay.name)
    return problems


def check_file(loaded: LoadedFile, national_id: str | None) -> list[Problem]:
    """Checks of one file on its own."""
    policy = loaded.policy
    file = loaded.name
    problems: list[Problem] = []
    for key, rt in policy.record_types.items():
        problems += check_record_type(file, key, rt)
    if policy.is_overlay:
        region = policy.policy.region or ""
        for part in ("scale", "grades", "lists"):
            if getattr(policy, part) is not None:
                problems.append(Problem(file, part, "an overlay may not redefine " + part))
        problems += _check_overlay_region(file, region)
        if national_id is not None and policy.policy.extends != national_id:
            problems.append(
                Problem(file, "policy.extends", f"must name the national policy {national_id!r}")
            )
    else:
        for part in ("scale", "grades", "lists"):
            if getattr(policy, part) is None:
                problems.append(Problem(file, part, "the national policy must define " + part))
    return problems


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def check_files(
    paths: Sequence[Path],
    national_fallback: Path | None = None,
    relative_to: Path | None = None,
) -> tuple[PolicyCatalog | None, list[Problem]]:
    """Parse and check policy files together. Returns the catalog if it has no error.

    Among ``paths`` the file without a region is the national policy; if there is
    none, ``national_fallback`` serves as the base for the overlays.
    """
    problems: list[Problem] = []
    loaded: list[LoadedFile] = []
    for path in paths:
        label = str(path.relative_to(relative_to)) if relative_to else str(path)
        parsed, file_problems = parse_file(path, label)
        problems += file_problems
        if parsed is not None:
            loaded.append(parsed)
    nationals = [item for item in loaded if not item.policy.is_overlay]
    overlays = [item for item in loaded if item.policy.is_overlay]
    if not nationals and national_fallback is not None:
        parsed, file_problems = parse_file(national_fallback)
        problems += file_problems
        nationals = [parsed] if parsed is not None else []
    if len(nationals) > 1:
        problems.append(
            Problem(
                ", ".join(n.name for n in nationals),
                "policy.region",
                "more than one national policy (a file without region)",
            )
        )
    national = nationals[0] if nationals else None
    national_id = national.policy.policy.id if national else None
    for item in (*nationals[:1], *overlays):
        problems += check_file(item, national_id)
    problems += _check_overlay_set(overlays)
    if national is not None and not any(p.level == "error" for p in problems):
        # each overlay is checked as it applies: stacked on the overlays above it
        stacked = PolicyCatalog(national, tuple(overlays))
        effective = [compose(national, [], None)]
        effective += [
            compose(national, stacked.overlays_for(o.policy.policy.region), o.policy.policy.region)
            for o in overlays
        ]
        problems += check_grades(national.name, effective[0])
        for policy in effective:
            problems += check_effective(policy)
    problems = _unique(problems)
    if national is None or any(problem.level == "error" for problem in problems):
        if national is None and not problems:
            problems.append(Problem("", "", "no national policy given"))
        return None, problems
    return PolicyCatalog(national, tuple(overlays)), problems


def load_catalog(directory: Path) -> PolicyCatalog:
    """Load and check every policy file of a directory; raise PolicyError on any error."""
    if not (directory / "national.toml").is_file():
        raise PolicyError([Problem(str(directory), "", "no national.toml in this directory")])
    catalog, problems = check_files(policy_files_in(directory), relative_to=directory)
    if catalog is None:
        raise PolicyError([p for p in problems if p.level == "error"])
    return catalog
