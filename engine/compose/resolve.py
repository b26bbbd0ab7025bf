"""Fill every parameter of a request: options first, then what the prompt says, then defaults, then the
asker's taste, then a varied value.

Explicit values beat mood words and options beat text; what came from the text is recorded with
the words it came from, so the bot can show what it understood. What nothing fills is drawn by the
seed from `FEELS`, `OPEN_MODES` and `OPEN_INSTRUMENTS`, so that pieces vary before any taste is known
(they were all major piano tunes in 4/4 at 100 bpm); a taste's chances are drawn from the same way.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar

from engine.arrange.styles import FAMILIES, style_heard, swing_of
from engine.prompt import mood_to_music, parse_prompt
from engine.prompt.forms import nearest_style, style_meter
from engine.prompt.instruments import lookup_instrument
from engine.schemas import (
    BARS_MAX,
    BARS_MIN,
    KEY_NAMES,
    SHAPE_CLASSES,
    TEMPO_BANDS,
    ComposeRequest,
    Defaults,
    Resolved,
    Taste,
    TasteField,
    beats_per_bar,
    instrument_family,
    key_pitch_class,
)

DEFAULT_TEMPO = {"2/4": 100, "3/4": 108, "4/4": 100, "6/8": 96, "3/8": 72, "9/8": 90, "12/8": 72}
# tune types the model learnt (engine.data.corpus.TUNE_TYPES less waltz and polka, with too few tunes):
# their tempo as played (felt beats per minute), and the meter where no style word implies one
TYPE_TEMPO = {
    "reel": 176, "jig": 112, "slip jig": 108, "hornpipe": 132, "strathspey": 120,
    "march": 108, "air": 66, "xiaodiao": 80, "shange": 72, "haozi": 96,
}  # fmt: skip
TYPE_METER = {"xiaodiao": "2/4", "shange": "2/4", "haozi": "2/4"}
# what a tradition is played on when nothing names an instrument: one of these, by the seed
TRADITION_INSTRUMENTS = {
    "chinese": ("guzheng", "dizi", "erhu", "pipa", "yangqin"),
    "celtic": ("fiddle", "flute", "whistle", "accordion"),
}
# what a style is played on when nothing names an instrument
STYLE_INSTRUMENTS = {"chiptune": "square lead"}
MAJOR_KEYS = ("C", "G", "D", "F", "A", "Bb", "Eb")
MINOR_KEYS = ("A", "E", "D", "G", "C", "B", "F#")


class Feel(NamedTuple):
    """A meter, a style of accompaniment and a tempo range (felt beats a minute) that suit each other."""

    meter: str
    style: str
    low: int
    high: int


# What a request that names no kind of music may come out as, drawn by the seed (one that fits a tempo
# already chosen, and a meter already said); the style only sets the accompaniment, not the tune type.
FEELS = (
    Feel("4/4", "folk", 80, 126),
    Feel("4/4", "ballad", 60, 84),
    Feel("4/4", "pop", 92, 128),
    Feel("4/4", "bossa", 80, 116),
    Feel("3/4", "waltz", 90, 160),
    Feel("3/4", "folk", 66, 104),
    Feel("6/8", "folk", 60, 110),
    Feel("6/8", "lullaby", 50, 70),
    Feel("2/4", "march", 96, 128),
    Feel("2/4", "polka", 100, 144),
)
OPEN_MODES = ("major", "minor")
OPEN_INSTRUMENTS = ("piano", "violin", "cello", "strings", "flute", "clarinet", "oboe", "guitar", "trumpet",
                    "harp", "organ", "marimba")  # fmt: skip
SURPRISES: tuple[TasteField, ...] = ("tempo", "mode", "instrument", "melody")  # what a surprise may change
K = TypeVar("K")
T = TypeVar("T")


def instrument_program(name: str) -> tuple[int, str]:
    """A General MIDI program and its name from a GM name or an everyday word ('violin', '钢琴')."""
    found = lookup_instrument(name)
    if found is None:
        raise ValueError(
            f"unknown instrument {name!r}: use a General MIDI name like 'Violin' or a word "
            "like piano, flute, strings"
        )
    return found


def canonical_key(name: str) -> str:
    return KEY_NAMES[key_pitch_class(name)]


def melody_shape(mood: dict) -> dict[str, str]:
    """What the mood asks of the melody itself, in the latent GAN's attribute classes."""
    shape: dict[str, str] = {}
    if "density" in mood:  # notes per beat: a 4/4 bar of 3 or fewer notes is sparse, 5 or more busy
        shape["density"] = "low" if mood["density"] <= 0.75 else "high" if mood["density"] >= 1.25 else "mid"
    if mood.get("register_shift", 0) <= -3:
        shape["register"] = "low"
    elif mood.get("register_shift", 0) >= 3:
        shape["register"] = "high"
    return shape


