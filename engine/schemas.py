"""The contract between the bot and the engine: what may be asked for, and what comes back.

Every field is bounded so that a request that validates is one the engine can afford to serve, and
numbers are strict: `"bars": "16"` is refused rather than read as 16, as a typed contract should.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

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
LEANING = 0.5  # the weight from which a taste's tempo, mode or instrument fills an open field


class Taste(BaseModel):
    """What a person's 👍 and 👎 say, as the bot learnt it from their ratings (`bot.taste`).

    Leanings fill only what the options, the prompt and the person's own defaults leave open, and only
    once their weight (the bot's confidence, 0-1) reaches `LEANING`; new melody windows are drawn near
    the `liked` latent codes and away from the `disliked` ones, by `melody_weight`. Bounded like the rest
    of a request: a few codes of at most 1,024 finite values.
    """

    model_config = ConfigDict(extra="forbid")

    tempo: Tempo | None = None
    tempo_weight: float = Field(0.0, ge=0, le=1)
    mode: Mode | None = None
    mode_weight: float = Field(0.0, ge=0, le=1)
    instrument: str | None = Field(None, max_length=40)
    instrument_weight: float = Field(0.0, ge=0, le=1)
    liked: list[list[float]] = Field(default_factory=list, max_length=MAX_TASTE_CODES)
    disliked: list[list[float]] = Field(default_factory=list, max_length=MAX_TASTE_CODES)
    melody_weight: float = Field(0.0, ge=0, le=1)
    ratings: int = Field(0, ge=0, strict=True, description="how many ratings this was learnt from")

    @field_validator("liked", "disliked")
    @classmethod
    def _bounded_codes(cls, codes: list[list[float]]) -> list[list[float]]:
        if any(len(code) > 1024 for code in codes) or len({len(code) for code in codes}) > 1:
            raise ValueError("latent codes have one length, of at most 1024 values")
        if not all(math.isfinite(value) for code in codes for value in code):
            raise ValueError("latent codes must be finite numbers")
        return codes

    def leans(self, name: Literal["tempo", "mode", "instrument"]) -> Any:
        """The value this taste leans to for `name`, or None when its weight is under `LEANING`: one rule
        for what the engine applies and what /prefs shows as learnt."""
        return getattr(self, name) if getattr(self, f"{name}_weight") >= LEANING else None


class ComposeRequest(BaseModel):
    """What to compose. Unset fields come from the prompt (words, then mood), `defaults`, then `taste`."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field("", max_length=2000)
    key: KeyName | None = Field(None, description="tonic, e.g. 'D', 'F#', 'Bb'")
    mode: Mode | None = None
    tempo: Tempo | None = Field(None, description="beats per minute")
    meter: str | None = Field(None, description="one of " + ", ".join(METER_CHOICES))
    bars: Bars | None = None
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


class Resolved(BaseModel):
    """Every parameter as the engine used it, so that a piece can be made again or varied."""

    key: str
    mode: Mode
    tempo: int
    meter: str
    bars: int
    instrument: str
    program: int = Field(ge=0, le=127)
    style: str = "folk"
    tradition: Tradition | None = Field(None, description="the melody's tradition; None: any")
    tune_type: str | None = Field(
        None, max_length=20, description="the tune type the melody is written as (reel, jig, xiaodiao, ...)"
    )
    drums: bool = False
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
