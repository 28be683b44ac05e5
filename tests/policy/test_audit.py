"""The proportionality and context audit."""

from __future__ import annotations

from pathlib import Path

from socialcredit.policy import PolicyCatalog, audit, load_catalog
from tests.factories import measure, national_policy, write_policy


def test_list_restrictions_are_reached_from_court_records_only(
    shipped_catalog: PolicyCatalog,
) -> None:
    result = audit(shipped_catalog.effective(None))
    flight = next(m for m in result.measures if m.measure == "transport.flight")
    assert flight.reachable_categories == ("court_enforcement",)
    assert flight.flags == ()
    reached = {r.record_type: r for r in flight.reachable}
    assert reached["court.judgment_default"].effect == "detriment"
    assert reached["court.obligation_performed"].effect == "benefit"


def test_grade_based_benefit_is_flagged_for_unrelated_context(
    shipped_catalog: PolicyCatalog,
) -> None:
    result = audit(shipped_catalog.effective("330106"))
    education = next(m for m in result.measures if m.measure == "city.education")
    contexts = {f.category: f for f in education.flags if f.kind == "unrelated_context"}
    assert "traffic" in contexts  # a traffic offence can cost an education benefit
    assert "traffic.violation" in contexts["traffic"].record_types
    assert "civic_contribution" not in contexts  # benefits only, never a detriment
    heavy = [f for f in education.flags if f.kind == "disproportionate"]
    assert any(f.record_types == ("traffic.violation",) for f in heavy)
    assert result.summary["measures_flagged"] >= 1


def test_declared_context_and_proportionate_measure_is_clean(tmp_path: Path) -> None:
    policy = national_policy(
        measures={
            "transport.flight": measure(),
            "report.free": measure(
                kind="incentive",
                impact="low",
                denied_to_lists=[],
                granted_to_grades=["AAA"],
                trigger_categories=["court_enforcement", "traffic"],
            ),
        }
    )
    write_policy(tmp_path / "national.toml", policy)
    result = audit(load_catalog(tmp_path).effective(None))
    assert all(m.flags == () for m in result.measures), result.measures
    free = next(m for m in result.measures if m.measure == "report.free")
    assert set(free.reachable_categories) == {"court_enforcement", "traffic", "civic_contribution"}


def test_minor_record_reaching_a_high_impact_measure_is_disproportionate(tmp_path: Path) -> None:
    policy = national_policy(
        measures={
            "city.school": measure(
                kind="incentive",
                impact="high",
                denied_to_lists=[],
                granted_to_grades=["AAA"],
                trigger_categories=["traffic", "court_enforcement"],
            ),
        }
    )
    write_policy(tmp_path / "national.toml", policy)
    result = audit(load_catalog(tmp_path).effective(None))
    flags = result.measures[0].flags
    assert [f.kind for f in flags] == ["disproportionate"]
    assert flags[0].record_types == ("traffic.violation",)
    assert "minor" in flags[0].message
