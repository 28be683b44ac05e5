"""A straightforward pandas implementation of the scoring policy of docs/scoring.md.

Two uses: the baseline the scoring benchmark compares the engine with ("at least 5x
faster than a straightforward pandas implementation of the same policy"), and an
independent reference for a differential test of the engine. It is written the plain
pandas way (merge, groupby, ``DateOffset``, ``rank(method="min")``) and shares no code
with :mod:`socialcredit.scoring`. No casework: nothing is repaired or frozen.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from socialcredit.ledger import RECORDS, SUBJECTS, Layout, Ledger
from socialcredit.policy import EffectivePolicy, PolicyCatalog

COLUMNS = [
    *("subject_id", "kind", "region", "score", "grade", "lists"),
    *(
        f"{level}_{part}"
        for level in ("national", "province", "city", "region")
        for part in ("rank", "percentile")
    ),
    *("points", "records_counted", "incentives", "restrictions"),
]
#: rank levels: the group key as the number of leading digits of the region (None: all)
LEVELS: tuple[tuple[str, int | None], ...] = (
    ("national", None),
    ("province", 2),
    ("city", 4),
    ("region", 6),
)


def read_visible(ledger: Ledger, layout: Layout, ledger_as_of: dt.datetime) -> Any:
    """The table's current version, without the rows recorded after ``ledger_as_of``."""
    paths = sorted(unquote(uri) for uri in ledger.table(layout).file_uris())
    frames = [pd.read_parquet(path) for path in paths]
    table = (
        pd.concat(frames, ignore_index=True)
        if frames
        else layout.table_schema.empty_table().to_pandas()
    )
    moment = pd.Timestamp(ledger_as_of)
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment
    table = table[table["recorded_at"] <= moment].copy()
    for column in ("subject_id", "kind", "region", "record_id", "record_type", "revokes"):
        if column in table:
            table[column] = table[column].astype(object).where(table[column].notna(), None)
    return table


def variant_policies(catalog: PolicyCatalog, regions: Any) -> tuple[dict[str, str], Any]:
    """Each region's policy variant (the overlays that apply to it, joined), and the
    record types and measures of every variant as two frames."""
    variant_of = {
        region: "+".join(r for r in catalog.overlay_regions if region.startswith(r))
        for region in regions.unique()
    }
    policies: dict[str, EffectivePolicy] = {}
    for region, variant in variant_of.items():
        policies.setdefault(variant, catalog.effective(region))
    types = pd.DataFrame(
        [
            {
                "variant": variant,
                "record_type": name,
                "kind": kind,
                "fixed": rule.points,
                "per_unit": rule.points_per_unit,
                "yearly_cap": rule.yearly_cap,
                "in_force_months": rule.in_force_months,
                "type_lists": list(rule.lists),
                "clears": list(rule.clears),
                "counts_against": rule.counts_against,
            }
            for variant, policy in policies.items()
            for name, rule in policy.record_types.items()
            for kind in rule.subject_kinds
        ]
    )
    measures = pd.DataFrame(
        [
            {
                "variant": variant,
                "kind": kind,
                "measure": name,
                "measure_kind": rule.kind,
                "via": via,
                "value": value,
            }
            for variant, policy in policies.items()
            for name, rule in policy.measures.items()
            for kind in rule.subject_kinds
            for via, values in (
                (
                    "list",
                    rule.granted_to_lists if rule.kind == "incentive" else rule.denied_to_lists,
                ),
                (
                    "grade",
                    rule.granted_to_grades if rule.kind == "incentive" else rule.denied_to_grades,
                ),
            )
            for value in values
        ],
        columns=["variant", "kind", "measure", "measure_kind", "via", "value"],
    )
    return variant_of, (types, measures)


def add_months(days: Any, months: Any) -> Any:
    """``days + months`` calendar months each, the day clipped to the month's end."""
    return days.groupby(months).transform(lambda group: group + pd.DateOffset(months=group.name))


def yearly_points(counting: Any) -> Any:
    """Points per subject: fixed types summed; per-unit or capped types summed per type
    and calendar year, truncated toward zero, then limited to the yearly cap."""
    pooled = counting["per_unit"].notna() | counting["yearly_cap"].notna()
    plain = counting[~pooled].groupby("subject_id")["value"].sum()
    years = counting[pooled].assign(year=counting["occurred_on"].dt.year)
    per_year = years.groupby(["subject_id", "record_type", "year"]).agg(
        value=("value", "sum"), cap=("yearly_cap", "first")
    )
    truncated = np.trunc(per_year["value"] + 1e-9 * np.sign(per_year["value"]))
    capped = truncated.clip(lower=-per_year["cap"], upper=per_year["cap"])
    capped = capped.where(per_year["cap"].notna(), truncated)
    return pd.concat([plain, capped.groupby("subject_id").sum()]).groupby(level=0).sum()