def _pick(options: Sequence[K], weights: Sequence[float], rng: random.Random) -> K:
    return rng.choices(list(options), weights=list(weights))[0]


def _outside(options: Sequence[K], chances: Sequence[float], rng: random.Random) -> K:
    """One of `options`, the less likely under the taste's `chances` the likelier: what a surprise tries.
    The taste's favourite is never drawn (unless every option is as likely)."""
    top = max(chances, default=0.0)
    weights = [1 - chance / top if top > 0 else 1.0 for chance in chances]
    return _pick(options, weights if sum(weights) > 0 else [1.0] * len(options), rng)


@dataclass(frozen=True)
class Leaning:
    """What a person's taste gives one piece: each field drawn from the taste's chances by the seed,
    and on a surprise one field (`SURPRISES`) drawn from outside them instead. `melody`: new melody windows
    lean to the taste's latent codes."""

    tempo: int | None = None
    mode: str | None = None
    instrument: str | None = None
    shape: dict[str, str] = field(default_factory=dict)
    melody: bool = False
    surprise: TasteField | None = None

    @classmethod
    def of(cls, taste: Taste | None, seed: int) -> Leaning:
        if taste is None:
            return cls()
        rng = {name: random.Random(f"{seed}:taste:{name}") for name in ("surprise", *SURPRISES)}
        # an instrument the engine no longer knows is dropped: a taste is learnt, never a reason to refuse
        instruments = {name: p for name, p in taste.instrument.items() if lookup_instrument(name) is not None}
        melody = taste.melody_weight > 0 and bool(taste.liked or taste.disliked)
        has = {"tempo": bool(taste.tempo), "mode": bool(taste.mode), "instrument": bool(instruments),
               "melody": melody or bool(taste.shape)}  # fmt: skip
        fields = [name for name in SURPRISES if has[name]]
        surprise = (
            rng["surprise"].choice(fields) if fields and rng["surprise"].random() < taste.surprise else None
        )

        tempo = None
        if taste.tempo:
            bands = range(len(TEMPO_BANDS))
            draw = _outside if surprise == "tempo" else _pick
            low, high = TEMPO_BANDS[draw(bands, taste.tempo, rng["tempo"])]
            tempo = rng["tempo"].randrange(low, high)
        mode = None
        if taste.mode:
            if surprise == "mode":
                mode = _outside(OPEN_MODES, [taste.mode.get(m, 0.0) for m in OPEN_MODES], rng["mode"])
            else:
                mode = _pick(list(taste.mode), list(taste.mode.values()), rng["mode"])
        instrument = None
        if instruments and surprise == "instrument":  # an everyday instrument of a family seldom liked
            families: dict[str, float] = {}
            for name, chance in instruments.items():
                family = instrument_family(instrument_program(name)[0])
                families[family] = families.get(family, 0.0) + chance
            chances = [
                families.get(instrument_family(instrument_program(n)[0]), 0.0) for n in OPEN_INSTRUMENTS
            ]
            instrument = _outside(OPEN_INSTRUMENTS, chances, rng["instrument"])
        elif instruments:
            instrument = _pick(list(instruments), list(instruments.values()), rng["instrument"])
        draw = _outside if surprise == "melody" else _pick
        shape = {
            name: draw(SHAPE_CLASSES, [classes.get(c, 0.0) for c in SHAPE_CLASSES], rng["melody"])
            for name, classes in taste.shape.items()
        }
        return cls(tempo, mode, instrument, shape, melody and surprise != "melody", surprise)


def open_feel(meter: str | None, tempo: int | None, seed: int) -> Feel:
    """A feel for a piece whose words name no kind of music: one in `meter` if it was said, and one whose
    tempo range holds `tempo` if it was chosen already (any, where none does)."""
    feels = [f for f in FEELS if meter in (None, f.meter)] or list(FEELS)
    fitting = [f for f in feels if tempo is None or f.low <= tempo <= f.high] or feels
    return random.Random(f"{seed}:open:feel").choice(fitting)


