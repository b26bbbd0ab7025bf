"""Length: bars ("16 bars", "eight-bar", "8小节") or time ("30 seconds", "a minute", "半分钟", "1分30秒").

Bars are held to the contract's 2-64; a length in seconds is kept as asked (up to an hour), since
how many bars it makes depends on the tempo the composer settles on.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from engine.prompt.draft import Draft
from engine.prompt.numbers import DIGITS, NUMBER, ZH_NUMERAL, number
from engine.schemas import BARS_MAX, BARS_MIN

MAX_SECONDS = 3600.0
_ZH = rf"({DIGITS}|{ZH_NUMERAL})"
_BARS = (
    re.compile(rf"({NUMBER})\s*[-–]?\s*(?:bars?|measures?)\b"),
    re.compile(rf"{_ZH}\s*个?\s*小节"),
)
# Each time pattern with the seconds it stands for.
_TIMES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], float | None]], ...] = (
    (re.compile(r"\b(?:a|an|one)\s+minute\s+and\s+a\s+half\b"), lambda m: 90.0),
    (re.compile(r"\bhalf\s+(?:a|an)\s+minute\b"), lambda m: 30.0),
    (re.compile(rf"({NUMBER})\s+and\s+a\s+half\s+minutes?\b"), lambda m: _times(m[1], 60.0, 30.0)),
    (re.compile(rf"({NUMBER})\s*[-–]?\s*(?:seconds?|secs?)\b"), lambda m: _times(m[1], 1.0)),
    (re.compile(rf"({NUMBER}|\ban?\b)\s*[-–]?\s*(?:minutes?|mins?)\b"), lambda m: _times(m[1], 60.0)),
    (re.compile(r"半分钟"), lambda m: 30.0),
    (re.compile(rf"{_ZH}\s*分钟?\s*半钟?"), lambda m: _times(m[1], 60.0, 30.0)),
    (re.compile(rf"{_ZH}\s*分钟?\s*{_ZH}\s*秒钟?"), lambda m: _times(m[1], 60.0, number(m[2]) or 0.0)),
    (re.compile(rf"{_ZH}\s*分钟"), lambda m: _times(m[1], 60.0)),
    (re.compile(rf"{_ZH}\s*秒钟?"), lambda m: _times(m[1], 1.0)),
)


def read_length(draft: Draft) -> None:
    """Set bars and seconds from the first length of each kind."""
    low = draft.text.low
    for pattern in _BARS:
        for match in pattern.finditer(low):
            bars = number(match[1])
            if bars is not None and bars >= 1 and draft.claim(match.start(), match.end()):
                draft.set("bars", min(BARS_MAX, max(BARS_MIN, round(bars))), match.start(), match.end())
    for pattern, seconds_of in _TIMES:
        for match in pattern.finditer(low):
            seconds = seconds_of(match)
            if seconds is not None and seconds >= 1 and draft.claim(match.start(), match.end()):
                draft.set("seconds", min(MAX_SECONDS, seconds), match.start(), match.end())


def _times(count: str, unit: float, extra: float = 0.0) -> float | None:
    value = 1.0 if count in ("a", "an") else number(count)
    return None if value is None else value * unit + extra
