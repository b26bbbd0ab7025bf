"""Numerals as people type them: digits, English number words and Chinese numerals.

"sixteen bars", "十六小节" and "16 bars" must all read as 16, so every length and tempo pattern
accepts the three spellings through the patterns and the converter here.
"""

from __future__ import annotations

import re

_ZH_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_EN_ONES = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_EN_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}

_ONES_ALT = "|".join(sorted(_EN_ONES, key=len, reverse=True))
_DIGIT_ALT = "one|two|three|four|five|six|seven|eight|nine"
ZH_NUMERAL = "[零〇一二两三四五六七八九十百千]{1,6}"
EN_NUMERAL = rf"(?:(?:{'|'.join(_EN_TENS)})(?:[\s-]+(?:{_DIGIT_ALT}))?|{_ONES_ALT})"
DIGITS = r"\d{1,4}(?:\.\d{1,3})?"
# One group-free alternation for any of the three spellings; callers wrap it in their own group.
NUMBER = rf"(?:{DIGITS}|{ZH_NUMERAL}|\b{EN_NUMERAL}\b)"


def zh_number(text: str) -> int | None:
    """'一百二十' -> 120, '十六' -> 16, '两' -> 2, '一二〇' -> 120; None for anything else."""
    if not text or any(c not in _ZH_DIGITS and c not in _ZH_UNITS for c in text):
        return None
    if not any(c in _ZH_UNITS for c in text):
        value = 0
        for c in text:
            value = value * 10 + _ZH_DIGITS[c]
        return value
    total, digit = 0, None
    for c in text:
        if c in _ZH_DIGITS:
            if digit:  # two digits in a row ("二三十") is not a numeral
                return None
            digit = _ZH_DIGITS[c]
        else:
            total += (1 if digit is None else digit) * _ZH_UNITS[c]
            digit = None
    return total + (digit or 0)


def en_number(text: str) -> int | None:
    """'thirty-two' -> 32, 'sixteen' -> 16; None for anything else."""
    words = re.split(r"[\s-]+", text.strip().lower())
    if len(words) == 1:
        return _EN_ONES.get(words[0], _EN_TENS.get(words[0]))
    if len(words) == 2 and words[0] in _EN_TENS and 0 < _EN_ONES.get(words[1], 0) < 10:
        return _EN_TENS[words[0]] + _EN_ONES[words[1]]
    return None


def number(text: str) -> float | None:
    """Any text matched by NUMBER as a value; None for anything else."""
    if re.fullmatch(DIGITS, text):
        return float(text)
    found = zh_number(text)
    if found is None:
        found = en_number(text)
    return None if found is None else float(found)