def resolve(request: ComposeRequest, seed: int) -> Resolved:
    """Options, then the prompt (its explicit words, then its mood), then the person's defaults, then what
    their ratings lean to (`Leaning`), then a value drawn by the seed. `leant` records the fields the
    taste filled, `surprise` the one it filled from outside the taste."""
    reading = parse_prompt(request.prompt)
    understood = dict(reading.understood)
    mood = mood_to_music(reading.valence, reading.arousal) if reading.valence is not None else {}
    mine = request.defaults or Defaults()
    lean = Leaning.of(request.taste, seed)
    leant: list[TasteField] = []

    def chosen(name: TasteField, said: T | None, leaning: T | None) -> T | None:
        """What was said, else the taste's value (recorded as leant)."""
        if said or leaning is None:
            return said
        leant.append(name)
        return leaning

    tradition = request.tradition or reading.tradition
    named = request.style and nearest_style(request.style, (*FAMILIES, *TYPE_TEMPO))  # never refused
    said_style = named or reading.style
    tune_type = said_style if said_style in TYPE_TEMPO else reading.tune_type
    mode = chosen("mode", request.mode or reading.mode or mood.get("mode") or mine.mode, lean.mode)
    mode = mode or random.Random(f"{seed}:open:mode").choice(OPEN_MODES)
    key = request.key or reading.key or mine.key or (MINOR_KEYS if mode == "minor" else MAJOR_KEYS)[seed % 7]
    meter = (
        request.meter or (named and style_meter(named)) or reading.meter or TYPE_METER.get(tune_type or "")
    )
    tempo = chosen(
        "tempo",
        request.tempo or reading.tempo or TYPE_TEMPO.get(tune_type or "") or mood.get("tempo") or mine.tempo,
        lean.tempo,
    )
    if said_style or tune_type or tradition:  # words that name a kind of music bring its meter and style
        meter = meter or "4/4"
        style = said_style or "folk"
        spread = random.Random(f"{seed}:open:tempo").uniform(0.85, 1.15)
        tempo = tempo or round(DEFAULT_TEMPO[meter] * spread)
    else:
        feel = open_feel(meter, tempo, seed)
        meter, style = meter or feel.meter, feel.style
        tempo = tempo or random.Random(f"{seed}:open:tempo").randint(feel.low, feel.high)
    if request.bars is not None:
        bars = request.bars
    elif reading.bars is not None:
        bars = reading.bars
    elif reading.seconds is not None:
        # the nearest whole number of 2-bar windows: rounding to a bar and then up to a window ran long
        windows = math.floor(reading.seconds * tempo / 60 / beats_per_bar(meter) / 2 + 0.5)  # halves up
        bars = max(BARS_MIN, min(BARS_MAX, 2 * windows))
    else:
        bars = 16
    bars += bars % 2  # the model writes whole 2-bar windows
    shortened_from = None
    if request.max_bars is not None and bars > request.max_bars:
        shortened_from, bars = bars, max(BARS_MIN, request.max_bars // 2 * 2)

    if request.instrument:
        program, instrument = instrument_program(request.instrument)
    elif reading.instrument is not None:
        program, instrument = reading.instrument, reading.instrument.name
    elif style in STYLE_INSTRUMENTS:  # 8-bit leads on a chip's square wave, whatever one's habit
        program, instrument = instrument_program(STYLE_INSTRUMENTS[style])
    elif mine.instrument:
        program, instrument = instrument_program(mine.instrument)
    elif tradition in TRADITION_INSTRUMENTS:
        choices = TRADITION_INSTRUMENTS[tradition]
        program, instrument = instrument_program(choices[seed % len(choices)])
    elif lean.instrument:
        program, instrument = instrument_program(lean.instrument)
        leant.append("instrument")
    else:
        program, instrument = instrument_program(
            random.Random(f"{seed}:open:instrument").choice(OPEN_INSTRUMENTS)
        )

    shape = melody_shape(mood)
    if not shape:  # a melody shape the words ask for ("calm, sparse") is drawn as asked, taste or not
        leant += sorted(lean.shape)  # type: ignore[arg-type]
        if lean.melody:
            leant.append("melody")
    if request.drums is not None:
        drums = request.drums
    elif reading.drums is not None:
        drums = reading.drums
    elif mine.drums is not None:
        drums = mine.drums
    else:
        drums = bool(mood.get("drums", False)) and style not in ("lullaby", "chorale", "hymn")

    for name, value in (
        ("key", request.key),
        ("mode", request.mode),
        ("tempo", request.tempo),
        ("meter", request.meter),
        ("bars", request.bars),
        ("instrument", request.instrument),
        ("style", request.style),
        ("tradition", request.tradition),
        ("drums", request.drums),
    ):
        if value is not None:
            understood[name] = "option"
    surprise = lean.surprise
    if surprise not in leant and not (surprise == "melody" and {"density", "register"} & set(leant)):
        surprise = None  # the words filled the field the surprise was for
    return Resolved(
        key=canonical_key(key),
        mode=mode,
        tempo=int(tempo),
        meter=meter,
        bars=bars,
        shortened_from=shortened_from,
        instrument=instrument,
        program=int(program),
        style=style,
        tradition=tradition,
        tune_type=tune_type,
        drums=drums,
        swing=swing_of(style, meter),
        style_heard=style_heard(style, meter, tradition, drums),
        shape=shape,
        seed=seed,
        form="",
        understood=understood,
        leant=leant,
        surprise=surprise,
    )
