"""Tempo: numbers ("at 140 bpm", "♩=90", "速度120", "每分钟160拍") and words ("adagio", "brisk", "快板").

A tempo word stands for the middle of the range it conventionally names, so "allegro" reads as
138 bpm (allegro is about 120-156). Numbers outside 30-260 bpm are held to the contract's range.
"""

from __future__ import annotations

import re

from engine.prompt.draft import Draft
from engine.prompt.numbers import DIGITS, ZH_NUMERAL, number
from engine.schemas import TEMPO_MAX, TEMPO_MIN

_NUM = rf"({DIGITS}|{ZH_NUMERAL})"
_PATTERNS = (
    re.compile(rf"(?:♩|♪|\bq|\bquarter(?:[\s-]*note)?|\bcrotchet|\bm\.?m\.?)\s*[=:]\s*({DIGITS})"),
    re.compile(rf"({DIGITS})\s*-?\s*(?:bpm\b|b\.p\.m\.?|beats?\s*(?:per|a|/)\s*min(?:ute)?\b)"),
    re.compile(
        rf"\b(?:bpm|tempo|speed)(?:\s*(?:of|at|is|to|around|about|=|:|~))*\s*({DIGITS})"
        r"(?![\d.]*\s*(?:bars?|measures?|seconds?|secs?|minutes?|mins?|x|%|/))"
    ),
    re.compile(
        rf"(?:速度|拍速|节拍|节奏)\s*(?:为|是|设为|设置为|设成|调到|在|大约|大概|约|=|:)*\s*{_NUM}\s*(?:bpm|拍)?"
    ),
    re.compile(rf"每分钟\s*{_NUM}\s*(?:拍|下|bpm)?"),
    re.compile(rf"{_NUM}\s*拍\s*(?:每分钟|/\s*分钟?|每分)"),
)

WORDS: dict[str, int] = {
    "largo": 50, "lento": 55, "larghetto": 63, "adagio": 70, "adagietto": 75, "andante": 92, "andantino": 96,
    "moderato": 112, "allegretto": 116, "allegro": 138, "vivace": 160, "vivo": 160, "presto": 180,
    "prestissimo": 208, "very slow": 55, "slow": 70, "slowly": 70, "slow tempo": 70, "leisurely": 80,
    "laid back": 85, "mid tempo": 100, "midtempo": 100, "medium tempo": 100, "moderate tempo": 100,
    "brisk": 125, "upbeat": 125, "uptempo": 130, "up tempo": 130, "quick": 140, "fast": 150,
    "fast paced": 150, "speedy": 155, "rapid": 160, "very fast": 175,
    "广板": 50, "很慢": 55, "缓慢": 65, "慢板": 70, "柔板": 70, "慢速": 70, "太慢": 70, "慢歌": 72,
    "节奏慢": 72, "速度慢": 72, "慢一点": 75, "慢一些": 75, "慢节奏": 75, "稍慢": 85, "行板": 92,
    "中速": 100, "中等速度": 100, "中板": 112, "小快板": 116, "稍快": 125, "快板": 138, "快节奏": 140,
    "快歌": 140, "快一点": 140, "快一些": 140, "节奏快": 145, "速度快": 145, "快速": 150, "太快": 150,
    "很快": 160, "急速": 170, "急板": 180,
}  # fmt: skip


def read_tempo_numbers(draft: Draft) -> None:
    """Set tempo from the first number that is marked as one; later ones are used up but ignored."""
    low = draft.text.low
    for pattern in _PATTERNS:
        for match in pattern.finditer(low):
            value = number(match[1])
            if value is None or not 20 <= value <= 400 or not draft.claim(match.start(), match.end()):
                continue
            draft.set("tempo", min(TEMPO_MAX, max(TEMPO_MIN, round(value))), match.start(), match.end())


def denied(bpm: int) -> int:
    """The tempo meant by "not fast" or "不要太慢": moderate, on the other side of the word."""
    if bpm > 110:
        return 100
    return 105 if bpm < 90 else bpm
