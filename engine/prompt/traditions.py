"""Traditions and tune types: "中国风", "a Chinese folk song", "pentatonic", "an Irish reel", "a Lied".

A tradition word names the corpus tradition the melody is written in (engine.data.corpus.TRADITIONS);
some also name a tune type ("江南小调" is a xiaodiao, "山歌" a shange). Words that only suggest a
tradition imply it, and yield to one the prompt names: a Chinese instrument ("古筝", "erhu"), or an
Irish and Scottish dance ("a reel", "a strathspey"); the dance itself is a style
(engine.prompt.forms), which names the tune type.
"""

from __future__ import annotations

from typing import NamedTuple

from engine.prompt.text import plural


class Tradition(NamedTuple):
    name: str  # one of engine.data.corpus.TRADITIONS
    tune_type: str | None = None  # one of engine.data.corpus.TUNE_TYPES
    implied: bool = False  # the word suggests the tradition; a named one wins


_CHINESE = Tradition("chinese")
_CELTIC = Tradition("celtic")
_GERMAN = Tradition("german")

_WORDS: dict[Tradition, tuple[str, ...]] = {
    _CHINESE: (
        "chinese", "china", "chinese folk", "chinese folk song", "pentatonic", "中国", "中国风", "古风",
        "国风", "中国民歌", "民族风", "中国传统", "五声音阶", "五声", "五声调式", "华夏",
    ),
    Tradition("chinese", "xiaodiao"): ("江南小调", "江南", "民间小调", "小曲", "xiaodiao"),
    Tradition("chinese", "shange"): ("山歌", "shange", "mountain song"),
    Tradition("chinese", "haozi"): ("号子", "劳动号子", "船工号子", "haozi", "work song"),
    _CELTIC: (
        "irish", "ireland", "scottish", "scotland", "scots", "celtic", "gaelic", "爱尔兰", "苏格兰",
        "凯尔特",
    ),
    _GERMAN: (
        "german", "germany", "lied", "volkslied", "german folk", "german folk song", "austrian", "德国",
        "德国民歌", "德奥", "德意志",
    ),
    Tradition("chinese", implied=True): (
        "guzheng", "zheng", "pipa", "erhu", "dizi", "xiao", "yangqin", "guqin", "suona", "古筝", "筝",
        "琵琶", "二胡", "笛子", "竹笛", "箫", "洞箫", "扬琴", "古琴", "唢呐",
    ),
    Tradition("celtic", implied=True): (
        "reel", "jig", "slip jig", "slipjig", "hornpipe", "strathspey", "slow air", "bagpipe", "风笛",
        "tin whistle", "里尔", "吉格",
    ),
}  # fmt: skip

WORDS: dict[str, Tradition] = {
    form: tradition
    for tradition, words in _WORDS.items()
    for word in words
    for form in (word, plural(word))
    if form is not None
}
