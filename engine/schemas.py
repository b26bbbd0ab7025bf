"""The contract between the bot and the engine: what may be asked for, and what comes back.

Every field is bounded so that a request that validates is one the engine can afford to serve, and
numbers are strict: `"bars": "16"` is refused rather than read as 16, as a typed contract should.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

Mode = Literal["major", "minor"]
# the melody traditions the model learnt (engine.data.corpus.TRADITIONS): celtic = Irish and Scottish
Tradition = Literal["chinese", "celtic", "german"]
TRADITION_NAMES: dict[str, str] = {"chinese": "Chinese", "celtic": "Irish/Scottish", "german": "German"}
Format = Literal["mid", "ogg", "wav", "png", "score"]  # score: the engraved melody with chords, a PNG
METER_CHOICES = ("2/4", "3/4", "4/4", "6/8", "3/8", "9/8", "12/8")
KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# The limits every side checks (the bot's commands and its database too), each written here once.
TEMPO_MIN, TEMPO_MAX = 30, 260  # felt beats per minute: dotted quarters in 6/8, as musicians count
BARS_MIN, BARS_MAX = 2, 64  # a piece's length
MORE_BARS_MAX = 32  # bars added at once: an extension, or the answer to a person's melody
SWING_MIN, SWING_MAX = 1.0, 3.0  # the long-short ratio of off-beat eighths: straight to hard shuffle
_KEY_PATTERN = re.compile(r"^([A-Ga-g])([#b♯♭]?)$")


def key_pitch_class(name: str) -> int:
    """'Bb' -> 10; raises ValueError on anything that is not a key name."""
    match = _KEY_PATTERN.match(name.strip())
    if not match:
        raise ValueError(f"not a key: {name!r} (use a letter A-G with an optional # or b)")
    letter, accidental = match.groups()
    base = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}[letter.upper()]
    return (base + {"#": 1, "♯": 1, "b": -1, "♭": -1}.get(accidental, 0)) % 12


def _known_key(name: str) -> str:
    key_pitch_class(name)
    return name


# a key name that key_pitch_class accepts, kept as written
KeyName = Annotated[str, AfterValidator(_known_key)]
Tempo = Annotated[int, Field(ge=TEMPO_MIN, le=TEMPO_MAX, strict=True)]
Bars = Annotated[int, Field(ge=BARS_MIN, le=BARS_MAX, strict=True)]


def meter_fraction(meter: str) -> tuple[int, int]:
    """'6/8' -> (6, 8)."""
    num, den = (int(x) for x in meter.split("/"))
    return num, den


def beats_per_bar(meter: str) -> int:
    """Felt beats in a bar: dotted quarters in compound meters (6/8 has 2, 9/8 3, 12/8 4), else the
    numerator. A tempo counts these."""
    num, den = meter_fraction(meter)
    return num // 3 if den == 8 and num % 3 == 0 and num > 3 else num


class Defaults(BaseModel):
    """A person's standing preferences: they fill only what neither the options nor the prompt say."""

    model_config = ConfigDict(extra="forbid")

    key: KeyName | None = None
    mode: Mode | None = None
    tempo: Tempo | None = None
    instrument: str | None = Field(None, max_length=40)
    drums: bool | None = None


MAX_TASTE_CODES = 6
TempoClass = Literal["slow", "moderate", "fast"]
# How a listener names a tempo, in felt beats a minute, low end in: what a taste learns first (`bot.taste`)
TEMPO_CLASSES: dict[TempoClass, tuple[float, float]] = {
    "slow": (0, 90), "moderate": (90, 130), "fast": (130, math.inf),
}  # fmt: skip
# Where a taste's tempo is learnt and drawn: bands of felt beats a minute, low end in, high end out (edges
# at 90 and 130, where the `TEMPO_CLASSES` meet). A piece's tempo is drawn within its band.
TEMPO_BANDS: tuple[tuple[int, int], ...] = (
    (48, 60), (60, 70), (70, 80), (80, 90), (90, 100), (100, 110), (110, 120), (120, 130), (130, 145),
    (145, 160), (160, 176), (176, 196),
)  # fmt: skip
ShapeClass = Literal["low", "mid", "high"]  # a melody's density and register (engine.eval.attributes)
SHAPE_CLASSES: tuple[ShapeClass, ...] = get_args(ShapeClass)
ShapeName = Literal["density", "register"]
# General MIDI's families of eight programs, as a taste learns instruments (by family, not by name)
INSTRUMENT_FAMILIES = (
    "piano", "chromatic percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass",
    "reed", "pipe", "synth lead", "synth pad", "synth effects", "ethnic", "percussive", "effects",
)  # fmt: skip
SURPRISE = 0.1  # the share of a person's pieces that try something outside their taste, unless they say
TasteField = Literal["tempo", "mode", "instrument", "density", "register", "melody"]


def tempo_class(tempo: float) -> TempoClass:
    """'slow', 'moderate' or 'fast': the class of `TEMPO_CLASSES` that holds `tempo`."""
    return next(name for name, (low, high) in TEMPO_CLASSES.items() if low <= tempo < high)