def pandas_scores(
    data: Path, catalog: PolicyCatalog, as_of: dt.date, ledger_as_of: dt.datetime
) -> Any:
    """One row per registered subject: score, grade, lists, ranks, points and decisions."""
    ledger = Ledger.open(data)
    national = catalog.effective(None)
    day = pd.Timestamp(as_of)
    subjects = read_visible(ledger, SUBJECTS, ledger_as_of)[["subject_id", "kind", "region"]]
    subjects = subjects.reset_index(drop=True)
    variant_of, (types, measures) = variant_policies(catalog, subjects["region"])
    subjects["variant"] = subjects["region"].map(variant_of)

    records = read_visible(ledger, RECORDS, ledger_as_of)
    records["occurred_on"] = pd.to_datetime(records["occurred_on"])
    records["revoked"] = records["record_id"].isin(set(records["revokes"].dropna()))
    # registered subjects only; types of the subject's policy, for its kind
    records = records.merge(subjects[["subject_id", "kind", "variant"]], on="subject_id")
    records = records.merge(types, on=["variant", "record_type", "kind"])
    valid = records[
        records["revokes"].isna() & ~records["revoked"] & (records["occurred_on"] <= day)
    ].copy()
    valid["ends"] = add_months(valid["occurred_on"], valid["in_force_months"])
    counting = valid[valid["ends"] > day].copy()
    counting["value"] = counting["fixed"].fillna(
        counting["per_unit"] * counting["amount"].fillna(0.0)
    )
    counting["value"] = counting["value"].fillna(0.0)

    points = yearly_points(counting)
    subjects["points"] = subjects["subject_id"].map(points).fillna(0).astype("int64")
    scale = national.scale
    subjects["score"] = (scale.base + subjects["points"]).clip(scale.floor, scale.ceiling)
    subjects["grade"] = None
    for band in national.grades:
        subjects.loc[subjects["score"].between(band.min, band.max), "grade"] = band.name
    counted = counting.groupby("subject_id").size()
    subjects["records_counted"] = subjects["subject_id"].map(counted).fillna(0).astype("int64")

    # records-basis lists: a counting record of a listing type, not cleared by a later
    # (or same-day) clearing record that is valid, even if past its own period
    record_lists = [n for n, rule in national.lists.items() if rule.basis == "records"]
    listing = counting.explode("type_lists")
    listing = listing[listing["type_lists"].isin(record_lists)]
    clearing = valid[["subject_id", "clears", "occurred_on"]].explode("clears")
    clearing = clearing.rename(columns={"clears": "record_type", "occurred_on": "cleared_on"})
    pairs = listing.merge(clearing, on=["subject_id", "record_type"], how="left")
    cleared = pairs.loc[pairs["cleared_on"] >= pairs["occurred_on"], "record_id"]
    uncleared = listing[~listing["record_id"].isin(cleared)]
    memberships = [uncleared[["subject_id", "type_lists"]].rename(columns={"type_lists": "list"})]

    # grade-basis lists: the grade or better, and nothing against the subject in force
    # on any day of the last clean_months
    band_min = {band.name: band.min for band in national.grades}
    for name, rule in national.lists.items():
        if rule.basis != "grade" or rule.min_grade is None:
            continue
        start = day - pd.DateOffset(months=rule.clean_months)
        against = valid[valid["counts_against"] & (valid["ends"] > start)]["subject_id"]
        good = subjects["grade"].map(band_min) >= band_min[rule.min_grade]
        members = subjects.loc[good & ~subjects["subject_id"].isin(against), ["subject_id"]]
        memberships.append(members.assign(list=name))
    listed = pd.concat(memberships, ignore_index=True).drop_duplicates()
    on_lists = listed.groupby("subject_id")["list"].agg(sorted)
    subjects["lists"] = subjects["subject_id"].map(on_lists)
    subjects["lists"] = subjects["lists"].apply(lambda v: v if isinstance(v, list) else [])

    # decisions: a measure of the subject's policy, for its kind, that a list or the
    # grade of the subject triggers (incentive granted, restriction imposed)
    facts = pd.concat(
        [
            listed.rename(columns={"list": "value"}).assign(via="list"),
            subjects[["subject_id", "grade"]]
            .rename(columns={"grade": "value"})
            .assign(via="grade"),
        ]
    ).merge(subjects[["subject_id", "kind", "variant"]], on="subject_id")
    decided = facts.merge(measures, on=["variant", "kind", "via", "value"])
    decided = decided.drop_duplicates(["subject_id", "measure"])
    for column, measure_kind in (("incentives", "incentive"), ("restrictions", "restriction")):
        names = decided[decided["measure_kind"] == measure_kind]
        per_subject = names.groupby("subject_id")["measure"].agg(sorted)
        subjects[column] = subjects["subject_id"].map(per_subject)
        subjects[column] = subjects[column].apply(lambda v: v if isinstance(v, list) else [])

    # ranks and percentiles, per kind, in each level's groups
    for level, digits in LEVELS:
        keys = [subjects["kind"]] + ([subjects["region"].str[:digits]] if digits else [])
        scores = subjects.groupby(keys)["score"]
        subjects[f"{level}_rank"] = scores.rank(method="min", ascending=False).astype("int64")
        lower = scores.rank(method="min", ascending=True) - 1
        subjects[f"{level}_percentile"] = 100.0 * lower / scores.transform("size")
    return subjects[COLUMNS]
