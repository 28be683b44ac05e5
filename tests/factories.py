"""Small factories for test data: valid codes (as hypothesis strategies) and policy files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from socialcredit.identity import (
    org_code_check_character,
    ric_check_character,
    uscc_check_character,
)
from socialcredit.identity.codes import REGISTERING_AUTHORITIES, USCC_ALPHABET
from socialcredit.regions import region_table

TODAY = dt.date(2026, 11, 28)

_CODES = sorted(region_table().regions)


def make_resident_id(region: str, born: dt.date, sequence: int) -> str:
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + ric_check_character(body)


def make_uscc(authority: str, entity_type: str, region: str, org_body: str) -> str:
    body = f"{authority}{entity_type}{region}{org_body}{org_code_check_character(org_body)}"
    return body + uscc_check_character(body)


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(_CODES))
    born = draw(st.dates(dt.date(1900, 1, 1), TODAY))
    return make_resident_id(region, born, draw(st.integers(0, 999)))


_AUTHORITY_TYPES = [(a, t) for a, (_, types) in REGISTERING_AUTHORITIES.items() for t in types]
_ORG_CHARS = "0123456789" + "".join(c for c in USCC_ALPHABET if c.isalpha())


@st.composite
def usccs(draw: st.DrawFn) -> str:
    authority, entity_type = draw(st.sampled_from(_AUTHORITY_TYPES))
    region = draw(st.sampled_from(_CODES))
    org_body = draw(st.text(_ORG_CHARS, min_size=8, max_size=8))
    return make_uscc(authority, entity_type, region, org_body)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return repr(value)


def toml_document(data: dict[str, Any]) -> str:
    """A small TOML writer for test policies: tables, nested tables, arrays of tables."""
    lines: list[str] = []

    def table(prefix: str, body: dict[str, Any]) -> None:
        scalars = {
            k: v
            for k, v in body.items()
            if not isinstance(v, dict | list)
            or (isinstance(v, list) and not (v and isinstance(v[0], dict)))
        }
        lines.append(f"[{prefix}]")
        lines.extend(f"{k} = {toml_value(v)}" for k, v in scalars.items())
        lines.append("")
        for key, value in body.items():
            if isinstance(value, dict):
                table(f'{prefix}."{key}"' if "." in key else f"{prefix}.{key}", value)

    for name, value in data.items():
        if isinstance(value, list):
            for item in value:
                lines.append(f"[[{name}]]")
                lines.extend(f"{k} = {toml_value(v)}" for k, v in item.items())
                lines.append("")
        elif name in ("record_types", "measures", "lists"):
            for key, body in value.items():
                table(f'{name}."{key}"', body)
        else:
            table(name, value)
    return "\n".join(lines)


def record_type(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": "Unpaid parking fine",
        "description": "A parking fine left unpaid after the deadline.",
        "category": "traffic",
        "legal_basis": "Road Traffic Safety Law art. 93",
        "severity": "minor",
        "points": -5,
        "in_force_months": 12,
        "subject_kinds": ["person"],
        "requires_decision_ref": True,
    }
    base.update(overrides)
    return base


def measure(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": "No flights",
        "kind": "restriction",
        "legal_basis": "SPC Provisions art. 3",
        "domain": "transport",
        "impact": "high",
        "denied_to_lists": ["discredited"],
        "trigger_categories": ["court_enforcement"],
    }
    base.update(overrides)
    return base


def national_policy(**parts: Any) -> dict[str, Any]:
    """A minimal valid national policy; ``parts`` replace or extend whole sections."""
    policy: dict[str, Any] = {
        "policy": {"id": "national", "version": "test.1", "title": "Test national policy"},
        "scale": {"base": 1000, "floor": 0, "ceiling": 1500},
        "grades": [
            {"name": "AAA", "min": 1050, "max": 1500},
            {"name": "A", "min": 960, "max": 1049},
            {"name": "B", "min": 600, "max": 959},
            {"name": "D", "min": 0, "max": 599},
        ],
        "lists": {
            "red": {"title": "Red", "basis": "grade", "min_grade": "AAA", "clean_months": 36},
            "discredited": {"title": "Discredited", "basis": "records", "public": True},
        },
        "record_types": {
            "court.judgment_default": record_type(
                title="Refused to perform a judgment",
                description="Able but refusing.",
                category="court_enforcement",
                severity="serious",
                points=-100,
                in_force_months=24,
                repair_after_months=12,
                public=True,
                subject_kinds=["person", "organisation"],
                lists=["discredited"],
            ),
            "traffic.violation": record_type(),
            "civic.blood_donation": record_type(
                title="Blood donation",
                description="A donation.",
                category="civic_contribution",
                points=5,
                requires_decision_ref=False,
            ),
        },
        "measures": {"transport.flight": measure()},
    }
    policy.update(parts)
    return policy


def overlay_policy(region: str, **parts: Any) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "policy": {
            "id": "city",
            "version": "test.1",
            "title": "Test overlay",
            "region": region,
            "extends": "national",
        },
    }
    policy.update(parts)
    return policy


def write_policy(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(toml_document(data), encoding="utf-8")
    return path
