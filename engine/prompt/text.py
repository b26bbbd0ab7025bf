"""Prompt text made safe to match against: normalised, lower-cased, and still traceable to the original.

Every rule matches on the normalised text, but the bot shows the user's own words, so each
normalised character remembers the index of the character it came from.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Language = Literal["en", "zh", "mixed"]

MAX_CHARS = 2000  # the request contract's limit on a prompt; it also bounds the time a parse takes
MAX_NORMALIZED = 2 * MAX_CHARS  # NFKC can spell one character as up to 18 ("ﷺ")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
LATIN_TOKEN = re.compile(r"[a-z\u00e0-\u024f]+|\d+")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'"})

# A negator, then up to a few words that do not end its reach ("not too sad", "without any drums").
_NEG_EN = re.compile(
    r"\b(?:not|no|without|never|don't|dont|doesn't|isn't|aren't|nothing|less|minus|avoid)\b"
    r"(?:[\s-]+(?:too|very|so|overly|that|any|a|an|the|at|all|really|more|much|heavy|loud|extra|of))*"
    r"[\s-]*$"
)
_NEG_ZH = re.compile(
    r"(?:不|别|没|无|勿|莫|免|去掉|拿掉|去除|不含)(?:要|用|想|加|带|有|太|那么|很|过于|需要|必|得|能|会|是|任何|什么)*\s*$"
)


@dataclass(frozen=True)
class Text:
    """The prompt three ways: as typed, normalised (NFKC, case kept) and lower-cased, the last two aligned."""

    original: str
    norm: str
    low: str
    origin: tuple[int, ...]  # origin[i]: index in `original` of norm[i]

    def source(self, start: int, end: int) -> str:
        """The user's own characters behind norm[start:end]."""
        return self.original[self.origin[start] : self.origin[end - 1] + 1]

    def negation(self, start: int) -> int | None:
        """Where words denying norm[start:] begin ("no drums", "不要太快"); None if nothing denies it."""
        offset = max(0, start - 40)
        before = self.low[offset:start]
        found = _NEG_EN.search(before) or _NEG_ZH.search(before, max(0, len(before) - 10))
        return None if found is None else offset + found.start()

    def language(self, used: bytes) -> Language:
        """The language of the words left once keys, numbers and units are read: "bB大调" is zh."""
        chinese = [m.span() for m in CJK.finditer(self.norm)]
        zh = any(not all(used[a:b]) for a, b in chinese)
        en = any(not all(used[m.start() : m.end()]) for m in re.finditer(r"[a-z]{2,}", self.low))
        if not zh and not en:  # nothing but notation ("降E大调", "速度为一百二十"): go by the script
            zh = bool(chinese)
        return "mixed" if zh and en else "zh" if zh else "en"


def normalize(text: str) -> Text:
    """Fold full-width and compatibility forms, make controls and runs of space one space, drop format marks.

    One space per run also keeps every pattern's running time linear in the length of the text.
    """
    norm: list[str] = []
    low: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text[:MAX_CHARS]):
        if " " < char <= "~" or "\u4e00" <= char <= "\u9fff":  # most prompts: nothing to fold
            piece, lowered = char, char.lower()
        else:
            piece, lowered = _fold(char)
        if not piece or (piece == " " and norm and norm[-1] == " "):
            continue
        if len(origin) + len(piece) > MAX_NORMALIZED:
            break
        norm.append(piece)
        low.append(lowered)
        origin.extend([index] * len(piece))
    return Text(text, "".join(norm), "".join(low), tuple(origin))


@functools.lru_cache(maxsize=1 << 16)
def _fold(char: str) -> tuple[str, str]:
    """A character normalised, and lower-cased to the same length: "" to drop it, " " for space or control."""
    if char.isspace() or unicodedata.category(char) in ("Cc", "Cs"):
        return " ", " "
    if unicodedata.category(char) == "Cf":  # zero-width and direction marks: invisible, never part of a word
        return "", ""
    piece = unicodedata.normalize("NFKC", char).translate(_APOSTROPHES)
    lowered = piece.lower()
    return piece, lowered if len(lowered) == len(piece) else piece


def plural(key: str) -> str | None:
    """The English plural of a phrase key ("violin": "violins", "lullaby": "lullabies"), or None."""
    if not key[-1:].isalpha() or key.endswith("s") or CJK.search(key):
        return None
    if key.endswith("y") and key[-2:-1] not in "aeiou":
        return key[:-1] + "ies"
    return key + ("es" if key.endswith(("x", "z", "ch", "sh")) else "s")


def phrase_key(phrase: str) -> str:
    """A phrase as it is looked up: Latin words joined by one space ("lo-fi": "lo fi"), Chinese as is."""
    low = normalize(phrase).low
    if CJK.search(low):
        return "".join(low.split())
    return " ".join(LATIN_TOKEN.findall(low))
