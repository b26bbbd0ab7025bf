"""Steering a live session: words said to a running jam, turned into changes of its state.

The prompt parser reads absolute settings ("in D minor", "switch to flute", "换成钢琴", "waltz", "no
drums"); on its own it would read "快一点" as 140 bpm and ignore "faster". A live steer is mostly
relative, so the relative words are read here first and beat the parser for the same setting:
"faster" is a step up from whatever plays now, "darker" turns major into minor (and a minor tune
lower), "more drums" switches drums on. What a steer changed is returned in words for the bot to show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pretty_midi

from engine.live.state import MAX_TEMPO, MIN_TEMPO, LiveState
from engine.prompt import mood_to_music, parse_prompt
from engine.prompt.forms import style_meter
from engine.schemas import KEY_NAMES, key_pitch_class

TEMPO_STEP = 1.15  # one "faster": about 15 bpm at 100, a clearly audible but musical change
_MUCH = r"(?:much|a\s+lot|way|even|lots)\s+"


def _words(english: str, chinese: str) -> re.Pattern[str]:
    return re.compile(rf"\b(?:{english})\b|{chinese}")


FASTER = _words(
    r"faster|quicker|speed(?:\s+it)?\s+up|pick\s+(?:it|the\s+pace)\s+up|pick\s+up\s+the\s+pace|up\s+the\s+tempo",
    r"快一点|快一些|快点|快些|更快(?!乐)|加快|加速|再快",
)
SLOWER = _words(
    r"slower|slow(?:\s+it)?\s+down|ease\s+off|bring\s+the\s+tempo\s+down",
    r"慢一点|慢一些|慢点|慢些|更慢|放慢|减速|再慢",
)
DARKER = _words(
    r"darker|sadder|gloomier|moodier|more\s+(?:melancholic|somber|sombre|minor)",
    r"暗一点|暗一些|更暗|悲伤一点|伤感一点|忧郁一点|更悲伤|更忧郁|小调",
)
BRIGHTER = _words(
    r"brighter|happier|cheerier|lighter|more\s+(?:cheerful|joyful|major)",
    r"亮一点|亮一些|明亮一点|更明亮|更亮|欢快一点|开心一点|更欢快|更开心|大调",
)
DRUMS_OFF = _words(
    r"(?:no|less|fewer|without|drop|stop|kill|mute|remove|lose|cut)\s+(?:the\s+|more\s+|any\s+)?"
    r"(?:drums?|percussion|beat)|(?:turn|switch|take)\s+(?:off\s+the\s+drums?|the\s+drums?\s+(?:off|out))"
    r"|drums?\s+off",
    r"不要鼓|去掉鼓|关掉鼓|关鼓|少点鼓|别要鼓|不要打击乐|停掉鼓|鼓停|没有鼓|鼓.{0,2}不要",
)
DRUMS_ON = _words(
    r"(?:more|add|bring\s+(?:in|back)|with|turn\s+on|switch\s+on)\s+(?:some\s+|the\s+|a\s+)?"
    r"(?:drums?|percussion|beat)|drums?\s+(?:on|back)",
    r"加鼓|加点鼓|加上鼓|加入鼓|来点鼓|鼓多一点|更多鼓|多点鼓|打开鼓|要鼓|有鼓",
)
BUSIER = _words(r"busier|more\s+notes|denser|more\s+active", r"密一点|更密|音符多一点|热闹一点")
SPARSER = _words(
    r"sparser|simpler|fewer\s+notes|less\s+busy|more\s+space", r"稀一点|简单一点|音符少一点|简单些"
)
HIGHER = _words(r"higher|up\s+an\s+octave", r"高一点|高一些|更高")
LOWER = _words(r"lower|down\s+an\s+octave", r"低一点|低一些|更低")
_LEVELS = ("low", "mid", "high")


@dataclass
class Steered:
    """The state after a steer, and what changed: setting -> new value, in words."""

    state: LiveState
    changes: dict[str, str] = field(default_factory=dict)


def _count(pattern: re.Pattern[str], text: str) -> int:
    """Occurrences, a "much"/"a lot" before one counting twice."""
    return sum(2 if re.search(rf"{_MUCH}$", text[: m.start()]) else 1 for m in pattern.finditer(text))


def _shift(shape: dict[str, str], name: str, steps: int) -> dict[str, str]:
    level = _LEVELS.index(shape.get(name, "mid")) + steps
    return {**shape, name: _LEVELS[max(0, min(2, level))]}


def steer(state: LiveState, text: str) -> Steered:
    """Apply one steer. Relative words move the current state; named settings replace it."""
    low = " ".join(text.lower().split())[:2000]
    reading = parse_prompt(low)
    new = state
    tempo_steps = _count(FASTER, low) - _count(SLOWER, low)
    if tempo_steps:
        tempo = round(state.tempo * TEMPO_STEP**tempo_steps)
        new = new.with_(tempo=min(MAX_TEMPO, max(MIN_TEMPO, tempo)))
    elif reading.tempo is not None:
        new = new.with_(tempo=min(MAX_TEMPO, max(MIN_TEMPO, reading.tempo)))

    if reading.key is not None:
        new = new.with_(key=KEY_NAMES[key_pitch_class(reading.key)])
    colour = _count(BRIGHTER, low) - _count(DARKER, low)
    if reading.mode is not None:
        new = new.with_(mode=reading.mode)
    elif colour < 0:  # major turns minor; a minor tune goes lower and a little slower
        if new.mode == "major":
            new = new.with_(mode="minor")
        else:
            new = new.with_(shape=_shift(new.shape, "register", -1), tempo=max(MIN_TEMPO, new.tempo - 6))
    elif colour > 0:
        if new.mode == "minor":
            new = new.with_(mode="major")
        else:
            new = new.with_(shape=_shift(new.shape, "register", +1))
    elif reading.valence is not None:  # a mood word ("calm", "欢快"): its mode, and half way to its tempo
        mood = mood_to_music(reading.valence, reading.arousal or 0.0)
        new = new.with_(mode=mood["mode"])
        if not tempo_steps and reading.tempo is None:
            new = new.with_(tempo=round((new.tempo + mood["tempo"]) / 2))

    if DRUMS_OFF.search(low):
        new = new.with_(drums=False)
    elif DRUMS_ON.search(low):
        new = new.with_(drums=True)
    elif reading.drums is not None:
        new = new.with_(drums=reading.drums)

    if reading.instrument is not None:
        program = int(reading.instrument)
        new = new.with_(program=program, instrument=pretty_midi.program_to_instrument_name(program))
    if reading.style is not None:
        new = new.with_(style=reading.style, meter=style_meter(reading.style) or new.meter)
    if reading.meter is not None:
        new = new.with_(meter=reading.meter)

    density = _count(BUSIER, low) - _count(SPARSER, low)
    if density:
        new = new.with_(shape=_shift(new.shape, "density", density))
    register = _count(HIGHER, low) - _count(LOWER, low)
    if register:
        new = new.with_(shape=_shift(new.shape, "register", register))
    return Steered(new, _changes(state, new))


def _changes(old: LiveState, new: LiveState) -> dict[str, str]:
    changes = {}
    for name in ("key", "mode", "tempo", "meter", "instrument", "style", "drums"):
        if getattr(old, name) != getattr(new, name):
            value = getattr(new, name)
            changes[name] = ("on" if value else "off") if name == "drums" else str(value)
    for name, value in new.shape.items():
        if old.shape.get(name) != value:
            changes[name] = value
    return changes
