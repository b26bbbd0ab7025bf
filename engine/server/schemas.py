"""The engine's wire format, around the contract of `engine.schemas`.

Requests are JSON: `POST /v1/compose` takes a `ComposeRequest`; `/v1/vary`, `/v1/extend` and
`/v1/render` take the `ComposeResult` of an earlier piece (as the engine returned it) plus what to change;
`/v1/answer` takes a person's melody (`AnswerRequest`: text, or a MIDI file or an audio clip in base64).

Every piece comes back as one JSON `PieceResponse`: the `ComposeResult`, with each `files[].path`
reduced to a bare file name (the engine keeps nothing on disk), and the bytes of each file in base64
under `files` - so the bot needs no shared disk and no multipart parser. Errors are JSON
`{"error": <kind>, "reason": <text>}`; a 429 carries Retry-After. Live jams (`/v1/live`, in
`engine/live/http.py`) answer each phrase as a `LivePhraseResponse`, its PCM in base64.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.data.events import MAX_STEPS_PER_BAR, N_TOKENS, steps_per_bar
from engine.listen import (
    MAX_AUDIO_BYTES,
    MAX_AUDIO_SECONDS,
    MAX_MIDI_BYTES,
    MAX_TEXT_CHARS,
)
from engine.schemas import (
    BARS_MAX,
    BARS_MIN,
    METER_CHOICES,
    MORE_BARS_MAX,
    Bars,
    ComposeRequest,
    ComposeResult,
    Format,
    KeyName,
    PieceFile,
    Resolved,
    Sketch,
    Tempo,
    Understood,
)

SECRET_HEADER = "X-Engine-Secret"  # the shared secret, when the engine has one (`engine.server.gate`)
DEADLINE_HEADER = "X-Deadline-S"  # how long the caller will wait, in seconds: later work is refused
_SEED = ComposeRequest.model_fields["seed"].metadata
MAX_WINDOWS = BARS_MAX // 2  # one latent per 2 bars
MAX_LATENT = 1024
MAX_LATENT_VALUE = 1e3  # far past any code of a unit-prior VAE; larger ones overflow float32 to inf
MAX_EVENTS = MAX_WINDOWS * 2 * MAX_STEPS_PER_BAR

Short = Annotated[str, Field(max_length=40)]
# a window's label as the engine writes them: "A1", "A'2*", "E1B1", "U3" ('*' marks a cadence)
WindowLabel = Annotated[str, Field(pattern=r"^[A-Za-z0-9']{1,15}\*?$")]
Token = Annotated[int, Field(ge=0, lt=N_TOKENS, strict=True)]


def windows_for(bars: int) -> int:
    """2-bar windows in a piece of `bars` bars: the model writes whole windows (`phrase_plan`)."""
    return -(-bars // 2)


class ParentResolved(Resolved):
    """What an earlier piece resolved to, held to the bounds of a request: it decides what rendering costs."""

    key: KeyName
    tempo: Tempo
    bars: Bars
    shortened_from: Bars | None = None
    instrument: Short
    program: int = Field(ge=0, le=127, strict=True)
    style: str = Field("folk", max_length=20)
    chords: list[Short] = Field(default_factory=list, max_length=2 * BARS_MAX)  # a chorale bar: 4 chords
    tracks: dict[Short, Short] = Field(default_factory=dict, max_length=8)
    shape: dict[Short, Short] = Field(default_factory=dict, max_length=8)
    seed: Annotated[int, *_SEED]
    form: str = Field(max_length=200)
    windows: list[WindowLabel] = Field(min_length=1, max_length=MAX_WINDOWS)
    understood: dict[Short, Annotated[str, Field(max_length=2000)]] = Field(
        default_factory=dict, max_length=32
    )

    @field_validator("meter")
    @classmethod
    def _known_meter(cls, value: str) -> str:
        if value not in METER_CHOICES:
            raise ValueError(f"meter must be one of {', '.join(METER_CHOICES)}")
        return value


class ParentFile(PieceFile):
    path: str = Field(max_length=300)
    bytes: int = Field(ge=0, strict=True)


class ParentPiece(ComposeResult):
    """An earlier piece sent back to be varied, extended or re-orchestrated, within bounds.

    Its fields must agree as the engine made them: one window per 2 bars, one latent code per window,
    and (when given) the events of exactly those windows, tokens of the model's vocabulary. Anything
    else is forged, and would make the engine do work it did not count at admission (events past the
    bars) or fail half-way (codes without windows). The codes' width is checked against the loaded model
    by the engine (`Engine.check_parent`), which alone knows it.
    """

    name: str = Field(max_length=200)
    resolved: ParentResolved
    files: list[ParentFile] = Field(default_factory=list, max_length=5)
    duration_s: float = Field(ge=0, le=24 * 3600, allow_inf_nan=False)
    events: list[Token] = Field(default_factory=list, max_length=MAX_EVENTS)
    timings_ms: dict[Short, Annotated[float, Field(allow_inf_nan=False)]] = Field(
        default_factory=dict, max_length=32
    )

    @field_validator("latents")
    @classmethod
    def _bounded_latents(cls, latents: list[list[float]]) -> list[list[float]]:
        if len(latents) > MAX_WINDOWS:
            raise ValueError(f"at most {MAX_WINDOWS} latent codes")
        if any(len(code) > MAX_LATENT for code in latents):
            raise ValueError(f"a latent code has at most {MAX_LATENT} values")
        if len({len(code) for code in latents}) > 1 or any(not code for code in latents):
            raise ValueError("latent codes have one length, of at least one value")
        if not all(math.isfinite(value) for code in latents for value in code):
            raise ValueError("latent codes must be finite numbers")
        if any(abs(value) > MAX_LATENT_VALUE for code in latents for value in code):
            raise ValueError(f"latent code values lie within ±{MAX_LATENT_VALUE:g}")
        return latents

    @model_validator(mode="after")
    def _consistent(self) -> ParentPiece:
        r = self.resolved
        windows = windows_for(r.bars)
        if len(r.windows) != windows:
            raise ValueError(
                f"resolved.windows: {r.bars} bars are {windows} 2-bar windows, not {len(r.windows)}"
            )
        if len(self.latents) != windows:
            raise ValueError(f"latents: one code per window, so {windows} codes, not {len(self.latents)}")
        steps = windows * 2 * steps_per_bar(r.meter)
        if self.events and len(self.events) != steps:
            raise ValueError(
                f"events: {windows} windows of {r.meter} are {steps} steps of the 16th grid, "
                f"not {len(self.events)}"
            )
        return self


class VaryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent: ParentPiece
    seed: int = Field(ge=0, le=2**31 - 1, strict=True)


class ExtendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent: ParentPiece
    bars: int = Field(8, ge=BARS_MIN, le=MORE_BARS_MAX, strict=True)


class RenderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent: ParentPiece
    instrument: str = Field(min_length=1, max_length=40, description="General MIDI instrument name")


def base64_length(size: int) -> int:
    """Characters of `size` bytes in padded base64."""
    return 4 * -(-size // 3)


# The largest body of an answer to a clip: the clip in base64 and room for the JSON around it.
AUDIO_BODY_BYTES = base64_length(MAX_AUDIO_BYTES) + 64 * 1024


class AnswerRequest(BaseModel):
    """A person's melody to answer: typed (`melody`), a MIDI file (`midi`, base64) or an audio clip (`audio`,
    base64: hummed, sung or whistled), exactly one of them.

    The sizes are capped here, so the parsers never see more than they can read in about half a second
    (an audio clip: decoding and pitch tracking at most 60 s of it, about a second warm); what is not music
    is refused by the parsers (`engine.listen`) with a message meant for the person.
    """

    model_config = ConfigDict(extra="forbid")

    melody: str | None = Field(
        None, min_length=1, max_length=MAX_TEXT_CHARS, description="note names, 1 2 3, do re mi"
    )
    midi: str | None = Field(None, description=f"a MIDI file's bytes, base64, at most {MAX_MIDI_BYTES} bytes")
    audio: str | None = Field(
        None,
        description=f"an audio file's bytes (OGG/Opus, OGG/Vorbis, MP3, WAV, FLAC), base64, at most "
        f"{MAX_AUDIO_BYTES} bytes and {MAX_AUDIO_SECONDS:.0f} s",
    )
    key: str | None = Field(None, max_length=30, description="the key of numbered notation or solfège")
    meter: str | None = Field(None, max_length=12)
    harmonize: bool = Field(False, description="arrange the melody itself instead of continuing it")
    bars: int = Field(8, ge=BARS_MIN, le=MORE_BARS_MAX, strict=True, description="length of the continuation")
    max_bars: int | None = Field(
        None,
        ge=BARS_MIN,
        le=BARS_MAX,
        strict=True,
        description="the most bars the melody and its answer may have together (a server's cap)",
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, strict=True)
    max_bytes: int | None = ComposeRequest.model_fields["max_bytes"]
    language: Literal["en", "zh"] = Field("en", description="of the reason, when the melody is refused")

    @field_validator("midi")
    @classmethod
    def _small_file(cls, value: str | None) -> str | None:
        if value is not None and len(value) > base64_length(MAX_MIDI_BYTES):
            raise ValueError(f"the MIDI file is over {MAX_MIDI_BYTES // 1024} KiB; send a shorter one")
        return value

    @field_validator("audio")
    @classmethod
    def _small_clip(cls, value: str | None) -> str | None:
        if value is not None and len(value) > base64_length(MAX_AUDIO_BYTES):
            raise ValueError(f"the audio file is over {MAX_AUDIO_BYTES // 2**20} MiB; send a shorter one")
        return value

    @model_validator(mode="after")
    def _one_melody(self) -> AnswerRequest:
        if sum(given is not None for given in (self.melody, self.midi, self.audio)) != 1:
            raise ValueError(
                "send the melody as text (`melody`), a MIDI file (`midi`) or an audio clip (`audio`), "
                "one of them"
            )
        return self


class WireFile(BaseModel):
    format: Format
    name: str
    data: str = Field(description="the file's bytes, base64")


class PieceResponse(BaseModel):
    """A piece: the whole answer, or the last line of a streamed one."""

    stage: Literal["piece"] = "piece"
    result: ComposeResult
    files: list[WireFile]


ErrorKind = Literal["busy", "rejected", "unauthorized", "timeout", "unavailable", "failed", "gone"]


class ErrorResponse(BaseModel):
    error: ErrorKind
    reason: str


# A piece streamed (`Accept: application/x-ndjson` on /v1/compose, vary, extend, render and answer): one
# JSON line per stage as it is reached, so the caller can show progress from one call. The status is 200
# once the first stage is out; a failure after that is the stream's last line (`StreamError`). A piece
# refused before any stage is answered with its status and an `ErrorResponse`, as without streaming.
STREAM_TYPE = "application/x-ndjson"


class StreamError(ErrorResponse):
    """A failure after the stream began: what the status would have said, as its last line."""

    stage: Literal["error"] = "error"
    status: int = Field(ge=400, le=599)
    retry_after: int | None = None


StageLine = Annotated[Understood | Sketch | PieceResponse | StreamError, Field(discriminator="stage")]


# Live jams (engine/live/http.py): /v1/live, /v1/live/{id}/next, DELETE /v1/live/{id}.


class LiveStartRequest(ComposeRequest):
    """A live jam is started like a piece (prompt and options; `bars` and `formats` are not used)."""

    phrase_bars: int = Field(
        4, ge=2, le=8, multiple_of=2, strict=True, description="bars per phrase (whole 2-bar windows)"
    )


class LiveNextRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steer: list[Annotated[str, Field(max_length=300)]] = Field(
        default_factory=list, max_length=8, description="words applied in order before the phrase is written"
    )


class LivePhraseResponse(BaseModel):
    """One phrase of a live jam: exactly `frames` frames of 48 kHz stereo int16 PCM, and what it plays."""

    session: str
    index: int = Field(description="0 for the first phrase of the session")
    key: str
    mode: Literal["major", "minor"]
    tempo: int
    meter: str
    bars: int
    instrument: str
    program: int
    style: str
    drums: bool
    chords: list[str] = Field(description="one entry per bar")
    changes: dict[str, str] = Field(default_factory=dict, description="what this phrase's steers changed")
    sample_rate: int
    channels: int
    frames: int
    duration_s: float
    timings_ms: dict[str, float] = Field(default_factory=dict)
    pcm: str = Field(description="little-endian int16, interleaved stereo, base64")