def tempo_band(tempo: int) -> int:
    """The index of the band of `TEMPO_BANDS` that holds `tempo` (the nearest end band outside them)."""
    return next((i for i, (_, high) in enumerate(TEMPO_BANDS) if tempo < high), len(TEMPO_BANDS) - 1)


def instrument_family(program: int) -> str:
    """The General MIDI family, with the string ensembles counted as strings (what people call strings)."""
    return "strings" if 48 <= program <= 51 else INSTRUMENT_FAMILIES[program // 8]


Chance = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
InstrumentName = Annotated[str, Field(max_length=40)]


def _some_chance(chances: Any) -> Any:
    values = chances.values() if isinstance(chances, dict) else chances
    if values and sum(values) <= 0:
        raise ValueError("chances must not all be 0 (leave them empty for no leaning)")
    return chances


class Taste(BaseModel):
    """What a person's 👍 and 👎 say, as the bot learnt it from their ratings (`bot.taste`): for each field,
    the chance that a piece is drawn with each value (a band of tempo, a mode, an instrument, a melody's
    density and register), and the latent codes of melodies they liked and disliked.

    The engine draws each open field from its chances (by the piece's seed), only where the options, the
    prompt and the person's own defaults leave it open; an empty field leans nowhere. A `surprise` share
    of pieces draws one field from outside the taste instead (`engine.compose.resolve`). New melody
    windows are drawn near the `liked` codes and away from the `disliked` ones, by `melody_weight`.
    Bounded like the rest of a request: a few codes of at most 1,024 finite values.
    """

    model_config = ConfigDict(extra="forbid")

    tempo: Annotated[list[Chance], AfterValidator(_some_chance)] = Field(
        default_factory=list, max_length=len(TEMPO_BANDS), description="one chance per band of TEMPO_BANDS"
    )
    mode: Annotated[dict[Mode, Chance], AfterValidator(_some_chance)] = Field(default_factory=dict)
    instrument: Annotated[dict[InstrumentName, Chance], AfterValidator(_some_chance)] = Field(
        default_factory=dict, max_length=len(INSTRUMENT_FAMILIES)
    )
    shape: dict[ShapeName, Annotated[dict[ShapeClass, Chance], AfterValidator(_some_chance)]] = Field(
        default_factory=dict, description="the melody's density and register, as Resolved.shape"
    )
    liked: list[list[float]] = Field(default_factory=list, max_length=MAX_TASTE_CODES)
    disliked: list[list[float]] = Field(default_factory=list, max_length=MAX_TASTE_CODES)
    melody_weight: float = Field(0.0, ge=0, le=1)
    surprise: float = Field(SURPRISE, ge=0, le=1, description="the share of pieces that try something new")
    ratings: int = Field(0, ge=0, strict=True, description="how many ratings this was learnt from")

    @field_validator("tempo")
    @classmethod
    def _every_band(cls, tempo: list[float]) -> list[float]:
        if tempo and len(tempo) != len(TEMPO_BANDS):
            raise ValueError(f"one chance per tempo band ({len(TEMPO_BANDS)}), or none")
        return tempo

    @field_validator("liked", "disliked")
    @classmethod
    def _bounded_codes(cls, codes: list[list[float]]) -> list[list[float]]:
        if any(len(code) > 1024 for code in codes) or len({len(code) for code in codes}) > 1:
            raise ValueError("latent codes have one length, of at most 1024 values")
        if not all(math.isfinite(value) for code in codes for value in code):
            raise ValueError("latent codes must be finite numbers")
        return codes


class ComposeRequest(BaseModel):
    """What to compose. Unset fields come from the prompt (words, then mood), `defaults`, then `taste`."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field("", max_length=2000)
    key: KeyName | None = Field(None, description="tonic, e.g. 'D', 'F#', 'Bb'")
    mode: Mode | None = None
    tempo: Tempo | None = Field(None, description="beats per minute")
    meter: str | None = Field(None, description="one of " + ", ".join(METER_CHOICES))
    bars: Bars | None = None
    max_bars: Bars | None = Field(
        None, description="the most bars this asker may have (a server's cap): longer prompts are shortened"
    )
    instrument: str | None = Field(None, max_length=40, description="General MIDI instrument name")
    style: str | None = Field(None, max_length=20, description="e.g. waltz, jig, march, ballad, pop, bossa")
    tradition: Tradition | None = Field(None, description="the melody's tradition: chinese, celtic, german")
    drums: bool | None = None
    defaults: Defaults | None = None
    taste: Taste | None = None
    seed: int | None = Field(None, ge=0, le=2**31 - 1, strict=True)
    formats: list[Format] = Field(default_factory=lambda: ["mid", "ogg", "png"], min_length=1, max_length=5)
    max_bytes: int | None = Field(
        None,
        ge=1,
        le=2**31 - 1,
        strict=True,
        description="the most bytes the files may take together (a chat's upload limit): over it, the audio "
        "is encoded smaller, mono at the lowest quality, then at half the sample rate too",
    )

    @field_validator("meter")
    @classmethod
    def _known_meter(cls, value: str | None) -> str | None:
        if value is not None and value not in METER_CHOICES:
            raise ValueError(f"meter must be one of {', '.join(METER_CHOICES)}")
        return value


# What a style changes in an arrangement, as a piece says it (engine.arrange.styles.style_heard); the bot
# has each in Chinese too (bot/texts.toml)
Trait = Literal[
    "swing", "seventh chords", "ninths", "ii–V–I", "secondary dominants", "rootless voicings",
    "dominant sevenths", "walking bass", "comping", "I–V–vi–IV", "sus chords", "power chords",
    "straight eighths", "modal mixture", "pedal points", "suspensions", "slow harmony", "held strings",
    "open fifths", "drones", "few leading tones", "zither arpeggios", "bossa groove", "skank", "one drop",
    "half-time", "triads", "square and triangle waves", "arpeggiated chords", "noise-channel drums",
    "bit-crushed", "low-pass", "tape wobble", "vinyl crackle", "big hall", "four-part voice leading",
    "Bach chorale harmony", "guzheng glissandi", "grace notes", "drum fills with flams",
]  # fmt: skip
TRAITS: tuple[Trait, ...] = get_args(Trait)
STYLE_NAME_MAX = 20


class StyleHeard(BaseModel):
    """Which style the arrangement was played in, and what that changed: 'jazz: swing 2:1, seventh
    chords, walking bass'. `style` is a style word, or 'chinese' for a Chinese tune's own harmony."""

    style: str = Field(max_length=STYLE_NAME_MAX)
    traits: list[Trait] = Field(default_factory=list, max_length=len(TRAITS))

    def text(self, swing: float | None = None, names: dict[str, str] | None = None) -> str:
        """In words; `names` translates the style and the traits (the English words are the default)."""
        names = names or {}
        said = [names.get(t, t) + (f" {swing:g}:1" if t == "swing" and swing else "") for t in self.traits]
        style = names.get(self.style, self.style)
        return f"{style}: {', '.join(said)}" if said else style


class Resolved(BaseModel):
    """Every parameter as the engine used it, so that a piece can be made again or varied."""

    key: str
    mode: Mode
    tempo: int
    meter: str
    bars: int
    shortened_from: int | None = Field(
        None, description="the bars the words asked for, when the request's max_bars shortened the piece"
    )
    instrument: str
    program: int = Field(ge=0, le=127)
    style: str = "folk"
    tradition: Tradition | None = Field(None, description="the melody's tradition; None: any")
    tune_type: str | None = Field(
        None, max_length=20, description="the tune type the melody is written as (reel, jig, xiaodiao, ...)"
    )
    drums: bool = False
    swing: float | None = Field(
        None,
        ge=SWING_MIN,
        le=SWING_MAX,
        allow_inf_nan=False,
        description="the long-short ratio the off-beat eighths are played at, in the MIDI file itself "
        "(1: straight, 2: triplet swing); None: the style's own",
    )
    style_heard: StyleHeard | None = Field(None, description="which style was played, and what it changed")
    chords: list[str] = Field(
        default_factory=list,
        description="one entry per bar, e.g. ['Dm', 'Gm', 'A7']; two symbols where the chord changes mid-bar",
    )
    tracks: dict[str, str] = Field(default_factory=dict, description="MIDI track role -> instrument name")
    shape: dict[str, str] = Field(
        default_factory=dict, description="melody attributes asked of the latent GAN, e.g. density: high"
    )
    seed: int
    form: str = Field(description="the phrases, e.g. \"A A' B A''\"")
    windows: list[str] = Field(
        default_factory=list,
        description="each 2-bar window's label: equal labels share a latent code, '*' marks a cadence",
    )
    understood: dict[str, str] = Field(default_factory=dict, description="field -> the words it came from")
    texture: dict[ShapeName, ShapeClass] = Field(
        default_factory=dict, description="the melody as written, which a taste learns from"
    )
    leant: list[TasteField] = Field(
        default_factory=list, description="the fields the asker's taste filled (nothing of the taste itself)"
    )
    surprise: TasteField | None = Field(None, description="the field drawn outside the asker's taste, if any")


class PieceFile(BaseModel):
    format: Format
    path: str
    bytes: int
    smaller: bool = Field(False, description="encoded smaller than usual to fit the request's max_bytes")


class ComposeResult(BaseModel):
    """One composed piece: its files, what was resolved, the latent codes, and where the time went."""

    name: str
    request: ComposeRequest
    resolved: Resolved
    files: list[PieceFile]
    duration_s: float
    latents: list[list[float]] = Field(default_factory=list, description="one latent code per 2-bar window")
    events: list[int] = Field(default_factory=list, description="the melody's event tokens on the 16th grid")
    timings_ms: dict[str, float] = Field(default_factory=dict)


# A piece's stages before it is done, as a caller may be told them (`engine.server.schemas` streams them).


class Understood(BaseModel):
    """What the request was understood as (key, tempo, bars, instrument...), before any note is written."""

    stage: Literal["understood"] = "understood"
    resolved: Resolved


class Sketch(BaseModel):
    """The melody and chords, arranged, before the audio and pictures: the piece without its files."""

    stage: Literal["sketch"] = "sketch"
    result: ComposeResult
