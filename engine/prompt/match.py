"""Finding vocabulary words in a prompt: whole words only, longest phrase first.

English is split into words and looked up a few words at a time ("church organ" before "organ");
Chinese is segmented by jieba and a segmented word counts only if it is made wholly of known
words and fillers ("钢琴曲" = 钢琴 + 曲), so "一分钟" never yields 钟 and "鼓舞" never yields 鼓.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from engine.prompt.segment import cut
from engine.prompt.text import CJK, LATIN_TOKEN, Text
from engine.prompt.vocab import (
    FILLERS,
    LATIN_FIRST_WORDS,
    LEXICON,
    MAX_LATIN_WORDS,
    MAX_ZH_CHARS,
    ZH_CHARS,
    ZH_FIRST_CHARS,
    Hit,
)

MAX_ZH_WORDS = 3
ZH_REACH = 8  # longer than any word of Jam's, and than nearly every word in jieba's dictionary
_JOINS_LATIN = re.compile(r"[\s\-_'&()+./]{0,3}")


class Token(NamedTuple):
    text: str
    start: int
    end: int
    chinese: bool


class Found(NamedTuple):
    start: int
    end: int
    hits: tuple[Hit, ...]


def find_words(text: Text, free: Callable[[int, int], bool], limit: int) -> list[Found]:
    """The first `limit` known words or phrases in the parts of the text still free, in order."""
    tokens = [t for t in _tokens(text) if free(t.start, t.end)]
    found: list[Found] = []
    index = 0
    while index < len(tokens) and len(found) < limit:
        first = tokens[index]
        if first.text[0] not in ZH_FIRST_CHARS if first.chinese else first.text not in LATIN_FIRST_WORDS:
            index += 1
            continue
        for size in range(_run_length(text, tokens, index), 0, -1):
            group = tokens[index : index + size]
            pieces = _chinese(group) if group[0].chinese else _latin(group)
            if pieces:
                found.extend(pieces)
                index += size
                break
        else:
            index += 1
    return found


def _tokens(text: Text) -> list[Token]:
    tokens = [Token(m[0], m.start(), m.end(), False) for m in LATIN_TOKEN.finditer(text.low)]
    for run in CJK.finditer(text.low):
        for begin, end in _windows(run[0], run.start()):
            position = begin
            for word in cut(text.low[begin:end]):
                tokens.append(Token(word, position, position + len(word), True))
                position += len(word)
    return sorted(tokens, key=lambda t: t.start)


def _windows(run: str, offset: int) -> list[tuple[int, int]]:
    """The stretches of a Chinese run worth segmenting: all of a short run, or ZH_REACH characters
    around each character of a known word in a long one (a wall of pasted text stays fast)."""
    if len(run) <= 4 * ZH_REACH:
        return [] if ZH_CHARS.isdisjoint(run) else [(offset, offset + len(run))]
    windows: list[tuple[int, int]] = []
    for index, char in enumerate(run):
        if char in ZH_CHARS:
            start, end = offset + max(0, index - ZH_REACH), offset + min(len(run), index + ZH_REACH + 1)
            if windows and start <= windows[-1][1]:
                windows[-1] = (windows[-1][0], end)
            else:
                windows.append((start, end))
    return windows


def _run_length(text: Text, tokens: list[Token], index: int) -> int:
    """How many tokens from `index` on may form one phrase: same script, nothing but spacing between."""
    limit = MAX_ZH_WORDS if tokens[index].chinese else MAX_LATIN_WORDS
    size = 1
    while size < limit and index + size < len(tokens):
        before, after = tokens[index + size - 1], tokens[index + size]
        gap = text.low[before.end : after.start]
        joined = gap == "" if after.chinese else _JOINS_LATIN.fullmatch(gap) is not None
        if after.chinese != before.chinese or not joined:
            break
        size += 1
    return size


def _latin(group: list[Token]) -> list[Found]:
    hits = LEXICON.get(" ".join(t.text for t in group))
    return [Found(group[0].start, group[-1].end, hits)] if hits else []


def _chinese(group: list[Token]) -> list[Found]:
    """The known words a segmented word is made of, or nothing if any part of it is unknown.

    Several segmented words count only as one known phrase ("马/林/巴"): splitting across their
    boundaries would let "要/快乐" read as 要快 + 乐.
    """
    word, start = "".join(t.text for t in group), group[0].start
    if len(group) > 1:
        hits = LEXICON.get(word)
        return [Found(start, group[-1].end, hits)] if hits else []
    found: list[Found] = []
    position = 0
    while position < len(word):
        for size in range(min(MAX_ZH_CHARS, len(word) - position), 0, -1):
            piece = word[position : position + size]
            if piece in LEXICON:
                found.append(Found(start + position, start + position + size, LEXICON[piece]))
                break
            if piece in FILLERS:
                break
        else:
            return []
        position += size
    return found
