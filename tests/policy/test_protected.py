"""The protected-grounds text guard: catches paraphrases, spares ordinary legal wording."""

from __future__ import annotations

import pytest

from socialcredit.policy import PolicyCatalog
from socialcredit.policy.protected import protected_grounds_in

LEGITIMATE = [
    "Refused to perform an effective court judgment while able to",
    "Walking a dog without a leash",
    "Loud music in a public place",
    "Smoking where smoking is banned",
    "Destroying public equipment",
    "Breach of the duty of good faith in a contract",
    "Bad-faith litigation to evade enforcement",
    "Drunk driving with blood alcohol above the limit",
    "Harming the interests of minority shareholders",
    "Issuing a false audit opinion",
    "Filing a bankruptcy petition to evade debts",
    "Unpaid wages in an employment relationship",
    "Dismissing a pregnant employee in breach of labour law",
    "Publishing fake online reviews of its own products",
    "Paying for fake online comments",
    "Organising 虚假评论 and 刷单",
    "False claims about dietary supplements",
    "Registered in Inner Mongolia",
    "Selling monkey meat without a licence",
    "Failed to demonstrate compliance with permits",
    "Issuing a post-dated cheque without funds",
    "孝感市 environmental penalty",
    "Occupying a soft sleeper berth without a ticket",
    "Figures for March 2019",
    "Defects on the assembly line",
]

PROTECTED = [
    ("Attending Muslim prayer", "religion or belief"),
    ("Practising Islam", "religion or belief"),
    ("Buddhism activities", "religion or belief"),
    ("Owning a Quran", "religion or belief"),
    ("Wearing a hijab", "religion or belief"),
    ("参加基督教聚会", "religion or belief"),
    ("伊斯兰 practices", "religion or belief"),
    ("穆斯林", "religion or belief"),
    ("佛教", "religion or belief"),
    ("Subject belongs to an ethnic minority", "ethnicity"),
    ("Uyghur residents", "ethnicity"),
    ("Known dissident", "political opinion"),
    ("Government critic", "political opinion"),
    ("Voting against the candidate", "political opinion"),
    ("政见不同", "political opinion"),
    ("参加游行", "political opinion"),
    ("非法集会", "political opinion"),
    ("Petitioning the higher authorities", "political opinion"),
    ("Criticizing officials", "lawful speech"),
    ("Remarks made online", "lawful speech"),
    ("Tweets about the city", "lawful speech"),
    ("Working as a journalist", "lawful speech"),
    ("转发文章", "lawful speech"),
    ("Spreading rumours", "lawful speech"),
    ("Homosexual relationship", "lawful private life"),
    ("Being gay", "lawful private life"),
    ("同性恋", "lawful private life"),
    ("沉迷网游", "lawful private life"),
    ("Playing video games for hours", "lawful private life"),
    ("Time spent on games", "lawful private life"),
    ("Buying alcohol", "lawful private life"),
    ("conduct.video_games", "lawful private life"),
]


@pytest.mark.parametrize("text", LEGITIMATE)
def test_ordinary_legal_wording_is_not_a_protected_ground(text: str) -> None:
    assert protected_grounds_in(text) == []


@pytest.mark.parametrize(("text", "ground"), PROTECTED)
def test_paraphrases_of_protected_grounds_are_caught(text: str, ground: str) -> None:
    assert ground in [name for name, _ in protected_grounds_in(text)]


def test_no_shipped_record_type_touches_a_protected_ground(shipped_catalog: PolicyCatalog) -> None:
    for region in (None, *shipped_catalog.overlay_regions):
        for key, rt in shipped_catalog.effective(region).record_types.items():
            text = " ".join((key, rt.title, rt.description, rt.legal_basis, rt.unit or ""))
            assert protected_grounds_in(text) == [], key
