"""Fill every parameter of a request: options first, then what the prompt says, then defaults.

Explicit values beat mood words and options beat text; what came from the text is recorded with
the words it came from, so the bot can show what it understood.
"""

from __future__ import annotations

import random

import pretty_midi

from engine.prompt import mood_to_music, parse_prompt
from engine.prompt.forms import style_meter
from engine.prompt.instruments import lookup_instrument
from engine.schemas import KEY_NAMES, ComposeRequest, Defaults, Resolved, Taste, key_pitch_class

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
MAJOR_KEYS = ("C", "G", "D", "F", "A", "Bb", "Eb")
MINOR_KEYS = ("A", "E", "D", "G", "C", "B", "F#")
EXPLORE_AFTER = 3  # 👎 from which, with no 👍 yet, open fields are varied rather than defaulted
EXPLORE = {
    "mode": ("major", "minor"),
    "tempo": (72, 100, 144),  # slow, moderate, fast
    "instrument": ("piano", "violin", "cello", "strings", "flute", "clarinet", "guitar", "trumpet", "harp",
                   "organ"),
}  # fmt: skip


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


def leanings(taste: Taste | None) -> Defaults:
    """A taste's confident leanings as defaults of the last resort; an instrument the engine no longer
    knows is dropped (a taste is learnt, never a reason to refuse a request)."""
    if taste is None:
        return Defaults()
    instrument = taste.leans("instrument")
    if instrument is not None and lookup_instrument(instrument) is None:
        instrument = None
    return Defaults(mode=taste.leans("mode"), tempo=taste.leans("tempo"), instrument=instrument)


def explored(taste: Taste | None, seed: int) -> Defaults:
    """For someone who has rated a few pieces and liked none, open fields drawn by the seed instead of the
    fixed defaults: 👎 after 👎 of the same major piano tune at 100 bpm teaches nothing (a person who
    likes fast minor violin dislikes them all), while varied pieces give their 👍 a chance to say what
    they like. Once they like something, leanings are learnt and the defaults come back where there is
    none (varying those as well made the pieces after rating match less often in bench/bench_taste.py).
    Used only where words, options, defaults and leanings leave the field open."""
    liked = taste is not None and (taste.liked or any(getattr(taste, f"{n}_weight") > 0 for n in EXPLORE))
    if taste is None or taste.ratings < EXPLORE_AFTER or liked:
        return Defaults()
    draw = {name: random.Random(f"{seed}:explore:{name}").choice(values) for name, values in EXPLORE.items()}
    return Defaults(**draw)


def resolve(request: ComposeRequest, seed: int) -> Resolved:
    """Options, then the prompt (its explicit words, then its mood), then the person's defaults, then what
    their ratings lean to (`taste`), then, while they have liked nothing, a varied value (`explored`)."""
    reading = parse_prompt(request.prompt)
    understood = dict(reading.understood)
    mood = mood_to_music(reading.valence, reading.arousal) if reading.valence is not None else {}
    mine = request.defaults or Defaults()
    taste = leanings(request.taste)
    explore = explored(request.taste, seed)

    tradition = request.tradition or reading.tradition
    style = request.style or reading.style or "folk"
    tune_type = style if style in TYPE_TEMPO else reading.tune_type
    mode = (
        request.mode or reading.mode or mood.get("mode") or mine.mode or taste.mode or explore.mode or "major"
    )
    key = request.key or reading.key or mine.key or (MINOR_KEYS if mode == "minor" else MAJOR_KEYS)[seed % 7]
    meter = (
        request.meter
        or (request.style and style_meter(request.style))
        or reading.meter
        or TYPE_METER.get(tune_type or "")
        or "4/4"
    )
    tempo = (
        request.tempo
        or reading.tempo
        or TYPE_TEMPO.get(tune_type or "")
        or mood.get("tempo")
        or mine.tempo
        or taste.tempo
        or explore.tempo
        or DEFAULT_TEMPO[meter]
    )
    beats_per_bar = {"6/8": 2, "9/8": 3, "12/8": 4}.get(meter, int(meter.split("/")[0]))
    if request.bars is not None:
        bars = request.bars
    elif reading.bars is not None:
        bars = reading.bars
    elif reading.seconds is not None:
        bars = max(2, min(64, round(reading.seconds * tempo / 60 / beats_per_bar)))
    else:
        bars = 16
    bars += bars % 2  # the model writes whole 2-bar windows

    if request.instrument:
        program, instrument = instrument_program(request.instrument)
    elif reading.instrument is not None:
        program, instrument = reading.instrument, reading.instrument.name
    elif mine.instrument:
        program, instrument = instrument_program(mine.instrument)
    elif tradition in TRADITION_INSTRUMENTS:
        choices = TRADITION_INSTRUMENTS[tradition]
        program, instrument = instrument_program(choices[seed % len(choices)])
    elif taste.instrument:
        program, instrument = instrument_program(taste.instrument)
    elif explore.instrument:
        program, instrument = instrument_program(explore.instrument)
    else:
        program, instrument = 0, pretty_midi.program_to_instrument_name(0)

    shape = melody_shape(mood)
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
    return Resolved(
        key=canonical_key(key),
        mode=mode,
        tempo=int(tempo),
        meter=meter,
        bars=bars,
        instrument=instrument,
        program=int(program),
        style=style,
        tradition=tradition,
        tune_type=tune_type,
        drums=drums,
        shape=shape,
        seed=seed,
        form="",
        understood=understood,
    )
