"""Overlays compose deterministically; versions and hashes identify the effective policy."""

from __future__ import annotations

from pathlib import Path

from socialcredit.policy import PolicyCatalog, load_catalog
from tests.factories import national_policy, overlay_policy, record_type, write_policy


def test_overlays_apply_to_their_region_only(shipped_catalog: PolicyCatalog) -> None:
    national = shipped_catalog.effective(None)
    hangzhou = shipped_catalog.effective("330106")
    zhoushan = shipped_catalog.effective("330902")
    rongcheng = shipped_catalog.effective("371082")
    weihai = shipped_catalog.effective("371002")
    assert hangzhou.record_types["traffic.violation"].points == -10
    assert national.record_types["traffic.violation"].points == -5
    assert hangzhou.record_types["civic.blood_donation"].points == 10
    assert "zhoushan.dog_without_leash" in zhoushan.record_types
    assert "zhoushan.dog_without_leash" not in hangzhou.record_types
    assert rongcheng.record_types["rongcheng.destroying_public_equipment"].points == -100
    assert "rongcheng.contract_breach" not in weihai.record_types
    assert weihai.version == national.version == "national@2026.1"
    assert rongcheng.version == "national@2026.1+rongcheng@2026.1"
    assert hangzhou.sources["record_types.traffic.violation"] == "cities/hangzhou.toml"


def test_rongcheng_deduction_table(shipped_catalog: PolicyCatalog) -> None:
    table = {
        "contract_breach": -20,
        "court_breach": -50,
        "private_lending_breach": -20,
        "illegal_fundraising": -40,
        "court_unpaid_debt": -30,
        "fraud_or_pyramid_selling": -30,
        "counterfeit_goods": -30,
        "late_utility_fees": -20,
        "utility_theft": -60,
        "destroying_public_equipment": -100,
    }
    policy = shipped_catalog.effective("371082")
    for key, points in table.items():
        assert policy.record_types[f"rongcheng.{key}"].points == points
    arrears = policy.record_types["rongcheng.bank_arrears"]
    assert arrears.points_per_unit == -10
    assert arrears.unit == "cycle"


def test_all_fifteen_incentives_and_the_restrictions(shipped_catalog: PolicyCatalog) -> None:
    policy = shipped_catalog.effective(None)
    incentives = [k for k, m in policy.measures.items() if m.kind == "incentive"]
    restrictions = [k for k, m in policy.measures.items() if m.kind == "restriction"]
    assert len(incentives) == 15
    for key in ("report.free_credit_report", "platform.free_search", "admin.fast_track"):
        assert key in incentives
    assert {"transport.flight", "transport.high_speed_rail"} <= set(restrictions)
    assert policy.measures["report.free_credit_report"].per_year == 6
    for key in (
        "court.judgment_default",
        "court.obligation_performed",
        "finance.loan_default",
        "market.false_advertising",
        "traffic.violation",
        "civic.blood_donation",
        "civic.volunteer_hour",
    ):
        assert key in policy.record_types
    assert policy.record_types["court.obligation_performed"].clears == ("court.judgment_default",)


def test_content_hash_is_stable_and_changes_with_content(tmp_path: Path) -> None:
    write_policy(tmp_path / "a" / "national.toml", national_policy())
    write_policy(tmp_path / "b" / "national.toml", national_policy())
    changed = national_policy()
    changed["record_types"]["traffic.violation"] = record_type(points=-6)
    write_policy(tmp_path / "c" / "national.toml", changed)
    a, b, c = (load_catalog(tmp_path / name).effective(None) for name in "abc")
    assert a.content_hash() == b.content_hash()
    assert a.content_hash() != c.content_hash()
    assert a.content_hash().startswith("sha256:")


def test_province_then_city_then_county_order(tmp_path: Path) -> None:
    write_policy(tmp_path / "national.toml", national_policy())
    for region, points in (("37", -6), ("3710", -7), ("371082", -8)):
        overlay = overlay_policy(
            region, record_types={"traffic.violation": record_type(points=points)}
        )
        overlay["policy"]["id"] = f"r{region}"
        write_policy(tmp_path / "regions" / f"r{region}.toml", overlay)
    catalog = load_catalog(tmp_path)
    assert catalog.effective("371082").record_types["traffic.violation"].points == -8
    assert catalog.effective("371002").record_types["traffic.violation"].points == -7
    assert catalog.effective("370102").record_types["traffic.violation"].points == -6
    assert catalog.effective("371082").version == (
        "national@test.1+r37@test.1+r3710@test.1+r371082@test.1"
    )


def test_grade_of_a_score(shipped_catalog: PolicyCatalog) -> None:
    policy = shipped_catalog.effective(None)
    assert policy.grade_of(1000) == "A"
    assert policy.grade_of(1050) == "AAA"
    assert policy.grade_of(1049) == "AA"
    assert policy.grade_of(599) == "D"
    assert policy.grade_rank("AAA") == 0
