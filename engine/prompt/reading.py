"""PromptReading: what one prompt asks for, each field None where the prompt says nothing about it."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.prompt.gm import Program
from engine.prompt.text import Language
from engine.schemas import Mode


@dataclass(frozen=True)
class PromptReading:
    """Fields map onto ComposeRequest (key, mode, tempo, meter, bars, instrument.name) and add what it lacks.

    `instrument` is the first sound named, a single instrument or a section ("a waltz for strings"
    plays String Ensemble 1); `ensemble` is the first section named (strings, brass, choir), if any.
    `understood` maps each field that was set to the user's own words it came from.
    """

    key: str | None = None
    mode: Mode | None = None
    tempo: int | None = None
    meter: str | None = None
    bars: int | None = None
    seconds: float | None = None
    instrument: Program | None = None
    ensemble: Program | None = None
    drums: bool | None = None
    style: str | None = None
    tradition: str | None = None  # engine.data.corpus.TRADITIONS
    tune_type: str | None = None  # a tune type the words name that is no style ("山歌"); styles name the rest
    valence: float | None = None
    arousal: float | None = None
    understood: dict[str, str] = field(default_factory=dict)
    language: Language = "en"
