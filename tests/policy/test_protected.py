from __future__ import annotations

import pytest

from socialcredit.policy import PolicyCatalog
from socialcredit.policy.protected import protected_grounds_in


@pytest.mark.parametrize(
    "text",
    [
        "Refused to perform an effective court judgment while able to",
        "Walking a dog without a leash",
        "Loud music in a public place",
        "Smoking where smoking is banned",
        "Destroying public equipment",
    ],
)
def test_ordinary_conduct_is_not_a_protected_ground(text: str) -> None:
    assert protected_grounds_in(text) == []


def test_no_shipped_record_type_touches_a_protected_ground(shipped_catalog: PolicyCatalog) -> None:
    for region in (None, *shipped_catalog.overlay_regions):
        for key, rt in shipped_catalog.effective(region).record_types.items():
            assert protected_grounds_in(f"{key} {rt.title} {rt.description}") == [], key
