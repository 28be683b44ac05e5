"""The validator catches each kind of mistake, naming the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from socialcredit.policy import Problem, check_files, load_catalog, shipped_policy_dir
from socialcredit.policy.loader import policy_files_in
from tests.factories import (
    measure,
    national_policy,
    overlay_policy,
    record_type,
    write_policy,
)


def _problems(tmp_path: Path, policy: dict[str, Any], *overlays: dict[str, Any]) -> list[Problem]:
    paths = [write_policy(tmp_path / "national.toml", policy)]
    paths += [write_policy(tmp_path / f"overlay{i}.toml", o) for i, o in enumerate(overlays)]
    _, problems = check_files(paths)
    return [problem for problem in problems if problem.level == "error"]


def _with_type(key: str, **fields: Any) -> dict[str, Any]:
    policy = national_policy()
    policy["record_types"][key] = record_type(**fields)
    return policy


def test_the_factory_policy_is_valid(tmp_path: Path) -> None:
    assert _problems(tmp_path, national_policy()) == []


def test_shipped_policies_validate_without_errors() -> None:
    directory = shipped_policy_dir()
    catalog, problems = check_files(policy_files_in(directory), relative_to=directory)
    assert catalog is not None
    assert [p for p in problems if p.level == "error"] == []
    assert {"3301", "3309", "371082"} == set(catalog.overlay_regions)


def test_unknown_category(tmp_path: Path) -> None:
    problems = _problems(tmp_path, _with_type("misc.thing", category="lifestyle_choices"))
    assert len(problems) == 1
    problem = problems[0]
    assert problem.file.endswith("national.toml")
    assert problem.key == "record_types.misc.thing"
    assert "unknown category 'lifestyle_choices'" in problem.message


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"category": "traffic", "points": 5}, "must be negative or zero"),
        (
            {"category": "civic_contribution", "points": -5, "requires_decision_ref": False},
            "must be positive",
        ),
        ({"category": "honours", "points": 0, "requires_decision_ref": False}, "must be positive"),
    ],
)
def test_points_with_the_wrong_sign(tmp_path: Path, fields: dict[str, Any], words: str) -> None:
    problems = _problems(tmp_path, _with_type("misc.thing", **fields))
    assert [p.key for p in problems] == ["record_types.misc.thing"]
    assert words in problems[0].message


def test_negative_type_must_require_a_decision_reference(tmp_path: Path) -> None:
    problems = _problems(tmp_path, _with_type("misc.thing", requires_decision_ref=False))
    assert len(problems) == 1
    assert "decision reference" in problems[0].message


def test_measure_naming_an_unknown_list(tmp_path: Path) -> None:
    policy = national_policy()
    policy["measures"]["transport.flight"] = measure(denied_to_lists=["blacklist"])
    problems = _problems(tmp_path, policy)
    assert [p.key for p in problems] == ["measures.transport.flight"]
    assert "unknown list 'blacklist'" in problems[0].message


def _grades(*bands: tuple[str, int, int]) -> list[dict[str, Any]]:
    return [{"name": name, "min": low, "max": high} for name, low, high in bands]


@pytest.mark.parametrize(
    ("bands", "words"),
    [
        (_grades(("A", 1000, 1500), ("B", 900, 1000), ("D", 0, 899)), "overlap"),
        (_grades(("A", 1000, 1500), ("B", 900, 989), ("D", 0, 899)), "gap between B"),
        (_grades(("A", 1000, 1500), ("D", 10, 999)), "not at the floor 0"),
        (_grades(("A", 1000, 1400), ("D", 0, 999)), "not at the ceiling 1500"),
    ],
)
def test_grade_bands_without_overlap_or_gap(
    tmp_path: Path, bands: list[dict[str, Any]], words: str
) -> None:
    lists = {
        "discredited": {"title": "D", "basis": "records"},
        "red": {"title": "R", "basis": "grade", "min_grade": "A"},
    }
    problems = _problems(tmp_path, national_policy(grades=bands, lists=lists))
    assert any(words in p.message and p.key == "grades" for p in problems), problems


@pytest.mark.parametrize(
    ("key", "fields", "ground"),
    [
        ("conduct.unregistered_worship", {}, "religion or belief"),
        ("conduct.sect_meeting", {"title": "Attending a sect meeting"}, "religion or belief"),
        ("conduct.misc", {"description": "Attending an unregistered church"}, "religion or belief"),
        ("conduct.ethnic_origin", {}, "ethnicity"),
        ("conduct.misc", {"description": "Subject belongs to an ethnic minority"}, "ethnicity"),
        ("conduct.petitioning", {}, "political opinion"),
        ("conduct.misc", {"title": "Took part in a protest"}, "political opinion"),
        ("conduct.misc", {"description": "Posting criticism of officials online"}, "lawful speech"),
        ("conduct.spreading_rumours", {}, "lawful speech"),
        ("conduct.video_games", {}, "lawful private life"),
        ("conduct.misc", {"description": "Time spent on games each day"}, "lawful private life"),
        ("conduct.misc", {"title": "Buying alcohol"}, "lawful private life"),
        ("conduct.misc", {"title": "上访"}, "political opinion"),
        ("conduct.misc", {"description": "参加宗教活动"}, "religion or belief"),
        ("conduct.misc", {"description": "玩网络游戏时间过长"}, "lawful private life"),
    ],
)
def test_protected_grounds_are_refused_whatever_the_category(
    tmp_path: Path, key: str, fields: dict[str, Any], ground: str
) -> None:
    # the category is a legitimate one: the text guard must still refuse it
    problems = _problems(tmp_path, _with_type(key, category="public_order", **fields))
    refused = [p for p in problems if p.message.startswith("refused")]
    assert refused, problems
    assert refused[0].key == f"record_types.{key}"
    assert ground in refused[0].message


@pytest.mark.parametrize(
    "category", ["religion", "ethnicity", "political_opinion", "speech", "private_life"]
)
def test_no_category_exists_for_protected_grounds(tmp_path: Path, category: str) -> None:
    problems = _problems(tmp_path, _with_type("misc.thing", category=category))
    assert any("unknown category" in p.message for p in problems)


def test_overlay_problems_name_the_overlay_file(tmp_path: Path) -> None:
    overlay = overlay_policy(
        "3301",
        record_types={
            "city.thing": record_type(points=10),
        },
    )
    problems = _problems(tmp_path, national_policy(), overlay)
    assert [(Path(p.file).name, p.key) for p in problems] == [
        ("overlay0.toml", "record_types.city.thing")
    ]


def test_overlay_may_not_redefine_grades_and_needs_a_known_region(tmp_path: Path) -> None:
    overlay = overlay_policy("9901", scale={"base": 1, "floor": 0, "ceiling": 2})
    problems = _problems(tmp_path, national_policy(), overlay)
    messages = {p.key: p.message for p in problems}
    assert "may not redefine scale" in messages["scale"]
    assert "unknown region" in messages["policy.region"]


def test_overlay_measure_checked_against_national_lists(tmp_path: Path) -> None:
    overlay = overlay_policy("3301", measures={"city.bus": measure(denied_to_lists=["grey"])})
    problems = _problems(tmp_path, national_policy(), overlay)
    assert problems
    assert "unknown list 'grey'" in problems[0].message


def test_structural_errors_name_the_key(tmp_path: Path) -> None:
    policy = national_policy()
    policy["record_types"]["traffic.violation"]["severity"] = "catastrophic"
    problems = _problems(tmp_path, policy)
    assert problems[0].key == "record_types.traffic.violation.severity"


def test_toml_syntax_error_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "national.toml"
    path.write_text("[policy\nid = ", encoding="utf-8")
    catalog, problems = check_files([path])
    assert catalog is None
    assert "TOML syntax" in problems[0].message


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    catalog, problems = check_files([tmp_path / "nope.toml"])
    assert catalog is None
    assert "cannot read" in problems[0].message


def test_minor_records_are_never_published(tmp_path: Path) -> None:
    problems = _problems(tmp_path, _with_type("misc.thing", public=True, repair_after_months=3))
    assert any("never published" in p.message for p in problems)


def test_load_catalog_raises_with_every_error(tmp_path: Path) -> None:
    from socialcredit.policy import PolicyError

    policy = _with_type("misc.thing", category="nope", requires_decision_ref=False)
    write_policy(tmp_path / "national.toml", policy)
    with pytest.raises(PolicyError) as raised:
        load_catalog(tmp_path)
    assert len(raised.value.problems) >= 2


def test_empty_grades_are_refused(tmp_path: Path) -> None:
    path = write_policy(tmp_path / "national.toml", national_policy(grades=[]))
    path.write_text("grades = []\n" + path.read_text())
    _, problems = check_files([path])
    assert any("at least one grade band" in p.message for p in problems), problems


@pytest.mark.parametrize(
    ("region", "words"),
    [
        ("330100", "write '330100' as '3301'"),
        ("3399", "not in the division table"),
        ("339999", "not in the division table"),
        ("330000", "as '33'"),
    ],
)
def test_overlay_region_must_be_a_listed_prefix(tmp_path: Path, region: str, words: str) -> None:
    problems = _problems(tmp_path, national_policy(), overlay_policy(region))
    assert any(words in p.message and p.key == "policy.region" for p in problems), problems


def test_two_overlays_for_one_region_are_refused(tmp_path: Path) -> None:
    second = overlay_policy("3301")
    second["policy"]["id"] = "other"
    problems = _problems(tmp_path, national_policy(), overlay_policy("3301"), second)
    assert any("already has an overlay" in p.message for p in problems)


def test_stacked_overlays_are_checked_together(tmp_path: Path) -> None:
    province = overlay_policy(
        "33", record_types={"zhejiang.thing": record_type(title="Provincial offence")}
    )
    province["policy"]["id"] = "zhejiang"
    city = overlay_policy(
        "3301",
        record_types={
            "hangzhou.cleared": record_type(
                title="Provincial offence dealt with", points=0, clears=["zhejiang.thing"]
            )
        },
    )
    assert _problems(tmp_path, national_policy(), province, city) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("points", "-100"), ("public", "yes"), ("points", True), ("in_force_months", 12.5)],
)
def test_values_of_the_wrong_type_are_not_converted(
    tmp_path: Path, field: str, value: object
) -> None:
    policy = national_policy()
    policy["record_types"]["traffic.violation"][field] = value
    problems = _problems(tmp_path, policy)
    assert [p.key for p in problems] == [f"record_types.traffic.violation.{field}"]


def test_nan_and_infinity_are_refused(tmp_path: Path) -> None:
    policy = national_policy()
    policy["record_types"]["civic.volunteer_hour"] = record_type(
        category="civic_contribution",
        points=None,
        requires_decision_ref=False,
        points_per_unit=float("nan"),
        unit="hour",
        yearly_cap=10,
    )
    del policy["record_types"]["civic.volunteer_hour"]["points"]
    path = tmp_path / "national.toml"
    write_policy(path, policy)
    path.write_text(path.read_text().replace("points_per_unit = nan", "points_per_unit = nan"))
    _, problems = check_files([path])
    assert any(p.key.endswith("points_per_unit") for p in problems), problems


def test_deep_nesting_and_directories_are_problems_not_crashes(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 5000 + "]" * 5000)
    _, problems = check_files([deep])
    assert (problems and "nested too deeply" in problems[0].message) or "TOML" in problems[
        0
    ].message
    _, problems = check_files([tmp_path])
    assert "directory" in problems[0].message


def test_a_scale_beyond_16_bit_scores_is_refused(tmp_path: Path) -> None:
    policy = national_policy(scale={"base": 35000, "floor": 0, "ceiling": 40000})
    problems = _problems(tmp_path, policy)
    assert any(p.key == "scale.ceiling" and "32767" in p.message for p in problems), problems


def test_a_list_may_not_take_the_name_public_disclosure_uses(tmp_path: Path) -> None:
    policy = national_policy()
    policy["lists"]["organisation_records"] = dict(policy["lists"]["discredited"])
    problems = _problems(tmp_path, policy)
    assert [p.key for p in problems] == ["lists.organisation_records"]
    assert "reserved" in problems[0].message


def test_casework_record_types_are_reserved(tmp_path: Path) -> None:
    problems = _problems(tmp_path, _with_type("casework.objection_upheld"))
    assert [p.key for p in problems] == ["record_types.casework.objection_upheld"]
    assert "reserved for casework" in problems[0].message


def test_hardship_must_become_a_non_dishonesty_record(tmp_path: Path) -> None:
    policy = _with_type("court.unable", points=0, hardship_becomes="court.nowhere")
    policy["record_types"]["court.default"] = record_type(
        points=-100, hardship_becomes="court.default2"
    )
    policy["record_types"]["court.default2"] = record_type(points=-50)
    problems = _problems(tmp_path, policy)
    messages = {p.key: p.message for p in problems}
    assert "unknown record type 'court.nowhere'" in messages["record_types.court.unable"]
    assert "non-dishonesty" in messages["record_types.court.default"]
    fixed = _with_type("court.unable", points=0)
    fixed["record_types"]["court.default"] = record_type(
        points=-100, hardship_becomes="court.unable"
    )
    assert _problems(tmp_path, fixed) == []
