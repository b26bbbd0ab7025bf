"""Styles and forms, and the meter each form implies: a waltz is in 3/4, a jig in 6/8, a march in 2/4.

An implied meter yields to one the prompt states ("a jig in 9/8" stays in 9/8).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import NamedTuple

from engine.prompt.text import plural


class Style(NamedTuple):
    name: str
    meter: str | None


# the words that ask for four-part writing (engine.arrange.chorale), in both languages
FOUR_PARTS = ("四部和声", "四声部", "四声部合唱", "satb", "bach chorale", "four part harmony", "four part",
              "four parts", "four voice harmony")  # fmt: skip
_FORMS: dict[str, tuple[str | None, tuple[str, ...]]] = {  # style: (meter, words)
    "waltz": ("3/4", ("waltz", "valse", "华尔兹", "圆舞曲")),
    "minuet": ("3/4", ("minuet", "menuet", "小步舞曲")),
    "mazurka": ("3/4", ("mazurka", "玛祖卡")),
    "polonaise": ("3/4", ("polonaise", "波兰舞曲")),
    "sarabande": ("3/4", ("sarabande", "萨拉班德")),
    "bolero": ("3/4", ("bolero", "波莱罗")),
    "jig": ("6/8", ("jig", "gigue", "吉格", "吉格舞曲")),
    "slip jig": ("9/8", ("slip jig", "slipjig")),
    "tarantella": ("6/8", ("tarantella", "塔兰泰拉")),
    "siciliano": ("6/8", ("siciliano", "siciliana", "西西里舞曲")),
    "barcarolle": ("6/8", ("barcarolle", "船歌")),
    "lullaby": ("6/8", ("lullaby", "cradle song", "berceuse", "摇篮曲", "催眠曲")),
    "reel": ("4/4", ("reel", "里尔", "里尔舞曲")),
    "hornpipe": ("4/4", ("hornpipe", "号笛舞曲")),
    "strathspey": ("4/4", ("strathspey", "highland fling")),
    "march": ("2/4", ("march", "marching", "military march", "进行曲")),
    "polka": ("2/4", ("polka", "波尔卡")),
    "galop": ("2/4", ("galop", "加洛普")),
    "ragtime": ("2/4", ("ragtime", "拉格泰姆")),
    "samba": ("2/4", ("samba", "桑巴")),
    "ballad": ("4/4", ("ballad", "power ballad", "民谣", "抒情", "抒情歌", "情歌")),
    "chorale": ("4/4", ("chorale", "圣咏", "众赞歌", *FOUR_PARTS)),
    "hymn": ("4/4", ("hymn", "赞美诗", "圣歌")),
    "pop": ("4/4", ("pop", "pop song", "流行", "流行歌", "流行音乐")),
    "rock": ("4/4", ("rock", "rock and roll", "rock n roll", "摇滚")),
    "bossa": ("4/4", ("bossa", "bossa nova", "波萨诺瓦", "巴萨诺瓦")),
    "swing": ("4/4", ("swing", "摇摆乐")),
    "shuffle": ("4/4", ("shuffle", "shuffle blues", "拖曳节奏")),
    "funk": ("4/4", ("funk", "funky", "放克")),
    "disco": ("4/4", ("disco", "迪斯科")),
    "reggae": ("4/4", ("reggae", "雷鬼")),
    "hip hop": ("4/4", ("hip hop", "hiphop", "嘻哈")),
    "lofi": ("4/4", ("lofi", "lo fi", "低保真")),
    "edm": ("4/4", ("edm", "techno", "house music", "trance", "电音", "电子舞曲")),
    "metal": ("4/4", ("metal", "heavy metal", "金属", "重金属")),
    "punk": ("4/4", ("punk", "朋克")),
    "country": ("4/4", ("country", "乡村音乐")),
    "gospel": ("4/4", ("gospel", "福音")),
    "tango": (None, ("tango", "探戈")),
    "blues": (None, ("blues", "蓝调", "布鲁斯")),
    "jazz": (None, ("jazz", "jazzy", "爵士", "爵士乐")),
    "folk": (None, ("folk", "folk song", "folk tune", "民歌")),
    "air": (None, ("air", "slow air", "lament", "慢板")),
    "classical": (None, ("classical", "古典", "古典音乐")),
    "baroque": (None, ("baroque", "巴洛克")),
    "nocturne": (None, ("nocturne", "夜曲")),
    "serenade": (None, ("serenade", "小夜曲")),
    "elegy": (None, ("elegy", "lament", "dirge", "挽歌", "哀歌")),
    "requiem": (None, ("requiem", "安魂曲")),
    "fanfare": (None, ("fanfare", "号角曲")),
    "ambient": (None, ("ambient", "氛围音乐")),
    "cinematic": (None, ("cinematic", "film score", "soundtrack", "movie soundtrack", "电影配乐", "配乐")),
    "electronic": (None, ("electronic", "电子", "电子音乐")),
    "chiptune": ("4/4", ("chiptune", "chip tune", "8 bit", "8bit", "8 bit music", "芯片音乐", "8位", "八位")),
}

WORDS: dict[str, Style] = {
    form: Style(name, meter)
    for name, (meter, words) in _FORMS.items()
    for word in words
    for form in (word, plural(word))
    if form is not None
}


def style_meter(style: str) -> str | None:
    """The meter a style implies (a waltz is in 3/4), None for a style that implies none or is unknown."""
    return _FORMS.get(style.lower(), (None, ()))[0]


def nearest_style(word: str, also: Iterable[str] = ()) -> str:
    """The style a word names ('bossa nova' -> 'bossa', '爵士' -> 'jazz'), else the nearest by spelling
    ('jaz' -> 'jazz'), else 'folk': a style word is never an error. `also`: more names taken as they are."""
    extra = set(also)
    key = " ".join(word.strip().lower().replace("-", " ").split())
    if key in _FORMS or key in extra or word.strip().lower() in extra:
        return key if key in _FORMS or key in extra else word.strip().lower()
    if key in WORDS:
        return WORDS[key].name
    close = difflib.get_close_matches(key, [*WORDS, *sorted(extra)], n=1, cutoff=0.7)
    if close:
        return WORDS[close[0]].name if close[0] in WORDS else close[0]
    return "folk"
