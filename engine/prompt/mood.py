"""Mood and scene words as valence and arousal, and what a mood suggests to the composer.

Every number comes from one published lexicon: the norms of Warriner, Kuperman & Brysbaert (2013),
"Norms of valence, arousal, and dominance for 13,915 English lemmas", Behavior Research Methods
45, 1191-1207 (mean valence and arousal of all raters, 1-9), rescaled to [-1, 1] as (x - 5) / 4.
The norms are read at run time from the copy that the PyPI package labMTsimple (2.8.8) ships, so
none of their values are copied into this repository. What Jam adds is the choice, in MOODS below,
of which Warriner lemma each English or Chinese word is read as: Chinese words and English
phrases take the rating of the English lemma they translate ("悲伤" and "sadness" read as "sad").
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
from typing import TypedDict

from engine.schemas import Mode

logger = logging.getLogger(__name__)

NEGATION = -0.74  # a denied word flips and weakens, as in VADER (Hutto & Gilbert 2014)

MOODS: dict[str, tuple[str, ...]] = {
    # Warriner lemma: the words read as it
    "happy": ("happy", "happiness", "开心", "快乐", "高兴", "幸福"),
    "cheerful": ("cheerful", "cheery", "欢快", "愉快"),
    "joyful": ("joyful", "joyous", "joy", "欢乐", "喜悦"),
    "lively": ("lively", "轻快", "活泼"),
    "energetic": ("energetic", "动感", "活力", "有活力"),
    "exciting": ("exciting", "excited", "thrilling", "兴奋", "激动人心", "刺激"),
    "playful": ("playful", "俏皮", "调皮", "顽皮"),
    "festive": ("festive", "节日", "喜庆", "欢庆"),
    "fun": ("fun", "有趣", "好玩"),
    "funny": ("funny", "搞笑", "滑稽"),
    "bright": ("bright", "明亮", "明快"),
    "sunny": ("sunny", "sunshine", "阳光"),
    "upbeat": ("upbeat",),
    "triumphant": ("triumphant", "triumph", "凯旋"),
    "victory": ("victory", "victorious", "胜利"),
    "heroic": ("heroic", "hero", "英雄", "英勇"),
    "epic": ("epic", "史诗", "磅礴", "宏大"),
    "majestic": ("majestic", "壮丽", "雄伟", "壮观"),
    "glorious": ("glorious", "辉煌"),
    "adventure": ("adventure", "adventurous", "冒险", "探险"),
    "magical": ("magical", "magic", "魔法", "奇幻", "神奇"),
    "cute": ("cute", "可爱", "萌萌哒"),
    "whimsical": ("whimsical", "quirky", "古灵精怪"),
    "elegant": ("elegant", "优雅", "高雅"),
    "beautiful": ("beautiful", "优美", "美丽"),
    "calm": ("calm", "平静", "冷静"),
    "peaceful": ("peaceful", "peace", "宁静", "安宁", "祥和", "平和"),
    "quiet": ("quiet", "安静"),
    "relaxed": ("relaxed", "relaxing", "relax", "chill", "chilled", "chillout", "chill out",
                "放松", "轻松", "悠闲", "休闲"),
    "soothing": ("soothing", "calming", "舒缓", "治愈", "抚慰"),
    "gentle": ("gentle", "soft", "温柔", "柔和", "轻柔"),
    "tender": ("tender", "深情"),
    "dreamy": ("dreamy", "梦幻"),
    "cozy": ("cozy", "cosy", "温馨", "惬意"),
    "warm": ("warm", "温暖"),
    "sweet": ("sweet", "甜蜜", "甜美"),
    "romantic": ("romantic", "romance", "浪漫"),
    "love": ("love", "爱情", "恋爱"),
    "hopeful": ("hopeful", "hope", "希望", "充满希望"),
    "nostalgic": ("nostalgic", "nostalgia", "怀旧", "怀念", "思念"),
    "mellow": ("mellow",),
    "meditation": ("meditation", "meditative", "冥想", "禅意"),
    "sad": ("sad", "sadness", "悲伤", "伤心", "难过", "哀伤"),
    "melancholy": ("melancholy", "melancholic", "忧郁", "忧伤", "惆怅"),
    "sorrowful": ("sorrowful", "sorrow", "伤感", "悲哀"),
    "gloomy": ("gloomy", "gloom", "阴郁", "阴沉", "沉闷"),
    "lonely": ("lonely", "lonesome", "loneliness", "孤独", "寂寞", "孤单"),
    "mournful": ("mournful", "mourning", "哀悼", "悲痛"),
    "tragic": ("tragic", "tragedy", "悲剧", "悲壮"),
    "depressing": ("depressing", "depressed", "压抑", "抑郁", "沮丧"),
    "heartbroken": ("heartbroken", "heartbreak", "心碎"),
    "bittersweet": ("bittersweet",),
    "dark": ("dark", "黑暗"),
    "angry": ("angry", "anger", "愤怒", "生气", "气愤"),
    "furious": ("furious", "rage", "暴怒", "狂暴"),
    "aggressive": ("aggressive", "凶猛"),
    "tense": ("tense", "tension", "紧张"),
    "anxious": ("anxious", "anxiety", "焦虑", "不安"),
    "intense": ("intense", "激烈", "强烈"),
    "dramatic": ("dramatic", "戏剧性"),
    "suspense": ("suspense", "suspenseful", "悬疑", "悬念"),
    "mysterious": ("mysterious", "mystery", "神秘"),
    "scary": ("scary", "frightening", "可怕", "吓人"),
    "spooky": ("spooky", "haunted", "halloween", "阴森", "万圣节"),
    "creepy": ("creepy", "诡异", "毛骨悚然"),
    "eerie": ("eerie",),
    "ominous": ("ominous", "foreboding", "不祥"),
    "horror": ("horror", "恐怖", "惊悚"),
    "fear": ("fear", "afraid", "恐惧", "害怕"),
    "menacing": ("menacing", "威胁"),
    "battle": ("battle", "combat", "战斗", "打斗"),
    "war": ("war", "战争"),
    "chase": ("chase", "chase scene", "car chase", "追逐", "追赶", "追车"),
    "rainy": ("rainy", "rain", "rainy day", "rainy evening", "rainy night",
              "下雨", "雨天", "雨夜", "阴雨", "细雨"),
    "storm": ("storm", "stormy", "暴风雨", "雷雨"),
    "birthday": ("birthday", "生日"),
    "christmas": ("christmas", "xmas", "圣诞", "圣诞节"),
    "wedding": ("wedding", "婚礼", "结婚"),
    "party": ("party", "派对", "聚会"),
    "celebration": ("celebration", "celebrate", "庆祝", "庆典"),
    "dance": ("dance", "dancing", "danceable", "跳舞"),
    "study": ("study", "studying", "homework", "学习", "读书", "写作业"),
    "focus": ("focus", "focused", "concentration", "专注"),
    "sleep": ("sleep", "sleeping", "bedtime", "睡觉", "入睡", "睡前", "助眠"),
    "lullaby": ("lullaby", "cradle song", "摇篮曲", "催眠曲"),
    "funeral": ("funeral", "葬礼", "丧礼", "追悼会"),
    "hymn": ("hymn", "赞美诗", "圣歌"),
    "solemn": ("solemn", "庄严", "肃穆"),
    "sacred": ("sacred", "holy", "神圣"),
    "workout": ("workout", "gym", "exercise", "健身", "运动"),
    "travel": ("travel", "旅行"),
    "summer": ("summer", "夏天", "夏日"),
    "spring": ("spring", "春天"),
    "autumn": ("autumn", "秋天"),
    "winter": ("winter", "冬天"),
    "snow": ("snow", "snowy", "下雪", "雪天"),
    "ocean": ("ocean", "sea", "大海", "海边"),
    "forest": ("forest", "森林"),
    "childhood": ("childhood", "童年"),
    "morning": ("morning", "早晨", "清晨"),
}  # fmt: skip

WORDS: dict[str, str] = {word: lemma for lemma, words in MOODS.items() for word in words}


class MusicHints(TypedDict):
    mode: Mode
    tempo: int  # bpm
    register_shift: int  # semitones up (down when negative) from the usual register
    density: float  # notes per beat
    velocity: int  # MIDI velocity, 1-127
    drums: bool


def _rescale(value: str) -> float:
    return round(max(-1.0, min(1.0, (float(value) - 5.0) / 4.0)), 3)


@functools.cache
def norms() -> dict[str, tuple[float, float]]:
    """(valence, arousal) in [-1, 1] for each lemma in MOODS; empty (with a warning) without labMTsimple."""
    try:
        source = importlib.resources.files("labMTsimple").joinpath("data/WK/BRM-emot-submit.csv")
        with source.open(encoding="utf-8") as handle:
            header = handle.readline().rstrip("\r\n").split(",")
            word, valence, arousal = (
                header.index("Word"),
                header.index("V.Mean.Sum"),
                header.index("A.Mean.Sum"),
            )
            found = {}
            for line in handle:
                row = line.split(",", arousal + 1)
                if row[word] in MOODS:
                    found[row[word]] = (_rescale(row[valence]), _rescale(row[arousal]))
            return found
    except (ModuleNotFoundError, FileNotFoundError) as error:
        logger.warning(
            "mood words are not read: the Warriner et al. (2013) norms from labMTsimple are missing (%s)",
            error,
        )
        return {}


def rating(lemma: str, negated: bool = False) -> tuple[float, float] | None:
    """The lemma's (valence, arousal); a denied word ("not sad") counts flipped and weakened."""
    found = norms().get(lemma)
    if found is None or not negated:
        return found
    return round(found[0] * NEGATION, 3), round(found[1] * NEGATION, 3)


def mood_to_music(valence: float, arousal: float) -> MusicHints:
    """What a mood suggests, following the cue directions reviewed by Gabrielsson & Lindström (2010).

    Faster, louder, higher and busier music reads as more aroused; minor mode as sadder. The
    directions are theirs, the numbers are Jam's: arousal -1..1 spans about 60-170 bpm, and
    prompts that state a mode, tempo or drums keep them (this only fills what is left open).
    """
    v = max(-1.0, min(1.0, valence))
    a = max(-1.0, min(1.0, arousal))
    return MusicHints(
        mode="minor" if v < 0 else "major",
        tempo=round(max(60.0, min(170.0, 110.0 + 70.0 * a))),
        register_shift=round(4.0 * v + 3.0 * a),
        density=round(2.0 ** (1.2 * a), 2),
        velocity=round(max(30.0, min(118.0, 72.0 + 36.0 * a + 6.0 * v))),
        drums=a > 0.1,
    )
