"""Drums on or off: "no drums", "without percussion", "with a beat", "要有鼓", "不要鼓", "加鼓", "drums: off".

Saying it outright beats implying it: "solo piano", "a cappella" and "独奏" leave the drums out
only when nothing in the prompt asks for them.
"""

from __future__ import annotations

import re

from engine.prompt.text import Text

WORDS: dict[str, bool] = {
    "drums": True, "drum": True, "drum kit": True, "drumkit": True, "drum set": True, "percussion": True,
    "beat": True, "beats": True, "drum beat": True, "drumbeat": True, "backbeat": True, "bass drum": True,
    "snare": True, "snare drum": True, "hi hat": True, "hihat": True, "cymbals": True, "drum solo": True,
    "drumless": False, "drum free": False,
    "鼓": True, "鼓点": True, "架子鼓": True, "爵士鼓": True, "军鼓": True, "打击乐": True, "打击乐器": True,
}  # fmt: skip
SOLO_WORDS = ("solo", "a cappella", "a capella", "acapella", "unaccompanied", "独奏", "无伴奏", "清唱")
_OFF_AFTER = re.compile(
    r"\s*(?:[:=]\s*)?(?:off|none|no|false)\b|\s*(?:就|也|都)?\s*(?:不要|别要|不用|去掉|免了)"
)


def switched_off(text: Text, end: int) -> int | None:
    """Where the words right after a drum word that turn it off end ("drums: off", "鼓就不要了"), or None."""
    found = _OFF_AFTER.match(text.low, end)
    return None if found is None else found.end()
