"""Key and mode: "in D minor", "F#m", "B flat", "E♭ major", "Bb", "降B大调", "升F小调", "C调", "minor key".

Spellings are folded onto the contract's twelve key names (engine.schemas.KEY_NAMES), so "Db" and
"C#" are the same key to the engine. A bare letter is a key only where it cannot be an article:
"A cheerful tune" is not in A, "in a minor key" asks for a mode, "in a minor" for A minor.
"""

from __future__ import annotations

import re

from engine.prompt.draft import Draft
from engine.schemas import KEY_NAMES

_PITCH = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_SHIFT = {"#": 1, "♯": 1, "sharp": 1, "升": 1, "b": -1, "♭": -1, "flat": -1, "降": -1}
_MODES = {
    "major": "major",
    "minor": "minor",
    "maj": "major",
    "min": "minor",
    "m": "minor",
    "大调": "major",
    "小调": "minor",
}
_EDGE = r"(?<![A-Za-z0-9#♯♭'])"
_END = r"(?![A-Za-z0-9#♯♭'])"

_ZH = re.compile(r"(?<![A-Za-z])(?:(降|升)\s*)?(?:([#♯b♭])\s*)?([A-Ga-g])\s*(?:([#♯b♭])\s*)?(大调|小调|调)")
_WITH_MODE = re.compile(
    _EDGE + r"([A-Ga-g])(?:[\s-]*(?i:(sharp|flat))|([#♯♭b]))?[\s-]*(?i:(major|minor))(?![A-Za-z])"
    r"(?i:[\s-]+(key|mode|tonality|scale)s?\b)?"
)
_COMPACT = re.compile(_EDGE + r"([A-G])([#♯♭b])?(m|min|maj)?" + _END)
_WORD_ACCIDENTAL = re.compile(_EDGE + r"([A-Gb-g])[\s-]+(?i:(sharp|flat))(?![A-Za-z])")
_AFTER_IN = re.compile(r"(?i:\bin)\s+([A-G])" + _END)
# "key of a" is more often an article than A; "key of A" is A.
_AFTER_KEY = re.compile(r"(?i:\bkey(?:\s+of)?|\btonality)\s*[:=]?\s*([A-Gb-g])" + _END)
_MODE_ONLY = re.compile(
    r"(?i:\b(major|minor)[\s-]+(?:key|mode|tonality|scale)s?\b|\bin\s+(major|minor)\b)|(大调|(?<!江南)(?<!民间)小调)"
)  # 江南小调 and 民间小调 are a genre of Chinese folk song (engine/prompt/traditions.py), not a mode
_ARTICLE_CONTEXT = re.compile(r"(?i:\b(?:in|key(?:\s+of)?)\s*)$")
# "Bb clarinet", "F horn", "Eb alto sax" name how an instrument is pitched, not the key of the piece.
_TRANSPOSING = re.compile(
    r"[\s-]*(?i:(?:alto|tenor|soprano|baritone)\s+)?(?i:clarinet|trumpet|horn|sax|saxophone|cornet|tuba)"
)


def key_name(letter: str, *accidentals: str | None) -> str:
    """'B' with 'flat' -> 'Bb'; 'D' with '#' -> 'Eb' (the contract spells each pitch class one way)."""
    pitch = _PITCH[letter.lower()] + sum(_SHIFT[a.lower()] for a in accidentals if a)
    return KEY_NAMES[pitch % 12]


def read_keys(draft: Draft) -> None:
    """Set key and mode from every way of naming them, most explicit first."""
    norm = draft.text.norm
    for match in _ZH.finditer(norm):
        _found(draft, match, key_name(match[3], match[1], match[2], match[4]), _MODES.get(match[5]))
    for match in _WITH_MODE.finditer(norm):
        letter, word, symbol, mode = match[1], match[2], match[3], match[4].lower()
        if letter == "a" and not word and not symbol and (match[5] or not _after_in(norm, match.start())):
            _found(draft, match, None, mode)
        else:
            _found(draft, match, key_name(letter, word, symbol), mode)
    for match in _COMPACT.finditer(norm):
        if match[2] or match[3]:
            _found(draft, match, key_name(match[1], match[2]), _MODES.get(match[3] or ""))
    for match in _WORD_ACCIDENTAL.finditer(norm):
        _found(draft, match, key_name(match[1], match[2]), None)
    for pattern in (_AFTER_IN, _AFTER_KEY):
        for match in pattern.finditer(norm):
            _found(draft, match, key_name(match[1]), None)
    for match in _MODE_ONLY.finditer(norm):
        _found(draft, match, None, _MODES[(match[1] or match[2] or match[3]).lower()])


def _after_in(norm: str, start: int) -> bool:
    """Lower-case 'a minor' is A minor only after 'in' or 'key of'; elsewhere 'a' is an article."""
    return _ARTICLE_CONTEXT.search(norm[max(0, start - 12) : start]) is not None


def _found(draft: Draft, match: re.Match[str], key: str | None, mode: str | None) -> None:
    if (mode is None and _TRANSPOSING.match(draft.text.norm, match.end())) or not draft.claim(*match.span()):
        return
    if key is not None:
        draft.set("key", key, match.start(), match.end())
    if mode is not None:
        draft.set("mode", mode, match.start(), match.end())
