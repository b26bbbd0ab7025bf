"""One lookup table for every word the parser knows, from all the vocabularies, with what each word says.

A phrase can say several things: "lullaby" is a form (6/8) and a mood, "upbeat" a tempo and a mood.
"""

from __future__ import annotations

from typing import NamedTuple

from engine.prompt import drums, forms, instruments, meter, mood, tempo, traditions
from engine.prompt.forms import Style
from engine.prompt.text import CJK, phrase_key
from engine.prompt.traditions import Tradition


class Hit(NamedTuple):
    field: str  # instrument, drums, solo, style, tradition, meter, tempo or mood
    value: int | bool | str | Style | Tradition


# Chinese that may follow or join a known word inside one segmented word without changing what it
# says: "钢琴曲" is a piano piece, "下雨天" a rainy day, "节奏快" a fast pace.
FILLERS = frozenset(
    {"曲", "曲子", "乐曲", "歌", "歌曲", "乐", "音乐", "声", "音", "音色", "版", "版本", "风", "风格", "天",
     "般", "的", "感", "式", "手", "家", "片", "节奏", "速度", "演奏", "弹奏", "伴奏", "一点", "一些"}
)  # fmt: skip


def _lexicon() -> dict[str, tuple[Hit, ...]]:
    sources: list[tuple[str, dict[str, int | bool | str | Style | Tradition]]] = [
        ("instrument", dict(instruments.PHRASES)),
        ("drums", dict(drums.WORDS)),
        ("solo", dict.fromkeys(drums.SOLO_WORDS, True)),
        ("style", dict(forms.WORDS)),
        ("tradition", dict(traditions.WORDS)),
        ("meter", dict(meter.WORDS)),
        ("tempo", dict(tempo.WORDS)),
        ("mood", dict(mood.WORDS)),
    ]
    table: dict[str, tuple[Hit, ...]] = {}
    for field, words in sources:
        for word, value in words.items():
            key = phrase_key(word)
            table[key] = (*table.get(key, ()), Hit(field, value))
    return table


LEXICON = _lexicon()
ZH_WORDS = tuple(sorted(key for key in LEXICON if CJK.search(key)))
MAX_ZH_CHARS = max(len(word) for word in (*ZH_WORDS, *FILLERS))
MAX_LATIN_WORDS = max(len(key.split()) for key in LEXICON if not CJK.search(key))
# What a phrase can start with, and every character a Chinese phrase has: most text is passed over
# on one set lookup, and Chinese with none of these characters is not segmented at all.
LATIN_FIRST_WORDS = frozenset(key.split()[0] for key in LEXICON if not CJK.search(key))
ZH_FIRST_CHARS = frozenset(word[0] for word in (*ZH_WORDS, *FILLERS))
ZH_CHARS = frozenset("".join(ZH_WORDS))
