"""Protected grounds: what no record type may be about.

The closed category taxonomy is the first guard (there is no category for these
grounds). This text scan of a record type's key, title and description is the
second: it refuses a record type whose wording is about religion or belief,
ethnicity, political opinion, lawful speech or lawful private life, whatever
category it claims. It is deliberately broad; a false refusal costs a rewording,
a false acceptance costs people their rights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Ground:
    name: str
    pattern: re.Pattern[str]


def _ground(name: str, english: list[str], chinese: list[str]) -> Ground:
    # English terms match at word starts (so "religio" covers religion, religious);
    # key separators (. and _) count as word boundaries. Chinese terms match anywhere.
    words = "|".join(english)
    han = "|".join(chinese)
    return Ground(name, re.compile(rf"(?:(?<![a-z])(?:{words}))|(?:{han})", re.IGNORECASE))


PROTECTED_GROUNDS: Final = (
    _ground(
        "religion or belief",
        [
            r"religio",
            r"belief",
            r"faith",
            r"worship",
            r"church",
            r"mosque",
            r"temple",
            r"pray",
            r"spiritual",
            r"atheis",
            r"falun",
            r"sect\b",
            r"clergy",
            r"monk",
        ],
        ["宗教", "信仰", "礼拜", "教会", "清真", "寺庙", "祈祷", "传教", "邪教", "法轮"],
    ),
    _ground(
        "ethnicity",
        [
            r"ethnic",
            r"race\b",
            r"racial",
            r"minorit",
            r"nationality",
            r"uyghur",
            r"uighur",
            r"tibetan",
            r"kazakh",
            r"mongol",
            r"hui people",
            r"ancestry",
        ],
        ["民族", "种族", "维吾尔", "藏族", "回族", "少数民族", "血统"],
    ),
    _ground(
        "political opinion",
        [
            r"politic",
            r"opinion",
            r"dissent",
            r"protest",
            r"petition",
            r"demonstrat",
            r"activis",
            r"party member",
            r"ideolog",
            r"loyalty",
            r"patriot",
        ],
        ["政治", "异见", "上访", "信访", "抗议", "示威", "维权", "意识形态", "忠诚", "爱国"],
    ),
    _ground(
        "lawful speech",
        [
            r"speech",
            r"online comment",
            r"comment",
            r"criticis",
            r"rumou?r",
            r"social media",
            r"posting",
            r"posts?\b",
            r"blog",
            r"weibo",
            r"wechat moment",
            r"publication of views",
            r"expression",
        ],
        ["言论", "评论", "发帖", "谣言", "批评", "微博", "朋友圈", "舆论"],
    ),
    _ground(
        "lawful private life",
        [
            r"video ?game",
            r"gaming",
            r"games?\b",
            r"dating",
            r"marri",
            r"divorce",
            r"sexual",
            r"lgbt",
            r"romance",
            r"relationship",
            r"friends?\b",
            r"social circle",
            r"private life",
            r"lifestyle",
            r"hobb",
            r"leisure",
            r"time spent",
            r"diet",
            r"shopping habit",
            r"purchas(?:e|ing) (?:of )?(?:alcohol|diapers)",
            r"alcohol",
            r"pregnan",
            r"birth control",
            r"family planning",
            r"household chores",
            r"filial",
        ],
        ["游戏", "恋爱", "婚姻", "离婚", "性取向", "私生活", "生活方式", "爱好", "交友", "孝"],
    ),
)


def protected_grounds_in(text: str) -> list[tuple[str, str]]:
    """Every (ground, matched words) found in ``text``."""
    found: list[tuple[str, str]] = []
    for ground in PROTECTED_GROUNDS:
        match = ground.pattern.search(text)
        if match is not None:
            found.append((ground.name, match.group(0)))
    return found
