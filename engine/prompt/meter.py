"""Explicit meter: "in 3/4", "6/8 time", "common time", "三拍子", "四分之三拍", "四三拍".

Only the contract's meters (engine.schemas.METER_CHOICES) are read; "5/4" is left unread rather
than replaced by a meter the user did not ask for. Meters that forms imply live in forms.py.
"""

from __future__ import annotations

import re

from engine.prompt.draft import Draft
from engine.prompt.numbers import ZH_NUMERAL, number
from engine.schemas import METER_CHOICES

_BEATS_TO_METER = {2: "2/4", 3: "3/4", 4: "4/4", 6: "6/8", 9: "9/8", 12: "12/8"}
_NUM = rf"(\d{{1,2}}|{ZH_NUMERAL})"
_FRACTION = re.compile(r"(?<![\d/.])(\d{1,2})\s*/\s*(\d{1,2})(?![\d/])")
_ZH_FRACTION = re.compile(rf"(四|八|4|8)\s*分之\s*{_NUM}\s*拍?")
_ZH_SPOKEN = re.compile(r"(四|八)(二|三|四|六|九|十二)拍")  # "四三拍" is 3/4 read bottom first
_ZH_BEATS = re.compile(rf"{_NUM}\s*拍子")

WORDS: dict[str, str] = {
    "triple time": "3/4", "triple meter": "3/4", "triple metre": "3/4", "waltz time": "3/4",
    "duple time": "2/4", "duple meter": "2/4", "duple metre": "2/4", "common time": "4/4",
    "quadruple time": "4/4", "compound duple": "6/8", "compound time": "6/8",
    "two four time": "2/4", "three four time": "3/4", "four four time": "4/4", "three eight time": "3/8",
    "six eight time": "6/8", "nine eight time": "9/8", "twelve eight time": "12/8",
}  # fmt: skip


def read_meter_numbers(draft: Draft) -> None:
    """Set meter from written time signatures, in digits or Chinese."""
    low = draft.text.low
    for match in _FRACTION.finditer(low):
        _found(draft, match, f"{int(match[1])}/{int(match[2])}")
    for match in _ZH_FRACTION.finditer(low):
        _found(draft, match, _fraction(match[2], match[1]))
    for match in _ZH_SPOKEN.finditer(low):
        _found(draft, match, _fraction(match[2], match[1]))
    for match in _ZH_BEATS.finditer(low):
        beats = number(match[1])
        _found(draft, match, _BEATS_TO_METER.get(int(beats)) if beats is not None else None)


def _fraction(top: str, bottom: str) -> str | None:
    upper, lower = number(top), number(bottom)
    return None if upper is None or lower is None else f"{int(upper)}/{int(lower)}"


def _found(draft: Draft, match: re.Match[str], meter: str | None) -> None:
    if meter in METER_CHOICES and draft.claim(match.start(), match.end()):
        draft.set("meter", meter, match.start(), match.end())
